/*
 * source.c - the state of one source of the sync: its schedule, and what a
 * success or a failure does to it (backoff, Retry-After, --once settling)
 * and to the outputs that read it (output.c: their files, logs and
 * metrics).  Below the kinds of source and the scheduler; see sync_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"
#include "sync_int.h"
#include "policy.h"
#include "util.h"

int64_t
sync_now_ms(const struct sync *s)
{
	struct timespec ts;

	(void)s;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Log a failure of ${o} when its reason changed, and then on the 2nd, 4th,
 * 8th... identical failure, so an outage does not flood the log.
 */
int
source_worth_logging(struct source *o, const char *reason)
{

	if (strcmp(o->reason, reason) != 0) {
		snprintf(o->reason, sizeof(o->reason), "%s", reason);
		return (1);
	}
	return (log_repeat_due(o->failures));
}

/* Forget a multi-request fetch in progress: o->ops->reset(). */
void
source_reset(struct source *o)
{

	o->ops->reset(o);
}

/* The vault of ${o} as a whole, or NULL (a blob, or none). */
static const char *
gate_key(const struct source *o)
{

	if (o->ops == &source_blob_ops || o->cfg == NULL)
		return (NULL);
	return (o->cfg->vault);
}

/* The gate of ${o}'s vault, made if ${make} (NULL: none, or ENOMEM). */
static struct gate *
gate_of(const struct source *o, int make)
{
	struct sync *s = o->s;
	const char *key = gate_key(o);
	struct gate *g;

	if (key == NULL)
		return (NULL);
	for (g = s->gates; g != NULL; g = g->next)
		if (strcmp(g->vault, key) == 0)
			return (g);
	if (!make || (g = calloc(1, sizeof(*g))) == NULL)
		return (NULL);
	if ((g->vault = strdup(key)) == NULL) {
		free(g);
		return (NULL);
	}
	g->next = s->gates;
	s->gates = g;
	return (g);
}

/* ${o}'s attempt is over: it probes its vault no more. */
static void
gate_leave(struct source *o)
{
	struct gate *g = gate_of(o, 0);

	if (g != NULL && g->probe == o) {
		g->probe = NULL;
		g->p.probing = 0;
	}
}

/* ${o} is freed: the gate of its vault forgets it. */
static void
gate_forget(struct source *o)
{
	struct gate *g = gate_of(o, 0);

	gate_leave(o);
	if (g != NULL && g->p.first == (uintptr_t)o)
		g->p.first = 0;
}

/* Is ${r} a failure of the vault as a whole (not of one object)? */
static int
vault_wide(const struct fetch_result *r)
{

	return (r->cls == FETCH_THROTTLED || r->cls == FETCH_SERVER_ERROR ||
	    r->cls == FETCH_TRANSPORT);
}

int
source_gate_may_start(struct source *o, int64_t now)
{
	struct gate *g = gate_of(o, 0);

	if (g == NULL || g->probe == o || !o->attempted)
		return (1);
	return (policy_gate_may_start(&g->p, now));
}

void
source_gate_started(struct source *o)
{
	struct gate *g = gate_of(o, 0);

	if (g == NULL || g->p.failures == 0 || g->probe != NULL ||
	    o->state != SOURCE_INFLIGHT)
		return;
	g->probe = o;
	g->p.probing = 1;
}

int64_t
source_gate_due(const struct source *o, int64_t now)
{
	struct gate *g = gate_of(o, 0);

	/* Due already: what holds it (a token, a slot) kicks the sync. */
	if (g == NULL || g->p.failures == 0 || g->p.probing ||
	    g->p.due <= now)
		return (INT64_MAX);
	return (g->p.due);
}

void
source_gate_answer(struct source *o, const struct http_response *r)
{
	struct sync *s = o->s;
	struct gate *g;
	int64_t now = sync_now_ms(s), cycle;
	size_t i;

	o->held = 0;		/* its own answer */
	if (r->failed || r->status == 429 || r->status >= 500) {
		if ((g = gate_of(o, 1)) != NULL)
			policy_gate_failed(&g->p, (uintptr_t)o,
			    s->cfg->interval_ms,
			    rand_unit(), r->failed ? -1 : r->retry_after_ms,
			    now);
		return;
	}
	if ((g = gate_of(o, 0)) == NULL)
		return;
	g->p.first = 0;
	/*
	 * The first request of a source (an object a reload added) goes
	 * while the vault fails: its answer is no probe's.
	 */
	if (g->p.failures == 0 || !o->attempted)
		return;
	log_kv(LOG_INFO, "vault answers again", "vault", g->vault, NULL);
	policy_gate_ok(&g->p);
	/*
	 * The sources that waited for its probes go now (not before a
	 * Retry-After), and their next cycle is the probe's: then they are
	 * due together, and change detection lists the vault once for them
	 * instead of a GET each.  One that failed on its own request keeps
	 * its own backoff.
	 */
	cycle = now + (int64_t)backoff_jitter(s->cfg->interval_ms, rand_unit());
	o->next_cycle = cycle;
	for (i = 0; i < s->nsources; i++) {
		struct source *m = s->sources[i];

		if (!m->held || gate_of(m, 0) != g)
			continue;
		m->held = 0;
		m->next_cycle = cycle;
		if (m->state == SOURCE_IDLE)
			m->due = m->not_before > now ? m->not_before : now;
	}
	sync_kick(s);
}

void
source_gate_free(struct sync *s)
{
	struct gate *g;

	while ((g = s->gates) != NULL) {
		s->gates = g->next;
		free(g->vault);
		free(g);
	}
}

struct source *
source_new(struct sync *s, const struct akvd_object *cfg,
    const struct source_ops *ops)
{
	struct source *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	o->s = s;
	o->cfg = cfg;
	o->ops = ops;
	o->state = SOURCE_IDLE;
	o->due = sync_now_ms(s);
	o->last_ok = o->due;
	return (o);
}

int
source_same_key(const struct akvd_object *a, const struct akvd_object *b)
{

	return (plan_same_key(a, b));
}

void
source_free(struct source *o)
{

	if (o == NULL)
		return;
	gate_forget(o);
	if (o->req != NULL) {
		http_cancel(o->req);
		o->s->inflight--;
		if (o->probe)
			o->s->probing = 0;
	}
	kv_secret_clear(&o->raw);
	free(o->outs);
	o->ops->free(o);		/* last: o->cfg may be its kind's */
	free(o);
}

/*
 * After an attempt: next due time.  With --once, a success or a permanent
 * failure settles the source, and a transient one is retried with backoff
 * while the retry falls before the deadline (once_timeout).
 */
void
source_next(struct source *o, int transient, uint64_t delay_ms)
{
	struct sync *s = o->s;
	struct policy_source src;
	struct policy_run run;
	int64_t due = o->due;

	source_reset(o);
	gate_leave(o);
	o->attempted = 1;
	src.next_cycle = o->next_cycle;
	src.not_before = o->not_before;
	src.failures = o->failures;
	src.on_demand = o->on_demand;
	run.once = s->once;
	run.deadline = s->deadline;
	if (policy_next(&src, &run, transient, delay_ms, sync_now_ms(s),
	    &due) == 1) {
		o->state = SOURCE_SETTLED;
		return;
	}
	o->state = SOURCE_IDLE;
	o->due = due;
}

void
source_ok(struct source *o)
{

	if (o->failures > 0 && o->nouts == 0)
		log_kv(LOG_INFO, "object recovered", "object", o->cfg->name,
		    "after", o->reason, NULL);
	o->failures = 0;
	o->reason[0] = '\0';
	o->retried_401 = 0;
	o->fetched = 1;
	o->last_ok = sync_now_ms(o->s);
}

/*
 * A fetch succeeded with ${version}: the rendered ${files} of its one
 * output (owned by the caller, wiped by it or taken: then nulled).
 */
void
source_success(struct source *o, const char *version, struct buf **files)
{

	source_ok(o);
	output_success(o->outs[0], version, files);
}

/*
 * ${o} holds the current value without a GET (a listing showed it
 * unchanged, or it is an immutable pinned version): a success of this
 * cycle for it and for the outputs that read it.
 */
void
source_confirm(struct source *o)
{
	int64_t now = sync_now_ms(o->s);
	size_t i;

	o->last_ok = now;
	for (i = 0; i < o->nouts; i++) {
		struct output *out = o->outs[i];

		out->last_ok = now;
		metrics_fetch(out->cfg->name, out->cfg->alias,
		    FETCH_UNCHANGED, 0);
	}
	log_kv(LOG_DEBUG, "object unchanged, not fetched", "object",
	    o->cfg->name, "version", o->nouts > 0 ? o->outs[0]->version :
	    NULL, NULL);
	source_next(o, 0, 0);
}

/*
 * The part of a failure ${r} that is ${o}'s own: counted, the Retry-After
 * kept, its reason; the delay of its retry in ${delay} (0: the next
 * cycle).  Returns whether it is transient.
 */
static int
failed(struct source *o, const struct fetch_result *r, uint64_t *delay)
{
	int64_t now = sync_now_ms(o->s);
	int transient = fetch_transient(r);

	*delay = 0;
	o->failures++;
	if (o->failures == 1)
		o->failing_since = now;
	if (transient) {
		*delay = policy_retry_delay(o->failures, o->s->cfg->interval_ms,
		    rand_unit(), r->retry_after_ms);
		if (r->retry_after_ms >= 0)
			o->not_before = now + r->retry_after_ms;
	}
	return (transient);
}

/*
 * A failure ${r}: transient ones back off exponentially (at least the
 * Retry-After the server asked for); the others wait for the next cycle.
 * Each output reading ${o} records and logs it as its own.
 */
void
source_failure(struct source *o, const struct fetch_result *r)
{
	struct sync *s = o->s;
	struct gate *g;
	uint64_t delay;
	int transient = failed(o, r, &delay);
	char reason[sizeof(o->reason)];
	size_t i;
	int probe;

	fetch_reason(r, reason, sizeof(reason));
	/* A lister's failure is its own; else each output's. */
	if (o->nouts == 0)
		metrics_fetch(o->cfg->name, o->cfg->alias, r->cls, 0);
	if (source_worth_logging(o, reason) && o->nouts == 0)
		output_log_failure(o->cfg, o->failures, reason, r, transient,
		    delay, 0, NULL);
	for (i = 0; i < o->nouts; i++)
		output_failure(o->outs[i], r, transient, delay);
	/* The probe failed for its vault: it goes on with the others. */
	if ((probe = (g = gate_of(o, 0)) != NULL && g->probe == o &&
	    vault_wide(r)))
		o->held = 1;
	source_next(o, transient, delay);
	/*
	 * The probe of a failing vault failed: so did, for each of them, the
	 * sources of the vault waiting for it (each records, logs and counts
	 * it as its own, and backs off).
	 */
	for (i = 0; probe && i < s->nsources; i++) {
		struct source *m = s->sources[i];

		if (m != o && m->state == SOURCE_QUEUED && m->req == NULL &&
		    gate_of(m, 0) == g) {
			m->held = 1;
			source_failure(m, r);
		}
	}
	snapshot_report_waiting(s);
}

void
source_render_failed(struct source *o, const struct fetch_result *r)
{
	uint64_t delay;
	int transient = failed(o, r, &delay);
	char reason[sizeof(o->reason)];

	fetch_reason(r, reason, sizeof(reason));
	(void)source_worth_logging(o, reason);
	source_next(o, transient, delay);
	snapshot_report_waiting(o->s);
}

/* source_failure() of class ${cls} without a response. */
void
source_fail(struct source *o, enum fetch_class cls, const char *what,
    const char *detail)
{
	struct fetch_result r;

	fetch_fail(&r, cls, what, detail);
	source_failure(o, &r);
}
