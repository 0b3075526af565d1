/*
 * sync.h - polling Key Vault and keeping the output directory current.
 *
 * What is fetched (a source: one per Key Vault object, blob or select
 * entry) has its own state: when it is next due, its consecutive failures
 * and Retry-After; what is written (an output: an object's files, a bundle,
 * a template) holds the last good value and version.  Objects are
 * polled every interval (one jittered cycle, ±10%, shared by the objects
 * fetched together); a cycle's requests run concurrently up to the
 * configured limit.  A failed fetch is a state of that object, never of the
 * daemon: throttling (429, honouring Retry-After), 5xx, timeouts and
 * connection errors back off exponentially with jitter and keep the last
 * good value; 401 renews the token once and retries; 403/404 wait for the
 * next cycle.  Whenever nothing is in flight and some value changed, one
 * new snapshot holding every object is committed through the writer.
 *
 * Objects that read the same value are outputs of one source, by
 * construction: one GET, whose outcome is each one's; what is read is
 * turned into each one's files by render.c (encodings, certificates,
 * keys).  A
 * "history" object lists its versions and fetches only those it does not
 * hold; a "select" entry lists its vault each cycle and fetches a selected
 * secret only when the list shows it changed; a bundle is made from the
 * values of its members at every snapshot they change.
 *
 * At start-up the values of the existing snapshot are adopted, so a restart
 * during an outage loses nothing.  The first snapshot is written only once
 * every object has been tried and every select has listed its vault.
 *
 * "Ready" has one definition: the snapshot written is complete, i.e. every
 * required (non-optional) object has a value in it (with --once: fetched
 * by this run).  Every signal of readiness follows it: the first snapshot
 * callback, the exit status of --once, and sync_ready().  Until then the
 * reason is logged at growing intervals and given to the wait callback.
 */
#ifndef AKVD_SYNC_H
#define AKVD_SYNC_H

#include <ev.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "http.h"

struct sync;

/*
 * --once completion: ${ok} is 1 when the snapshot written is complete
 * (every non-optional object fetched and written), 0 otherwise.
 */
typedef void sync_done_fn(int, void *);

/*
 * sync_new(loop, http, auth, cfg, once, fn, cookie): start syncing the
 * objects of ${cfg}, which the sync borrows (main owns the configuration
 * in force): it must stay valid until sync_commit() of another one or
 * sync_free().  ${http} and ${auth} must outlive it.  With ${once}, every
 * object is fetched (transient failures, token failures included, retried
 * with backoff until cfg->once_timeout_ms after the start; permanent ones
 * settle at once), one snapshot written and ${fn} called; otherwise ${fn}
 * is unused and the sync runs until freed.  Returns NULL on error
 * (logged).
 */
struct sync *sync_new(struct ev_loop *, struct http *, struct auth *,
    struct akvd_config *, int, sync_done_fn *, void *);

struct sync_pending;

/*
 * sync_prepare(s, cfg, pending): the first half of a reload to ${cfg}: the
 * diff of source keys (plan.h) and everything it needs allocated, with
 * nothing changed.  Returns 0 with ${*pending} for sync_commit() or
 * sync_abort(), or -1 on ENOMEM (logged; nothing changed).
 */
int	sync_prepare(struct sync *, struct akvd_config *,
	    struct sync_pending **);

/*
 * sync_commit(s, pending): adopt its configuration, borrowed as in
 * sync_new(); the previous one is no longer used once this returns (the
 * caller frees it).  Cannot fail.  Sources whose key is still read keep
 * their value and schedule (no refetch storm), their backoff and
 * Retry-After deadline; objects rendered as before keep their files,
 * version and readiness clocks; one whose encoding, format, split or
 * bundle membership changed, or a new one reading a source held, is
 * rendered from the value held, without a request; new sources are
 * fetched at once; removed objects leave the next snapshot.  Nothing is fetched or
 * committed before control returns to the loop.  Frees ${pending}.
 */
void	sync_commit(struct sync *, struct sync_pending *);

/* sync_abort(pending): forget a prepared reload; NULL: no-op. */
void	sync_abort(struct sync_pending *);

/* sync_resync(s): make every object due now (SIGUSR1); Retry-After holds. */
void	sync_resync(struct sync *);

/*
 * sync_auth_event(s, ok): the token cache finished a request (see
 * auth_event_fn): resume objects waiting for a token.
 */
void	sync_auth_event(struct sync *, int);

/*
 * Snapshot callback: a snapshot was just written.  It is called from the
 * first complete snapshot on (${first} is 1 for that one), never for an
 * incomplete snapshot before it.  ${changed} lists the aliases whose
 * content changed since the previous snapshot announced (${nchanged} of
 * them; for the first, only files of a previous run that changed), valid
 * during the call.
 */
typedef void sync_snapshot_fn(int, const char *const *, size_t, void *);

/* sync_on_snapshot(s, fn, cookie): call ${fn} after every snapshot. */
void	sync_on_snapshot(struct sync *, sync_snapshot_fn *, void *);

/*
 * Wait callback: not complete yet (no first snapshot callback so far);
 * ${why} is "waiting for N of M objects: NAME: REASON" (no secret in it),
 * valid during the call.  Called after every failure and incomplete
 * snapshot until the first complete one.
 */
typedef void sync_wait_fn(const char *, void *);

/* sync_on_waiting(s, fn, cookie): call ${fn} while not complete. */
void	sync_on_waiting(struct sync *, sync_wait_fn *, void *);

/*
 * sync_status(s, buf, len): a one-line summary for STATUS= and logs:
 * "ready: N objects, M failing, last snapshot HH:MM:SSZ", "waiting for N
 * of M objects: NAME: REASON", or "not ready: WHY; N objects, ...".
 */
void	sync_status(const struct sync *, char *, size_t);

/*
 * sync_ready(s, why, len): 1 when the snapshot written is complete (every
 * required object has a value in it, see above), none has been failing for
 * longer than ready_max_failed_intervals intervals, and none has gone
 * without a successful fetch for one interval more than that (+10%, +
 * timeout: e.g. no access token); else 0.  ${why} receives a one-line
 * explanation (no secret in it).
 */
int	sync_ready(const struct sync *, char *, size_t);

/*
 * sync_value(s, name, data, len): the current value of the object named
 * (or aliased) ${name}: 0 with ${data}/${len} pointing into ${s} (a
 * secret: copy it only where it must go, never to a log), or -1 if there is
 * none yet.
 */
int	sync_value(const struct sync *, const char *, const char **, size_t *);

/*
 * sync_now_ms(s): the one clock of the sync: monotonic milliseconds.
 * Every due time, backoff deadline and readiness clock is on it; the pure
 * rules of sched.h take it as an argument.
 */
int64_t	sync_now_ms(const struct sync *);

/* sync_free(s): cancel every request and release ${s} (not its config). */
void	sync_free(struct sync *);

#endif /* !AKVD_SYNC_H */
