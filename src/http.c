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
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define RETRY_AFTER_MAX_S	(24 * 3600)	/* longer: a day */

struct http {
	struct ev_loop	*loop;
	CURLM		*multi;
	ev_timer	 timer;		/* driven by CURLMOPT_TIMERFUNCTION */
	struct http_opts opts;
	char		*ca_file;
	STACK_OF(X509_INFO) *extra_ca;	/* parsed ca_file */
	struct http_req	*reqs;		/* pending, doubly linked */
	size_t		 npending;
	int		 still_running;
};

struct http_req {
	struct http	*h;
	CURL		*easy;
	struct curl_slist *hdrs;
	char		*post;		/* may hold a secret: wiped */
	char		 errbuf[CURL_ERROR_SIZE];
	struct http_response resp;
	int		 too_large;
	size_t		 max_body;	/* of a 2xx body */
	size_t		 max_other;	/* of any other (an error's) */
	size_t		 exceeded;	/* the limit a body went over */
	http_done_fn	*fn;
	void		*cookie;
	struct http_req	*prev, *next;
};

/* One per socket curl asks us to watch. */
struct sock {
	ev_io		 io;
	struct http	*h;
	curl_socket_t	 fd;
};

static void	check_done(struct http *);

/* Load every certificate of a PEM file, to be added to each TLS context. */
static STACK_OF(X509_INFO) *
load_ca(const char *path)
{
	STACK_OF(X509_INFO) *infos;
	BIO *bio;
	int i, ncert = 0;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		log_msg(LOG_ERROR, "tls.ca_file %s: cannot open: %s", path,
		    strerror(errno));
		return (NULL);
	}
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos != NULL)
		for (i = 0; i < sk_X509_INFO_num(infos); i++)
			if (sk_X509_INFO_value(infos, i)->x509 != NULL)
				ncert++;
	if (infos == NULL || ncert == 0) {
		log_msg(LOG_ERROR, "tls.ca_file %s: no PEM certificate found",
		    path);
		if (infos != NULL)
			sk_X509_INFO_pop_free(infos, X509_INFO_free);
		return (NULL);
	}
	return (infos);
}

/*
 * CURLOPT_SSL_CTX_FUNCTION: add the extra anchors of the current
 * configuration (none if a reload removed ca_file since the request was
 * made) to the default store.
 */
static CURLcode
ssl_ctx_cb(CURL *easy, void *sslctx, void *cookie)
{
	struct http *h = cookie;
	STACK_OF(X509_INFO) *infos = h->extra_ca;
	X509_STORE *store;
	X509_INFO *info;
	int i;

	if (infos == NULL)
		return (CURLE_OK);
	store = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		info = sk_X509_INFO_value(infos, i);
		if (info->x509 != NULL)
			X509_STORE_add_cert(store, info->x509);
	}
	return (CURLE_OK);
}

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

static void
req_free(struct http_req *r)
{
	struct curl_slist *l;

	if (r->easy != NULL) {
		curl_multi_remove_handle(r->h->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	for (l = r->hdrs; l != NULL; l = l->next)	/* a bearer token */
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(r->hdrs);
	str_wipe_free(r->post);
	buf_wipe(&r->resp.body);
	free(r->resp.www_authenticate);
	free(r->resp.etag);
	free(r->resp.error_code);
	free(r);
}

/* Pick up finished transfers and run their callbacks. */
static void
check_done(struct http *h)
{
	struct http_req *r;
	CURLMsg *msg;
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
		/* Detach before the callback, which may start requests. */
		curl_multi_remove_handle(h->multi, r->easy);
		req_unlink(r);
		r->fn(&r->resp, r->cookie);
		req_free(r);
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
	if (http_set_opts(h, opts) == -1) {
		curl_multi_cleanup(h->multi);
		free(h);
		return (NULL);
	}
	return (h);
}

int
http_set_opts(struct http *h, const struct http_opts *opts)
{
	STACK_OF(X509_INFO) *ca = NULL;
	char *path = NULL;

	if (opts->ca_file != NULL) {
		if ((ca = load_ca(opts->ca_file)) == NULL)
			return (-1);
		if ((path = strdup(opts->ca_file)) == NULL) {
			sk_X509_INFO_pop_free(ca, X509_INFO_free);
			return (-1);
		}
	}
	/* Requests read the anchors when they connect (ssl_ctx_cb). */
	if (h->extra_ca != NULL)
		sk_X509_INFO_pop_free(h->extra_ca, X509_INFO_free);
	free(h->ca_file);
	h->extra_ca = ca;
	h->ca_file = path;
	h->opts = *opts;
	h->opts.ca_file = h->ca_file;
	if (h->opts.max_body == 0)
		h->opts.max_body = 1024 * 1024;
	return (0);
}

void
http_free(struct http *h)
{

	if (h == NULL)
		return;
	while (h->reqs != NULL)
		http_cancel(h->reqs);
	/* The socket callback may run during cleanup: loop still valid. */
	curl_multi_cleanup(h->multi);
	ev_timer_stop(h->loop, &h->timer);
	if (h->extra_ca != NULL)
		sk_X509_INFO_pop_free(h->extra_ca, X509_INFO_free);
	free(h->ca_file);
	free(h);
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
	struct buf auth = BUF_INIT;
	struct curl_slist *l;
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
	if ((r->easy = curl_easy_init()) == NULL)
		goto oom;
	/* JSON unless the caller says otherwise (a blob is any bytes). */
	accept = "Accept: application/json";
	for (i = 0; i < sizeof(spec->headers) / sizeof(spec->headers[0]) &&
	    spec->headers[i] != NULL; i++)
		if (strncasecmp(spec->headers[i], "Accept:", 7) == 0)
			accept = spec->headers[i];
	if ((l = curl_slist_append(NULL, accept)) == NULL)
		goto oom;
	r->hdrs = l;
	if (bearer != NULL) {
		if (buf_appendf(&auth, "Authorization: Bearer %s", bearer) ==
		    -1)
			goto oom;
		l = curl_slist_append(r->hdrs, auth.data);
		buf_wipe(&auth);
		if (l == NULL)
			goto oom;
	}
	if (post != NULL) {
		if ((r->post = strdup(post)) == NULL)
			goto oom;
		l = curl_slist_append(r->hdrs,
		    "Content-Type: application/x-www-form-urlencoded");
		if (l == NULL)
			goto oom;
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->post);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(r->post));
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

	if (spec->method != NULL)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, spec->method);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "akvd/" AKVD_VERSION);
	if (spec->local) {
		/* IMDS and friends: plain http on a local address, never
		   through a proxy (as Microsoft documents). */
		curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
	} else
		curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, spec->timeout_ms > 0 ?
	    spec->timeout_ms : h->opts.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)r->max_other);
	curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
	idle = h->opts.max_idle_s > 0 ? h->opts.max_idle_s : 118;
	curl_easy_setopt(r->easy, CURLOPT_MAXAGE_CONN, idle);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (h->extra_ca != NULL) {
		curl_easy_setopt(r->easy, CURLOPT_SSL_CTX_FUNCTION,
		    ssl_ctx_cb);
		curl_easy_setopt(r->easy, CURLOPT_SSL_CTX_DATA, h);
		/*
		 * ssl_ctx_cb adds to the store libcurl would otherwise cache
		 * in the multi handle for a day: an anchor removed from
		 * ca_file would stay trusted.
		 */
#if LIBCURL_VERSION_NUM >= 0x075700
		curl_easy_setopt(r->easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	}
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		log_msg(LOG_ERROR, "http: cannot add request");
		goto fail;
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
	buf_wipe(&auth);
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

	if (r == NULL)
		return;
	req_unlink(r);
	req_free(r);
}

size_t
http_pending(const struct http *h)
{

	return (h->npending);
}
