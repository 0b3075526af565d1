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
