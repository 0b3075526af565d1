/*
 * sync.c - polling Key Vault and keeping the output directory current.
 *
 * One ev_timer ("wake") is armed for the earliest due source; when it fires
 * every source due by then is queued.  Completions, timers and token
 * events only record what happened and mark the sync "kicked"; the
 * deferred work runs at one place, once per loop iteration, from an
 * ev_prepare watcher (Redis's beforesleep): pump() starts requests for
 * queued sources while fewer than "concurrency" are in flight and a token
 * is available, commits a snapshot when the burst is over and something
 * changed, settles --once and re-arms the wake timer.  So no snapshot is
 * ever written from inside an HTTP callback or a caller's function.
 * Between bursts nothing runs: the only wake-ups are the next due time and
 * the token renewal.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "sync_int.h"
#include "duration.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "sync.h"
#include "util.h"

static void	schedule(struct sync *);

#define BATCH_SLACK_MS		50	/* sources due this close go together */

/* Start requests for queued sources while there is room and a token. */
static void
pump(struct sync *s)
{
	struct source_pump p;
	size_t i;

	if (s->finished)
		return;
	memset(&p, 0, sizeof(p));
	for (i = 0; i < s->nsources && s->inflight < s->cfg->concurrency; i++) {
		struct source *o = s->sources[i];

		if (o->state != SOURCE_QUEUED ||
		    !source_gate_may_start(o, sync_now_ms(s)))
			continue;
		o->ops->start(o, &p);
		source_gate_started(o);
	}
	if (!snapshot_busy(s) && !s->once)
		snapshot_commit(s);
	snapshot_once_check(s);
	schedule(s);
}

/*
 * Have pump() run before the loop sleeps next: the one place where
 * requests start, snapshots are committed and --once settles.
 */
void
sync_kick(struct sync *s)
{

	s->kicked = 1;
}

/* ev_prepare: the deferred work of this loop iteration. */
static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct sync *s = w->data;

	if (!s->kicked)
		return;
	s->kicked = 0;
	pump(s);
}

/* Arm the wake timer for the earliest due source (or commit retry). */
static void
schedule(struct sync *s)
{
	int64_t next = INT64_MAX, now;
	size_t i;

	ev_timer_stop(s->loop, &s->wake);
	if (s->finished)
		return;
	now = sync_now_ms(s);
	for (i = 0; i < s->nsources; i++) {
		struct source *o = s->sources[i];
		int64_t due;

		if (o->state == SOURCE_IDLE && o->due < next)
			next = o->due;
		/* Queued, waiting for its vault's next probe. */
		if (o->state == SOURCE_QUEUED &&
		    (due = source_gate_due(o, now)) < next)
			next = due;
	}
	if (s->dirty && s->commit_retry != 0 && s->commit_retry < next)
		next = s->commit_retry;
	if (next == INT64_MAX)
		return;
	ev_timer_set(&s->wake, next > now ? (double)(next - now) / 1000. : 0.,
	    0.);
	ev_timer_start(s->loop, &s->wake);
}

/* ev_timer: queue every source that is due. */
static void
wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sync *s = w->data;
	int64_t now = sync_now_ms(s), cycle;
	size_t i;

	/*
	 * The first refresh comes after half to one interval, at random, so
	 * that pods started together (a rollout) do not poll their vault in
	 * step forever after; then every interval, ±10%.
	 */
	if (!s->phased) {
		cycle = now + (int64_t)((double)s->cfg->interval_ms *
		    (0.5 + 0.5 * rand_unit()));
		s->phased = 1;
	} else
		cycle = now + (int64_t)backoff_jitter(s->cfg->interval_ms,
		    rand_unit());
	for (i = 0; i < s->nsources; i++) {
		struct source *o = s->sources[i];

		if (o->state != SOURCE_IDLE || o->due > now + BATCH_SLACK_MS)
			continue;
		o->state = SOURCE_QUEUED;
		o->next_cycle = cycle;
	}
	source_watch_plan(s);
	if (s->commit_retry != 0 && s->commit_retry <= now)
		s->commit_retry = 0;
	sync_kick(s);
}

/*
 * ev_timer: --once reached once_timeout: settle every source still trying
 * (a request in flight is abandoned) with the reason of its last failure.
 */
static void
once_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sync *s = w->data;
	char d[32];
	size_t i, j;

	duration_format(s->cfg->once_timeout_ms, d, sizeof(d));
	log_kv(LOG_WARN, "once_timeout reached: no more retries",
	    "once_timeout", d, NULL);
	for (i = 0; i < s->nsources; i++) {
		struct source *o = s->sources[i];

		if (o->state == SOURCE_SETTLED)
			continue;
		if (o->req != NULL) {
			http_cancel(o->req);
			o->req = NULL;
			s->inflight--;
			if (o->probe)
				s->probing = o->probe = 0;
		}
		for (j = 0; j < o->nouts; j++)
			if (o->outs[j]->reason[0] == '\0')
				snprintf(o->outs[j]->reason,
				    sizeof(o->outs[j]->reason), "%s",
				    snapshot_waits_for(s, o->outs[j]));
		if (o->reason[0] == '\0')
			snprintf(o->reason, sizeof(o->reason), "%s",
			    !o->fetched && auth_failures(s->auth) > 0 ?
			    "no access token" : o->nouts == 0 ? /* a lister */
			    "not listed yet" : "not fetched yet");
		source_reset(o);
		o->attempted = 1;
		o->state = SOURCE_SETTLED;
	}
	sync_kick(s);
}

struct sync *
sync_new(struct ev_loop *loop, struct http *http, struct auth *auth,
    struct akvd_config *cfg, int once, sync_done_fn *fn, void *cookie)
{
	struct sync *s;
	
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto oom;
	s->loop = loop;
	s->http = http;
	s->auth = auth;
	s->once = once;
	s->done_fn = fn;
	s->done_cookie = cookie;
	ev_init(&s->once_timer, once_timer_cb);
	s->once_timer.data = s;
	s->dirty = 1;		/* the first snapshot is always written */
	ev_init(&s->wake, wake_cb);
	s->wake.data = s;
	ev_prepare_init(&s->prepare, prepare_cb);
	s->prepare.data = s;
	if (sync_build(s, cfg) == -1)
		goto oom;
	s->cfg = cfg;
	(void)metrics_objects(cfg);
	snapshot_adopt(s);
	if (once) {
		s->deadline = sync_now_ms(s) + (int64_t)cfg->once_timeout_ms;
		ev_timer_set(&s->once_timer, cfg->once_timeout_ms / 1000.,
		    0.);
		ev_timer_start(loop, &s->once_timer);
	}
	/* The prepare watcher alone must not keep the loop running. */
	ev_prepare_start(loop, &s->prepare);
	ev_unref(loop);
	schedule(s);
	return (s);

oom:
	log_msg(LOG_ERROR, "sync: out of memory");
	if (s != NULL) {
		sync_tables_free(s);
		free(s);
	}
	return (NULL);
}

void
sync_resync(struct sync *s)
{
	int64_t now = sync_now_ms(s);
	size_t i;

	log_msg(LOG_INFO, "resync requested: fetching every object");
	for (i = 0; i < s->nsources; i++) {
		struct source *o = s->sources[i];

		if (o->state != SOURCE_IDLE)
			continue;
		o->due = o->not_before > now ? o->not_before : now;
		o->refetch = 1;		/* a GET, whatever a list says */
	}
	schedule(s);
}

void
sync_auth_event(struct sync *s, int ok)
{
	size_t i, j;

	if (s->finished)
		return;
	/*
	 * --once gives up at once on a token failure a retry will not fix;
	 * others are retried by the token cache until once_timeout.
	 */
	if (!ok && s->once) {
		for (i = 0; i < s->nsources; i++) {
			struct source *o = s->sources[i];
			struct auth *a = o->ops->auth(o);

			if (o->state != SOURCE_QUEUED &&
			    o->state != SOURCE_IDLE)
				continue;
			if (a != NULL && !auth_failed_permanently(a))
				continue;
			snprintf(o->reason, sizeof(o->reason),
			    "no access token");
			for (j = 0; j < o->nouts; j++)
				snprintf(o->outs[j]->reason,
				    sizeof(o->outs[j]->reason),
				    "no access token");
			o->attempted = 1;
			o->state = SOURCE_SETTLED;
		}
	}
	if (!ok)
		snapshot_report_waiting(s);
	sync_kick(s);
}

void
sync_on_waiting(struct sync *s, sync_wait_fn *fn, void *cookie)
{

	s->wait_fn = fn;
	s->wait_cookie = cookie;
}

void
sync_on_snapshot(struct sync *s, sync_snapshot_fn *fn, void *cookie)
{

	s->snap_fn = fn;
	s->snap_cookie = cookie;
}

void
sync_status(const struct sync *s, char *buf, size_t len)
{
	size_t i, failing = 0;
	struct tm tm;
	char when[32] = "none yet", why[256];

	if (!sync_ready(s, why, sizeof(why)) &&
	    strncmp(why, "waiting for ", 12) == 0) {
		snprintf(buf, len, "%s", why);
		return;
	}
	for (i = 0; i < s->nfouts; i++)
		if (s->fouts[i]->failures > 0)
			failing++;
	for (i = s->nstatic; i < s->nsources; i++)
		if (s->sources[i]->nouts == 0 && s->sources[i]->failures > 0)
			failing++;
	for (i = 0; i < s->nouts; i++)
		if (s->outs[i]->failures > 0)
			failing++;
	if (s->committed) {
		gmtime_r(&s->last_commit, &tm);
		strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	}
	snprintf(buf, len, "%s%s%s%zu objects, %zu failing, last snapshot %s",
	    strcmp(why, "ready") == 0 ? "ready: " : "not ready: ",
	    strcmp(why, "ready") == 0 ? "" : why,
	    strcmp(why, "ready") == 0 ? "" : "; ",
	    s->nfouts + s->cfg->nselects + s->nouts, failing, when);
}

int
sync_ready(const struct sync *s, char *why, size_t len)
{
	struct policy_ready lim;
	int64_t now = sync_now_ms(s), limit;

	if (!snapshot_complete(s, why, len))
		return (0);
	limit = (int64_t)s->cfg->ready_max_failed *
	    (int64_t)s->cfg->interval_ms;
	/* Values newer than the files that cannot be written: stale. */
	if (s->commit_failing_since != 0 &&
	    now - s->commit_failing_since > limit) {
		snprintf(why, len, "snapshot not written for %llds: %s",
		    (long long)((now - s->commit_failing_since) / 1000),
		    s->commit_error);
		return (0);
	}
	lim.interval_ms = s->cfg->interval_ms;
	lim.max_failed = s->cfg->ready_max_failed;
	lim.timeout_ms = s->cfg->timeout_ms;
	lim.no_token = auth_failures(s->auth) > 0;
	return (policy_fresh(snapshot_nviews(s), snapshot_view,
	    (void *)(uintptr_t)s,
	    &lim, now, why, len));
}

/* The value of ${o} if it is named ${name}: 0, else -1. */
static int
value_of(const struct output *o, const char *name, const char **data,
    size_t *len)
{

	if (!o->have || (strcmp(o->cfg->name, name) != 0 &&
	    strcmp(o->cfg->alias, name) != 0))
		return (-1);
	*data = o->files[0].data != NULL ? o->files[0].data : "";
	*len = o->files[0].len;
	return (0);
}

int
sync_value(const struct sync *s, const char *name, const char **data,
    size_t *len)
{
	size_t i;

	/* The configured objects, the bundles and templates, the others. */
	for (i = 0; i < s->nfouts && i < s->cfg->nobjects; i++)
		if (value_of(s->fouts[i], name, data, len) == 0)
			return (0);
	for (i = 0; i < s->nouts; i++) {
		const struct output *out = s->outs[i];

		if (!out->have || strcmp(out->path, name) != 0)
			continue;
		*data = out->file.data != NULL ? out->file.data : "";
		*len = out->file.len;
		return (0);
	}
	for (i = s->cfg->nobjects; i < s->nfouts; i++)
		if (value_of(s->fouts[i], name, data, len) == 0)
			return (0);
	return (-1);
}

void
sync_tables_free(struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nsources; i++)
		source_free(s->sources[i]);
	free(s->sources);
	for (i = 0; i < s->nfouts; i++)
		output_free(s->fouts[i]);
	free(s->fouts);
	for (i = 0; i < s->nouts; i++)
		output_free(s->outs[i]);
	free(s->outs);
}

void
sync_free(struct sync *s)
{

	if (s == NULL)
		return;
	ev_timer_stop(s->loop, &s->wake);
	ev_timer_stop(s->loop, &s->once_timer);
	ev_ref(s->loop);
	ev_prepare_stop(s->loop, &s->prepare);
	sync_tables_free(s);
	source_watch_free(s);
	source_gate_free(s);
	free(s);
}
