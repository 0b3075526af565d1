/*
 * http.h - asynchronous HTTPS requests: libcurl's multi interface driven by
 * a libev loop.
 *
 * One struct http holds one curl multi handle for the life of the daemon, so
 * every request to a host reuses one connection across objects and refresh
 * cycles; over HTTP/1.1 the requests to a host wait their turn in the
 * engine (their timeout counts the wait).  Easy handles are pooled, and a
 * plain GET's header list is built once per bearer token.  TLS peer and
 * host verification are always on, against one trust store per set of
 * options (the system's anchors, looked up by hash when libcurl's CA
 * directory is hashed, plus an optional PEM file), shared by every
 * connection; TLS sessions are not resumed, so each new connection is
 * verified against the anchors in force.  Proxies come from HTTPS_PROXY /
 * NO_PROXY as libcurl reads them.
 */
#ifndef AKVD_HTTP_H
#define AKVD_HTTP_H

#include <stddef.h>

#include <ev.h>

#include "util.h"

struct http;
struct http_req;

struct http_opts {
	const char	*ca_file;	/* extra trust anchors (PEM) or NULL */
	long		 timeout_ms;	/* whole request, connect included */
	size_t		 max_body;	/* larger responses are errors */
	long		 max_idle_s;	/* keep idle connections this long */
};

struct http_response {
	long		 status;	/* HTTP status, 0 if none arrived */
	int		 failed;	/* transport failure: see error */
	char		 error[256];	/* what failed, when failed */
	struct buf	 body;		/* owned by http; may hold a secret */
	long		 retry_after_ms;/* Retry-After, or -1 */
	char		*www_authenticate; /* owned by http, or NULL */
	char		*etag;		/* ETag, owned by http, or NULL */
	char		*error_code;	/* x-ms-error-code (Storage), owned
					   by http, or NULL */
	int		 too_large;	/* failed: the body exceeded the
					   size limit */
	double		 seconds;	/* wall time of the request */
};

/*
 * Completion callback: called once per request, from the loop, unless the
 * request was cancelled.  ${resp} and everything it points to belong to the
 * http module and are wiped and freed when the callback returns.  The
 * callback may start and cancel other requests.
 */
typedef void http_done_fn(struct http_response *, void *);

/*
 * http_new(loop, opts): a request engine on ${loop}.  ${opts} is copied
 * (ca_file is read now, into the trust store).  Returns NULL on error
 * (logged).
 */
struct http *http_new(struct ev_loop *, const struct http_opts *);

struct http_pending;

/*
 * http_prepare(h, opts, &pending): everything that can fail in adopting
 * ${opts}: a copy of them and a new trust store (ca_file read again, even
 * if unchanged: its contents may have changed), in *${pending}.  Changes
 * nothing.  Returns 0, or -1 on error (logged: ca_file unreadable or
 * without a certificate, ENOMEM; *${pending} NULL).
 */
int	http_prepare(struct http *, const struct http_opts *,
	    struct http_pending **);

/*
 * http_commit(h, pending): apply ${pending} to requests started from now
 * on, keeping the connection pool, and release it; cannot fail.
 * Connections made from now on use the new trust store.
 */
void	http_commit(struct http *, struct http_pending *);

/* http_abort(pending): release ${pending} unapplied.  NULL is a no-op. */
void	http_abort(struct http_pending *);

/*
 * http_free(h): cancel every pending request (no callbacks run) and release
 * ${h}.  NULL is a no-op.
 */
void	http_free(struct http *);

/*
 * http_get(h, url, bearer, fn, cookie): GET ${url}, with
 * "Authorization: Bearer ${bearer}" unless ${bearer} is NULL.  ${bearer} is
 * copied and wiped after use.  Returns a handle valid until ${fn} is called
 * or http_cancel() is, or NULL on error (logged).
 */
struct http_req *http_get(struct http *, const char *, const char *,
    http_done_fn *, void *);

/*
 * http_post_form(h, url, body, fn, cookie): POST the
 * application/x-www-form-urlencoded ${body} (copied, then wiped: it may
 * hold an assertion or a client secret) to ${url}.  As http_get otherwise.
 */
struct http_req *http_post_form(struct http *, const char *, const char *,
    http_done_fn *, void *);

/* A request with everything spelled out (see http_request). */
struct http_reqspec {
	const char	*url;
	const char	*bearer;	/* "Authorization: Bearer", or NULL */
	const char	*form;		/* POST this urlencoded body, or NULL
					   for a GET */
	const char	*headers[4];	/* extra "Name: value" lines, NULL-
					   terminated; may hold a secret */
	int		 local;		/* a link-local or loopback endpoint
					   (IMDS, the app's refresh URL): plain
					   http allowed, never through a proxy */
	const char	*method;	/* override: "PUT"; NULL: GET, or POST
					   with a form */
	size_t		 max_body;	/* a larger 2xx body fails the
					   request (Content-Length checked
					   first); 0: the engine's max_body,
					   which error bodies always get */
	long		 timeout_ms;	/* of this request; 0: the engine's
					   timeout */
};

/*
 * http_request(h, spec, fn, cookie): start the request ${spec} describes
 * (everything in it is copied; secrets are wiped after use).  http_get and
 * http_post_form are shorthands.  Returns as http_get.
 */
struct http_req *http_request(struct http *, const struct http_reqspec *,
    http_done_fn *, void *);

/* http_cancel(req): abandon ${req}; its callback will not run. */
void	http_cancel(struct http_req *);

/* http_pending(h): number of requests started and not yet completed. */
size_t	http_pending(const struct http *);

/*
 * http_escape(s): ${s} percent-encoded for a URL path segment or a form
 * value, as a new string the caller frees with str_wipe_free(); NULL on
 * ENOMEM.
 */
char	*http_escape(const char *);

/*
 * http_retry_after(value, now): parse a Retry-After header value (delta
 * seconds or HTTP-date) relative to ${now} (wall clock, seconds).  Returns
 * milliseconds (0 for a date in the past), or -1 if unparseable.
 */
long	http_retry_after(const char *, long);

#endif /* !AKVD_HTTP_H */
