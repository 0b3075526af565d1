/*
 * http.c - asynchronous HTTPS requests: libcurl multi driven by libev.
 * This file is the engine: the multi handle and its libev glue (sockets,
 * timer, finished transfers), the lanes requests wait in per origin, the
 * engine's life cycle and options; building a request and receiving its
 * response are http_req.c's.
 *
 * The pattern is curl's docs/examples/evhiperfifo.c, without the known
 * traps of its copies: the timer is armed in seconds as a double, the
 * action mask is built from CURL_CSELECT_*, curl_multi_socket_action() is
 * never called from inside curl's own timer callback, watchers are freed on
 * CURL_POLL_REMOVE, and a curl error fails one request, never the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <ev.h>

#include "http.h"
#include "http_int.h"
#include "log.h"
#include "tls.h"
#include "util.h"

/* One per socket curl asks us to watch. */
struct sock {
	ev_io		 io;
	struct http	*h;
	curl_socket_t	 fd;
};

static void	check_done(struct http *);

/* The lane of ${url}'s origin, made on first use; NULL on ENOMEM. */
struct lane *
http_lane_get(struct http *h, const char *url)
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
int
http_req_start(struct http_req *r)
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
		if (http_req_start(r) == -1)
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
		http_req_release(r, 1);
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
	http_hdrs_release(h->get_hdrs);
	while ((l = h->lanes) != NULL) {
		h->lanes = l->next;
		free(l->origin);
		free(l);
	}
	tls_free(h->tls);
	free(h->ca_file);
	free(h);
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
	http_req_free(r);
}

size_t
http_pending(const struct http *h)
{

	return (h->npending);
}
