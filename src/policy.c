/*
 * policy.c - when a source is next due, and whether the set is ready.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "backoff.h"
#include "policy.h"

uint64_t
policy_retry_cap(uint64_t interval_ms)
{
	uint64_t cap = interval_ms;

	if (cap < POLICY_RETRY_CAP_MIN_MS)
		cap = POLICY_RETRY_CAP_MIN_MS;
	if (cap > POLICY_RETRY_CAP_MAX_MS)
		cap = POLICY_RETRY_CAP_MAX_MS;
	return (cap);
}

uint64_t
policy_retry_delay(unsigned failures, uint64_t interval_ms, double rnd,
    long retry_after_ms)
{
	uint64_t ra;

	/*
	 * ±25% around the doubling, after the cap rather than clamped to it:
	 * the instances of a fleet that failed together (an outage) come
	 * back spread over half a cap, not together at the cap.
	 */
	if (retry_after_ms < 0)
		return ((uint64_t)((double)backoff_delay(failures,
		    POLICY_RETRY_BASE_MS, policy_retry_cap(interval_ms), 0.5) *
		    (0.75 + 0.5 * rnd)));
	/*
	 * The server said when: its word, whatever failed before it (an
	 * outage's backoff would hold a fleet back a whole cap after the
	 * vault came back), spread over a fifth more so that the herd it
	 * throttled does not come back at one instant; never sooner than
	 * POLICY_RETRY_BASE_MS, never later than backoff_retry_after's cap.
	 */
	ra = backoff_retry_after(retry_after_ms, POLICY_RETRY_BASE_MS);
	return (ra + (uint64_t)((double)ra * 0.2 * rnd));
}

int
policy_next(const struct policy_source *src, const struct policy_run *run,
    int transient, uint64_t delay_ms, int64_t now, int64_t *due)
{
	int ok = src->failures == 0 || !transient;

	if (run->once && (!transient || src->failures == 0))
		return (1);
	if (src->on_demand && ok)
		*due = INT64_MAX;	/* until the list shows a change */
	else if (ok)
		*due = src->next_cycle > now ? src->next_cycle : now;
	else
		*due = now + (int64_t)delay_ms;
	if (*due < src->not_before)
		*due = src->not_before;
	if (run->once && *due >= run->deadline)
		return (1);	/* no time left for a retry */
	return (0);
}

int
policy_gate_may_start(const struct policy_gate *g, int64_t now)
{

	return (g->failures == 0 || (!g->probing && now >= g->due));
}

void
policy_gate_failed(struct policy_gate *g, uintptr_t who, uint64_t interval_ms,
    double rnd, long retry_after_ms, int64_t now)
{
	int64_t ra;

	if (g->failures == 0 && (g->first == 0 || g->first == who)) {
		g->first = who;
		return;
	}
	if (g->failures > 0 && now < g->due) {
		if (retry_after_ms >= 0) {
			ra = now + (int64_t)backoff_retry_after(retry_after_ms,
			    POLICY_RETRY_BASE_MS);
			if (ra > g->due)
				g->due = ra;
		}
		return;
	}
	if (g->failures < UINT_MAX)
		g->failures++;
	/*
	 * ±50% around the doubling (a source's own is ±25%): the probe that
	 * finds the vault back brings every source of an instance at once,
	 * so the probes of a fleet are spread twice as wide.
	 */
	if (retry_after_ms < 0)
		g->due = now + (int64_t)((double)backoff_delay(g->failures,
		    POLICY_RETRY_BASE_MS, policy_retry_cap(interval_ms), 0.5) *
		    (0.5 + rnd));
	else
		g->due = now + (int64_t)policy_retry_delay(g->failures,
		    interval_ms, rnd, retry_after_ms);
}

void
policy_gate_ok(struct policy_gate *g)
{

	g->failures = 0;
	g->due = 0;
	g->first = 0;
}

int
policy_complete(size_t n, policy_view_fn *fn, void *cookie, int committed,
    int once, char *why, size_t len)
{
	struct policy_view v;
	struct policy_view first = { .name = "", .reason = "", .waits_for = "" };
	size_t i, need = 0, missing = 0;
	int have = 0;

	for (i = 0; i < n; i++) {
		fn(i, &v, cookie);
		if (!v.counts)
			continue;
		need++;
		if (v.complete)
			continue;
		missing++;
		if (!have || (first.reason[0] == '\0' && v.reason[0] != '\0'))
			first = v;
		have = 1;
	}
	if (have) {
		snprintf(why, len, "waiting for %zu of %zu objects: %s: %s",
		    missing, need, first.name, first.waits_for);
		return (0);
	}
	/* Only optional objects: complete once a snapshot is written. */
	if (!committed && !once) {
		snprintf(why, len, "no snapshot written yet");
		return (0);
	}
	snprintf(why, len, "complete");
	return (1);
}

int
policy_fresh(size_t n, policy_view_fn *fn, void *cookie,
    const struct policy_ready *lim, int64_t now, char *why, size_t len)
{
	struct policy_view v;
	int64_t limit, stale;
	size_t i;

	limit = (int64_t)lim->max_failed * (int64_t)lim->interval_ms;
	/*
	 * A source that cannot even be tried (no access token) is not
	 * "failing", but it is stale: one interval (+10% jitter, + timeout)
	 * more than that without a success counts as well.
	 */
	stale = ((int64_t)lim->max_failed + 1) *
	    (int64_t)lim->interval_ms * 11 / 10 + (int64_t)lim->timeout_ms;
	for (i = 0; i < n; i++) {
		fn(i, &v, cookie);
		if (!v.counts)
			continue;
		if (v.failures > 0 && now - v.failing_since > limit) {
			snprintf(why, len, "%s: failing for %llds: %s", v.name,
			    (long long)((now - v.failing_since) / 1000),
			    v.reason);
			return (0);
		}
		if (now - v.last_ok > stale) {
			snprintf(why, len, "%s: no successful fetch for %llds: "
			    "%s", v.name, (long long)((now - v.last_ok) / 1000),
			    v.failures > 0 ? v.reason : lim->no_token ?
			    "no access token" : "not fetched");
			return (0);
		}
	}
	snprintf(why, len, "ready");
	return (1);
}
