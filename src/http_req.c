/*
 * http_req.c - one request of the engine (http.c) and its response: the
 * easy handles (pooled), the header lists (a plain GET's shared per bearer
 * token), the options set per request, and the response as it arrives
 * (body within its size limit, the headers akvd reads, Retry-After).  A
 * request and everything it holds are the engine's once started, wiped and
 * freed by http_req_release().
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define RETRY_AFTER_MAX_S	(24 * 3600)	/* longer: a day */

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

/* Drop a reference to ${x}; the last one wipes and frees it. */
void
http_hdrs_release(struct hdrs *x)
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
void
http_req_release(struct http_req *r, int reuse)
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
	http_hdrs_release(r->shared);
	str_wipe_free(r->post);
	buf_wipe(&r->resp.body);
	free(r->resp.www_authenticate);
	free(r->resp.etag);
	free(r->resp.error_code);
	free(r);
}

void
http_req_free(struct http_req *r)
{

	http_req_release(r, 0);
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
	http_hdrs_release(h->get_hdrs);
	h->get_hdrs = x;
	x->refs++;			/* the engine's */
	return (x);
fail:
	http_hdrs_release(x);
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
	if ((r->lane = http_lane_get(h, url)) == NULL)
		goto oom;
	r->queued_at = ev_now(h->loop);
	if (r->lane->active == 0 || r->lane->multiplex) {
		if (http_req_start(r) == -1) {
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
		http_req_free(r);
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

