/*
 * snapshot.c - turning the objects' values into one snapshot: bundles
 * rendered from their members, every file handed to writer_commit(), the
 * snapshot callback told what changed, and the one definition of "ready"
 * (complete()) with the reports while waiting for it; adopting the
 * snapshot already on disk at start-up.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "sync_int.h"
#include "policy.h"
#include "render.h"
#include "template.h"
#include "util.h"
#include "writer.h"

static void	announce(struct sync *);

static int
all_attempted(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++)
		if (!s->objs[i]->attempted)
			return (0);
	return (1);
}

int
snapshot_busy(const struct sync *s)
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

/* What a template sees of the objects it uses, for template_render. */
struct tmpl_view {
	const struct sync *s;
	const struct akvd_template *t;
	struct template_object *objs;	/* [k]: of t->objs[k]; value NULL:
					   absent */
	struct buf	*parts;		/* [3k..3k+2]: key, leaf, chain */
	struct template_tag **tags;	/* [k]: of objs[k], or NULL */
};

static const struct template_object *
tmpl_lookup(void *cookie, const char *name)
{
	const struct tmpl_view *v = cookie;
	size_t k;

	for (k = 0; k < v->t->nobjs; k++)
		if (strcmp(v->s->cfg->objects[v->t->objs[k]].alias,
		    name) == 0)
			return (v->objs[k].value != NULL ? &v->objs[k] : NULL);
	return (NULL);
}

/*
 * Fill ${v} from the values held.  Returns -1 with ${missing} set to the
 * name of a required object without a value (the template is kept as it
 * is), or 0.
 */
static int
tmpl_view_fill(struct tmpl_view *v, const char **missing)
{
	const struct sync *s = v->s;
	char err[128];
	size_t k;

	for (k = 0; k < v->t->nobjs; k++) {
		const struct obj *m = s->objs[v->t->objs[k]], *r;
		struct template_object *to = &v->objs[k];
		struct buf *pp = &v->parts[3 * k];

		to->updated = -1;
		if (!m->have) {
			if (!m->cfg->optional) {
				*missing = m->cfg->name;
				return (-1);
			}
			continue;
		}
		to->value = m->files[0].data != NULL ? m->files[0].data : "";
		to->value_len = m->files[0].len;
		to->version = m->version;
		/* The one that fetched holds what Key Vault returned. */
		r = m->src != NULL ? m->src : m;
		to->content_type = r->raw.content_type;
		if (r->raw.updated > 0)
			to->updated = r->raw.updated;
		if (r->raw.ntags > 0) {
			size_t t;

			if ((v->tags[k] = calloc(r->raw.ntags,
			    sizeof(*v->tags[k]))) == NULL) {
				*missing = "(out of memory)";
				return (-1);
			}
			for (t = 0; t < r->raw.ntags; t++) {
				v->tags[k][t].name = r->raw.tags[2 * t];
				v->tags[k][t].value = r->raw.tags[2 * t + 1];
			}
			to->tags = v->tags[k];
			to->ntags = r->raw.ntags;
		}
		/* Certificates held as PEM: their parts (else unset). */
		if ((m->cfg->type == OBJ_SECRET && r->raw.managed &&
		    m->cfg->format != FMT_PFX) && render_cert_parts(to->value,
		    to->value_len, pp, err, sizeof(err)) == 0) {
			to->key = pp[0].data;
			to->leaf = pp[1].data;
			to->chain = pp[2].data;
		}
	}
	return (0);
}

/*
 * Render every template from the values held (TEMPLATE_STRICT); one that
 * cannot be rendered (a value its context cannot hold, a missing value)
 * keeps its previous file, logged by path and tag, never by value.
 */
static void
render_templates(struct sync *s)
{
	struct tmpl_view v;
	struct buf out;
	const char *missing;
	size_t i, k;
	char err[192], count[16];	/* err fits obj->reason */

	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];
		const struct akvd_template *t = o->tmpl;

		if (t == NULL || t->t == NULL)
			continue;
		memset(&v, 0, sizeof(v));
		v.s = s;
		v.t = t;
		v.objs = calloc(t->nobjs + 1, sizeof(*v.objs));
		v.parts = calloc(3 * t->nobjs + 1, sizeof(*v.parts));
		v.tags = calloc(t->nobjs + 1, sizeof(*v.tags));
		memset(&out, 0, sizeof(out));
		missing = NULL;
		if (v.objs == NULL || v.parts == NULL || v.tags == NULL)
			log_msg(LOG_ERROR, "sync: out of memory");
		else if (tmpl_view_fill(&v, &missing) == -1)
			log_kv(LOG_DEBUG, "template kept: an object has no "
			    "value", "template", t->path, "object", missing,
			    NULL);
		else if (template_render(t->t, TEMPLATE_STRICT, tmpl_lookup,
		    &v, &out, err, sizeof(err)) == -1) {
			o->failures++;
			if (obj_worth_logging(o, err))
				log_kv(LOG_ERROR, "template not written: "
				    "keeping the previous one", "template",
				    t->path, "reason", err, NULL);
			snprintf(o->reason, sizeof(o->reason), "%s", err);
		} else if (o->have && o->files[0].len == out.len &&
		    (out.len == 0 ||
		    memcmp(o->files[0].data, out.data, out.len) == 0)) {
			o->failures = 0;
			o->reason[0] = '\0';
		} else {
			snprintf(count, sizeof(count), "%zu", t->nobjs);
			log_kv(LOG_INFO, o->have ? "template updated" :
			    "template made", "template", t->path,
			    "objects", count, NULL);
			if (o->have || s->complete)
				o->changed = 1;
			buf_wipe(&o->files[0]);
			if (out.data == NULL && buf_append(&out, "", 0) == -1)
				log_msg(LOG_ERROR, "sync: out of memory");
			o->files[0] = out;
			memset(&out, 0, sizeof(out));
			o->have = 1;
			o->failures = 0;
			o->reason[0] = '\0';
		}
		buf_wipe(&out);
		for (k = 0; v.parts != NULL && k < 3 * t->nobjs; k++)
			buf_wipe(&v.parts[k]);
		free(v.parts);
		for (k = 0; v.tags != NULL && k < t->nobjs; k++)
			free(v.tags[k]);
		free(v.tags);
		free(v.objs);
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
const char *
snapshot_waits_for(const struct sync *s, const struct obj *o)
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
void
snapshot_view(size_t i, struct policy_view *v, void *cookie)
{
	const struct sync *s = cookie;
	const struct obj *o = s->objs[i];

	v->name = o->cfg->name;
	v->reason = o->reason;
	v->waits_for = snapshot_waits_for(s, o);
	v->counts = !o->cfg->optional && o->bundle == NULL &&
	    o->tmpl == NULL;
	v->complete = obj_complete(s, o);
	v->failures = o->failures;
	v->failing_since = o->failing_since;
	v->last_ok = o->last_ok;
}

/*
 * snapshot_complete(s, why, len): the one definition of "ready" that
 * every signal of readiness uses (starting the supervised command,
 * READY=1, /readyz, the exit status of --once, the first notification):
 * every required (non-optional) object has a value in the snapshot
 * written (see obj_complete(); a bundle counts through its members).
 * Returns 1, or 0 with ${why} (see policy_complete()).
 */
int
snapshot_complete(const struct sync *s, char *why, size_t len)
{

	return (policy_complete(s->nobjs, snapshot_view, (void *)(uintptr_t)s,
	    s->committed, s->once, why, len));
}

/*
 * Not complete yet: say why, to the wait callback (STATUS=) every time and
 * to the log when the reason changes and then at growing intervals.
 */
void
snapshot_report_waiting(struct sync *s)
{
	char why[sizeof(s->wait_why)], n[16];

	if (s->once || s->complete || snapshot_complete(s, why, sizeof(why)))
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

/*
 * A snapshot could not be written (${err}, from writer_commit): the
 * previous one stays.  Counted in akvd_snapshot_failures_total, logged at
 * growing intervals while the same error repeats (the 1st, 2nd, 4th...
 * time), retried in COMMIT_RETRY_MS; sync_ready() turns false once it
 * lasts ready_max_failed_intervals.
 */
static void
commit_failed(struct sync *s, const char *err)
{
	char count[16];
	int64_t now = sync_now_ms(s);

	if (s->commit_failing_since == 0)
		s->commit_failing_since = now;
	if (strcmp(err, s->commit_error) != 0) {
		snprintf(s->commit_error, sizeof(s->commit_error), "%s", err);
		s->commit_failures = 0;
	}
	s->commit_failures++;
	if (log_repeat_due(s->commit_failures)) {
		snprintf(count, sizeof(count), "%u", s->commit_failures);
		log_kv(LOG_ERROR, "snapshot not written: keeping the previous "
		    "one", "dir", s->cfg->output_dir, "error", err, "failures",
		    count, NULL);
	}
	s->commit_retry = now + COMMIT_RETRY_MS;
}

/* Commit a snapshot if something changed and the burst is over. */
int
snapshot_commit(struct sync *s)
{
	struct writer_file *files;
	size_t i, n = 0;
	char count[32], err[256];
	int rc;

	if (!s->dirty || snapshot_busy(s) || !all_attempted(s) ||
	    !all_listed(s))
		return (0);
	render_bundles(s);
	render_templates(s);
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

		if (!o->have || o->cfg->bundle != 0 || o->cfg->nofile)
			continue;	/* no file of its own */
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
	rc = writer_commit(s->cfg->output_dir, files, n, err, sizeof(err));
	free(files);
	metrics_snapshot(rc == 0);
	if (rc == -1) {
		commit_failed(s, err);
		return (-1);
	}
	if (s->commit_failing_since != 0) {
		snprintf(count, sizeof(count), "%lld", (long long)
		    ((sync_now_ms(s) - s->commit_failing_since) / 1000));
		log_kv(LOG_INFO, "snapshot written again", "dir",
		    s->cfg->output_dir, "failed_for", count, NULL);
	}
	s->commit_failing_since = 0;
	s->commit_failures = 0;
	s->dirty = 0;
	s->commit_retry = 0;
	s->last_commit = time(NULL);
	for (i = 0; i < s->nobjs; i++)
		s->objs[i]->written = s->objs[i]->have;
	for (i = n = 0; i < s->nobjs; i++)
		n += s->objs[i]->have && s->objs[i]->cfg->bundle == 0 &&
		    !s->objs[i]->cfg->nofile;
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
		if (!snapshot_complete(s, why, sizeof(why))) {
			snapshot_report_waiting(s);
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
	obj_paths_free(s->gone, s->ngone);
	s->gone = NULL;
	s->ngone = 0;
}

/* --once: when every object is settled, write and report. */
void
snapshot_once_check(struct sync *s)
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
	(void)snapshot_commit(s);
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
	if (!(ok = snapshot_complete(s, why, sizeof(why))))
		log_kv(LOG_ERROR, "not complete", "status", why, NULL);
	s->done_fn(ok, s->done_cookie);
}

/* select                                                                 */

/*
 * Does bundle ${b} make another file than ${a} from the same values?  (A
 * member that changed is a new object, which marks the reload changed.)
 */
int
snapshot_bundle_differs(const struct akvd_bundle *a,
    const struct akvd_bundle *b)
{

	return (a->format != b->format || a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid || a->n != b->n ||
	    a->first != b->first);
}

void
snapshot_bundle_set(struct obj *o, const struct akvd_bundle *b, size_t idx)
{

	o->bundle = b;
	o->bundle_idx = idx;
	o->own->mode = b->mode;
	o->own->uid = b->uid;
	o->own->gid = b->gid;
}

/*
 * A pseudo-object (a bundle's or a template's file) named by ${path} in
 * logs, never fetched; ${set} fills its configuration before it is
 * attached.  Returns NULL on ENOMEM.
 */
static struct obj *
pseudo_new(struct sync *s, const char *path,
    void (*set)(struct obj *, const void *, size_t), const void *what,
    size_t idx)
{
	struct akvd_object *c;
	struct obj *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	o->ops = &source_kv_ops;
	o->src = o;
	if ((c = obj_own_new(path, path, "")) == NULL) {
		free(o);
		return (NULL);
	}
	o->own = c;
	set(o, what, idx);
	if (obj_set_cfg(o, c) == -1) {
		obj_own_free(c);
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

static void
bundle_set(struct obj *o, const void *b, size_t idx)
{

	snapshot_bundle_set(o, b, idx);
}

static void
template_set(struct obj *o, const void *what, size_t idx)
{
	const struct akvd_template *t = what;

	o->tmpl = t;
	o->own->mode = t->mode;
	o->own->uid = t->uid;
	o->own->gid = t->gid;
}

/* The pseudo-object of bundle ${b}: named by its path in logs. */
struct obj *
snapshot_bundle_new(struct sync *s, const struct akvd_bundle *b, size_t idx)
{

	return (pseudo_new(s, b->path, bundle_set, b, idx));
}

/* The pseudo-object of template ${t}: named by its path in logs. */
struct obj *
snapshot_template_new(struct sync *s, const struct akvd_template *t)
{

	return (pseudo_new(s, t->path, template_set, t, 0));
}

/*
 * snapshot_template_carry(o, old): the new pseudo-object ${o} of a
 * reloaded template takes the file ${old} (the same path) holds, so that
 * a template that cannot be rendered keeps it.  Returns nonzero if the
 * template or its file's mode or owner changed (render again).
 */
int
snapshot_template_carry(struct obj *o, struct obj *old)
{
	const struct akvd_template *a = old->tmpl, *b = o->tmpl;
	struct buf tmp;

	tmp = o->files[0];
	o->files[0] = old->files[0];
	old->files[0] = tmp;
	o->have = old->have;
	o->written = old->written;
	o->failures = old->failures;
	memcpy(o->reason, old->reason, sizeof(o->reason));
	old->have = 0;
	return (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    a->len != b->len || memcmp(a->text, b->text, a->len) != 0);
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
void
snapshot_adopt(struct sync *s)
{
	size_t i, n = 0;
	char count[32];

	if (writer_cleanup(s->cfg->output_dir) == -1)
		return;
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];
		size_t f;

		if (o->sel != NULL || o->cfg->bundle != 0 || o->cfg->nofile)
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
