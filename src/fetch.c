/*
 * fetch.c - the outcome of one fetch, as data.
 */
#include <stdio.h>
#include <string.h>

#include "fetch.h"

/* Metrics labels, by class (see README.md, akvd_fetch_failures_total). */
static const char *const names[FETCH_NCLASSES] = {
	[FETCH_OK] = NULL,
	[FETCH_UNCHANGED] = NULL,
	[FETCH_THROTTLED] = "throttled",
	[FETCH_UNAUTHORIZED] = "unauthorized",
	[FETCH_FORBIDDEN] = "forbidden",
	[FETCH_NOT_FOUND] = "not_found",
	[FETCH_CLIENT_ERROR] = "client_error",
	[FETCH_SERVER_ERROR] = "server_error",
	[FETCH_TRANSPORT] = "connection",
	[FETCH_BAD_RESPONSE] = "bad_response",
	[FETCH_RENDER] = "render_error",
	[FETCH_DISABLED] = "disabled",
	[FETCH_CHALLENGE] = "challenge",
	[FETCH_LOCAL] = "other",
	[FETCH_OTHER] = "other"
};

static void
fetch_clear(struct fetch_result *r)
{

	memset(r, 0, sizeof(*r));
	r->retry_after_ms = -1;
	r->what = "";
}

void
fetch_fail(struct fetch_result *r, enum fetch_class cls, const char *what,
    const char *detail)
{

	fetch_clear(r);
	r->cls = cls;
	r->what = what != NULL ? what : "";
	if (detail != NULL)
		snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

enum fetch_class
fetch_status_class(long status)
{

	if (status == 401)
		return (FETCH_UNAUTHORIZED);
	if (status == 403)
		return (FETCH_FORBIDDEN);
	if (status == 404)
		return (FETCH_NOT_FOUND);
	if (status == 429)
		return (FETCH_THROTTLED);
	if (status == 408 || status >= 500)
		return (FETCH_SERVER_ERROR);
	return (FETCH_CLIENT_ERROR);
}

void
fetch_http(struct fetch_result *r, long status, const char *code,
    const char *detail, long retry_after_ms)
{

	fetch_clear(r);
	r->cls = fetch_status_class(status);
	r->status = status;
	r->retry_after_ms = retry_after_ms;
	if (code != NULL)
		snprintf(r->code, sizeof(r->code), "%s", code);
	if (detail != NULL)
		snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

int
fetch_transient(const struct fetch_result *r)
{

	switch (r->cls) {
	case FETCH_THROTTLED:
	case FETCH_SERVER_ERROR:
	case FETCH_TRANSPORT:
	case FETCH_BAD_RESPONSE:
	case FETCH_LOCAL:
		return (1);
	default:
		return (0);
	}
}

const char *
fetch_reason(const struct fetch_result *r, char *buf, size_t len)
{

	if (r->status != 0)
		snprintf(buf, len, "HTTP %ld %s", r->status, r->code);
	else
		snprintf(buf, len, "%s", r->what);
	return (buf);
}

const char *
fetch_class_name(enum fetch_class cls)
{

	if ((unsigned)cls >= FETCH_NCLASSES)
		return ("other");
	return (names[cls]);
}
