/*
 * hooks.h - telling the application that its files changed ("notify").
 *
 * After a snapshot that changed something, and once no further change has
 * arrived for "debounce" (default 1 s), every configured notification runs
 * once for the whole burst:
 *
 *   pid_file  signal the pid read from a file (read at every run; a missing
 *             or stale file is retried with backoff, then logged)
 *   process   signal every process whose executable name matches, found
 *             through /proc (never akvd itself, never pid 1)
 *   exec      run a command (argv, no shell) with AKVD_CHANGED listing the
 *             changed aliases (comma-separated); its output goes to the
 *             log; after "timeout" its process group is killed (also
 *             if it exited but left something holding its output); it
 *             gets no credential of akvd's and no descriptor but 0-2
 *             (child.h)
 *   http      call an URL; 2xx is success, anything else is retried with
 *             backoff; "timeout" bounds each attempt
 *
 * Each run is logged with its result.
 */
#ifndef AKVD_HOOKS_H
#define AKVD_HOOKS_H

#include <stddef.h>

#include <ev.h>

#include "config.h"
#include "http.h"

struct hooks;

/*
 * hooks_new(loop, http): a notifier using ${http} (which must outlive it)
 * for http notifications.  The loop must be libev's default loop (child
 * processes are reaped with ev_child).  Returns NULL on ENOMEM (logged).
 */
struct hooks *hooks_new(struct ev_loop *, struct http *);

/*
 * hooks_configure(h, cfg): use the notifications and debounce of ${cfg},
 * which must stay valid until the next hooks_configure() or hooks_free().
 * A pending debounce carries over.  A notification ${cfg} still has keeps
 * its pending retry, request or command; a pending retry of one it no
 * longer has is dropped ("notification failed: dropped", counted as
 * failed), and a request or command under way finishes (a request that
 * then fails is dropped likewise).
 */
void	hooks_configure(struct hooks *, const struct akvd_config *);

/*
 * hooks_changed(h, aliases, n): ${n} aliases changed in the snapshot just
 * written (copied).  (Re)arms the debounce timer.
 */
void	hooks_changed(struct hooks *, const char *const *, size_t);

/*
 * hooks_free(h): stop timers and retries, kill running commands (their
 * process groups, SIGKILL) and release ${h}.  NULL is a no-op.
 */
void	hooks_free(struct hooks *);

#endif /* !AKVD_HOOKS_H */
