/*
 * fetch.h - the outcome of one fetch, as data.
 *
 * A source that was fetched (or failed to be) records a fetch_result: a
 * class, the HTTP status and the service's error code if there was a
 * response, a detail, and the Retry-After the server asked for.  Logs and
 * metrics format it; nothing parses the text back.  Pure: no I/O, no
 * allocation.
 */
#ifndef AKVD_FETCH_H
#define AKVD_FETCH_H

#include <stddef.h>

enum fetch_class {
	FETCH_OK = 0,		/* a value (new or the same) */
	FETCH_UNCHANGED,	/* 304, or the version held */
	FETCH_THROTTLED,	/* 429 */
	FETCH_UNAUTHORIZED,	/* 401 after a token renewal */
	FETCH_FORBIDDEN,	/* 403 */
	FETCH_NOT_FOUND,	/* 404 */
	FETCH_CLIENT_ERROR,	/* another 4xx */
	FETCH_SERVER_ERROR,	/* 408, 5xx */
	FETCH_TRANSPORT,	/* no response: connection, TLS, timeout */
	FETCH_BAD_RESPONSE,	/* a 200 whose body does not parse */
	FETCH_RENDER,		/* a value that cannot become the files */
	FETCH_DISABLED,		/* the version is disabled */
	FETCH_CHALLENGE,	/* an unusable or refused 401 challenge */
	FETCH_LOCAL,		/* out of memory, cannot start a request */
	FETCH_OTHER,		/* anything else (not enough versions, ...) */
	FETCH_NCLASSES
};

struct fetch_result {
	enum fetch_class cls;
	long		 status;	/* HTTP status; 0: no response */
	char		 code[128];	/* the service's error code
					   ("Forbidden/ForbiddenByRbac"), or
					   "" */
	const char	*what;		/* static text of a failure without
					   a status ("request failed") */
	char		 detail[512];	/* the service's message, a hint */
	long		 retry_after_ms;	/* -1: none */
};

/*
 * fetch_fail(r, cls, what, detail): ${r} is a failure of class ${cls}
 * without an HTTP status; ${what} is static text ("request failed"),
 * ${detail} is copied (NULL: none).
 */
void	fetch_fail(struct fetch_result *, enum fetch_class, const char *,
	    const char *);

/*
 * fetch_http(r, status, code, detail, retry_after_ms): ${r} is an error
 * response ${status}, classified by fetch_status_class(); ${code} and
 * ${detail} are copied (NULL: none).
 */
void	fetch_http(struct fetch_result *, long, const char *, const char *,
	    long);

/* fetch_status_class(status): the class of an error status. */
enum fetch_class fetch_status_class(long);

/*
 * fetch_transient(r): 1 if a retry soon may succeed (throttled, server
 * error, transport, bad response, local resources), 0 if the failure waits
 * for the next cycle.
 */
int	fetch_transient(const struct fetch_result *);

/*
 * fetch_reason(r, buf, len): the short reason logs show: "HTTP 403
 * Forbidden/ForbiddenByRbac", "HTTP 503 no error code" or r->what; ${buf}
 * is returned.
 */
const char *fetch_reason(const struct fetch_result *, char *, size_t);

/*
 * fetch_class_name(cls): the metrics label of a failure class
 * ("throttled", "forbidden", "connection", ...); NULL for FETCH_OK and
 * FETCH_UNCHANGED.
 */
const char *fetch_class_name(enum fetch_class);

#endif /* !AKVD_FETCH_H */
