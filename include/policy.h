/*
 * policy.h - when a source is next due, and whether the set is ready.
 *
 * Pure functions over plain values: the caller passes the time (monotonic
 * ms, from sync_now_ms()) and the random draw, so that every rule users
 * rely on (backoff caps, Retry-After floors, --once settling, the one
 * definition of "ready") is unit-tested without a daemon
 * (tests/unit/test_sync.c).
 */
#ifndef AKVD_POLICY_H
#define AKVD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define POLICY_RETRY_BASE_MS	1000
#define POLICY_RETRY_CAP_MIN_MS	(30 * 1000)
#define POLICY_RETRY_CAP_MAX_MS	(5 * 60 * 1000)

/*
 * policy_retry_cap(interval_ms): the longest backoff of a transient
 * failure: the interval, within [30 s, 5 min].
 */
uint64_t policy_retry_cap(uint64_t);

/*
 * policy_retry_delay(failures, interval_ms, rnd, retry_after_ms): the
 * backoff after the ${failures}th consecutive transient failure (1 s
 * doubling up to policy_retry_cap(), then ±25% from ${rnd} in [0, 1));
 * when the server said when (${retry_after_ms} >= 0), that instead,
 * whatever failed before: Retry-After (at least 1 s, at most 10 min) plus
 * up to a fifth more from ${rnd}.
 */
uint64_t policy_retry_delay(unsigned, uint64_t, double, long);

/* What policy_next() needs to know of a source after an attempt. */
struct policy_source {
	int64_t		 next_cycle;	/* due time after a success */
	int64_t		 not_before;	/* Retry-After floor; 0: none */
	unsigned	 failures;	/* consecutive, this attempt included */
	int		 on_demand;	/* fetched when its list shows a change
					   (a selected secret) */
};

/* The run: --once and its deadline (once_timeout after the start). */
struct policy_run {
	int		 once;
	int64_t		 deadline;	/* monotonic ms; --once only */
};

/*
 * policy_next(src, run, transient, delay_ms, now, due): after an attempt
 * that succeeded (src->failures 0) or failed (${transient} or not, backed
 * off by ${delay_ms}): the next due time in ${due} (INT64_MAX: on demand
 * only), never before the Retry-After floor.  Returns 1 if the source is
 * settled instead (--once: a success, a permanent failure, or a retry
 * that would fall after the deadline), else 0.
 */
int	policy_next(const struct policy_source *, const struct policy_run *, int,
	    uint64_t, int64_t, int64_t *);

/*
 * The health of one vault as a whole (of every source reading it): a
 * vault that fails as a whole (5xx, a transport error, 429) is probed by
 * one request at a time, at its own backoff, instead of by each of its
 * sources; the others wait for the probe's outcome.
 */
struct policy_gate {
	unsigned	 failures;	/* rounds failed in a row; 0: healthy */
	int64_t		 due;		/* monotonic ms: the next probe may
					   start (while failures > 0) */
	int		 probing;	/* a probe is in flight */
	uintptr_t	 first;		/* who failed first since the vault
					   last answered (0: none) */
};

/*
 * policy_gate_may_start(g, now): may a source of the vault of ${g} start a
 * request at ${now}?  Every one of a healthy vault; of a failing one, one
 * probe at a time, from its due time on.
 */
int	policy_gate_may_start(const struct policy_gate *, int64_t);

/*
 * policy_gate_failed(g, who, interval_ms, rnd, retry_after_ms, now): a
 * request of source ${who} (nonzero, its identity) failed as a whole at
 * ${now}.  One source failing alone is its own failure (its object may be
 * throttled or broken); a second source failing before the vault answered
 * makes the vault failing.  A failing vault's failure is a new round of
 * its backoff (1 s doubling up to policy_retry_cap(), then ±50% from
 * ${rnd}; or policy_retry_delay() of the Retry-After it said), unless it is not due yet (the other requests of the burst that
 * found it out): then only a later Retry-After moves its due time.
 */
void	policy_gate_failed(struct policy_gate *, uintptr_t, uint64_t, double,
	    long, int64_t);

/* policy_gate_ok(g): the vault answered: healthy. */
void	policy_gate_ok(struct policy_gate *);

/* What readiness needs to know of one source or output. */
struct policy_view {
	const char	*name;		/* for "why" */
	const char	*reason;	/* of its last failure, or "" */
	const char	*waits_for;	/* why it is not complete yet */
	int		 counts;	/* required: not optional, not a bundle
					   (its members count) */
	int		 complete;	/* its value is in the snapshot
					   written */
	unsigned	 failures;	/* consecutive */
	int64_t		 failing_since;	/* monotonic ms of the first */
	int64_t		 last_ok;	/* monotonic ms of the last success */
};

/* policy_view_fn(i, view, cookie): fill ${view} for source ${i}. */
typedef void policy_view_fn(size_t, struct policy_view *, void *);

/*
 * policy_complete(n, fn, cookie, committed, once, why, len): the one
 * definition of "ready" every signal of readiness uses: every required
 * source of the ${n} ${fn} describes is complete.  Returns 1, or 0 with
 * ${why}: "waiting for N of M objects: NAME: REASON", naming a failing one
 * first.  With no required source, complete once a snapshot is written
 * (${committed}) or with --once (${once}).
 */
int	policy_complete(size_t, policy_view_fn *, void *, int, int, char *,
	    size_t);

/* The readiness limits of the configuration. */
struct policy_ready {
	uint64_t	 interval_ms;
	unsigned	 max_failed;	/* ready_max_failed_intervals */
	uint64_t	 timeout_ms;
	int		 no_token;	/* the token cache is failing */
};

/*
 * policy_fresh(n, fn, cookie, lim, now, why, len): after policy_complete():
 * 1 if no required source has been failing for longer than max_failed
 * intervals, and none has gone without a success for one interval more
 * than that (+10%, + timeout); else 0 with ${why} naming it.
 */
int	policy_fresh(size_t, policy_view_fn *, void *, const struct policy_ready *,
	    int64_t, char *, size_t);

#endif /* !AKVD_POLICY_H */
