#!/bin/sh
# scripts/mkbase.sh NAME [PACKAGE ...]: make the base image NAME (e.g.
# debian:12-slim) with mmdebstrap from Debian's archive (the mirrors of this
# host's apt sources) and import it into podman under that name, so that a
# FROM line naming it never reaches a registry.  Does nothing if podman
# already has NAME.  The root file system is minbase (Debian's essential
# packages, apt) plus PACKAGEs, without documentation, man pages or locales,
# and without apt's lists and cache.
set -eu
cd "$(dirname "$0")/.."
. scripts/podman-env.sh
podman_env

name=$1
shift
if podman image exists "$name"; then
	exit 0
fi
mkdir -p build/podman
tar=build/podman/base-$(echo "$name" | tr ':/' '__').tar
mirror=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
	if [ -s "$f" ]; then
		mirror=$f
		break
	fi
done
include=$(echo "$@" | tr ' ' ',')
echo "mkbase: mmdebstrap bookworm $name${include:+ (+$include)}"
mmdebstrap --quiet --variant=minbase --format=tar \
    ${include:+--include="$include"} \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$tar" ${mirror:+"$mirror"}
podman import --quiet --change 'CMD ["/bin/bash"]' "$tar" "$name" >/dev/null
rm -f "$tar"
echo "mkbase: $name imported ($(podman image inspect --format '{{.Size}}' "$name") bytes)"
