/*
 * http.c - asynchronous HTTPS requests: libcurl multi driven by libev.
 *
 * The pattern is curl's docs/examples/evhiperfifo.c, without the known
 * traps of its copies: the timer is armed in seconds as a double, the
 * action mask is built from CURL_CSELECT_*, curl_multi_socket_action() is
 * never called from inside curl's own timer callback, watchers are freed on
 * CURL_POLL_REMOVE, and a curl error fails one request, never the daemon.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "http.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define RETRY_AFTER_MAX_S	(24 * 3600)	/* longer: a day */
#define POOL_MAX		16	/* idle easy handles kept */

/*
 * A header list shared by every plain GET with the same bearer token: built
 * once per token, not once per request.  Wiped and freed when the last
 * request using it is done and a newer token replaced it.
 */
struct hdrs {
	struct curl_slist *list;
	char		*bearer;	/* in the list; NULL: none */
	unsigned	 refs;		/* requests, plus one while current */
};

/*
 * The requests to one origin (scheme://host:port).  libcurl keeps one
 * connection per host (CURLMOPT_MAX_HOST_CONNECTIONS), so over HTTP/1.1
 * only one request runs at a time; the others wait here, not in libcurl,
 * which would set every waiting transfer up again (URL parsed, proxy
 * looked up, connection searched) each time the connection frees up.
 * Once the origin answered over HTTP/2, requests multiplex: no wait.
 */
struct lane {
	char		*origin;
	size_t		 active;	/* requests in the multi handle */
	int		 multiplex;	/* the origin speaks HTTP/2 */
	struct http_req	*head, *tail;	/* waiting, oldest first */
	struct lane	*next;
};

struct http {
	struct ev_loop	*loop;
	CURLM		*multi;
	ev_timer	 timer;		/* driven by CURLMOPT_TIMERFUNCTION */
	struct http_opts opts;
	char		*ca_file;
	struct tls	*tls;		/* the trust store of the current
					   options (tls_ssl_ctx_cb) */
	struct hdrs	*get_hdrs;	/* of the last bearer, or NULL */
	CURL		*pool[POOL_MAX];/* finished easy handles, for reuse */
	size_t		 npool;
	struct lane	*lanes;
	struct http_req	*reqs;		/* pending, doubly linked */
	size_t		 npending;
	int		 still_running;
};

struct http_req {
	struct http	*h;
	CURL		*easy;
	struct curl_slist *hdrs;	/* own list, or NULL with shared */
	struct hdrs	*shared;	/* a plain GET's list, or NULL */
	char		*post;		/* may hold a secret: wiped */
	char		 errbuf[CURL_ERROR_SIZE];
	struct http_response resp;
	int		 too_large;
	size_t		 max_body;	/* of a 2xx body */
	size_t		 max_other;	/* of any other (an error's) */
	size_t		 exceeded;	/* the limit a body went over */
	http_done_fn	*fn;
	void		*cookie;
	struct lane	*lane;
	int		 waiting;	/* in lane's queue, not in multi */
	struct http_req	*qnext;		/* in lane's queue */
	ev_tstamp	 queued_at;	/* loop time of http_request() */
	long		 timeout_ms;	/* the whole request's, wait included */
	struct http_req	*prev, *next;
};

/* One per socket curl asks us to watch. */
struct sock {
	ev_io		 io;
	struct http	*h;
	curl_socket_t	 fd;
};

static void	check_done(struct http *);

/*
 * The size limit of the body being received: the request's for a 2xx
 * answer, at least the engine's for an error, whose explanation must not
 * be lost to a small limit meant for the content.
 */
static size_t
body_limit(struct http_req *r)
{
	long status = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	return (status >= 200 && status <= 299 ? r->max_body : r->max_other);
}

/* CURLOPT_WRITEFUNCTION */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *cookie)
{
	struct http_req *r = cookie;
	size_t n = size * nmemb, limit = body_limit(r);

	if (r->resp.body.len + n > limit) {
		r->too_large = 1;
		r->exceeded = limit;
		return (0);
	}
	if (buf_append(&r->resp.body, ptr, n) == -1)
		return (0);
	return (n);
}

/* Trimmed value of header line ${line} if its name is ${name}, or NULL. */
static char *
header_value(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *v, *e;
	char *out;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return (NULL);
	v = line + nl + 1;
	e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && isspace((unsigned char)e[-1]))
		e--;
	if ((out = malloc((size_t)(e - v) + 1)) == NULL)
		return (NULL);
	memcpy(out, v, (size_t)(e - v));
	out[e - v] = '\0';
	return (out);
}

/* CURLOPT_HEADERFUNCTION */
static size_t
header_cb(char *ptr, size_t size, size_t nitems, void *cookie)
{
	struct http_req *r = cookie;
	size_t n = size * nitems, limit;
	int64_t len;
	char *v;
	int over;

	if ((v = header_value(ptr, n, "content-length")) != NULL) {
		/* Refuse an oversized body before it arrives. */
		limit = body_limit(r);
		if (num_parse(v, strlen(v), 0, INT64_MAX, &len) == 0)
			over = (uint64_t)len > limit;
		else	/* more digits than any limit, or not a length */
			over = errno == ERANGE && isdigit((unsigned char)*v);
		free(v);
		if (over) {
			r->too_large = 1;
			r->exceeded = limit;
			return (0);
		}
	} else if ((v = header_value(ptr, n, "retry-after")) != NULL) {
		r->resp.retry_after_ms = http_retry_after(v, (long)time(NULL));
		free(v);
	} else if ((v = header_value(ptr, n, "www-authenticate")) != NULL) {
		free(r->resp.www_authenticate);
		r->resp.www_authenticate = v;
	} else if ((v = header_value(ptr, n, "etag")) != NULL) {
		free(r->resp.etag);
		r->resp.etag = v;
	} else if ((v = header_value(ptr, n, "x-ms-error-code")) != NULL) {
		free(r->resp.error_code);
		r->resp.error_code = v;
	}
	return (n);
}

long
http_retry_after(const char *v, long now)
{
	int64_t secs;
	time_t t;

	if (*v >= '0' && *v <= '9') {
		if (num_parse(v, strlen(v), 0, RETRY_AFTER_MAX_S, &secs) ==
		    -1) {
			if (errno != ERANGE)
				return (-1);
			secs = RETRY_AFTER_MAX_S;	/* "a long time" */
		}
		return ((long)secs * 1000);
	}
	if ((t = curl_getdate(v, NULL)) == -1)
		return (-1);
	if ((long)t <= now)
		return (0);
	if ((long)t - now > RETRY_AFTER_MAX_S)
		return (RETRY_AFTER_MAX_S * 1000L);
	return (((long)t - now) * 1000);
}

char *
http_escape(const char *s)
{
	char *e, *out;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		return (NULL);
	out = strdup(e);
	explicit_bzero(e, strlen(e));
	curl_free(e);
	return (out);
}

/* The lane of ${url}'s origin, made on first use; NULL on ENOMEM. */
static struct lane *
lane_get(struct http *h, const char *url)
{
	struct lane *l;
	const char *p;
	size_t n;

	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	n = (size_t)(p - url) + strcspn(p, "/?#");
	for (l = h->lanes; l != NULL; l = l->next)
		if (strlen(l->origin) == n && strncasecmp(l->origin, url, n) ==
		    0)
			return (l);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	if ((l->origin = strndup(url, n)) == NULL) {
		free(l);
		return (NULL);
	}
	l->next = h->lanes;
	h->lanes = l;
	return (l);
}

/*
 * Hand ${r} to libcurl.  Its timeout counts the time it waited in its
 * lane: an expired one gets 1 ms and fails as a timeout, through the
 * normal path.  Returns 0, or -1 (logged).
 */
static int
req_start(struct http_req *r)
{
	struct http *h = r->h;
	double waited_ms;
	long left = r->timeout_ms;

	if (left > 0) {
		waited_ms = (ev_now(h->loop) - r->queued_at) * 1000.0;
		if (waited_ms >= (double)left)
			left = 1;
		else if (waited_ms >= 1.0)
			left -= (long)waited_ms;
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, left);
	}
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		log_msg(LOG_ERROR, "http: cannot add request");
		return (-1);
	}
	r->waiting = 0;
	r->lane->active++;
	return (0);
}

/* Start the waiting requests of ${l} while there is room. */
static void
lane_pump(struct lane *l)
{
	struct http_req *r;

	while ((r = l->head) != NULL && (l->active == 0 || l->multiplex)) {
		if (req_start(r) == -1)
			return;		/* out of memory: at the next one */
		l->head = r->qnext;
		if (l->head == NULL)
			l->tail = NULL;
		r->qnext = NULL;
	}
}

/* Take ${r} out of its lane (waiting or active); the next may start. */
static void
lane_leave(struct http_req *r)
{
	struct lane *l = r->lane;
	struct http_req **pp;

	if (l == NULL)
		return;
	r->lane = NULL;
	if (!r->waiting) {
		l->active--;
		return;
	}
	for (pp = &l->head; *pp != NULL; pp = &(*pp)->qnext)
		if (*pp == r) {
			*pp = r->qnext;
			break;
		}
	if (l->tail == r)
		for (l->tail = l->head; l->tail != NULL &&
		    l->tail->qnext != NULL; l->tail = l->tail->qnext)
			;
	r->qnext = NULL;
	r->waiting = 0;
}

static void
req_unlink(struct http_req *r)
{
	struct http *h = r->h;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	h->npending--;
}

/* Drop a reference to ${x}; the last one wipes and frees it. */
static void
hdrs_release(struct hdrs *x)
{
	struct curl_slist *l;

	if (x == NULL || --x->refs > 0)
		return;
	for (l = x->list; l != NULL; l = l->next)	/* a bearer token */
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->list);
	str_wipe_free(x->bearer);
	free(x);
}

/*
 * Release ${r}.  Its easy handle goes back to the pool when ${reuse} (the
 * transfer completed) and there is room; else it is cleaned up.
 */
static void
req_release(struct http_req *r, int reuse)
{
	struct http *h = r->h;
	struct curl_slist *l;

	if (r->easy != NULL) {
		curl_multi_remove_handle(h->multi, r->easy);
		if (reuse && h->npool < POOL_MAX) {
			/* Nothing may point into ${r} once it is freed. */
			curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, NULL);
			curl_easy_setopt(r->easy, CURLOPT_PRIVATE, NULL);
			h->pool[h->npool++] = r->easy;
		} else
			curl_easy_cleanup(r->easy);
	}
	for (l = r->hdrs; l != NULL; l = l->next)	/* a bearer token */
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(r->hdrs);
	hdrs_release(r->shared);
	str_wipe_free(r->post);
	buf_wipe(&r->resp.body);
	free(r->resp.www_authenticate);
	free(r->resp.etag);
	free(r->resp.error_code);
	free(r);
}

static void
req_free(struct http_req *r)
{

	req_release(r, 0);
}

/* Pick up finished transfers and run their callbacks. */
static void
check_done(struct http *h)
{
	struct http_req *r;
	struct lane *l;
	CURLMsg *msg;
	long ver;
	int left;
	double t;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		if (r == NULL)
			continue;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
		    &r->resp.status);
		if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &t) ==
		    CURLE_OK)
			r->resp.seconds = t;
		if (msg->data.result != CURLE_OK) {
			r->resp.failed = 1;
			if (r->too_large ||
			    msg->data.result == CURLE_FILESIZE_EXCEEDED) {
				r->resp.too_large = 1;
				snprintf(r->resp.error, sizeof(r->resp.error),
				    "response larger than %zu bytes",
				    r->too_large ? r->exceeded : r->max_other);
			} else
				snprintf(r->resp.error, sizeof(r->resp.error),
				    "%s", r->errbuf[0] != '\0' ? r->errbuf :
				    curl_easy_strerror(msg->data.result));
		}
		if (curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &ver) ==
		    CURLE_OK && ver >= CURL_HTTP_VERSION_2_0 &&
		    r->lane != NULL)
			r->lane->multiplex = 1;
		/* Detach before the callback, which may start requests. */
		curl_multi_remove_handle(h->multi, r->easy);
		req_unlink(r);
		if ((l = r->lane) != NULL) {
			lane_leave(r);
			lane_pump(l);
		}
		r->fn(&r->resp, r->cookie);
		req_release(r, 1);
	}
}

/* libev io watcher: a socket curl cares about is ready. */
static void
sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct http *h = s->h;
	int action = 0;

	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, s->fd, action, &h->still_running);
	/*
	 * No ev_timer_stop() here even when nothing runs: a callback run by
	 * check_done() may have started a request whose timer curl just
	 * armed.  curl disarms it itself through CURLMOPT_TIMERFUNCTION.
	 */
	check_done(h);
}

/* libev timer: curl's timeout expired (or a 0 timeout was requested). */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http *h = w->data;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
	    &h->still_running);
	check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: only arm the timer, never act from here. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *cookie)
{
	struct http *h = cookie;

	ev_timer_stop(h->loop, &h->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
	return (0);
}

/* CURLMOPT_SOCKETFUNCTION */
static int
multi_sock_cb(CURL *easy, curl_socket_t fd, int what, void *cookie,
    void *sockp)
{
	struct http *h = cookie;
	struct sock *s = sockp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(h->loop, &s->io);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return (-1);
		s->h = h;
		s->fd = fd;
		s->io.data = s;
		curl_multi_assign(h->multi, fd, s);
	} else {
		ev_io_stop(h->loop, &s->io);
	}
	ev_io_init(&s->io, sock_cb, fd, events);
	ev_io_start(h->loop, &s->io);
	return (0);
}

struct http *
http_new(struct ev_loop *loop, const struct http_opts *opts)
{
	struct http_pending *p;
	struct http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_msg(LOG_ERROR, "http: %s", strerror(errno));
		return (NULL);
	}
	h->loop = loop;
	ev_init(&h->timer, timer_cb);
	h->timer.data = h;
	if ((h->multi = curl_multi_init()) == NULL) {
		log_msg(LOG_ERROR, "http: curl_multi_init failed");
		free(h);
		return (NULL);
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/*
	 * One connection per host, multiplexed when the server speaks HTTP/2:
	 * requests to a vault queue on one warm TLS connection.
	 */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	if ((h->tls = tls_new()) == NULL) {
		log_msg(LOG_ERROR, "http: %s", strerror(errno));
		goto fail;
	}
	if (http_prepare(h, opts, &p) == -1)
		goto fail;
	http_commit(h, p);
	return (h);
fail:
	curl_multi_cleanup(h->multi);
	tls_free(h->tls);
	free(h);
	return (NULL);
}

/* What http_commit() applies: made by http_prepare(). */
struct http_pending {
	struct http_opts opts;
	char		*ca_file;	/* owned until committed */
	struct tls_pending *tls;	/* the new trust store */
};

int
http_prepare(struct http *h, const struct http_opts *opts,
    struct http_pending **pp)
{
	struct http_pending *p;

	*pp = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL || (opts->ca_file != NULL &&
	    (p->ca_file = strdup(opts->ca_file)) == NULL)) {
		log_msg(LOG_ERROR, "http: %s", strerror(errno));
		http_abort(p);
		return (-1);
	}
	/* A new store, even for the same file: its contents may have changed. */
	if (tls_prepare(h->tls, opts->ca_file, &p->tls) == -1) {
		http_abort(p);
		return (-1);
	}
	p->opts = *opts;
	p->opts.ca_file = p->ca_file;
	if (p->opts.max_body == 0)
		p->opts.max_body = 1024 * 1024;
	*pp = p;
	return (0);
}

void
http_commit(struct http *h, struct http_pending *p)
{

	/* Connections made from now on use the new store; those open keep
	   theirs. */
	tls_commit(h->tls, p->tls);
	free(h->ca_file);
	h->ca_file = p->ca_file;
	h->opts = p->opts;
	free(p);
}

void
http_abort(struct http_pending *p)
{

	if (p == NULL)
		return;
	tls_abort(p->tls);
	free(p->ca_file);
	free(p);
}

void
http_free(struct http *h)
{
	struct lane *l;

	if (h == NULL)
		return;
	while (h->reqs != NULL)
		http_cancel(h->reqs);
	while (h->npool > 0)
		curl_easy_cleanup(h->pool[--h->npool]);
	/* The socket callback may run during cleanup: loop still valid. */
	curl_multi_cleanup(h->multi);
	ev_timer_stop(h->loop, &h->timer);
	hdrs_release(h->get_hdrs);
	while ((l = h->lanes) != NULL) {
		h->lanes = l->next;
		free(l->origin);
		free(l);
	}
	tls_free(h->tls);
	free(h->ca_file);
	free(h);
}

/* Append "Authorization: Bearer ${bearer}" to *${l}.  Returns 0 or -1. */
static int
append_bearer(struct curl_slist **l, const char *bearer)
{
	static const char pfx[] = "Authorization: Bearer ";
	struct curl_slist *nl;
	size_t n = strlen(bearer);
	char *line;

	if ((line = malloc(sizeof(pfx) + n)) == NULL)
		return (-1);
	memcpy(line, pfx, sizeof(pfx) - 1);
	memcpy(line + sizeof(pfx) - 1, bearer, n + 1);
	nl = curl_slist_append(*l, line);
	wipe_free(line, sizeof(pfx) + n);
	if (nl == NULL)
		return (-1);
	*l = nl;
	return (0);
}

/*
 * The header list of a plain GET with ${bearer} (or none), shared with
 * the other GETs of that token; a reference for the caller.  Returns NULL
 * on ENOMEM.
 */
static struct hdrs *
shared_hdrs(struct http *h, const char *bearer)
{
	struct hdrs *x = h->get_hdrs;
	struct curl_slist *l;

	if (x != NULL && str_equal(x->bearer, bearer)) {
		x->refs++;
		return (x);
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return (NULL);
	x->refs = 1;
	if (bearer != NULL && (x->bearer = strdup(bearer)) == NULL)
		goto fail;
	if ((x->list = curl_slist_append(NULL, "Accept: application/json")) ==
	    NULL)
		goto fail;
	if (bearer != NULL && append_bearer(&x->list, bearer) == -1)
		goto fail;
	if ((l = curl_slist_append(x->list, "Expect:")) == NULL)
		goto fail;
	hdrs_release(h->get_hdrs);
	h->get_hdrs = x;
	x->refs++;			/* the engine's */
	return (x);
fail:
	hdrs_release(x);
	return (NULL);
}

/*
 * An easy handle from the pool, or a new one with the options every
 * request shares (the rest are set per request).  NULL on ENOMEM.
 */
static CURL *
easy_get(struct http *h)
{
	CURL *e;

	if (h->npool > 0)
		return (h->pool[--h->npool]);
	if ((e = curl_easy_init()) == NULL)
		return (NULL);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "akvd/" AKVD_VERSION);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/*
	 * Buffers each pooled handle keeps: Key Vault's answers are a few KiB
	 * (libcurl's defaults: 16 KiB to receive, 64 KiB to send).
	 */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	/*
	 * Trust: the store of the current options (tls_ssl_ctx_cb), never a
	 * bundle libcurl would decode again for every connection.
	 */
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, tls_ssl_ctx_cb);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h->tls);
#if LIBCURL_VERSION_NUM >= 0x075700
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	/*
	 * No TLS session resumption: a resumed session skips verification,
	 * and a new connection must be checked against the anchors of the
	 * options in force (tls.ca_file may have lost one).  Connections are
	 * kept alive instead, so a full handshake is rare.
	 */
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	return (e);
}

/*
 * http_request(h, spec, fn, cookie): start the request ${spec} describes
 * (everything in it is copied; secrets are wiped after use).  http_get and
 * http_post_form are shorthands.  Returns as http_get.
 */
struct http_req *
http_request(struct http *h, const struct http_reqspec *spec,
    http_done_fn *fn, void *cookie)
{
	const char *url = spec->url, *bearer = spec->bearer;
	const char *post = spec->form, *accept;
	size_t i;
	struct http_req *r;
	struct curl_slist *l;
	CURL *e;
	long idle;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto oom;
	r->h = h;
	r->fn = fn;
	r->cookie = cookie;
	r->resp.retry_after_ms = -1;
	r->max_body = spec->max_body != 0 ? spec->max_body :
	    h->opts.max_body;
	r->max_other = r->max_body > h->opts.max_body ? r->max_body :
	    h->opts.max_body;
	if ((r->easy = e = easy_get(h)) == NULL)
		goto oom;
	if (post == NULL && spec->headers[0] == NULL) {
		/* The common case: a GET, its headers built once a token. */
		if ((r->shared = shared_hdrs(h, bearer)) == NULL)
			goto oom;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->shared->list);
		goto opts;
	}
	/* JSON unless the caller says otherwise (a blob is any bytes). */
	accept = "Accept: application/json";
	for (i = 0; i < sizeof(spec->headers) / sizeof(spec->headers[0]) &&
	    spec->headers[i] != NULL; i++)
		if (strncasecmp(spec->headers[i], "Accept:", 7) == 0)
			accept = spec->headers[i];
	if ((l = curl_slist_append(NULL, accept)) == NULL)
		goto oom;
	r->hdrs = l;
	if (bearer != NULL && append_bearer(&r->hdrs, bearer) == -1)
		goto oom;
	if (post != NULL) {
		if ((r->post = strdup(post)) == NULL)
			goto oom;
		l = curl_slist_append(r->hdrs,
		    "Content-Type: application/x-www-form-urlencoded");
		if (l == NULL)
			goto oom;
	}
	for (i = 0; i < sizeof(spec->headers) / sizeof(spec->headers[0]) &&
	    spec->headers[i] != NULL; i++) {
		if (spec->headers[i] == accept)
			continue;	/* already first */
		if ((l = curl_slist_append(r->hdrs, spec->headers[i])) == NULL)
			goto oom;
	}
	/* Ask for no 100-continue round trip on POST. */
	if ((l = curl_slist_append(r->hdrs, "Expect:")) == NULL)
		goto oom;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);

opts:
	/* Everything a previous request on this handle may have set. */
	if (r->post != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(r->post));
	} else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, -1L);
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, spec->method);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	if (spec->local) {
		/* IMDS and friends: plain http on a local address, never
		   through a proxy (as Microsoft documents). */
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	} else {
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
		curl_easy_setopt(e, CURLOPT_NOPROXY, NULL);	/* NO_PROXY */
	}
	r->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms :
	    h->opts.timeout_ms;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)r->max_other);
	idle = h->opts.max_idle_s > 0 ? h->opts.max_idle_s : 118;
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, idle);
	if ((r->lane = lane_get(h, url)) == NULL)
		goto oom;
	r->queued_at = ev_now(h->loop);
	if (r->lane->active == 0 || r->lane->multiplex) {
		if (req_start(r) == -1) {
			r->lane = NULL;
			goto fail;
		}
	} else {
		r->waiting = 1;
		if (r->lane->tail != NULL)
			r->lane->tail->qnext = r;
		else
			r->lane->head = r;
		r->lane->tail = r;
	}
	r->next = h->reqs;
	if (h->reqs != NULL)
		h->reqs->prev = r;
	h->reqs = r;
	h->npending++;
	return (r);

oom:
	log_msg(LOG_ERROR, "http: out of memory");
fail:
	if (r != NULL) {
		if (r->easy != NULL) {
			curl_easy_cleanup(r->easy);
			r->easy = NULL;
		}
		req_free(r);
	}
	return (NULL);
}

struct http_req *
http_get(struct http *h, const char *url, const char *bearer,
    http_done_fn *fn, void *cookie)
{

	struct http_reqspec spec = { .url = url, .bearer = bearer };

	return (http_request(h, &spec, fn, cookie));
}

struct http_req *
http_post_form(struct http *h, const char *url, const char *body,
    http_done_fn *fn, void *cookie)
{

	struct http_reqspec spec = { .url = url, .form = body };

	return (http_request(h, &spec, fn, cookie));
}

void
http_cancel(struct http_req *r)
{
	struct lane *l;

	if (r == NULL)
		return;
	req_unlink(r);
	if ((l = r->lane) != NULL) {
		/* Out of libcurl first, then let the next one in. */
		if (!r->waiting && r->easy != NULL)
			curl_multi_remove_handle(r->h->multi, r->easy);
		lane_leave(r);
		lane_pump(l);
	}
	req_free(r);
}

size_t
http_pending(const struct http *h)
{

	return (h->npending);
}
