/*
 * status.c - the health endpoint: libmicrohttpd driven by libev.
 *
 * libmicrohttpd runs in "external polling" mode with MHD_USE_EPOLL: it
 * keeps its sockets in an epoll set of its own, whose descriptor we watch
 * with one ev_io; after every MHD_run() the ev_timer is re-armed from
 * MHD_get_timeout() (connection timeouts, data already buffered).  No
 * thread is started, and akvd's state is read from the loop's own thread.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics.h"
#include "status.h"
#include "util.h"

/* A few idle clients (one address) cannot take /healthz down. */
#define MAX_CONNECTIONS		64
#define MAX_PER_IP		4
#define CONNECTION_TIMEOUT_S	5
#define BACKLOG			64

/* Where to listen: a copy of the configuration's "listen". */
struct where {
	char		*addr;		/* "127.0.0.1:9090" */
	struct sockaddr_storage sa;
	socklen_t	 salen;
	int		 any;		/* ":PORT" */
};

struct server {
	struct MHD_Daemon *mhd;
	struct where	 w;		/* w.addr owned */
	unsigned	 port;		/* bound: ":0" gets an ephemeral one */
	ev_io		 io;		/* on MHD's epoll descriptor */
	ev_timer	 timer;		/* from MHD_get_timeout() */
	struct status	*st;
};

struct status {
	struct ev_loop	*loop;
	int		 bind_errno;	/* of the last failed listen */
	status_ready_fn	*ready_fn;
	void		*cookie;
	struct server	*srv;
};

static void	server_pump(struct server *);

/* ---------------------------------------------------------------------- */
/* Requests                                                               */

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
    size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	if ((r = MHD_create_response_from_buffer(len, body, mode)) == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return (MHD_NO);
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return (rc);
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{

	return (reply(c, code, "text/plain; charset=utf-8", (char *)text,
	    strlen(text), MHD_RESPMEM_MUST_COPY));
}

/* MHD_AccessHandlerCallback */
static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct status *st = cls;
	struct buf out = BUF_INIT;
	char why[400], text[420];
	int ready;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return (reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "only GET and HEAD\n"));
	if (*upload_size != 0)
		return (MHD_NO);
	if (strcmp(url, "/healthz") == 0)
		return (reply_text(c, MHD_HTTP_OK, "ok\n"));
	if (strcmp(url, "/readyz") != 0 && strcmp(url, "/metrics") != 0)
		return (reply_text(c, MHD_HTTP_NOT_FOUND,
		    "not found: try /healthz, /readyz or /metrics\n"));
	why[0] = '\0';
	ready = st->ready_fn(why, sizeof(why), st->cookie);
	if (strcmp(url, "/readyz") == 0) {
		snprintf(text, sizeof(text), "%s%s\n", ready ? "" :
		    "not ready: ", why);
		return (reply_text(c, ready ? MHD_HTTP_OK :
		    MHD_HTTP_SERVICE_UNAVAILABLE, text));
	}
	if (metrics_render(&out, ready) == -1 || out.data == NULL) {
		free(out.data);
		return (reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n"));
	}
	/* No secret in it: plain free() by libmicrohttpd is right. */
	return (reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; "
	    "charset=utf-8", out.data, out.len, MHD_RESPMEM_MUST_FREE));
}

/* MHD_OPTION_EXTERNAL_LOGGER */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_kv(LOG_WARN, "health endpoint", "error", msg, NULL);
}

/* ---------------------------------------------------------------------- */
/* The loop                                                               */

/* Run libmicrohttpd, then arm the timer it asks for. */
static void
server_pump(struct server *s)
{
	struct ev_loop *loop = s->st->loop;
	MHD_UNSIGNED_LONG_LONG ms;

	(void)MHD_run(s->mhd);
	ev_timer_stop(loop, &s->timer);
	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) {
		ev_timer_set(&s->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(loop, &s->timer);
	}
}

/* ev_io: libmicrohttpd's epoll set has events. */
static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{

	server_pump(w->data);
}

/* ev_timer: libmicrohttpd's timeout. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{

	server_pump(w->data);
}

/* ---------------------------------------------------------------------- */
/* Listeners                                                              */

static int
open_socket(const struct sockaddr *sa, socklen_t salen, int v6only)
{
	int fd, on = 1, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only));
	if (bind(fd, sa, salen) == -1 || listen(fd, BACKLOG) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/* The socket for ${w}; ":PORT" falls back to IPv4 alone. */
static int
listen_socket(const struct where *w)
{
	struct sockaddr_in sin;
	int fd, saved;

	fd = open_socket((const struct sockaddr *)&w->sa, w->salen, 0);
	if (fd != -1 || !w->any || (errno != EAFNOSUPPORT &&
	    errno != EADDRNOTAVAIL))
		return (fd);
	saved = errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	sin.sin_port = ((const struct sockaddr_in6 *)&w->sa)->sin6_port;
	if ((fd = open_socket((struct sockaddr *)&sin, sizeof(sin), 0)) == -1)
		errno = saved;
	return (fd);
}

/*
 * "127.0.0.1:9090", "[::]:9090": where ${fd} is bound.  Returns the port,
 * or 0 if unknown.
 */
static unsigned
bound_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	snprintf(out, len, "?");
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return (0);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sin->sin_port));
		return (ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return (ntohs(sin6->sin6_port));
	}
	return (0);
}

static void
server_free(struct server *s)
{

	if (s == NULL)
		return;
	if (s->mhd != NULL) {
		ev_io_stop(s->st->loop, &s->io);
		ev_timer_stop(s->st->loop, &s->timer);
		MHD_stop_daemon(s->mhd);	/* closes the socket */
	}
	free(s->w.addr);
	free(s);
}

/* A listener on ${w} (copied), or NULL (logged). */
static struct server *
server_new(struct status *st, const struct where *w)
{
	const union MHD_DaemonInfo *info;
	struct server *s;
	char bound[INET6_ADDRSTRLEN + 16];
	int fd;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->w.addr = strdup(w->addr)) == NULL) {
		log_msg(LOG_ERROR, "status: out of memory");
		free(s);
		return (NULL);
	}
	memcpy(&s->w.sa, &w->sa, sizeof(s->w.sa));
	s->w.salen = w->salen;
	s->w.any = w->any;
	s->st = st;
	st->bind_errno = 0;
	if ((fd = listen_socket(w)) == -1) {
		st->bind_errno = errno;
		log_kv(LOG_ERROR, "cannot listen", "listen", w->addr,
		    "error", strerror(errno), NULL);
		server_free(s);
		return (NULL);
	}
	s->port = bound_name(fd, bound, sizeof(bound));
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handler, st,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,	/* first */
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
	    MHD_OPTION_END);
	if (s->mhd == NULL ||
	    (info = MHD_get_daemon_info(s->mhd,
	    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		log_kv(LOG_ERROR, "cannot start the health endpoint",
		    "listen", w->addr, NULL);
		/* Single-threaded: nothing can have reused the number. */
		if (s->mhd == NULL && fcntl(fd, F_GETFD) != -1)
			close(fd);
		server_free(s);
		return (NULL);
	}
	ev_io_init(&s->io, io_cb, info->epoll_fd, EV_READ);
	s->io.data = s;
	ev_init(&s->timer, timer_cb);
	s->timer.data = s;
	ev_io_start(st->loop, &s->io);
	server_pump(s);
	log_kv(LOG_INFO, "health endpoint listening", "listen", w->addr,
	    "address", bound, "paths", "/healthz /readyz /metrics", NULL);
	return (s);
}

/* The port of ${w}. */
static unsigned
port_of(const struct where *w)
{

	if (w->sa.ss_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)&w->sa)->sin_port));
	return (ntohs(((const struct sockaddr_in6 *)&w->sa)->sin6_port));
}

/* ---------------------------------------------------------------------- */
/* Public interface                                                       */

struct status *
status_new(struct ev_loop *loop, status_ready_fn *fn, void *cookie)
{
	struct status *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_msg(LOG_ERROR, "status: out of memory");
		return (NULL);
	}
	st->loop = loop;
	st->ready_fn = fn;
	st->cookie = cookie;
	return (st);
}

struct status_pending {
	int		 keep;		/* same address: keep the listener */
	int		 stop;		/* no "listen" any more */
	int		 move;		/* same port, other address: the old
					   listener holds it, so the move is
					   made at commit */
	struct where	 w;		/* move: where to (w.addr owned) */
	struct server	*srv;		/* the new listener, bound */
};

int
status_prepare(struct status *st, const struct akvd_config *cfg,
    struct status_pending **out)
{
	struct status_pending *p;
	struct where w;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_msg(LOG_ERROR, "status: out of memory");
		return (-1);
	}
	if (cfg->listen == NULL) {
		p->stop = 1;
		*out = p;
		return (0);
	}
	if (st->srv != NULL && strcmp(st->srv->w.addr, cfg->listen) == 0) {
		p->keep = 1;
		*out = p;
		return (0);
	}
	memset(&w, 0, sizeof(w));
	w.addr = cfg->listen;
	memcpy(&w.sa, &cfg->listen_addr, sizeof(w.sa));
	w.salen = cfg->listen_addrlen;
	w.any = cfg->listen_any;
	if ((p->srv = server_new(st, &w)) != NULL) {
		*out = p;
		return (0);
	}
	if (st->srv == NULL || st->bind_errno != EADDRINUSE ||
	    port_of(&w) == 0 || port_of(&w) != st->srv->port) {
		free(p);
		return (-1);
	}
	p->move = 1;
	p->w = w;
	if ((p->w.addr = strdup(w.addr)) == NULL) {
		log_msg(LOG_ERROR, "status: out of memory");
		free(p);
		return (-1);
	}
	*out = p;
	return (0);
}

void
status_abort(struct status_pending *p)
{

	if (p == NULL)
		return;
	server_free(p->srv);
	free(p->w.addr);
	free(p);
}

void
status_commit(struct status *st, struct status_pending *p)
{
	struct where old;

	if (p->stop) {
		if (st->srv != NULL)
			log_kv(LOG_INFO, "health endpoint stopped", "listen",
			    st->srv->w.addr, NULL);
		server_free(st->srv);
		st->srv = NULL;
	} else if (p->srv != NULL) {
		server_free(st->srv);
		st->srv = p->srv;
		p->srv = NULL;
	} else if (p->move) {
		/* The same port on another address: free it and bind. */
		log_kv(LOG_INFO, "closing the old listener to reuse its port",
		    "listen", st->srv->w.addr, NULL);
		old = st->srv->w;	/* ownership of old.addr moves */
		st->srv->w.addr = NULL;
		server_free(st->srv);
		if ((st->srv = server_new(st, &p->w)) == NULL &&
		    (st->srv = server_new(st, &old)) == NULL)
			log_kv(LOG_ERROR, "the old listener could not be "
			    "restored", "listen", old.addr, NULL);
		free(old.addr);
	}
	status_abort(p);
}

int
status_configure(struct status *st, const struct akvd_config *cfg)
{
	struct status_pending *p;

	if (status_prepare(st, cfg, &p) == -1)
		return (-1);
	status_commit(st, p);
	return (0);
}

void
status_free(struct status *st)
{

	if (st == NULL)
		return;
	server_free(st->srv);
	free(st);
}
