#!/bin/sh
# make demo: start the local doubles of Entra ID and Key Vault, run akvd with
# config/demo.json writing into ./demo/secrets, rotate a secret, and show the
# file change.  Everything listens on 127.0.0.1 only.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
demo=$root/demo
ctl=http://127.0.0.1:18445
# The doubles are on loopback: never through a configured proxy.
export NO_PROXY="${NO_PROXY:+$NO_PROXY,}127.0.0.1,localhost" no_proxy="${no_proxy:+$no_proxy,}127.0.0.1,localhost"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
	[ -z "${akvd_pid:-}" ] || kill "$akvd_pid" 2>/dev/null || true
	[ -z "${fakes_pid:-}" ] || kill "$fakes_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rm -rf "$demo"
mkdir -p "$demo"

say "starting the local doubles (Entra ID :18444, Key Vault :18443)"
node tests/fakes/run.js --dir "$demo/doubles" --entra-port 18444 \
    --kv-port 18443 --control-port 18445 \
    --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 \
    --client-id 0d6e1c5a-3f6b-4c7e-9a51-2b8c4f1e7d90 \
    >"$demo/doubles.log" 2>&1 &
fakes_pid=$!
i=0
until [ -f "$demo/doubles/doubles.json" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		cat "$demo/doubles.log" >&2
		echo "demo: the doubles did not start" >&2
		exit 1
	fi
	sleep 0.1
done

put() {	# put NAME VALUE: a new version in the Key Vault double
	node -e '
	    const [url, value] = process.argv.slice(1);
	    fetch(url, { method: "POST", body: value })
	        .then((r) => r.json()).then((j) => console.log(j.version));
	' "$ctl/secrets/$1" "$2"
}

say "creating secrets in Key Vault"
printf 'db-password  version %s\n' "$(put db-password 'correct horse battery staple')"
printf 'db-user      version %s\n' "$(put db-user app_user)"
printf 'api-key      version %s\n' "$(put api-key 'ak-1f2e3d4c5b6a')"

say "build/akvd --config config/demo.json"
build/akvd --config config/demo.json 2>"$demo/akvd.log" &
akvd_pid=$!
i=0
until grep -q "snapshot written" "$demo/akvd.log"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$akvd_pid" 2>/dev/null; then
		cat "$demo/akvd.log" >&2
		echo "demo: akvd did not write its first snapshot" >&2
		exit 1
	fi
	sleep 0.1
done
sed 's/^/  | /' "$demo/akvd.log"

say "ls -la demo/secrets   (stable names are symlinks into ..data)"
ls -la demo/secrets
say "ls -lL demo/secrets/*  (the files: mode 0440 by default, 0400 as configured)"
ls -lL demo/secrets/password demo/secrets/username demo/secrets/config/api-key
printf '\npassword = %s\n' "$(cat demo/secrets/password)"

say "rotating db-password in Key Vault; akvd polls every 3 s"
printf 'db-password  version %s\n' "$(put db-password 'new password after rotation')"
old=$(readlink demo/secrets/..data)
i=0
while [ "$(readlink demo/secrets/..data)" = "$old" ]; do
	i=$((i + 1))
	[ $i -le 150 ] || { echo "demo: no rotation seen" >&2; exit 1; }
	sleep 0.1
done
printf 'password = %s\n' "$(cat demo/secrets/password)"
printf '..data   = %s -> %s\n' "$old" "$(readlink demo/secrets/..data)"

say "what akvd logged (no secret value or token ever appears)"
sed 's/^/  | /' "$demo/akvd.log"

say "done: the files stay in demo/secrets; akvd and the doubles are stopped"
