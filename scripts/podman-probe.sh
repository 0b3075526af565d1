#!/bin/sh
# scripts/podman-probe.sh: exit 0 if podman can build and run containers on
# this machine (installing podman first, like make image does); otherwise
# print why on stdout and exit 1.  .ci/run uses it to decide whether to run
# make image-check and make systemd-check.  The probe is a container of an
# image holding only build/static/akvd (make static), run with
# --network=none: no base image, no registry.
set -u
cd "$(dirname "$0")/.."

if ! scripts/install-deps.sh image >build/podman-probe.log 2>&1; then
	echo "installing podman failed: $(tail -n 1 build/podman-probe.log)"
	exit 1
fi
if ! make -s static >>build/podman-probe.log 2>&1; then
	echo "make static failed: $(tail -n 1 build/podman-probe.log)"
	exit 1
fi
. scripts/podman-env.sh
podman_env
if ! out=$(tar -C build/static -cf - akvd |
    podman import --quiet - localhost/akvd-podman-probe 2>&1); then
	echo "podman import failed: $out"
	exit 1
fi
if ! out=$(podman run --rm --network=none localhost/akvd-podman-probe /akvd --version 2>&1); then
	podman rmi -f localhost/akvd-podman-probe >/dev/null 2>&1
	echo "podman cannot run a container here: $out"
	exit 1
fi
podman rmi -f localhost/akvd-podman-probe >/dev/null 2>&1
echo "podman runs containers (${CONTAINERS_CONF:+CONTAINERS_CONF=$CONTAINERS_CONF, }$out)"
