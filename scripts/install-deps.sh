#!/bin/sh
# Install what akvd needs to build and test, and nothing that is already
# there.  Idempotent: a second run does no network I/O.
#
#   install-deps.sh          build and make check
#   install-deps.sh static   also make static: dpkg-dev (apt-get source
#                            unpacks with dpkg-source), zlib1g-dev (libz.a)
#   install-deps.sh image    also make image, image-check, systemd-check:
#                            podman, runc (hybrid-cgroup hosts), uidmap,
#                            mmdebstrap (the Debian bases)
set -eu

cd "$(dirname "$0")/.."

# Beyond the build: systemd (systemd-analyze checks the unit), procps
# (/bin/kill, the unit's ExecReload), postgresql (the rotation hook is run
# against a real server), kubernetes-client (kubectl kustomize renders
# k8s/), mandoc (lints the man pages), acl (setfacl/getfacl: a default ACL
# reaches every file akvd makes), clang and its libFuzzer runtime (make
# fuzz; make check runs it briefly), a JDK (templates rendered as XML and
# Java properties are read back by the JDK's own parsers).
pkgs="build-essential pkg-config libcurl4-openssl-dev libev-dev libcjson-dev
      libssl-dev libcmocka-dev libmicrohttpd-dev openssl ca-certificates
      nodejs systemd procps postgresql kubernetes-client mandoc acl
      clang libclang-rt-dev openjdk-17-jdk-headless"
case "${1:-}" in
static)	pkgs="build-essential pkg-config libssl-dev libev-dev zlib1g-dev patch perl
	      dpkg-dev ca-certificates" ;;
image)	pkgs="$pkgs dpkg-dev zlib1g-dev podman runc uidmap mmdebstrap" ;;
"")	;;
*)	echo "install-deps: unknown set $1" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
	if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then
		continue
	fi
	# Any kubectl will do (a newer one may come from another package).
	if [ "$p" = kubernetes-client ] && command -v kubectl >/dev/null 2>&1; then
		continue
	fi
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "install-deps: apt-get install$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
fi

# The static build needs no Node.js.
[ "${1:-}" != static ] || exit 0

if ! command -v npm >/dev/null 2>&1; then
	echo "install-deps: npm is missing; install Node.js 20 and npm" >&2
	exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
stamp=node_modules/.package-lock.json
if [ -f package-lock.json ]; then
	if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
		echo "install-deps: npm ci"
		npm ci --no-audit --no-fund --loglevel=error
	fi
fi
