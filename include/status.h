/*
 * status.h - the health endpoint ("listen"): /healthz, /readyz, /metrics.
 *
 * An HTTP/1.1 server (GNU libmicrohttpd) with no thread of its own: it
 * runs in external-polling epoll mode, driven by the libev loop through
 * one ev_io on its epoll descriptor and one ev_timer armed from
 * MHD_get_timeout().  The listening socket is made here, so a bind error
 * is reported with its errno and ":PORT" can fall back to IPv4 only.
 *
 *   /healthz  200 "ok": the loop is running (it answered)
 *   /readyz   200 "ready", or 503 with the reason (see sync_ready())
 *   /metrics  the Prometheus text format (see metrics.h)
 *
 * Only GET and HEAD are served; nothing secret is ever in a response.
 */
#ifndef AKVD_STATUS_H
#define AKVD_STATUS_H

#include <stddef.h>

#include <ev.h>

#include "config.h"

struct status;

/*
 * Readiness callback: 1 if ready, else 0; either way a one-line reason
 * in ${why} (${len} bytes).
 */
typedef int status_ready_fn(char *, size_t, void *);

/*
 * status_new(loop, fn, cookie): a health endpoint, not listening yet.
 * Returns NULL on ENOMEM (logged).
 */
struct status *status_new(struct ev_loop *, status_ready_fn *, void *);

struct status_pending;

/*
 * status_prepare(st, cfg, pending): the first half of a reload: bind where
 * ${cfg} says ("listen"), changing nothing else: the listener in use
 * stays.  An unchanged address keeps the listener; none stops it at
 * commit.  A new address on the port the old listener holds (EADDRINUSE,
 * same port) can only be bound once that one is closed: that move is made
 * at commit, which restores the old listener should it fail.  Returns 0
 * with ${*pending} for status_commit() or status_abort(), or -1 if the new
 * address cannot be listened on (logged; nothing changed).
 */
int	status_prepare(struct status *, const struct akvd_config *,
	    struct status_pending **);

/* status_commit(st, pending): switch to the prepared listener; frees it. */
void	status_commit(struct status *, struct status_pending *);

/* status_abort(pending): close the prepared listener; NULL: no-op. */
void	status_abort(struct status_pending *);

/*
 * status_configure(st, cfg): status_prepare() then status_commit() (at
 * start-up).  Returns 0, or -1 if the address could not be listened on
 * (logged).
 */
int	status_configure(struct status *, const struct akvd_config *);

/* status_free(st): close every connection and the listener; NULL: no-op. */
void	status_free(struct status *);

#endif /* !AKVD_STATUS_H */
