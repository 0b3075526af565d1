/*
 * http_int.h - what http.c (the engine: the multi handle, its libev glue,
 * the lanes) and http_req.c (a request and its response) share; not part
 * of include/.  The struct http and every struct http_req belong to the
 * engine; a request is released by http_req_release() once finished or
 * cancelled.
 */
#ifndef AKVD_HTTP_INT_H
#define AKVD_HTTP_INT_H

#include <stddef.h>

#include <curl/curl.h>
#include <ev.h>

#include "http.h"

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

/*
 * http_lane_get(h, url): the lane of ${url}'s origin, made on first use;
 * NULL on ENOMEM.
 */
struct lane *http_lane_get(struct http *, const char *);

/*
 * http_req_start(r): hand ${r} to libcurl, its timeout less the time it
 * waited in its lane.  Returns 0, or -1 (logged).
 */
int	http_req_start(struct http_req *);

/* http_hdrs_release(x): drop a reference to ${x}; the last one wipes and
   frees it.  NULL is a no-op. */
void	http_hdrs_release(struct hdrs *);

/*
 * http_req_release(r, reuse): release ${r} (out of the multi handle, its
 * secrets wiped); its easy handle goes back to the pool when ${reuse} and
 * there is room.  http_req_free(r) is http_req_release(r, 0).
 */
void	http_req_release(struct http_req *, int);
void	http_req_free(struct http_req *);

#endif /* !AKVD_HTTP_INT_H */
