/*
 * sync_reload.c - making the tables of sources and outputs from a
 * configuration: at start (sync_build()) and at a reload, as a diff of
 * source keys (sync_prepare(), sync_commit(), sync_abort()).
 *
 * Every configured object is a file output; it reads the source of its
 * key (plan_sources(): one per key, so two objects that read the same
 * value share one source by construction).  At a reload, plan_objects()
 * says which old object each new one continues (KEEP: the same source,
 * rendered the same way; RERENDER: the same source, rendered otherwise),
 * and plan_sources() which old source each new one is: it goes on with
 * its value, schedule, failures and Retry-After; a new output of a KEEP
 * takes the old one's files as they are, one of a RERENDER renders the
 * value its source holds, without a request.  Bundles and templates
 * are made new and take the file of the old one at their path.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "plan.h"
#include "sync_int.h"
#include "writer.h"

/*
 * The static part of the tables of a configuration: one file output per
 * configured object, the sources they read (slots), and which old source
 * each slot takes over.
 */
struct tables {
	struct output	**fouts;	/* [i]: of cfg->objects[i]; room for
					   the selected secrets after */
	size_t		 nsrc;		/* slots */
	struct source	**src;		/* [k]: a new source, or NULL when
					   old[k] goes on */
	struct source	**old;		/* [k]: the old source it continues */
	const struct akvd_object **key;	/* [k]: the configuration of its
					   first output */
	struct output	***outs;	/* [k]: its outputs, in order */
	size_t		*nouts;
	size_t		*slot;		/* [i]: the slot of fouts[i] */
};

static void
tables_free(struct tables *t, size_t nobjects)
{
	size_t i, k;

	for (i = 0; t->fouts != NULL && i < nobjects; i++)
		output_free(t->fouts[i]);
	for (k = 0; k < t->nsrc; k++) {
		source_free(t->src[k]);
		free(t->outs[k]);
	}
	free(t->fouts);
	free(t->src);
	free(t->old);
	free(t->key);
	free(t->outs);
	free(t->nouts);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/*
 * Make the tables of ${cfg} for ${s} into ${t}: the sources of
 * plan_sources(); with ${pm} (a reload), a source that goes on is the old
 * one (s->sources lists the old configuration's the same way).
 * ${extra}: room for that many more file outputs.  Returns 0, or -1 on
 * ENOMEM (${t} freed).
 */
static int
tables_build(struct sync *s, const struct akvd_config *cfg,
    const struct plan_match *pm, size_t extra, struct tables *t)
{
	size_t i, k, n = cfg->nobjects;
	struct plan_match *ps = NULL;

	memset(t, 0, sizeof(*t));
	if ((t->fouts = calloc(n + extra + 1, sizeof(*t->fouts))) == NULL ||
	    (t->src = calloc(n + 1, sizeof(*t->src))) == NULL ||
	    (t->old = calloc(n + 1, sizeof(*t->old))) == NULL ||
	    (t->key = calloc(n + 1, sizeof(*t->key))) == NULL ||
	    (t->outs = calloc(n + 1, sizeof(*t->outs))) == NULL ||
	    (t->nouts = calloc(n + 1, sizeof(*t->nouts))) == NULL ||
	    (t->slot = calloc(n + 1, sizeof(*t->slot))) == NULL ||
	    (ps = calloc(n + 1, sizeof(*ps))) == NULL ||
	    plan_sources(s->cfg, cfg, pm, t->slot, ps, &t->nsrc) == -1)
		goto oom;
	/* The key of each source: its first object's. */
	for (i = 0; i < n; i++) {
		const struct akvd_object *c = &cfg->objects[i];

		if ((t->fouts[i] = output_file_new(s, c)) == NULL)
			goto oom;
		k = t->slot[i];
		if (t->key[k] == NULL)
			t->key[k] = c;
		t->nouts[k]++;
	}
	for (k = 0; k < t->nsrc; k++) {
		if (ps[k].how != PLAN_NEW)
			t->old[k] = s->sources[ps[k].old];
		if ((t->outs[k] = calloc(t->nouts[k] + 1,
		    sizeof(*t->outs[k]))) == NULL)
			goto oom;
		t->nouts[k] = 0;
	}
	for (i = 0; i < n; i++) {
		k = t->slot[i];
		t->outs[k][t->nouts[k]++] = t->fouts[i];
	}
	for (k = 0; k < t->nsrc; k++)
		if (t->old[k] == NULL && (t->src[k] = t->key[k]->type ==
		    OBJ_BLOB ? source_blob_new(s, t->key[k]) :
		    source_kv_new(s, t->key[k])) == NULL)
			goto oom;
	free(ps);
	return (0);
oom:
	free(ps);
	tables_free(t, n);
	return (-1);
}

/* Point the sources of ${t} at their outputs; the outputs at them. */
static void
tables_link(struct tables *t)
{
	size_t k, j;

	for (k = 0; k < t->nsrc; k++) {
		struct source *o = t->src[k] != NULL ? t->src[k] : t->old[k];

		free(o->outs);
		o->outs = t->outs[k];
		o->nouts = t->nouts[k];
		o->cfg = t->key[k];
		t->outs[k] = NULL;
		t->src[k] = NULL;
		t->old[k] = o;		/* the source of slot k now */
		for (j = 0; j < o->nouts; j++)
			o->outs[j]->src = o;
	}
}

int
sync_build(struct sync *s, struct akvd_config *cfg)
{
	struct tables t;
	size_t i, k;

	if (tables_build(s, cfg, NULL, 0, &t) == -1 ||
	    (s->sources = calloc(t.nsrc + cfg->nselects + 1,
	    sizeof(*s->sources))) == NULL ||
	    (s->outs = calloc(cfg->nbundles + cfg->ntemplates + 1,
	    sizeof(*s->outs))) == NULL)
		goto oom;
	tables_link(&t);
	for (k = 0; k < t.nsrc; k++)
		s->sources[s->nsources++] = t.old[k];
	s->nstatic = t.nsrc;
	s->fouts = t.fouts;
	s->nfouts = cfg->nobjects;
	t.fouts = NULL;
	t.nsrc = 0;
	tables_free(&t, 0);
	for (i = 0; i < cfg->nbundles; i++)
		if ((s->outs[s->nouts++] = output_bundle_new(s,
		    &cfg->bundles[i])) == NULL)
			goto oom;
	for (i = 0; i < cfg->ntemplates; i++)
		if ((s->outs[s->nouts++] = output_template_new(s,
		    &cfg->templates[i])) == NULL)
			goto oom;
	for (i = 0; i < s->nouts; i++)
		output_bind(s->outs[i], s->fouts);
	for (i = 0; i < cfg->nselects; i++)
		if ((s->sources[s->nsources++] = source_select_lister_new(s,
		    &cfg->selects[i], i)) == NULL)
			goto oom;
	return (0);
oom:
	tables_free(&t, cfg->nobjects);
	return (-1);
}

/* Is there a lister of the old select ${idx}? */
static int
has_lister(const struct sync *s, size_t idx)
{
	size_t j;

	for (j = s->nstatic; j < s->nsources; j++)
		if (s->sources[j] != NULL &&
		    source_select_is_lister(s->sources[j], idx))
			return (1);
	return (0);
}

/* The lister of the old select ${idx}, taken out of s->sources, or NULL. */
static struct source *
take_lister(struct sync *s, size_t idx)
{
	struct source *o;
	size_t j;

	for (j = s->nstatic; j < s->nsources; j++) {
		if ((o = s->sources[j]) != NULL &&
		    source_select_is_lister(o, idx)) {
			s->sources[j] = NULL;
			return (o);
		}
	}
	return (NULL);
}

/* A reload prepared: everything it needs, allocated (see sync.h). */
struct sync_pending {
	struct akvd_config *cfg;
	struct plan_match *pm, *pb, *ps;	/* objects, bundles, selects */
	struct tables	 t;		/* sources and file outputs */
	struct output	**outs;		/* every bundle and template, new:
					   each takes the file of the old
					   one at its path */
	struct source	**listers;	/* [i]: NEW listers */
	struct source	**sources;		/* the new table of sources */
};

void
sync_abort(struct sync_pending *p)
{
	size_t i;

	if (p == NULL)
		return;
	tables_free(&p->t, p->cfg->nobjects);
	for (i = 0; p->outs != NULL &&
	    i < p->cfg->nbundles + p->cfg->ntemplates; i++)
		output_free(p->outs[i]);
	for (i = 0; p->listers != NULL && i < p->cfg->nselects; i++)
		source_free(p->listers[i]);
	free(p->outs);
	free(p->listers);
	free(p->sources);
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
	/* Static sources first, then listers, selected secrets. */
	p->sources = calloc(cfg->nobjects + cfg->nselects + s->nsources + 1,
	    sizeof(*p->sources));
	p->outs = calloc(cfg->nbundles + cfg->ntemplates + 1,
	    sizeof(*p->outs));
	p->pm = calloc(cfg->nobjects + 1, sizeof(*p->pm));
	p->pb = calloc(cfg->nbundles + 1, sizeof(*p->pb));
	p->ps = calloc(cfg->nselects + 1, sizeof(*p->ps));
	p->listers = calloc(cfg->nselects + 1, sizeof(*p->listers));
	if (p->sources == NULL || p->outs == NULL || p->pm == NULL ||
	    p->pb == NULL || p->ps == NULL || p->listers == NULL ||
	    plan_objects(s->cfg, cfg, p->pm) == -1 ||
	    plan_bundles(s->cfg, cfg, p->pb) == -1 ||
	    plan_selects(s->cfg, cfg, p->ps) == -1 ||
	    tables_build(s, cfg, p->pm, s->nfouts, &p->t) == -1)
		goto oom;
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

/* Fetch ${o} at once (its Retry-After permitting), whatever a list says. */
static void
fetch_now(struct source *o, int64_t now)
{

	if (o->state != SOURCE_IDLE)
		return;
	o->due = o->not_before > now ? o->not_before : now;
	o->refetch = 1;
}

/*
 * The new file output ${out} (of slot source ${src}) continues ${old} as
 * ${how} says, or is new; the files an old output wrote at the same paths
 * stay until it has a value.  Returns nonzero if the snapshot changes.
 */
static int
continue_output(struct sync *s, struct output *out, struct source *src,
    enum plan_how how, struct output *old, int64_t now)
{
	size_t j;

	if (how == PLAN_KEEP) {
		output_keep(out, old);
		return (strcmp(out->cfg->alias, old->cfg->alias) != 0 ||
		    out->cfg->mode != old->cfg->mode ||
		    out->cfg->uid != old->cfg->uid ||
		    out->cfg->gid != old->cfg->gid);
	}
	/*
	 * RERENDER, or a new output of a source that goes on: the value it
	 * holds, rendered this output's way, without a GET.
	 */
	if (src->fetched && output_rerender(out, &src->raw) == 0) {
		out->fetched = 1;
		out->last_ok = now;
		if (old != NULL) {
			out->version = old->version;
			old->version = NULL;
			old->carried = 1;
		} else if (src->raw.version != NULL)
			out->version = strdup(src->raw.version); /* or NULL */
		return (1);
	}
	if (old == NULL || output_take(out, old) == -1)
		for (j = 0; j < s->nfouts; j++)
			if (!s->fouts[j]->carried &&
			    output_take(out, s->fouts[j]) == 0)
				break;
	fetch_now(src, now);
	return (1);
}

void
sync_commit(struct sync *s, struct sync_pending *p)
{
	struct akvd_config *cfg = p->cfg;
	struct tables *t = &p->t;
	struct source **sources = p->sources, *o;
	size_t i, j, k, n;
	int64_t now = sync_now_ms(s);
	int changed = 0;
	char count[32];

	/* The sources that go on leave the old table. */
	for (k = 0; k < t->nsrc; k++)
		for (j = 0; t->old[k] != NULL && j < s->nstatic; j++)
			if (s->sources[j] == t->old[k])
				s->sources[j] = NULL;
	/* Each new file output continues an old one, or is new. */
	for (i = 0; i < cfg->nobjects; i++) {
		k = t->slot[i];
		o = t->src[k] != NULL ? t->src[k] : t->old[k];
		if (continue_output(s, t->fouts[i], o, p->pm[i].how,
		    p->pm[i].how != PLAN_NEW ? s->fouts[p->pm[i].old] : NULL,
		    now))
			changed = 1;
	}
	tables_link(t);
	for (k = 0; k < t->nsrc; k++)
		sources[k] = t->old[k];
	n = t->nsrc;
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
	/* A select that did not change keeps its lister and secrets. */
	for (i = 0; i < cfg->nselects; i++) {
		if (p->ps[i].how == PLAN_KEEP &&
		    (o = take_lister(s, p->ps[i].old)) != NULL)
			source_select_rebind(o, &cfg->selects[i], i);
		else {
			o = p->listers[i];
			p->listers[i] = NULL;
			changed = 1;
		}
		sources[n++] = o;
	}
	/* The secrets of the listers kept, with their outputs. */
	k = cfg->nobjects;
	for (j = s->nstatic; j < s->nsources; j++) {
		struct source *lister;
		size_t l;

		o = s->sources[j];
		if (o == NULL || (lister = source_select_lister_of(o)) == NULL)
			continue;
		for (l = t->nsrc; l < n && sources[l] != lister; l++)
			;
		if (l == n)
			continue;
		if (source_select_restyle(o))
			changed = 1;
		sources[n++] = o;
		s->sources[j] = NULL;
		o->outs[0]->carried = 2;	/* kept as it is */
		t->fouts[k++] = o->outs[0];
	}
	/* What is left of the old tables goes. */
	for (j = 0; j < s->nfouts; j++) {
		if (s->fouts[j]->carried == 2) {
			s->fouts[j]->carried = 0;
			continue;	/* a selected one, kept */
		}
		if (!s->fouts[j]->carried)
			changed = 1;	/* its files leave */
		output_free(s->fouts[j]);
	}
	for (j = 0; j < s->nsources; j++) {
		if (s->sources[j] != NULL) {
			source_free(s->sources[j]);
			changed = 1;
		}
	}
	for (j = 0; j < s->nouts; j++) {
		if (!s->outs[j]->carried)
			changed = 1;	/* its file leaves */
		output_free(s->outs[j]);
	}
	free(s->sources);
	free(s->fouts);
	free(s->outs);
	s->sources = sources;
	s->nsources = n;
	s->nstatic = t->nsrc;
	s->fouts = t->fouts;
	s->nfouts = k;
	t->fouts = NULL;
	t->nsrc = 0;
	s->outs = p->outs;
	p->outs = NULL;
	s->nouts = cfg->nbundles + cfg->ntemplates;
	for (j = 0; j < s->nouts; j++)
		output_bind(s->outs[j], s->fouts);
	/* A configured object or bundle now takes a selected secret's name. */
	for (j = s->nsources; j > s->nstatic; j--) {
		const char *other;

		o = s->sources[j - 1];
		if (source_select_lister_of(o) == NULL ||
		    (other = source_select_alias_taken(s,
		    o->cfg->alias, 1, o)) == NULL)
			continue;
		log_kv(LOG_WARN, "selected secret dropped: its file name is "
		    "taken", "secret", o->cfg->name, "file", o->cfg->alias,
		    "by", other, NULL);
		source_select_drop(s, j - 1);
		changed = 1;
	}
	if (strcmp(s->cfg->output_dir, cfg->output_dir) != 0) {
		changed = 1;
		writer_cleanup(cfg->output_dir);
	}
	if (cfg->interval_ms < s->cfg->interval_ms) {
		for (i = 0; i < s->nsources; i++) {
			o = s->sources[i];
			if (o->state == SOURCE_IDLE && o->failures == 0 &&
			    o->due > now + (int64_t)cfg->interval_ms)
				o->due = now + (int64_t)cfg->interval_ms;
		}
	}
	s->cfg = cfg;	/* the caller frees the old one */
	(void)metrics_objects(cfg);
	if (changed)
		s->dirty = 1;
	snprintf(count, sizeof(count), "%zu", s->nfouts + cfg->nselects +
	    s->nouts);
	log_kv(LOG_INFO, "configuration applied", "objects", count, NULL);
	p->sources = NULL;		/* now s->sources */
	sync_abort(p);
	sync_kick(s);
}
