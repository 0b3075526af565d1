#!/bin/sh
# rotate-password.sh ROLE FILE [WAIT]
#
# Give the PostgreSQL role ROLE the password held in FILE (creating the role,
# LOGIN, if it does not exist), through the server's local socket ($PGHOST,
# as $PGUSER, peer authentication).  akvd runs it as a notify "exec" hook
# after Key Vault hands out a new password; the database container runs it
# at start (postStart, WAIT seconds for the server) so a rotation that
# happened while the pod was down is applied too.  Idempotent.
#
# The password never appears on a command line, in the environment or in a
# log: psql reads it from FILE itself (a backquoted cat of a path) into a
# variable, and sends it as a quoted literal; the server is told not to log
# the statement, even when it fails.
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: rotate-password.sh ROLE FILE [WAIT]" >&2
	exit 2
fi
role=$1
file=$2
wait=${3:-0}

if [ ! -r "$file" ] || [ ! -s "$file" ]; then
	echo "rotate-password: $file: missing, unreadable or empty" >&2
	exit 1
fi

while ! psql -X -q -t -c 'SELECT 1' >/dev/null 2>&1; do
	if [ "$wait" -le 0 ]; then
		echo "rotate-password: the server does not answer" \
		    "(PGHOST=${PGHOST:-default})" >&2
		exit 1
	fi
	wait=$((wait - 1))
	sleep 1
done

psql -X -q -v ON_ERROR_STOP=1 -v role="$role" -v file="$file" <<'SQL'
\set VERBOSITY terse
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET log_min_duration_statement = -1;
\set pw `cat -- :'file'`
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
    AS missing \gset
\if :missing
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
\else
ALTER ROLE :"role" PASSWORD :'pw';
\endif
\unset pw
SQL
echo "rotate-password: role $role: password set from $file"
