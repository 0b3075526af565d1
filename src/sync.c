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
#include "blob.h"
#include "duration.h"
#include "fetch.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "render.h"
#include "policy.h"
#include "sync.h"
#include "util.h"
#include "writer.h"

#define COMMIT_RETRY_MS		5000
#define BATCH_SLACK_MS		50	/* objects due this close go together */

/* What the request in flight (or next) of an object is. */
enum obj_phase {
	P_FETCH = 0,		/* GET the object (latest or pinned) */
	P_VERSIONS,		/* history: list its versions */
	P_HISTORY,		/* history: GET version k of want */
	P_LIST			/* select: list the vault's secrets */
};

enum obj_state {
	O_IDLE = 0,		/* waiting for its due time */
	O_QUEUED,		/* due, waiting for a slot or a token */
	O_INFLIGHT,
	O_SETTLED		/* --once: no further attempt */
};

struct obj {
	struct sync	*s;
	const struct akvd_object *cfg;	/* into s->cfg->objects */
	enum obj_state	 state;

	struct buf	*files;		/* last good files (secrets), nfiles */
	char		**paths;	/* of files, relative to output_dir */
	size_t		 nfiles;	/* config_object_nfiles() */
	int		 have;
	char		*version;	/* of files (history: every version,
					   comma-separated); NULL if adopted
					   from disk */

	enum obj_phase	 phase;
	char		*next_url;	/* P_VERSIONS: nextLink to follow */
	struct kv_list	 list;		/* P_VERSIONS: items so far */
	char		**want;		/* P_HISTORY: versions, newest first */
	size_t		 nwant, k;
	struct buf	*pending;	/* P_HISTORY: files rendered so far */

	/*
	 * "select": a lister (sel set) lists a vault's secrets each cycle
	 * and keeps one selected object (lister set) per match; those are
	 * fetched only when the list shows a new attributes.updated.
	 */
	const struct akvd_select *sel;	/* lister: its entry */
	size_t		 sel_idx;
	struct obj	*lister;	/* selected: its lister */
	struct akvd_object *own;	/* cfg of listers and selected */
	int64_t		 seen_updated;	/* selected: of the value held */
	int64_t		 want_updated;	/* selected: as last listed */
	int		 mark;

	/*
	 * A bundle (bundle set) is never fetched: its one file is made from
	 * its members (objects whose cfg->bundle is 1 + bundle_idx) at each
	 * commit, and kept as it was while a required member has no value.
	 */
	const struct akvd_bundle *bundle;
	size_t		 bundle_idx;
	int		 fetched;	/* fetched from Key Vault this run */
	int		 attempted;	/* tried at least once */

	int64_t		 due;		/* monotonic ms */
	int64_t		 next_cycle;	/* due time after a success */
	int64_t		 not_before;	/* Retry-After */
	unsigned	 failures;	/* consecutive */
	int64_t		 failing_since;	/* monotonic ms of the first one */
	int64_t		 last_ok;	/* monotonic ms of the last success
					   (creation until then) */
	char		 reason[192];	/* of the last failure */
	int		 retried_401;

	struct http_req	*req;
	uint64_t	 gen;		/* token generation used */
	int		 probe;		/* sent without a token to learn the
					   tenant from the 401 challenge */
	int		 changed;	/* content changed since the last
					   snapshot written */
	int		 written;	/* its value is in the last snapshot
					   written */
};

struct sync {
	struct ev_loop	*loop;
	struct http	*http;
	struct auth	*auth;
	struct akvd_config *cfg;
	int		 once;
	sync_done_fn	*done_fn;
	void		*done_cookie;
	int		 finished;

	struct obj	**objs;
	size_t		 nobjs;
	unsigned	 inflight;
	int		 probing;	/* a challenge probe is in flight */
	int		 dirty;		/* snapshot differs from objects */
	int		 committed;	/* a snapshot was written this run */
	int		 complete;	/* a complete one was (see complete()) */
	sync_wait_fn	*wait_fn;
	void		*wait_cookie;
	char		 wait_why[256];	/* last "waiting for..." reported */
	unsigned	 wait_n;	/* times in a row, for the log */
	int64_t		 deadline;	/* --once: monotonic ms of once_timeout */
	ev_timer	 once_timer;	/* --once: fires at the deadline */
	time_t		 last_commit;	/* wall clock, for sync_status */
	sync_snapshot_fn *snap_fn;
	void		*snap_cookie;
	int64_t		 commit_retry;	/* monotonic ms, 0 if none */
	char		**gone;		/* aliases of selected secrets that
					   left, for the next announce */
	size_t		 ngone;
	ev_timer	 wake;
	ev_prepare	 prepare;	/* runs pump() when kicked */
	int		 kicked;	/* pump() due before the loop sleeps */
};

static void	pump(struct sync *);
static void	kick(struct sync *);
static void	render_bundles(struct sync *);
static void	schedule(struct sync *);
static void	announce(struct sync *);

/* The index of ${o} in the configuration, for metrics_fetch(). */
static size_t
obj_index(const struct obj *o)
{

	/* Listers, selected secrets and bundles have no configured entry. */
	if (o->own != NULL || o->bundle != NULL)
		return ((size_t)-1);
	return ((size_t)(o->cfg - o->s->cfg->objects));
}

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
static int
obj_worth_logging(struct obj *o, const char *reason)
{

	if (strcmp(o->reason, reason) != 0) {
		snprintf(o->reason, sizeof(o->reason), "%s", reason);
		return (1);
	}
	return (log_repeat_due(o->failures));
}

/* Wipe and free ${n} buffers at ${b}. */
static void
bufs_wipe(struct buf *b, size_t n)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++)
		buf_wipe(&b[i]);
	free(b);
}

static void
paths_free(char **paths, size_t n)
{
	size_t i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

static void
obj_free_files(struct obj *o)
{

	bufs_wipe(o->files, o->nfiles);
	paths_free(o->paths, o->nfiles);
	o->files = NULL;
	o->paths = NULL;
	o->nfiles = 0;
}

/* Forget a multi-request fetch (history) in progress. */
static void
obj_reset_phase(struct obj *o)
{
	size_t i;

	free(o->next_url);
	o->next_url = NULL;
	kv_list_clear(&o->list);
	for (i = 0; i < o->nwant; i++)
		free(o->want[i]);
	free(o->want);
	o->want = NULL;
	bufs_wipe(o->pending, o->nwant);
	o->pending = NULL;
	o->nwant = o->k = 0;
	o->phase = o->sel != NULL ? P_LIST : o->cfg->history > 0 ?
	    P_VERSIONS : P_FETCH;
}

/*
 * Point ${o} at ${cfg}: the paths of its files follow the alias.  The
 * number of files never changes (same_source compares split and history).
 * Returns 0, or -1 on ENOMEM (${o} unchanged).
 */
static int
obj_set_cfg(struct obj *o, const struct akvd_object *cfg)
{
	char path[PATH_MAX], **paths;
	size_t i, n;

	/* A lister has no file; a bundle member holds one value. */
	n = o->sel != NULL ? 0 : cfg->bundle != 0 ? 1 :
	    config_object_nfiles(cfg);

	if ((paths = calloc(n + 1, sizeof(*paths))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (config_object_path(cfg, i, path, sizeof(path)) == -1 ||
		    (paths[i] = strdup(path)) == NULL) {
			paths_free(paths, n);
			return (-1);
		}
	}
	if (o->files == NULL &&
	    (o->files = calloc(n + 1, sizeof(*o->files))) == NULL) {
		paths_free(paths, n);
		return (-1);
	}
	paths_free(o->paths, o->nfiles);
	o->paths = paths;
	o->nfiles = n;
	o->cfg = cfg;
	return (0);
}

static void
own_free(struct akvd_object *c)
{

	if (c == NULL)
		return;
	free(c->name);
	free(c->alias);
	free(c->version);
	free(c->vault);
	free(c);
}

static void
obj_free(struct obj *o)
{

	if (o == NULL)
		return;
	if (o->req != NULL) {
		http_cancel(o->req);
		o->s->inflight--;
		if (o->probe)
			o->s->probing = 0;
	}
	obj_reset_phase(o);
	obj_free_files(o);
	free(o->version);
	own_free(o->own);
	free(o);
}

/* ---------------------------------------------------------------------- */
/* Snapshots                                                              */

static int
all_attempted(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++)
		if (!s->objs[i]->attempted)
			return (0);
	return (1);
}

static int
busy(const struct sync *s)
{
	size_t i;

	if (s->inflight > 0)
		return (1);
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->state == O_QUEUED)
			return (1);
	return (0);
}

/*
 * Make the file of every bundle whose required members all have a value;
 * a bundle that cannot be made keeps its previous file.
 */
static void
render_bundles(struct sync *s)
{
	struct render_entry *ent;
	struct buf out;
	size_t i, k, n;
	char err[192], count[16];	/* err fits obj->reason */

	for (i = 0; i < s->nobjs; i++) {
		struct obj *b = s->objs[i];
		const struct akvd_bundle *bc = b->bundle;

		if (bc == NULL)
			continue;
		if ((ent = calloc(bc->n + 1, sizeof(*ent))) == NULL) {
			log_msg(LOG_ERROR, "sync: out of memory");
			continue;
		}
		for (k = n = 0; k < bc->n; k++) {
			const struct obj *m = s->objs[bc->first + k];

			if (!m->have && !m->cfg->optional)
				break;
			if (!m->have)
				continue;
			ent[n].key = m->cfg->alias;
			ent[n].value = m->files[0].data != NULL ?
			    m->files[0].data : "";
			ent[n].len = m->files[0].len;
			n++;
		}
		memset(&out, 0, sizeof(out));
		if (k < bc->n) {
			log_kv(LOG_DEBUG, "bundle kept: a member has no "
			    "value", "bundle", bc->path, "object",
			    s->objs[bc->first + k]->cfg->name, NULL);
		} else if (render_bundle(bc->format, ent, n, &out, err,
		    sizeof(err)) == -1) {
			b->failures++;
			if (obj_worth_logging(b, err))
				log_kv(LOG_ERROR, "bundle not written: "
				    "keeping the previous one", "bundle", bc->path,
				    "reason", err, NULL);
		} else if (b->have && b->files[0].len == out.len &&
		    memcmp(b->files[0].data, out.data, out.len) == 0) {
			b->failures = 0;
			b->reason[0] = '\0';
		} else {
			snprintf(count, sizeof(count), "%zu", n);
			log_kv(LOG_INFO, b->have ? "bundle updated" :
			    "bundle made", "bundle", bc->path,
			    "objects", count, NULL);
			if (b->have || s->complete)
				b->changed = 1;
			buf_wipe(&b->files[0]);
			b->files[0] = out;
			memset(&out, 0, sizeof(out));
			b->have = 1;
			b->failures = 0;
			b->reason[0] = '\0';
		}
		buf_wipe(&out);
		free(ent);
	}
}

/*
 * Every select has listed its vault once: before that, its secrets'
 * files would vanish from a snapshot.
 */
static int
all_listed(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->sel != NULL && !s->objs[i]->fetched)
			return (0);
	return (1);
}

/*
 * Is ${o}'s value in the snapshot written (a select: has it listed its
 * vault)?  With --once, a value adopted from disk does not count: the run
 * must confirm it.
 */
static int
obj_complete(const struct sync *s, const struct obj *o)
{

	if (o->sel != NULL)
		return (o->fetched);
	return (o->written && (!s->once || o->fetched));
}

/* Why ${o} is not in the snapshot yet (no secret in it). */
static const char *
obj_waits_for(const struct sync *s, const struct obj *o)
{

	if (o->reason[0] != '\0')
		return (o->reason);
	if (!o->fetched && auth_failures(s->auth) > 0)
		return ("no access token");
	if (o->have && !o->written)
		return ("not written yet");
	return (o->sel != NULL ? "not listed yet" : "not fetched yet");
}

/* policy_view_fn over the objects of a sync. */
static void
obj_view(size_t i, struct policy_view *v, void *cookie)
{
	const struct sync *s = cookie;
	const struct obj *o = s->objs[i];

	v->name = o->cfg->name;
	v->reason = o->reason;
	v->waits_for = obj_waits_for(s, o);
	v->counts = !o->cfg->optional && o->bundle == NULL;
	v->complete = obj_complete(s, o);
	v->failures = o->failures;
	v->failing_since = o->failing_since;
	v->last_ok = o->last_ok;
}

/*
 * complete(s, why, len): the one definition of "ready" that every signal
 * of readiness uses (starting the supervised command, READY=1, /readyz,
 * the exit status of --once, the first notification): every required
 * (non-optional) object has a value in the snapshot written (see
 * obj_complete(); a bundle counts through its members).  Returns 1, or 0
 * with ${why} (see policy_complete()).
 */
static int
complete(const struct sync *s, char *why, size_t len)
{

	return (policy_complete(s->nobjs, obj_view, (void *)(uintptr_t)s,
	    s->committed, s->once, why, len));
}

/*
 * Not complete yet: say why, to the wait callback (STATUS=) every time and
 * to the log when the reason changes and then at growing intervals.
 */
static void
report_waiting(struct sync *s)
{
	char why[sizeof(s->wait_why)], n[16];

	if (s->once || s->complete || complete(s, why, sizeof(why)))
		return;
	if (strcmp(why, s->wait_why) != 0) {
		snprintf(s->wait_why, sizeof(s->wait_why), "%s", why);
		s->wait_n = 0;
	}
	s->wait_n++;
	if (log_repeat_due(s->wait_n)) {
		snprintf(n, sizeof(n), "%u", s->wait_n);
		log_kv(LOG_WARN, "not ready: waiting for required objects",
		    "status", why, "reports", n, NULL);
	}
	if (s->wait_fn != NULL)
		s->wait_fn(why, s->wait_cookie);
}

/* Commit a snapshot if something changed and the burst is over. */
static int
maybe_commit(struct sync *s)
{
	struct writer_file *files;
	size_t i, n = 0;
	char count[32];
	int rc;

	if (!s->dirty || busy(s) || !all_attempted(s) || !all_listed(s))
		return (0);
	render_bundles(s);
	for (i = 0; i < s->nobjs; i++)
		n += s->objs[i]->nfiles;
	if ((files = calloc(n + 1, sizeof(*files))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		s->commit_retry = sync_now_ms(s) + COMMIT_RETRY_MS;
		return (-1);
	}
	n = 0;
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];
		size_t f;

		if (!o->have || o->cfg->bundle != 0)
			continue;
		for (f = 0; f < o->nfiles; f++) {
			files[n].path = o->paths[f];
			files[n].data = o->files[f].data != NULL ?
			    o->files[f].data : "";
			files[n].len = o->files[f].len;
			files[n].mode = o->cfg->mode;
			files[n].set_owner = 1;
			files[n].uid = o->cfg->uid;
			files[n].gid = o->cfg->gid;
			files[n].object = o->cfg->name;
			n++;
		}
	}
	if (n == 0) {
		/* Nothing to show yet: keep whatever is on disk. */
		free(files);
		return (0);
	}
	rc = writer_commit(s->cfg->output_dir, files, n);
	free(files);
	metrics_snapshot(rc == 0);
	if (rc == -1) {
		log_kv(LOG_ERROR, "snapshot not written: keeping the previous "
		    "one", "dir", s->cfg->output_dir, NULL);
		s->commit_retry = sync_now_ms(s) + COMMIT_RETRY_MS;
		return (-1);
	}
	s->dirty = 0;
	s->commit_retry = 0;
	s->last_commit = time(NULL);
	for (i = 0; i < s->nobjs; i++)
		s->objs[i]->written = s->objs[i]->have;
	for (i = n = 0; i < s->nobjs; i++)
		n += s->objs[i]->have && s->objs[i]->cfg->bundle == 0;
	snprintf(count, sizeof(count), "%zu", n);
	log_kv(LOG_INFO, "snapshot written", "dir", s->cfg->output_dir,
	    "objects", count, NULL);
	announce(s);
	return (0);
}

/*
 * Tell the snapshot callback what changed, then forget it.  Until the
 * first complete snapshot nothing is told (no notification, no command
 * started for an incomplete set of files): the changes are held for it.
 */
static void
announce(struct sync *s)
{
	const char **changed;
	char why[sizeof(s->wait_why)];
	size_t i, n = 0;
	int first = 0;

	s->committed = 1;
	if (!s->complete) {
		if (!complete(s, why, sizeof(why))) {
			report_waiting(s);
			return;
		}
		s->complete = first = 1;
		if (s->wait_why[0] != '\0')
			log_kv(LOG_INFO, "ready: every required object is in "
			    "the snapshot", "dir", s->cfg->output_dir, NULL);
	}
	if ((changed = calloc(s->nobjs + s->ngone + 1,
	    sizeof(*changed))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	for (i = 0; i < s->ngone; i++)
		changed[n++] = s->gone[i];
	for (i = 0; i < s->nobjs; i++) {
		/* A member's alias is a key: its bundle is the file. */
		if (s->objs[i]->changed && s->objs[i]->cfg->bundle == 0)
			changed[n++] = s->objs[i]->cfg->alias;
		s->objs[i]->changed = 0;
	}
	if (s->snap_fn != NULL)
		s->snap_fn(first, changed, n, s->snap_cookie);
	free(changed);
	paths_free(s->gone, s->ngone);
	s->gone = NULL;
	s->ngone = 0;
}

/* --once: when every object is settled, write and report. */
static void
once_check(struct sync *s)
{
	char why[sizeof(s->wait_why)];
	size_t i;
	int ok;

	if (!s->once || s->finished)
		return;
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->state != O_SETTLED)
			return;
	/* The one snapshot of --once (pump() leaves it to this). */
	(void)maybe_commit(s);
	s->finished = 1;
	ev_timer_stop(s->loop, &s->wake);
	ev_timer_stop(s->loop, &s->once_timer);
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (!o->fetched)
			log_kv(o->cfg->optional ? LOG_WARN : LOG_ERROR,
			    "object not fetched", "object", o->cfg->name,
			    "optional", o->cfg->optional ? "true" : "false",
			    "reason", o->reason, NULL);
	}
	if (!(ok = complete(s, why, sizeof(why))))
		log_kv(LOG_ERROR, "not complete", "status", why, NULL);
	s->done_fn(ok, s->done_cookie);
}

/* ---------------------------------------------------------------------- */
/* Fetch outcomes                                                         */

/*
 * After an attempt: next due time.  With --once, a success or a permanent
 * failure settles the object, and a transient one is retried with backoff
 * while the retry falls before the deadline (once_timeout).
 */
static void
obj_next(struct obj *o, int transient, uint64_t delay_ms)
{
	struct sync *s = o->s;
	struct policy_source src;
	struct policy_run run;
	int64_t due = o->due;

	obj_reset_phase(o);
	o->attempted = 1;
	src.next_cycle = o->next_cycle;
	src.not_before = o->not_before;
	src.failures = o->failures;
	src.on_demand = o->lister != NULL;
	run.once = s->once;
	run.deadline = s->deadline;
	if (policy_next(&src, &run, transient, delay_ms, sync_now_ms(s),
	    &due) == 1) {
		o->state = O_SETTLED;
		return;
	}
	o->state = O_IDLE;
	o->due = due;
}

/* Are the ${n} buffers at ${a} and ${b} the same bytes? */
static int
bufs_equal(const struct buf *a, const struct buf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].len != b[i].len || (a[i].len > 0 &&
		    memcmp(a[i].data, b[i].data, a[i].len) != 0))
			return (0);
	return (1);
}

/*
 * A fetch succeeded with ${version}: the rendered ${files} (o->nfiles of
 * them, owned by the caller, wiped by it or taken: then nulled).
 */
static void
obj_success(struct obj *o, const char *version, struct buf **files)
{
	const char *prev = o->version != NULL ? o->version : "(on disk)";
	int changed = 0;
	char *v;

	if (o->failures > 0)
		log_kv(LOG_INFO, "object recovered", "object", o->cfg->name,
		    "version", version, "after", o->reason, NULL);
	o->failures = 0;
	o->reason[0] = '\0';
	o->retried_401 = 0;
	o->fetched = 1;
	o->last_ok = sync_now_ms(o->s);
	if (o->have && o->version != NULL &&
	    strcmp(o->version, version) == 0) {
		log_kv(LOG_DEBUG, "object unchanged", "object", o->cfg->name,
		    "version", version, NULL);
	} else if (o->have && bufs_equal(o->files, *files, o->nfiles)) {
		log_kv(LOG_DEBUG, "object version changed, content identical",
		    "object", o->cfg->name, "version", version,
		    "previous", prev, NULL);
	} else {
		/* A first value is a change once the set was complete. */
		if (o->have || o->s->complete)
			o->changed = 1;
		log_kv(LOG_INFO, o->have ? "object updated" : "object fetched",
		    "object", o->cfg->name, "alias", o->cfg->alias,
		    "version", version,
		    "previous", o->have ? prev : "(none)", NULL);
		bufs_wipe(o->files, o->nfiles);
		o->files = *files;	/* ownership moves */
		*files = NULL;
		o->have = 1;
		o->s->dirty = 1;
		changed = 1;
	}
	metrics_fetch(obj_index(o), changed ? FETCH_OK : FETCH_UNCHANGED,
	    changed);
	if ((v = strdup(version)) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	free(o->version);
	o->version = v;
}

/*
 * A failure ${r}: transient ones back off exponentially (at least the
 * Retry-After the server asked for); the others wait for the next cycle.
 */
static void
obj_failure(struct obj *o, const struct fetch_result *r)
{
	struct sync *s = o->s;
	uint64_t delay = 0;
	int64_t now = sync_now_ms(s);
	int transient = fetch_transient(r);
	char fails[16], retry[32], reason[sizeof(o->reason)];

	o->failures++;
	if (o->failures == 1)
		o->failing_since = now;
	metrics_fetch(obj_index(o), r->cls, 0);
	if (transient) {
		delay = policy_retry_delay(o->failures, s->cfg->interval_ms,
		    rand_unit(), r->retry_after_ms);
		if (r->retry_after_ms >= 0)
			o->not_before = now + r->retry_after_ms;
	}
	fetch_reason(r, reason, sizeof(reason));
	if (obj_worth_logging(o, reason)) {
		snprintf(fails, sizeof(fails), "%u", o->failures);
		if (transient)
			duration_format(delay, retry, sizeof(retry));
		else
			snprintf(retry, sizeof(retry), "next cycle");
		log_kv(transient ? LOG_WARN : LOG_ERROR, "object fetch failed",
		    "object", o->cfg->name, "vault", o->cfg->vault,
		    "url", o->cfg->url,
		    "reason", reason, "detail", r->detail,
		    "failures", fails, "retry_in", retry,
		    o->have ? "keeping" : "have", o->have ?
		    (o->version != NULL ? o->version : "(on disk)") : "nothing",
		    NULL);
	}
	obj_next(o, transient, delay);
	report_waiting(s);
}

/* obj_failure() of class ${cls} without a response. */
static void
obj_fail(struct obj *o, enum fetch_class cls, const char *what,
    const char *detail)
{
	struct fetch_result r;

	fetch_fail(&r, cls, what, detail);
	obj_failure(o, &r);
}

/* Key Vault answered with an error status. */
static void
obj_http_error(struct obj *o, const struct http_response *r)
{
	struct fetch_result res;
	struct kv_error e;
	char code[sizeof(res.code)];

	memset(&e, 0, sizeof(e));
	if (kv_parse_error(r->body.data, r->body.len, &e) == -1)
		snprintf(e.code, sizeof(e.code), "unrecognized body");
	snprintf(code, sizeof(code), "%s%s%s", e.code,
	    e.inner[0] != '\0' ? "/" : "", e.inner);
	fetch_http(&res, r->status, code, e.message, r->retry_after_ms);
	obj_failure(o, &res);
}

/*
 * A probe came back 401: take the tenant from the challenge, but only if
 * its resource is the vault's parent domain (a look-alike vault must not
 * learn where our tokens come from, nor get one).  Returns 0, or 1 once
 * the failure of ${o} is recorded.
 */
static int
learn_tenant(struct obj *o, const struct http_response *r)
{
	struct kv_challenge c;

	if (kv_parse_challenge(r->www_authenticate, &c) == -1) {
		obj_fail(o, FETCH_CHALLENGE,
		    "no usable challenge in Key Vault's 401",
		    "set auth.tenant_id");
		return (1);
	}
	if (!kv_resource_matches(o->cfg->vault, c.resource)) {
		obj_fail(o, FETCH_CHALLENGE, "refusing Key Vault's challenge",
		    c.resource);
		log_kv(LOG_ERROR, "the challenge's resource is not a parent "
		    "domain of the vault: not sending a token there",
		    "vault", o->cfg->vault, "resource", c.resource,
		    "hint", "set auth.tenant_id if this vault is genuine", NULL);
		return (1);
	}
	if (auth_set_tenant(o->s->auth, c.tenant) == -1) {
		obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
		return (1);
	}
	return (0);
}

static enum kv_kind
obj_kind(const struct obj *o)
{

	switch (o->cfg->type) {
	case OBJ_CERT:
		return (KV_CERTIFICATE);
	case OBJ_KEY:
		return (KV_KEY);
	default:
		return (KV_SECRET);
	}
}

static int	continue_fetch(struct obj *);
static void	done_list(struct obj *, const struct http_response *);

/*
 * Parse a bundle of ${o} and render its files into ${out}
 * (CONFIG_SPLIT_FILES empty buffers).  Returns 0, or -1 after recording
 * the failure.
 */
static int
obj_render(struct obj *o, const struct http_response *r, struct buf *out,
    char **version)
{
	struct kv_secret sec;
	char err[256];
	int rc = -1;

	memset(&sec, 0, sizeof(sec));
	if (kv_parse_object(r->body.data, r->body.len, obj_kind(o), &sec,
	    err, sizeof(err)) == -1)
		obj_fail(o, FETCH_BAD_RESPONSE, "bad response", err);
	else if (!sec.enabled)
		obj_fail(o, FETCH_DISABLED, "version is disabled", NULL);
	else if (render_object(o->cfg, sec.value, sec.len, sec.content_type,
	    sec.managed, out, err, sizeof(err)) == -1)
		obj_fail(o, FETCH_RENDER, "cannot render the object", err);
	else {
		*version = sec.version;
		sec.version = NULL;
		rc = 0;
	}
	kv_secret_clear(&sec);
	return (rc);
}

/* A single GET came back 200. */
static void
done_fetch(struct obj *o, const struct http_response *r)
{
	struct buf out[CONFIG_SPLIT_FILES], *files;
	char *version = NULL;
	size_t i;

	memset(out, 0, sizeof(out));
	if (obj_render(o, r, out, &version) == -1)
		goto out;
	if ((files = calloc(o->nfiles, sizeof(*files))) == NULL) {
		obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < o->nfiles; i++) {
		files[i] = out[i];
		memset(&out[i], 0, sizeof(out[i]));
	}
	obj_success(o, version, &files);
	bufs_wipe(files, o->nfiles);
	if (o->lister != NULL)
		o->seen_updated = o->want_updated;
	obj_next(o, 0, 0);
out:
	free(version);
	for (i = 0; i < CONFIG_SPLIT_FILES; i++)
		buf_wipe(&out[i]);
}

/* Newest first: by creation time, then by position in the list. */
static int
item_cmp(const void *a, const void *b)
{
	const struct kv_item *x = *(struct kv_item *const *)a;
	const struct kv_item *y = *(struct kv_item *const *)b;

	if (x->created != y->created)
		return (x->created > y->created ? -1 : 1);
	return (x > y ? -1 : x < y ? 1 : 0);
}

/*
 * Every page of versions is in: choose the newest N enabled ones.  Returns
 * 1 if they are what is on disk already, 0 if they must be fetched, -1
 * after recording a failure.
 */
static int
choose_versions(struct obj *o)
{
	struct kv_item **v;
	struct buf key = BUF_INIT;
	size_t i, n = 0, want = o->cfg->history;
	char detail[96];
	int rc = -1;

	if ((v = calloc(o->list.n + 1, sizeof(*v))) == NULL ||
	    (o->want = calloc(want, sizeof(*o->want))) == NULL) {
		obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < o->list.n; i++)
		if (o->list.items[i].enabled && o->list.items[i].version !=
		    NULL)
			v[n++] = &o->list.items[i];
	if (n < want) {
		snprintf(detail, sizeof(detail), "%zu enabled, history needs "
		    "%zu", n, want);
		obj_fail(o, FETCH_OTHER, "not enough enabled versions",
		    detail);
		goto out;
	}
	qsort(v, n, sizeof(*v), item_cmp);
	for (i = 0; i < want; i++) {
		if ((o->want[i] = strdup(v[i]->version)) == NULL ||
		    buf_appendf(&key, "%s%s", i > 0 ? "," : "",
		    v[i]->version) == -1) {
			o->nwant = i + 1;
			obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
			goto out;
		}
	}
	o->nwant = want;
	if (o->have && o->version != NULL &&
	    strcmp(o->version, key.data) == 0) {
		struct buf *none = NULL;

		obj_success(o, key.data, &none);
		obj_next(o, 0, 0);
		rc = 1;
		goto out;
	}
	if ((o->pending = calloc(want, sizeof(*o->pending))) == NULL) {
		obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
		goto out;
	}
	rc = 0;
out:
	buf_wipe(&key);
	free(v);
	return (rc);
}

/*
 * Copy into o->pending the versions of o->want that ${o} holds already
 * (o->version lists them in the order of o->files), so that only new
 * versions are fetched.
 */
static void
history_reuse(struct obj *o)
{
	const char *p, *q;
	size_t k, m, len;

	if (!o->have || o->version == NULL)
		return;
	for (k = 0; k < o->nwant; k++) {
		for (p = o->version, m = 0; m < o->nfiles; m++, p = q + 1) {
			q = strchr(p, ',');
			len = q != NULL ? (size_t)(q - p) : strlen(p);
			if (strlen(o->want[k]) == len &&
			    strncmp(p, o->want[k], len) == 0) {
				if (buf_append(&o->pending[k],
				    o->files[m].data, o->files[m].len) == -1)
					buf_wipe(&o->pending[k]);
				break;
			}
			if (q == NULL)
				break;
		}
	}
}

/*
 * Fetch the next version of the history not held yet, or, when every one
 * is there, make them the object's files.
 */
static void
history_next(struct obj *o)
{
	struct buf key = BUF_INIT, *files;
	size_t i;

	while (o->k < o->nwant && o->pending[o->k].data != NULL)
		o->k++;
	if (o->k < o->nwant) {
		(void)continue_fetch(o);
		return;
	}
	for (i = 0; i < o->nwant; i++) {
		if (buf_appendf(&key, "%s%s", i > 0 ? "," : "",
		    o->want[i]) == -1) {
			buf_wipe(&key);
			obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
			return;
		}
	}
	files = o->pending;
	o->pending = NULL;
	obj_success(o, key.data, &files);
	bufs_wipe(files, o->nfiles);
	buf_wipe(&key);
	obj_next(o, 0, 0);
}

/* A page of the versions list came back 200. */
static void
done_versions(struct obj *o, const struct http_response *r)
{
	char err[256], *next = NULL;

	if (kv_parse_list(r->body.data, r->body.len, obj_kind(o),
	    o->cfg->vault, &o->list, &next, err, sizeof(err)) == -1) {
		obj_fail(o, FETCH_BAD_RESPONSE, "bad response", err);
		return;
	}
	free(o->next_url);
	o->next_url = next;
	if (next != NULL) {
		(void)continue_fetch(o);
		return;
	}
	if (choose_versions(o) != 0)
		return;
	o->phase = P_HISTORY;
	o->k = 0;
	history_reuse(o);
	history_next(o);
}

/* Version k of a history came back 200. */
static void
done_history(struct obj *o, const struct http_response *r)
{
	struct buf out[CONFIG_SPLIT_FILES];
	char *version = NULL;
	size_t i;

	memset(out, 0, sizeof(out));
	if (obj_render(o, r, out, &version) == -1)
		goto out;
	o->pending[o->k++] = out[0];
	memset(&out[0], 0, sizeof(out[0]));
	history_next(o);
out:
	free(version);
	for (i = 0; i < CONFIG_SPLIT_FILES; i++)
		buf_wipe(&out[i]);
}

/* ---------------------------------------------------------------------- */
/* select                                                                 */

/*
 * Does bundle ${b} make another file than ${a} from the same values?  (A
 * member that changed is a new object, which marks the reload changed.)
 */
static int
bundle_differs(const struct akvd_bundle *a, const struct akvd_bundle *b)
{

	return (a->format != b->format || a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid || a->n != b->n ||
	    a->first != b->first);
}

static void
bundle_set(struct obj *o, const struct akvd_bundle *b, size_t idx)
{

	o->bundle = b;
	o->bundle_idx = idx;
	o->own->mode = b->mode;
	o->own->uid = b->uid;
	o->own->gid = b->gid;
}

static struct akvd_object *
own_new(const char *name, const char *alias, const char *vault)
{
	struct akvd_object *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->type = OBJ_SECRET;
	c->mode = CONFIG_DEFAULT_MODE;
	c->uid = c->gid = CONFIG_OWNER_KEEP;
	if ((c->name = strdup(name)) == NULL ||
	    (c->alias = strdup(alias)) == NULL ||
	    (c->version = strdup("")) == NULL ||
	    (c->vault = strdup(vault)) == NULL) {
		own_free(c);
		return (NULL);
	}
	return (c);
}

/* The pseudo-object of bundle ${b}: named by its path in logs. */
static struct obj *
bundle_new(struct sync *s, const struct akvd_bundle *b, size_t idx)
{
	struct akvd_object *c;
	struct obj *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	if ((c = own_new(b->path, b->path, "")) == NULL) {
		free(o);
		return (NULL);
	}
	o->own = c;
	bundle_set(o, b, idx);
	if (obj_set_cfg(o, c) == -1) {
		own_free(c);
		free(o);
		return (NULL);
	}
	o->s = s;
	o->state = O_SETTLED;	/* never fetched */
	o->attempted = o->fetched = 1;
	o->due = INT64_MAX;
	o->last_ok = sync_now_ms(s);
	return (o);
}

/* A lister of ${sel}, "select[i]" in logs. */
static struct obj *
lister_new(struct sync *s, const struct akvd_select *sel, size_t idx)
{
	struct akvd_object *c;
	struct obj *o;
	char name[32];

	snprintf(name, sizeof(name), "select[%zu]", idx);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	if ((c = own_new(name, name, sel->vault)) == NULL) {
		free(o);
		return (NULL);
	}
	o->sel = sel;
	o->sel_idx = idx;
	o->own = c;
	if (obj_set_cfg(o, c) == -1) {
		own_free(c);
		free(o);
		return (NULL);
	}
	o->s = s;
	o->phase = P_LIST;
	o->state = O_IDLE;
	o->due = sync_now_ms(s);
	o->last_ok = o->due;
	return (o);
}

static int
selected_alias(const struct akvd_select *sel, const char *name, char *buf,
    size_t len)
{
	const char *base = name;
	int n;

	if (sel->strip_prefix)
		base += strlen(sel->prefix);
	if (*base == '\0')
		return (-1);
	n = snprintf(buf, len, "%s%s%s", sel->dir, sel->dir[0] != '\0' ?
	    "/" : "", base);
	return (n < 0 || (size_t)n >= len || !config_alias_valid(buf) ?
	    -1 : 0);
}

static int
item_selected(const struct akvd_select *sel, const struct kv_item *it)
{
	const char *v;
	size_t i;

	if (!it->enabled || it->version != NULL ||
	    strncmp(it->name, sel->prefix, strlen(sel->prefix)) != 0)
		return (0);
	for (i = 0; i < sel->ntags; i++)
		if ((v = kv_item_tag(it, sel->tags[2 * i])) == NULL ||
		    strcmp(v, sel->tags[2 * i + 1]) != 0)
			return (0);
	return (1);
}

/*
 * Would ${alias} clash with a file of another object (with ${fixed}, only
 * of the configured objects and bundles)?
 */
static const struct obj *
alias_taken(const struct sync *s, const char *alias, int fixed,
    const struct obj *self)
{
	size_t i, f, la = strlen(alias), lb;

	for (i = 0; i < s->nobjs; i++) {
		const struct obj *o = s->objs[i];

		if (o == self || o->cfg->bundle != 0 ||
		    (fixed && o->lister != NULL))
			continue;	/* a member's alias is a key */
		for (f = 0; f < o->nfiles; f++) {
			const char *b = o->paths[f];

			lb = strlen(b);
			if (strcmp(alias, b) == 0 ||
			    (la > lb && strncmp(alias, b, lb) == 0 &&
			    alias[lb] == '/') ||
			    (lb > la && strncmp(alias, b, la) == 0 &&
			    b[la] == '/'))
				return (o);
		}
	}
	return (NULL);
}

/* Start following a newly listed secret. */
static struct obj *
selected_new(struct sync *s, struct obj *l, const char *name)
{
	const struct akvd_select *sel = l->sel;
	struct akvd_object *c;
	const struct obj *other;
	struct obj *o, **objs;
	char alias[PATH_MAX];

	if (selected_alias(sel, name, alias, sizeof(alias)) == -1) {
		log_kv(LOG_WARN, "selected secret skipped: no file name left "
		    "after the prefix", "select", l->cfg->name,
		    "secret", name, NULL);
		return (NULL);
	}
	if ((other = alias_taken(s, alias, 0, NULL)) != NULL) {
		log_kv(LOG_WARN, "selected secret skipped: its file name is "
		    "taken", "select", l->cfg->name, "secret", name,
		    "file", alias, "by", other->cfg->name, NULL);
		return (NULL);
	}
	if ((objs = reallocarray(s->objs, s->nobjs + 2,
	    sizeof(*objs))) == NULL)
		goto oom;
	s->objs = objs;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		goto oom;
	if ((c = own_new(name, alias, sel->vault)) == NULL) {
		free(o);
		goto oom;
	}
	c->mode = sel->mode;
	c->uid = sel->uid;
	c->gid = sel->gid;
	o->own = c;
	if (obj_set_cfg(o, c) == -1) {
		own_free(c);
		free(o);
		goto oom;
	}
	o->s = s;
	o->lister = l;
	o->phase = P_FETCH;
	o->state = O_IDLE;
	o->due = INT64_MAX;
	o->last_ok = sync_now_ms(s);
	/*
	 * Its file from before a restart stays until a fetch succeeds (no
	 * seen_updated: it is fetched all the same).
	 */
	if (writer_read(s->cfg->output_dir, o->paths[0], 0,
	    &o->files[0]) == 0)
		o->have = 1;
	else
		buf_wipe(&o->files[0]);
	s->objs[s->nobjs++] = o;
	s->objs[s->nobjs] = NULL;
	log_kv(LOG_INFO, "secret selected", "select", l->cfg->name,
	    "secret", name, "alias", alias, NULL);
	return (o);
oom:
	log_msg(LOG_ERROR, "sync: out of memory");
	return (NULL);
}

/* ${o} left the selection: its file leaves the next snapshot. */
static void
selected_gone(struct sync *s, size_t idx)
{
	struct obj *o = s->objs[idx];
	char **gone;

	log_kv(LOG_INFO, "selected secret gone", "select",
	    o->lister->cfg->name, "secret", o->cfg->name, "alias",
	    o->cfg->alias, NULL);
	if (o->have) {
		s->dirty = 1;
		if ((gone = reallocarray(s->gone, s->ngone + 1,
		    sizeof(*gone))) != NULL) {
			s->gone = gone;
			if ((gone[s->ngone] = strdup(o->cfg->alias)) != NULL)
				s->ngone++;
		}
	}
	obj_free(o);
	memmove(&s->objs[idx], &s->objs[idx + 1],
	    (s->nobjs - idx) * sizeof(*s->objs));	/* and the NULL */
	s->nobjs--;
}

/*
 * The whole list of ${l}'s vault is in: follow new matches, queue those
 * whose attributes.updated changed, drop those that left.
 */
static void
reconcile(struct sync *s, struct obj *l)
{
	int64_t now = sync_now_ms(s);
	struct obj *o;
	size_t i, j, matched = 0;
	char counts[64];

	for (j = 0; j < s->nobjs; j++)
		s->objs[j]->mark = 0;
	for (i = 0; i < l->list.n; i++) {
		const struct kv_item *it = &l->list.items[i];

		if (!item_selected(l->sel, it))
			continue;
		matched++;
		o = NULL;
		for (j = 0; j < s->nobjs; j++)
			if (s->objs[j]->lister == l &&
			    strcmp(s->objs[j]->cfg->name, it->name) == 0) {
				o = s->objs[j];
				break;
			}
		if (o == NULL && (o = selected_new(s, l, it->name)) == NULL)
			continue;
		o->mark = 1;
		o->want_updated = it->updated;
		if (o->have && o->seen_updated == it->updated &&
		    o->failures == 0)
			o->last_ok = now;	/* the list confirms it */
		if (o->state == O_IDLE && (!o->have ||
		    o->seen_updated != it->updated) && o->not_before <= now) {
			o->state = O_QUEUED;
			o->next_cycle = l->next_cycle;
		}
	}
	for (j = s->nobjs; j > 0; j--)
		if (s->objs[j - 1]->lister == l && !s->objs[j - 1]->mark)
			selected_gone(s, j - 1);
	snprintf(counts, sizeof(counts), "%zu", matched);
	log_kv(LOG_DEBUG, "listed", "select", l->cfg->name, "matched", counts,
	    NULL);
}

/* A page of the vault's secrets came back 200. */
static void
done_list(struct obj *o, const struct http_response *r)
{
	char err[256], *next = NULL;

	if (kv_parse_list(r->body.data, r->body.len, KV_SECRET,
	    o->cfg->vault, &o->list, &next, err, sizeof(err)) == -1) {
		obj_fail(o, FETCH_BAD_RESPONSE, "bad response", err);
		return;
	}
	free(o->next_url);
	o->next_url = next;
	if (next != NULL) {
		(void)continue_fetch(o);
		return;
	}
	reconcile(o->s, o);
	if (o->failures > 0)
		log_kv(LOG_INFO, "object recovered", "object", o->cfg->name,
		    "after", o->reason, NULL);
	o->failures = 0;
	o->reason[0] = '\0';
	o->retried_401 = 0;
	o->fetched = 1;
	o->last_ok = sync_now_ms(o->s);
	obj_next(o, 0, 0);
}

/*
 * Do ${a} and ${b} GET the same thing (rendered each its own way: a secret
 * written as is and in a bundle, or as PEM and as PFX)?
 */
static int
same_fetch(const struct obj *a, const struct obj *b)
{

	return (a != b && a->phase == P_FETCH && b->phase == P_FETCH &&
	    a->sel == NULL && b->sel == NULL && a->bundle == NULL &&
	    b->bundle == NULL && a->cfg->type == b->cfg->type &&
	    a->cfg->history == 0 && b->cfg->history == 0 &&
	    strcmp(a->cfg->name, b->cfg->name) == 0 &&
	    strcmp(a->cfg->vault, b->cfg->vault) == 0 &&
	    strcmp(a->cfg->version, b->cfg->version) == 0);
}

/* Is a GET of what ${o} needs already in flight? */
static int
fetch_in_flight(const struct sync *s, const struct obj *o)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->state == O_INFLIGHT &&
		    same_fetch(s->objs[i], o))
			return (1);
	return (0);
}

/* HTTP completion of a request of ${o}. */
static void
obj_done(struct http_response *r, void *cookie)
{
	struct obj *o = cookie;
	struct sync *s = o->s;
	size_t i;

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_KEYVAULT, r->status, r->failed, r->seconds);
	if (o->probe) {
		o->probe = 0;
		s->probing = 0;
		if (!r->failed && r->status == 401) {
			/* Handled once: no token to renew, no retry. */
			if (learn_tenant(o, r) == 0)
				o->state = O_QUEUED;
			kick(s);
			return;
		}
	}
	if (r->failed) {
		obj_fail(o, FETCH_TRANSPORT, "request failed", r->error);
	} else if (r->status == 200) {
		switch (o->phase) {
		case P_VERSIONS:
			done_versions(o, r);
			break;
		case P_HISTORY:
			done_history(o, r);
			break;
		case P_LIST:
			done_list(o, r);
			break;
		default:
			done_fetch(o, r);
			/* One GET serves every object waiting for it. */
			for (i = 0; i < s->nobjs; i++)
				if (s->objs[i]->state == O_QUEUED &&
				    same_fetch(s->objs[i], o))
					done_fetch(s->objs[i], r);
			break;
		}
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the token once and retry at once. */
		o->retried_401 = 1;
		auth_invalidate(s->auth, o->gen);
		o->state = O_QUEUED;
	} else {
		obj_http_error(o, r);
	}
	kick(s);
}

/* ---------------------------------------------------------------------- */
/* Blob Storage                                                           */

/*
 * A blob is fetched with a Storage-scoped token.  Its ETag plays the part
 * of a secret's version: once one is known, the GET carries If-None-Match
 * and a 304 means unchanged.  A blob adopted from disk at start-up has no
 * ETag: its first GET is unconditional and rewrites nothing unless the
 * content differs.
 */

/* The token cache of the Storage scope. */
static struct auth *
blob_auth(struct sync *s)
{

	return (auth_scope(s->auth, s->cfg->storage_scope));
}

/* Blob Storage answered with an error status. */
static void
blob_http_error(struct obj *o, const struct http_response *r)
{
	struct fetch_result res;

	blob_error(&res, r->status, r->error_code, r->body.data, r->body.len);
	res.retry_after_ms = r->retry_after_ms;
	obj_failure(o, &res);
}

/* HTTP completion of a GET of the blob ${o}. */
static void
blob_done(struct http_response *r, void *cookie)
{
	struct obj *o = cookie;
	struct sync *s = o->s;
	struct buf *files;
	struct auth *a;

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_STORAGE, r->status, r->failed, r->seconds);
	if (r->failed && r->too_large) {
		/* Not transient: the next cycle may find it smaller. */
		obj_fail(o, FETCH_OTHER, "blob larger than max_size",
		    r->error);
	} else if (r->failed) {
		obj_fail(o, FETCH_TRANSPORT, "request failed", r->error);
	} else if (r->status == 304 && o->have && o->version != NULL) {
		/* Not modified: the ETag is the version, nothing to take. */
		files = NULL;
		obj_success(o, o->version, &files);
		obj_next(o, 0, 0);
	} else if (r->status == 200) {
		/* As a secret whose version is the ETag. */
		if ((files = calloc(o->nfiles, sizeof(*files))) == NULL ||
		    buf_append(&files[0], r->body.data != NULL ?
		    r->body.data : "", r->body.len) == -1) {
			log_msg(LOG_ERROR, "sync: out of memory");
			obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
		} else {
			obj_success(o, r->etag != NULL ? r->etag :
			    "(no ETag)", &files);
			obj_next(o, 0, 0);
		}
		bufs_wipe(files, o->nfiles);	/* NULL if taken */
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the storage token once and retry at once. */
		o->retried_401 = 1;
		if ((a = blob_auth(s)) != NULL)
			auth_invalidate(a, o->gen);
		o->state = O_QUEUED;
	} else {
		blob_http_error(o, r);
	}
	kick(s);
}

static int
blob_start(struct sync *s, struct obj *o, const char *token)
{
	struct http_reqspec spec;
	struct buf inm = BUF_INIT;

	memset(&spec, 0, sizeof(spec));
	spec.url = o->cfg->url;
	spec.bearer = token;
	spec.headers[0] = "x-ms-version: " BLOB_API_VERSION;
	spec.headers[1] = "Accept: */*";
	/* An ETag is quoted, or weak (W/"..."); "(no ETag)" is not. */
	if (o->have && blob_etag_usable(o->version)) {
		if (buf_appendf(&inm, "If-None-Match: %s", o->version) == -1) {
			log_msg(LOG_ERROR, "sync: out of memory");
			return (-1);
		}
		spec.headers[2] = inm.data;
	}
	spec.max_body = o->cfg->max_size;
	log_kv(LOG_DEBUG, "fetching", "object", o->cfg->name, "url",
	    o->cfg->url, "if_none_match", o->have ? o->version : NULL, NULL);
	o->req = http_request(s->http, &spec, blob_done, o);
	buf_wipe(&inm);
	if (o->req == NULL)
		return (-1);
	o->state = O_INFLIGHT;
	s->inflight++;
	return (0);
}

/*
 * Nonzero if a Key Vault probe is in flight or about to start in this
 * pump() (a queued secret): it may learn the tenant blobs need too.
 */
static int
tenant_coming(const struct sync *s)
{
	size_t i;

	if (s->probing)
		return (1);
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->cfg->type != OBJ_BLOB &&
		    s->objs[i]->state == O_QUEUED)
			return (1);
	return (0);
}

/* pump() for a queued blob: start it if the storage token is there. */
static void
blob_pump(struct sync *s, struct obj *o)
{
	struct auth *a;
	const char *token;
	uint64_t gen = 0;

	if ((a = blob_auth(s)) == NULL) {
		obj_fail(o, FETCH_LOCAL, "out of memory", NULL);
		return;
	}
	if ((token = auth_token(a, &gen)) == NULL) {
		/* A tenant is learnt only from Key Vault's challenge. */
		if (auth_needs_tenant(a) && !tenant_coming(s))
			obj_fail(o, FETCH_OTHER,
			    "no tenant for the storage token",
			    "set auth.tenant_id (or AZURE_TENANT_ID)");
		return;		/* sync_auth_event() resumes */
	}
	o->gen = gen;
	if (blob_start(s, o, token) == -1)
		obj_fail(o, FETCH_LOCAL, "cannot start request", NULL);
}

/* ---------------------------------------------------------------------- */
/* Scheduling                                                             */

/* The URL of the next request of ${o}, a new string, or NULL. */
static char *
obj_url(const struct obj *o)
{

	switch (o->phase) {
	case P_VERSIONS:
		if (o->next_url != NULL)
			return (strdup(o->next_url));
		return (kv_versions_url(o->cfg->vault, obj_kind(o),
		    o->cfg->name));
	case P_HISTORY:
		return (kv_object_url(o->cfg->vault, obj_kind(o),
		    o->cfg->name, o->want[o->k]));
	case P_LIST:
		if (o->next_url != NULL)
			return (strdup(o->next_url));
		return (kv_versions_url(o->cfg->vault, KV_SECRET, NULL));
	default:
		return (kv_object_url(o->cfg->vault, obj_kind(o),
		    o->cfg->name, o->cfg->version));
	}
}

static int
start_fetch(struct sync *s, struct obj *o, const char *token)
{
	char *url;

	if ((url = obj_url(o)) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return (-1);
	}
	log_kv(LOG_DEBUG, "fetching", "object", o->cfg->name, "url", url,
	    NULL);
	o->req = http_get(s->http, url, token, obj_done, o);
	free(url);
	if (o->req == NULL)
		return (-1);
	o->state = O_INFLIGHT;
	s->inflight++;
	return (0);
}

/*
 * The next request of a multi-request fetch, in the same slot: now if a
 * token is at hand, else queued until one is.  Returns 0, or -1 after
 * recording a failure.
 */
static int
continue_fetch(struct obj *o)
{
	struct sync *s = o->s;
	const char *token;
	uint64_t gen;

	if ((token = auth_token(s->auth, &gen)) == NULL) {
		o->state = O_QUEUED;
		return (0);
	}
	o->gen = gen;
	if (start_fetch(s, o, token) == -1) {
		obj_fail(o, FETCH_LOCAL, "cannot start request", NULL);
		return (-1);
	}
	return (0);
}

/* No tenant yet: ask Key Vault without a token, for its challenge. */
static void
start_probe(struct sync *s, struct obj *o)
{

	if (start_fetch(s, o, NULL) == -1) {
		obj_fail(o, FETCH_LOCAL, "cannot start request", NULL);
		return;
	}
	o->probe = 1;
	s->probing = 1;
}

/* Start requests for queued objects while there is room and a token. */
static void
pump(struct sync *s)
{
	const char *token = NULL;
	uint64_t gen = 0;
	size_t i;
	int waiting = 0;

	if (s->finished)
		return;
	for (i = 0; i < s->nobjs && s->inflight < s->cfg->concurrency; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_QUEUED || fetch_in_flight(s, o))
			continue;
		if (o->cfg->type == OBJ_BLOB) {
			blob_pump(s, o);
			continue;
		}
		if (waiting)
			continue;
		if (token == NULL &&
		    (token = auth_token(s->auth, &gen)) == NULL) {
			if (auth_needs_tenant(s->auth) && !s->probing)
				start_probe(s, o);
			waiting = 1;	/* sync_auth_event() resumes */
			continue;
		}
		o->gen = gen;
		if (start_fetch(s, o, token) == -1)
			obj_fail(o, FETCH_LOCAL, "cannot start request", NULL);
	}
	if (!busy(s) && !s->once)
		maybe_commit(s);
	once_check(s);
	schedule(s);
}

/*
 * Have pump() run before the loop sleeps next: the one place where
 * requests start, snapshots are committed and --once settles.
 */
static void
kick(struct sync *s)
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
		if (s->objs[i]->state == O_IDLE && s->objs[i]->due < next)
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

	cycle = now + (int64_t)backoff_jitter(s->cfg->interval_ms,
	    rand_unit());
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_IDLE || o->due > now + BATCH_SLACK_MS)
			continue;
		o->state = O_QUEUED;
		o->next_cycle = cycle;
	}
	if (s->commit_retry != 0 && s->commit_retry <= now)
		s->commit_retry = 0;
	kick(s);
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
			    obj_waits_for(s, o));
		obj_reset_phase(o);
		o->attempted = 1;
		o->state = O_SETTLED;
	}
	kick(s);
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                             */

static struct obj *
obj_new(struct sync *s, const struct akvd_object *cfg)
{
	struct obj *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
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

/*
 * The largest file of ${cfg} read back (0: writer's default, 64 MiB): a
 * blob may be larger.
 */
static size_t
adopt_limit(const struct akvd_object *cfg)
{

	return (cfg->type == OBJ_BLOB && cfg->max_size > 64 * 1024 * 1024 ?
	    cfg->max_size : 0);
}

/* Adopt the values of the snapshot already on disk. */
static void
adopt_existing(struct sync *s)
{
	size_t i, n = 0;
	char count[32];

	if (writer_cleanup(s->cfg->output_dir) == -1)
		return;
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];
		size_t f;

		if (o->sel != NULL || o->cfg->bundle != 0)
			continue;	/* no file of its own */
		/* All of an object's files, or none. */
		for (f = 0; f < o->nfiles; f++)
			if (writer_read(s->cfg->output_dir, o->paths[f],
			    adopt_limit(o->cfg), &o->files[f]) != 0)
				break;
		if (f == o->nfiles) {
			o->have = 1;
			n++;
		} else {
			for (f = 0; f < o->nfiles; f++)
				buf_wipe(&o->files[f]);
		}
	}
	if (n > 0) {
		snprintf(count, sizeof(count), "%zu", n);
		log_kv(LOG_INFO, "adopted the existing snapshot until Key "
		    "Vault confirms it", "dir", s->cfg->output_dir,
		    "objects", count, NULL);
	}
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
	if ((s->objs = calloc(cfg->nobjects + cfg->nbundles +
	    cfg->nselects + 1, sizeof(*s->objs))) == NULL)
		goto oom;
	for (i = 0; i < cfg->nobjects; i++) {
		if ((s->objs[i] = obj_new(s, &cfg->objects[i])) == NULL)
			goto oom;
		s->nobjs++;
	}
	for (i = 0; i < cfg->nbundles; i++) {
		if ((s->objs[s->nobjs] = bundle_new(s, &cfg->bundles[i],
		    i)) == NULL)
			goto oom;
		s->nobjs++;
	}
	for (i = 0; i < cfg->nselects; i++) {
		if ((s->objs[s->nobjs] = lister_new(s, &cfg->selects[i],
		    i)) == NULL)
			goto oom;
		s->nobjs++;
	}
	s->cfg = cfg;
	(void)metrics_objects(cfg);
	adopt_existing(s);
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

	if (!old->have || old->sel != NULL || old->bundle != NULL ||
	    old->lister != NULL)
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

int
sync_reload(struct sync *s, struct akvd_config *cfg)
{
	struct obj **objs, *o;
	size_t i, j, k, n;
	int64_t now = sync_now_ms(s);
	int changed = 0;
	char count[32];

	/* Static objects first, then listers, then selected secrets. */
	if ((objs = calloc(cfg->nobjects + cfg->nbundles + cfg->nselects +
	    s->nobjs + 1, sizeof(*objs))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return (-1);
	}
	/* Keep the state of objects that fetch the same thing. */
	for (i = 0; i < cfg->nobjects; i++) {
		for (j = 0; j < s->cfg->nobjects; j++) {
			o = s->objs[j];
			if (o == NULL || !config_object_same_source(o->cfg,
			    &cfg->objects[i]))
				continue;
			if (strcmp(o->cfg->alias, cfg->objects[i].alias) != 0 ||
			    o->cfg->mode != cfg->objects[i].mode ||
			    o->cfg->uid != cfg->objects[i].uid ||
			    o->cfg->gid != cfg->objects[i].gid)
				changed = 1;
			if (obj_set_cfg(o, &cfg->objects[i]) == -1)
				goto oom;
			objs[i] = o;
			s->objs[j] = NULL;
			break;
		}
	}
	for (i = 0; i < cfg->nobjects; i++) {
		if (objs[i] != NULL)
			continue;
		if ((objs[i] = obj_new(s, &cfg->objects[i])) == NULL)
			goto oom;
		changed = 1;
	}
	/* A bundle keeps its file while its path stays. */
	n = cfg->nobjects;
	for (i = 0; i < cfg->nbundles; i++) {
		o = NULL;
		for (j = s->cfg->nobjects; j < s->nobjs && o == NULL; j++) {
			if (s->objs[j] != NULL && s->objs[j]->bundle != NULL &&
			    strcmp(s->objs[j]->bundle->path,
			    cfg->bundles[i].path) == 0) {
				o = s->objs[j];
				s->objs[j] = NULL;
				if (bundle_differs(o->bundle, &cfg->bundles[i]))
					changed = 1;
				bundle_set(o, &cfg->bundles[i], i);
			}
		}
		if (o == NULL) {
			if ((o = bundle_new(s, &cfg->bundles[i], i)) == NULL) {
				log_msg(LOG_ERROR, "sync: out of memory");
				continue;
			}
			changed = 1;
		}
		objs[n++] = o;
	}
	/* A select that did not change keeps its lister and secrets. */
	for (i = 0; i < cfg->nselects; i++) {
		o = NULL;
		for (j = s->cfg->nobjects; j < s->nobjs && o == NULL; j++) {
			if (s->objs[j] != NULL && s->objs[j]->sel != NULL &&
			    config_select_same(s->objs[j]->sel,
			    &cfg->selects[i])) {
				o = s->objs[j];
				s->objs[j] = NULL;
				o->sel = &cfg->selects[i];
			}
		}
		if (o == NULL) {
			if ((o = lister_new(s, &cfg->selects[i], i)) == NULL) {
				log_msg(LOG_ERROR, "sync: out of memory");
				continue;
			}
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
	free(s->objs);
	s->objs = objs;
	s->nobjs = n;
	/* A configured object or bundle now takes a selected secret's name. */
	for (j = s->nobjs; j > 0; j--) {
		const struct obj *other;

		o = s->objs[j - 1];
		if (o->lister == NULL || (other = alias_taken(s, o->cfg->alias,
		    1, o)) == NULL)
			continue;
		log_kv(LOG_WARN, "selected secret dropped: its file name is "
		    "taken", "secret", o->cfg->name, "file", o->cfg->alias,
		    "by", other->cfg->name, NULL);
		obj_free(o);
		memmove(&s->objs[j - 1], &s->objs[j],
		    (s->nobjs - j + 1) * sizeof(*s->objs));
		s->nobjs--;
		changed = 1;
	}
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
	config_free(s->cfg);
	s->cfg = cfg;
	(void)metrics_objects(cfg);
	if (changed)
		s->dirty = 1;
	snprintf(count, sizeof(count), "%zu", s->nobjs);
	log_kv(LOG_INFO, "configuration applied", "objects", count, NULL);
	kick(s);
	return (0);

oom:
	/*
	 * Put the kept objects back where they were: no slot may stay
	 * empty.  Should even that run out of memory, the object keeps the
	 * paths of the new alias (its own strings) until the next reload.
	 */
	for (i = 0; i < cfg->nobjects; i++) {
		if (objs[i] == NULL)
			continue;
		for (j = 0; j < s->cfg->nobjects; j++) {
			if (s->objs[j] != NULL ||
			    !config_object_same_source(objs[i]->cfg,
			    &s->cfg->objects[j]))
				continue;
			if (obj_set_cfg(objs[i], &s->cfg->objects[j]) == -1)
				objs[i]->cfg = &s->cfg->objects[j];
			s->objs[j] = objs[i];
			objs[i] = NULL;
			break;
		}
		obj_free(objs[i]);
	}
	free(objs);
	log_msg(LOG_ERROR, "sync: out of memory");
	return (-1);
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
			struct auth *a = o->cfg->type == OBJ_BLOB ?
			    blob_auth(s) : s->auth;

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
		report_waiting(s);
	kick(s);
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
	if (s->committed) {
		gmtime_r(&s->last_commit, &tm);
		strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	}
	snprintf(buf, len, "%s%s%s%zu objects, %zu failing, last snapshot %s",
	    strcmp(why, "ready") == 0 ? "ready: " : "not ready: ",
	    strcmp(why, "ready") == 0 ? "" : why,
	    strcmp(why, "ready") == 0 ? "" : "; ",
	    s->nobjs, failing, when);
}

int
sync_ready(const struct sync *s, char *why, size_t len)
{
	struct policy_ready lim;

	if (!complete(s, why, len))
		return (0);
	lim.interval_ms = s->cfg->interval_ms;
	lim.max_failed = s->cfg->ready_max_failed;
	lim.timeout_ms = s->cfg->timeout_ms;
	lim.no_token = auth_failures(s->auth) > 0;
	return (policy_fresh(s->nobjs, obj_view, (void *)(uintptr_t)s, &lim,
	    sync_now_ms(s), why, len));
}

int
sync_value(const struct sync *s, const char *name, const char **data,
    size_t *len)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		const struct obj *o = s->objs[i];

		if (!o->have || (strcmp(o->cfg->name, name) != 0 &&
		    strcmp(o->cfg->alias, name) != 0))
			continue;
		*data = o->files[0].data != NULL ? o->files[0].data : "";
		*len = o->files[0].len;
		return (0);
	}
	return (-1);
}

const struct akvd_config *
sync_config(const struct sync *s)
{

	return (s->cfg);
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
	config_free(s->cfg);
	free(s);
}
