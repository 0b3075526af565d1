#!/bin/sh
# make fleet, and the last step of make bench (FLEET_STRICT=0: figures, no
# verdict): many akvd processes against one throttling Key Vault double,
# through an outage.  Settings (FLEET_SIZE, FLEET_SECRETS, FLEET_INTERVAL,
# FLEET_BUDGET, FLEET_OUTAGE, FLEET_OUTAGE_KIND, FLEET_STAGGER) and what is
# measured: tests/reliability/fleet.js.  Writes build/fleet.json.
set -e
cd "$(dirname "$0")/.."
exec node tests/reliability/fleet.js
