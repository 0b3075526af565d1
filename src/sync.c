/*
 * sync.c - polling Key Vault and keeping the output directory current.
 *
 * One ev_timer ("wake") is armed for the earliest due object; when it fires
 * every object due by then is queued.  Completions, timers and token
 * events only record what happened and mark the sync "kicked"; the
 * deferred work runs at one place, once per loop iteration, from an
 * ev_prepare watcher (Redis's beforesleep): pump() starts requests for
 * queued objects while fewer than "concurrency" are in flight and a token
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
#include "blob.h"
#include "duration.h"
#include "fetch.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "render.h"
#include "plan.h"
#include "policy.h"
#include "sync.h"
#include "util.h"
#include "writer.h"

static void	schedule(struct sync *);
static void	sync_link(struct sync *);

#define BATCH_SLACK_MS		50	/* objects due this close go together */

/* Start requests for queued objects while there is room and a token. */
static void
pump(struct sync *s)
{
	struct source_pump p;
	size_t i;

	if (s->finished)
		return;
	memset(&p, 0, sizeof(p));
	for (i = 0; i < s->nobjs && s->inflight < s->cfg->concurrency; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_QUEUED || o->src != o)
			continue;
		o->ops->start(o, &p);
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

/* Arm the wake timer for the earliest due object (or commit retry). */
static void
schedule(struct sync *s)
{
	int64_t next = INT64_MAX, now;
	size_t i;

	ev_timer_stop(s->loop, &s->wake);
	if (s->finished)
		return;
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->state == O_IDLE && s->objs[i]->src ==
		    s->objs[i] && s->objs[i]->due < next)
			next = s->objs[i]->due;
	if (s->dirty && s->commit_retry != 0 && s->commit_retry < next)
		next = s->commit_retry;
	if (next == INT64_MAX)
		return;
	now = sync_now_ms(s);
	ev_timer_set(&s->wake, next > now ? (double)(next - now) / 1000. : 0.,
	    0.);
	ev_timer_start(s->loop, &s->wake);
}

/* ev_timer: queue every object that is due. */
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
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_IDLE || o->src != o ||
		    o->due > now + BATCH_SLACK_MS)
			continue;
		o->state = O_QUEUED;
		o->next_cycle = cycle;
	}
	source_watch_plan(s);
	if (s->commit_retry != 0 && s->commit_retry <= now)
		s->commit_retry = 0;
	sync_kick(s);
}

/*
 * ev_timer: --once reached once_timeout: settle every object still trying
 * (a request in flight is abandoned) with the reason of its last failure.
 */
static void
once_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sync *s = w->data;
	char d[32];
	size_t i;

	duration_format(s->cfg->once_timeout_ms, d, sizeof(d));
	log_kv(LOG_WARN, "once_timeout reached: no more retries",
	    "once_timeout", d, NULL);
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (o->state == O_SETTLED)
			continue;
		if (o->req != NULL) {
			http_cancel(o->req);
			o->req = NULL;
			s->inflight--;
			if (o->probe)
				s->probing = o->probe = 0;
		}
		if (o->reason[0] == '\0')
			snprintf(o->reason, sizeof(o->reason), "%s",
			    snapshot_waits_for(s, o));
		obj_reset_phase(o);
		o->attempted = 1;
		o->state = O_SETTLED;
	}
	sync_kick(s);
}

static struct obj *
obj_new(struct sync *s, const struct akvd_object *cfg)
{
	struct obj *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	o->ops = cfg->type == OBJ_BLOB ? &source_blob_ops :
	    &source_kv_ops;
	o->src = o;
	if (obj_set_cfg(o, cfg) == -1) {
		free(o);
		return (NULL);
	}
	o->s = s;
	o->phase = cfg->history > 0 ? P_VERSIONS : P_FETCH;
	o->state = O_IDLE;
	o->due = sync_now_ms(s);
	o->last_ok = o->due;
	return (o);
}

struct sync *
sync_new(struct ev_loop *loop, struct http *http, struct auth *auth,
    struct akvd_config *cfg, int once, sync_done_fn *fn, void *cookie)
{
	struct sync *s;
	size_t i;

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
	if ((s->objs = calloc(cfg->nobjects + cfg->nselects + 1,
	    sizeof(*s->objs))) == NULL ||
	    (s->outs = calloc(cfg->nbundles + cfg->ntemplates + 1,
	    sizeof(*s->outs))) == NULL)
		goto oom;
	for (i = 0; i < cfg->nobjects; i++) {
		if ((s->objs[i] = obj_new(s, &cfg->objects[i])) == NULL)
			goto oom;
		s->nobjs++;
	}
	for (i = 0; i < cfg->nbundles; i++) {
		if ((s->outs[s->nouts] = output_bundle_new(s,
		    &cfg->bundles[i])) == NULL)
			goto oom;
		s->nouts++;
	}
	for (i = 0; i < cfg->ntemplates; i++) {
		if ((s->outs[s->nouts] = output_template_new(s,
		    &cfg->templates[i])) == NULL)
			goto oom;
		s->nouts++;
	}
	for (i = 0; i < s->nouts; i++)
		output_bind(s->outs[i], s->objs);
	for (i = 0; i < cfg->nselects; i++) {
		if ((s->objs[s->nobjs] = source_select_lister_new(s,
		    &cfg->selects[i],
		    i)) == NULL)
			goto oom;
		s->nobjs++;
	}
	s->cfg = cfg;
	(void)metrics_objects(cfg);
	sync_link(s);
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
		for (i = 0; i < s->nobjs; i++)
			obj_free(s->objs[i]);
		free(s->objs);
		for (i = 0; i < s->nouts; i++)
			output_free(s->outs[i]);
		free(s->outs);
		free(s);
	}
	return (NULL);
}

/*
 * ${old} is replaced by a new object of ${objs} that writes the same
 * files (a new encoding, format or version pin): that one holds ${old}'s
 * files until its first fetch succeeds, as after a restart.
 */
static void
carry_files(struct obj *old, struct obj **objs, size_t n)
{
	struct buf *files;
	struct obj *o;
	size_t i, f;

	if (!old->have || old->sel != NULL || old->lister != NULL)
		return;
	for (i = 0; i < n; i++) {
		o = objs[i];
		if (o->have || o->nfiles != old->nfiles ||
		    (o->cfg->bundle != 0) != (old->cfg->bundle != 0) ||
		    (o->cfg->bundle != 0 &&
		    strcmp(o->cfg->name, old->cfg->name) != 0))
			continue;
		for (f = 0; f < o->nfiles; f++)
			if (strcmp(o->paths[f], old->paths[f]) != 0)
				break;
		if (f < o->nfiles)
			continue;
		files = o->files;
		o->files = old->files;
		old->files = files;
		o->have = 1;
		free(o->version);
		o->version = NULL;
		old->have = 0;
		return;
	}
}

/* Can ${o} share the GET of another object that reads the same value? */
static int
shareable(const struct obj *o)
{

	return (o->own == NULL && o->sel == NULL &&
	    o->cfg->type != OBJ_BLOB && o->cfg->history == 0);
}

/*
 * Two objects that read the same value share one source by construction:
 * the first of them fetches, the others follow its outcomes (o->src).
 * Called whenever the table of objects is made.
 */
static void
sync_link(struct sync *s)
{
	struct obj *o, *p;
	size_t i, j;

	for (i = 0; i < s->nobjs; i++) {
		o = s->objs[i];
		o->src = o;
		if (!shareable(o))
			continue;
		for (j = 0; j < i; j++) {
			p = s->objs[j];
			if (p->src == p && shareable(p) &&
			    plan_same_value(p->cfg, o->cfg)) {
				o->src = p;
				/* It is served when that one is. */
				if (o->state == O_QUEUED)
					o->state = O_IDLE;
				break;
			}
		}
	}
}

/* Is there a lister of the old select ${idx}? */
static int
has_lister(const struct sync *s, size_t idx)
{
	size_t j;

	for (j = s->cfg->nobjects; j < s->nobjs; j++)
		if (s->objs[j] != NULL && s->objs[j]->sel != NULL &&
		    s->objs[j]->sel_idx == idx)
			return (1);
	return (0);
}

/* The lister of the old select ${idx}, taken out of s->objs, or NULL. */
static struct obj *
take_lister(struct sync *s, size_t idx)
{
	struct obj *o;
	size_t j;

	for (j = s->cfg->nobjects; j < s->nobjs; j++) {
		if ((o = s->objs[j]) != NULL && o->sel != NULL &&
		    o->sel_idx == idx) {
			s->objs[j] = NULL;
			return (o);
		}
	}
	return (NULL);
}

/* A reload prepared: everything it needs, allocated (see sync.h). */
struct sync_pending {
	struct akvd_config *cfg;
	struct plan_match *pm, *pb, *ps;	/* objects, bundles, selects */
	struct obj	**made;		/* [i]: NEW and RERENDER (the
					   fallback), NULL for KEEP */
	char		***paths;	/* [i]: KEEP: its new paths */
	size_t		*npaths;
	struct output	**outs;		/* every bundle and template, new:
					   each takes the file of the old
					   one at its path */
	struct obj	**listers;	/* [i]: NEW listers */
	struct obj	**objs;		/* the new table */
};

void
sync_abort(struct sync_pending *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; p->made != NULL && i < p->cfg->nobjects; i++)
		obj_free(p->made[i]);
	for (i = 0; p->paths != NULL && i < p->cfg->nobjects; i++)
		obj_paths_free(p->paths[i], p->npaths[i]);
	for (i = 0; p->outs != NULL &&
	    i < p->cfg->nbundles + p->cfg->ntemplates; i++)
		output_free(p->outs[i]);
	for (i = 0; p->listers != NULL && i < p->cfg->nselects; i++)
		obj_free(p->listers[i]);
	free(p->outs);
	free(p->made);
	free(p->paths);
	free(p->npaths);
	free(p->listers);
	free(p->objs);
	free(p->pm);
	free(p->pb);
	free(p->ps);
	free(p);
}

int
sync_prepare(struct sync *s, struct akvd_config *cfg,
    struct sync_pending **out)
{
	struct sync_pending *p;
	size_t i;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	p->cfg = cfg;
	/* Static objects first, then listers, selected secrets. */
	p->objs = calloc(cfg->nobjects + cfg->nselects + s->nobjs + 1,
	    sizeof(*p->objs));
	p->outs = calloc(cfg->nbundles + cfg->ntemplates + 1,
	    sizeof(*p->outs));
	p->pm = calloc(cfg->nobjects + 1, sizeof(*p->pm));
	p->pb = calloc(cfg->nbundles + 1, sizeof(*p->pb));
	p->ps = calloc(cfg->nselects + 1, sizeof(*p->ps));
	p->made = calloc(cfg->nobjects + 1, sizeof(*p->made));
	p->paths = calloc(cfg->nobjects + 1, sizeof(*p->paths));
	p->npaths = calloc(cfg->nobjects + 1, sizeof(*p->npaths));
	p->listers = calloc(cfg->nselects + 1, sizeof(*p->listers));
	if (p->objs == NULL || p->outs == NULL || p->pm == NULL ||
	    p->pb == NULL || p->ps == NULL || p->made == NULL ||
	    p->paths == NULL || p->npaths == NULL || p->listers == NULL ||
	    plan_objects(s->cfg, cfg, p->pm) == -1 ||
	    plan_bundles(s->cfg, cfg, p->pb) == -1 ||
	    plan_selects(s->cfg, cfg, p->ps) == -1)
		goto oom;
	for (i = 0; i < cfg->nobjects; i++) {
		if (p->pm[i].how == PLAN_KEEP) {
			if ((p->paths[i] = obj_paths_for(s->objs[p->pm[i].old],
			    &cfg->objects[i], &p->npaths[i])) == NULL)
				goto oom;
		} else if ((p->made[i] = obj_new(s, &cfg->objects[i])) == NULL)
			goto oom;
	}
	for (i = 0; i < cfg->nbundles; i++)
		if ((p->outs[i] = output_bundle_new(s,
		    &cfg->bundles[i])) == NULL)
			goto oom;
	/* Templates are compiled with the configuration: always new. */
	for (i = 0; i < cfg->ntemplates; i++)
		if ((p->outs[cfg->nbundles + i] = output_template_new(s,
		    &cfg->templates[i])) == NULL)
			goto oom;
	for (i = 0; i < cfg->nselects; i++) {
		if (p->ps[i].how == PLAN_KEEP && has_lister(s, p->ps[i].old))
			continue;
		p->ps[i].how = PLAN_NEW;
		if ((p->listers[i] = source_select_lister_new(s,
		    &cfg->selects[i], i)) == NULL)
			goto oom;
	}
	*out = p;
	return (0);
oom:
	log_msg(LOG_ERROR, "sync: out of memory");
	sync_abort(p);
	return (-1);
}

void
sync_commit(struct sync *s, struct sync_pending *p)
{
	struct akvd_config *cfg = p->cfg;
	struct obj **objs = p->objs, *o;
	size_t i, j, k, n;
	int64_t now = sync_now_ms(s);
	int changed = 0;
	char count[32];

	/* KEEP: the state of objects that fetch the same thing goes on. */
	for (i = 0; i < cfg->nobjects; i++) {
		if (p->pm[i].how != PLAN_KEEP)
			continue;
		o = s->objs[p->pm[i].old];
		if (strcmp(o->cfg->alias, cfg->objects[i].alias) != 0 ||
		    o->cfg->mode != cfg->objects[i].mode ||
		    o->cfg->uid != cfg->objects[i].uid ||
		    o->cfg->gid != cfg->objects[i].gid)
			changed = 1;
		obj_set_paths(o, &cfg->objects[i], p->paths[i], p->npaths[i]);
		p->paths[i] = NULL;
		objs[i] = o;
		s->objs[p->pm[i].old] = NULL;
	}
	/*
	 * RERENDER: a new object that reads what an old one holds, rendered
	 * otherwise (encoding, format, split, bundle membership), is that old
	 * one rendered again: no GET.  Should that not work (no value of this
	 * run held, ENOMEM), the prepared new object takes its place.
	 */
	for (i = 0; i < cfg->nobjects; i++) {
		if (p->pm[i].how == PLAN_KEEP)
			continue;
		if (p->pm[i].how == PLAN_RERENDER &&
		    (o = s->objs[p->pm[i].old]) != NULL &&
		    source_kv_rerender(o, &cfg->objects[i]) == 0) {
			objs[i] = o;
			s->objs[p->pm[i].old] = NULL;
			continue;
		}
		objs[i] = p->made[i];
		p->made[i] = NULL;
		changed = 1;
	}
	/*
	 * A bundle or template takes the file of the old one at its path
	 * (kept should it not be made); a new, changed or re-owned one is made
	 * again, from the values held.
	 */
	for (i = 0; i < cfg->nbundles + cfg->ntemplates; i++) {
		struct output *out = p->outs[i], *old = NULL;

		if (i < cfg->nbundles && p->pb[i].how == PLAN_KEEP)
			old = s->outs[p->pb[i].old];
		for (j = s->cfg->nbundles; i >= cfg->nbundles &&
		    j < s->nouts; j++)
			if (strcmp(s->outs[j]->path, out->path) == 0)
				old = s->outs[j];
		if (old == NULL || output_carry(out, old))
			changed = 1;
		if (old != NULL)
			old->carried = 1;
	}
	n = cfg->nobjects;
	/* A select that did not change keeps its lister and secrets. */
	for (i = 0; i < cfg->nselects; i++) {
		if (p->ps[i].how == PLAN_KEEP &&
		    (o = take_lister(s, p->ps[i].old)) != NULL) {
			o->sel = &cfg->selects[i];
			o->sel_idx = i;
		} else {
			o = p->listers[i];
			p->listers[i] = NULL;
			changed = 1;
		}
		objs[n++] = o;
	}
	for (j = s->cfg->nobjects; j < s->nobjs; j++) {
		o = s->objs[j];
		if (o == NULL || o->lister == NULL)
			continue;
		for (k = cfg->nobjects; k < n && objs[k] != o->lister; k++)
			;
		if (k == n)
			continue;
		if (o->own->mode != o->lister->sel->mode ||
		    o->own->uid != o->lister->sel->uid ||
		    o->own->gid != o->lister->sel->gid)
			changed = 1;
		o->own->mode = o->lister->sel->mode;
		o->own->uid = o->lister->sel->uid;
		o->own->gid = o->lister->sel->gid;
		objs[n++] = o;
		s->objs[j] = NULL;
	}
	for (j = 0; j < s->nobjs; j++) {
		if (s->objs[j] != NULL) {
			carry_files(s->objs[j], objs, cfg->nobjects);
			obj_free(s->objs[j]);
			changed = 1;
		}
	}
	for (j = 0; j < s->nouts; j++) {
		if (!s->outs[j]->carried)
			changed = 1;	/* its file leaves */
		output_free(s->outs[j]);
	}
	free(s->objs);
	free(s->outs);
	s->objs = objs;
	s->nobjs = n;
	s->outs = p->outs;
	p->outs = NULL;
	s->nouts = cfg->nbundles + cfg->ntemplates;
	for (j = 0; j < s->nouts; j++)
		output_bind(s->outs[j], s->objs);
	/* A configured object or bundle now takes a selected secret's name. */
	for (j = s->nobjs; j > 0; j--) {
		const char *other;

		o = s->objs[j - 1];
		if (o->lister == NULL || (other = source_select_alias_taken(s,
		    o->cfg->alias, 1, o)) == NULL)
			continue;
		log_kv(LOG_WARN, "selected secret dropped: its file name is "
		    "taken", "secret", o->cfg->name, "file", o->cfg->alias,
		    "by", other, NULL);
		obj_free(o);
		memmove(&s->objs[j - 1], &s->objs[j],
		    (s->nobjs - j + 1) * sizeof(*s->objs));
		s->nobjs--;
		changed = 1;
	}
	sync_link(s);
	if (strcmp(s->cfg->output_dir, cfg->output_dir) != 0) {
		changed = 1;
		writer_cleanup(cfg->output_dir);
	}
	if (cfg->interval_ms < s->cfg->interval_ms) {
		for (i = 0; i < s->nobjs; i++) {
			o = s->objs[i];
			if (o->state == O_IDLE && o->failures == 0 &&
			    o->due > now + (int64_t)cfg->interval_ms)
				o->due = now + (int64_t)cfg->interval_ms;
		}
	}
	s->cfg = cfg;	/* the caller frees the old one */
	(void)metrics_objects(cfg);
	if (changed)
		s->dirty = 1;
	snprintf(count, sizeof(count), "%zu", s->nobjs + s->nouts);
	log_kv(LOG_INFO, "configuration applied", "objects", count, NULL);
	p->objs = NULL;		/* now s->objs */
	sync_abort(p);
	sync_kick(s);
}

void
sync_resync(struct sync *s)
{
	int64_t now = sync_now_ms(s);
	size_t i;

	log_msg(LOG_INFO, "resync requested: fetching every object");
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_IDLE)
			continue;
		o->due = o->not_before > now ? o->not_before : now;
		o->quiet = WATCH_SAFETY;	/* a GET, whatever a list says */
	}
	schedule(s);
}

void
sync_auth_event(struct sync *s, int ok)
{
	size_t i;

	if (s->finished)
		return;
	/*
	 * --once gives up at once on a token failure a retry will not fix;
	 * others are retried by the token cache until once_timeout.
	 */
	if (!ok && s->once) {
		for (i = 0; i < s->nobjs; i++) {
			struct obj *o = s->objs[i];
			struct auth *a = o->ops->auth(o);

			if (o->state != O_QUEUED && o->state != O_IDLE)
				continue;
			if (a != NULL && !auth_failed_permanently(a))
				continue;
			snprintf(o->reason, sizeof(o->reason),
			    "no access token");
			o->attempted = 1;
			o->state = O_SETTLED;
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
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->failures > 0)
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
	    s->nobjs + s->nouts, failing, when);
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
	return (policy_fresh(s->nobjs, snapshot_view, (void *)(uintptr_t)s,
	    &lim, now, why, len));
}

/* The value of ${o} if it is named ${name}: 0, else -1. */
static int
value_of(const struct obj *o, const char *name, const char **data,
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
	for (i = 0; i < s->nobjs && i < s->cfg->nobjects; i++)
		if (value_of(s->objs[i], name, data, len) == 0)
			return (0);
	for (i = 0; i < s->nouts; i++) {
		const struct output *out = s->outs[i];

		if (!out->have || strcmp(out->path, name) != 0)
			continue;
		*data = out->file.data != NULL ? out->file.data : "";
		*len = out->file.len;
		return (0);
	}
	for (i = s->cfg->nobjects; i < s->nobjs; i++)
		if (value_of(s->objs[i], name, data, len) == 0)
			return (0);
	return (-1);
}

void
sync_free(struct sync *s)
{
	size_t i;

	if (s == NULL)
		return;
	ev_timer_stop(s->loop, &s->wake);
	ev_timer_stop(s->loop, &s->once_timer);
	ev_ref(s->loop);
	ev_prepare_stop(s->loop, &s->prepare);
	for (i = 0; i < s->nobjs; i++)
		obj_free(s->objs[i]);
	free(s->objs);
	for (i = 0; i < s->nouts; i++)
		output_free(s->outs[i]);
	free(s->outs);
	source_watch_free(s);
	free(s);
}
