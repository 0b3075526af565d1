# Sourced by the image scripts: podman as this host needs it.
#
#   . scripts/podman-env.sh; podman_env     exports CONTAINERS_CONF if needed
#   podman_can_run                          0 if podman runs a container here
#                                           (else prints why on stderr)
#
# Two settings, written to build/podman/containers.conf (nothing outside the
# tree) and given through CONTAINERS_CONF, only where the host needs them:
#  - a hybrid or cgroup v1 host (no cgroup2 at /sys/fs/cgroup): crun fails
#    there, runtime = "runc";
#  - a host whose hard open-files limit is below podman's default (1048576)
#    and that cannot raise it (no CAP_SYS_RESOURCE): podman's default
#    ulimits fail every container start, so default_ulimits are the host's
#    own hard limits.
# A pure cgroup v2 host with the usual limits needs neither.

podman_env() {
	_conf=build/podman/containers.conf
	_rt="" _ul=""
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
		_rt='runtime = "runc"'
	fi
	# Hard limits, from /proc (dash's ulimit has no -u).
	_nofile=$(awk '/^Max open files/ { print $5 }' /proc/self/limits)
	_nproc=$(awk '/^Max processes/ { print $4 }' /proc/self/limits)
	if [ "$_nofile" != unlimited ] && [ "$_nofile" -lt 1048576 ]; then
		[ "$_nproc" = unlimited ] && _nproc=1048576
		[ "$_nproc" -gt 32768 ] && _nproc=32768
		_ul="default_ulimits = [\"nofile=$_nofile:$_nofile\", \"nproc=$_nproc:$_nproc\"]"
	fi
	if [ -z "$_rt$_ul" ]; then
		return 0
	fi
	mkdir -p build/podman
	{
		echo "# Written by scripts/podman-env.sh for this host."
		echo "[containers]"
		[ -z "$_ul" ] || echo "$_ul"
		echo "[engine]"
		[ -z "$_rt" ] || echo "$_rt"
	} > "$_conf.tmp"
	mv "$_conf.tmp" "$_conf"
	CONTAINERS_CONF=$(pwd)/$_conf
	export CONTAINERS_CONF
}

podman_can_run() {
	if ! command -v podman >/dev/null 2>&1; then
		echo "podman is not installed" >&2
		return 1
	fi
	podman_env
	# A container from an empty image holding only a static akvd.
	if ! _out=$(podman info --format '{{.Host.OCIRuntime.Name}}' 2>&1); then
		echo "podman info failed: $_out" >&2
		return 1
	fi
	return 0
}
