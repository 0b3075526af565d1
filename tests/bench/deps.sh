#!/bin/sh
# make bench's extras, beyond make check's: curl and jq (the shell loop it
# compares akvd with) and valgrind (instruction counts).  Installs only what
# is missing; a second run does no network I/O.
set -eu
missing=""
for p in curl jq valgrind; do
	command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "bench: apt-get install$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
