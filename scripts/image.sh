#!/bin/sh
# make image: the container images akvd:VERSION, akvd:latest and
# akvd-postgres:VERSION, built with podman from the Dockerfile.  Needs
# `make static` first (the Makefile does it).  No registry is reached: the
# base of the postgres variant is made by scripts/mkbase.sh (mmdebstrap)
# and every build runs with --pull=never; its apt-get runs on the host's
# network (--network=host).
#
#   scripts/image.sh [--no-postgres]
set -eu
cd "$(dirname "$0")/.."
. scripts/podman-env.sh
podman_env

version=$(cat VERSION)
postgres=1
[ "${1:-}" != --no-postgres ] || postgres=0

[ -x build/static/akvd ] || { echo "image: run make static first" >&2; exit 1; }
mkdir -p build/image
cp /etc/ssl/certs/ca-certificates.crt build/image/ca-certificates.crt

# The same anchors one per file, named by subject hash as `openssl rehash`
# names them (HASH.0, HASH.1 for a second one with that hash): akvd then
# looks an issuer up when a chain needs it instead of decoding the whole
# bundle (~140 certificates: some 190 M instructions and 950 KiB of heap).
certs=build/image/certs
rm -rf "$certs"
mkdir -p "$certs"
awk -v dir="$certs" '
	/-----BEGIN CERTIFICATE-----/ { f = sprintf("%s/cert%04d.pem", dir, ++n) }
	f != "" { print > f }
	/-----END CERTIFICATE-----/ { close(f); f = "" }
' build/image/ca-certificates.crt
for f in "$certs"/cert*.pem; do
	h=$(openssl x509 -noout -subject_hash -in "$f")
	i=0
	while [ -e "$certs/$h.$i" ]; do i=$((i + 1)); done
	mv "$f" "$certs/$h.$i"
done
echo "image: $(ls "$certs" | wc -l) trust anchors hashed in $certs"

build() {	# build TARGET NAME
	echo "image: podman build --target $1 -t $2:$version"
	podman build --quiet --pull=never --network=host --target "$1" \
	    --build-arg VERSION="$version" -t "$2:$version" -t "$2:latest" \
	    -f Dockerfile . >/dev/null
	echo "image: $2:$version $(podman image inspect --format '{{.Size}}' "$2:$version") bytes"
}

build runtime akvd
if [ "$postgres" = 1 ]; then
	scripts/mkbase.sh debian:12-slim
	build postgres akvd-postgres
fi
