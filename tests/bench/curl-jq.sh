#!/bin/sh
# make bench peer: the seeds' style of shell loop, one curl and one jq per
# secret, doing akvd's job: keep secret-0..N-1 in files of OUT_DIR, rewritten
# (temp file + rename) each poll.
#   sh curl-jq.sh VAULT_URL OUT_DIR N
# Workload identity from the AZURE_* variables (a token per poll, from the
# federated token file), the doubles' CA from CA_FILE.  Polls once at start
# ("written" on stdout when every file is there), then on each SIGUSR2 (the
# bench drives the cycles; a real loop would sleep).
set -eu
vault=$1 out=$2 n=$3

poll() {
	token=$(curl -sS --fail --cacert "$CA_FILE" \
	    --data-urlencode "client_id=$AZURE_CLIENT_ID" \
	    --data-urlencode "grant_type=client_credentials" \
	    --data-urlencode "scope=https://vault.azure.net/.default" \
	    --data-urlencode "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer" \
	    --data-urlencode "client_assertion=$(cat "$AZURE_FEDERATED_TOKEN_FILE")" \
	    "${AZURE_AUTHORITY_HOST%/}/$AZURE_TENANT_ID/oauth2/v2.0/token" |
	    jq -r .access_token)
	i=0
	while [ "$i" -lt "$n" ]; do
		curl -sS --fail --cacert "$CA_FILE" \
		    -H "Authorization: Bearer $token" \
		    "$vault/secrets/secret-$i?api-version=7.4" |
		    jq -j .value > "$out/.secret-$i.tmp"
		mv "$out/.secret-$i.tmp" "$out/secret-$i"
		i=$((i + 1))
	done
}

again=0
trap 'again=1' USR2
trap 'exit 0' TERM
poll
echo written
while :; do
	sleep 3600 & wait $! || true
	kill $! 2>/dev/null || true
	while [ "$again" = 1 ]; do again=0; poll; done
done
