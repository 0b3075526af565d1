/*
 * source_select.c - "select" entries, two kinds of source: a lister
 * (source_lister_ops, struct select_lister) lists a vault's secrets each
 * cycle and keeps one selected secret (source_selected_ops, struct
 * select_member) per match, fetched only when the list shows a new
 * attributes.updated; a secret that leaves the selection leaves the next
 * snapshot.  Both own their configuration (o->cfg); their requests are
 * source_kv.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "source_kv.h"
#include "sync_int.h"
#include "util.h"
#include "writer.h"

/* A lister (source_lister_ops; o->u.lister). */
struct select_lister {
	const struct akvd_select *sel;	/* its entry (s->cfg) */
	size_t		 idx;		/* in s->cfg->selects */
	struct akvd_object *own;	/* its o->cfg */
	struct kv_pages	 pages;		/* the vault's secrets so far */
};

/* A secret a lister selected (source_selected_ops; o->u.member). */
struct select_member {
	struct source	*lister;
	struct akvd_object *own;	/* its o->cfg */
	int64_t		 seen_updated;	/* of the value held */
	int64_t		 want_updated;	/* as last listed */
	int		 mark;		/* listed this time */
};

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

/* A source of kind ${ops} and state ${st} (NULL: ENOMEM) owning ${c}. */
static struct source *
select_source_new(struct sync *s, struct akvd_object *c,
    const struct source_ops *ops, void *st)
{
	struct source *o;

	if (c == NULL || st == NULL || (o = source_new(s, c, ops)) == NULL) {
		own_free(c);
		free(st);
		return (NULL);
	}
	if (ops == &source_lister_ops) {
		o->u.lister = st;
		o->u.lister->own = c;
	} else {
		o->u.member = st;
		o->u.member->own = c;
	}
	return (o);
}

/* A lister of ${sel}, "select[i]" in logs. */
struct source *
source_select_lister_new(struct sync *s, const struct akvd_select *sel,
    size_t idx)
{
	struct source *o;
	char name[32];

	snprintf(name, sizeof(name), "select[%zu]", idx);
	if ((o = select_source_new(s, own_new(name, name, sel->vault),
	    &source_lister_ops, calloc(1, sizeof(struct select_lister)))) ==
	    NULL)
		return (NULL);
	o->u.lister->sel = sel;
	o->u.lister->idx = idx;
	return (o);
}

int
source_select_is_lister(const struct source *o, size_t idx)
{

	return (o->ops == &source_lister_ops && o->u.lister->idx == idx);
}

void
source_select_rebind(struct source *o, const struct akvd_select *sel,
    size_t idx)
{

	o->u.lister->sel = sel;
	o->u.lister->idx = idx;
}

struct source *
source_select_lister_of(const struct source *o)
{

	return (o->ops == &source_selected_ops ? o->u.member->lister : NULL);
}

int
source_select_restyle(struct source *o)
{
	struct akvd_object *c = o->u.member->own;
	const struct akvd_select *sel = o->u.member->lister->u.lister->sel;
	int changed;

	changed = c->mode != sel->mode || c->uid != sel->uid ||
	    c->gid != sel->gid;
	c->mode = sel->mode;
	c->uid = sel->uid;
	c->gid = sel->gid;
	return (changed);
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

/* Is ${a} the name of file ${b} or of one of its directories, or under it? */
static int
clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return (strcmp(a, b) == 0 ||
	    (la > lb && strncmp(a, b, lb) == 0 && a[lb] == '/') ||
	    (lb > la && strncmp(a, b, la) == 0 && b[la] == '/'));
}

/*
 * Would ${alias} clash with a file of another object (with ${fixed}, only
 * of the configured objects, bundles and templates)?  Returns the name of
 * the one that has it, or NULL.
 */
const char *
source_select_alias_taken(const struct sync *s, const char *alias, int fixed,
    const struct source *self)
{
	size_t i, f;

	for (i = 0; i < s->nouts; i++)
		if (clash(alias, s->outs[i]->path))
			return (s->outs[i]->path);
	for (i = 0; i < s->nfouts; i++) {
		const struct output *o = s->fouts[i];

		if (o->src == self || o->cfg->bundle != 0 ||
		    (fixed && o->src->ops == &source_selected_ops))
			continue;	/* a member's alias is a key */
		for (f = 0; f < o->nfiles; f++)
			if (clash(alias, o->paths[f]))
				return (o->cfg->name);
	}
	return (NULL);
}

/* Start following a newly listed secret. */
static struct source *
selected_new(struct sync *s, struct source *l, const char *name)
{
	const struct akvd_select *sel = l->u.lister->sel;
	struct akvd_object *c;
	const char *other;
	struct source *o, **sources;
	struct output *out, **fouts;
	char alias[PATH_MAX];

	if (selected_alias(sel, name, alias, sizeof(alias)) == -1) {
		log_kv(LOG_WARN, "selected secret skipped: no file name left "
		    "after the prefix", "select", l->cfg->name,
		    "secret", name, NULL);
		return (NULL);
	}
	if ((other = source_select_alias_taken(s, alias, 0, NULL)) != NULL) {
		log_kv(LOG_WARN, "selected secret skipped: its file name is "
		    "taken", "select", l->cfg->name, "secret", name,
		    "file", alias, "by", other, NULL);
		return (NULL);
	}
	if ((sources = reallocarray(s->sources, s->nsources + 2,
	    sizeof(*sources))) == NULL)
		goto oom;
	s->sources = sources;
	if ((fouts = reallocarray(s->fouts, s->nfouts + 2,
	    sizeof(*fouts))) == NULL)
		goto oom;
	s->fouts = fouts;
	if ((c = own_new(name, alias, sel->vault)) != NULL) {
		c->mode = sel->mode;
		c->uid = sel->uid;
		c->gid = sel->gid;
	}
	if ((o = select_source_new(s, c, &source_selected_ops,
	    calloc(1, sizeof(struct select_member)))) == NULL)
		goto oom;
	if ((o->outs = calloc(1, sizeof(*o->outs))) == NULL ||
	    (out = output_file_new(s, c)) == NULL) {
		source_free(o);
		goto oom;
	}
	out->src = o;
	o->outs[o->nouts++] = out;
	o->u.member->lister = l;
	o->on_demand = 1;
	o->due = INT64_MAX;
	/*
	 * Its file from before a restart stays until a fetch succeeds (no
	 * seen_updated: it is fetched all the same).
	 */
	if (writer_read(s->cfg->output_dir, out->paths[0], 0,
	    &out->files[0]) == 0)
		out->have = 1;
	else
		buf_wipe(&out->files[0]);
	s->sources[s->nsources++] = o;
	s->sources[s->nsources] = NULL;
	s->fouts[s->nfouts++] = out;
	s->fouts[s->nfouts] = NULL;
	(void)metrics_select_add(name, alias);
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
	struct source *o = s->sources[idx];
	struct output *out = o->outs[0];
	char **gone;

	log_kv(LOG_INFO, "selected secret gone", "select",
	    o->u.member->lister->cfg->name, "secret", o->cfg->name, "alias",
	    o->cfg->alias, NULL);
	if (out->have) {
		s->dirty = 1;
		if ((gone = reallocarray(s->gone, s->ngone + 1,
		    sizeof(*gone))) != NULL) {
			s->gone = gone;
			if ((gone[s->ngone] = strdup(o->cfg->alias)) != NULL)
				s->ngone++;
		}
	}
	source_select_drop(s, idx);
}

void
source_select_drop(struct sync *s, size_t idx)
{
	struct source *o = s->sources[idx];
	struct output *out = o->outs[0];
	size_t i;

	for (i = 0; i < s->nfouts && s->fouts[i] != out; i++)
		;
	if (i < s->nfouts) {
		memmove(&s->fouts[i], &s->fouts[i + 1],
		    (s->nfouts - i) * sizeof(*s->fouts));	/* and NULL */
		s->nfouts--;
	}
	output_free(out);
	source_free(o);
	memmove(&s->sources[idx], &s->sources[idx + 1],
	    (s->nsources - idx) * sizeof(*s->sources));	/* and the NULL */
	s->nsources--;
}

/*
 * The whole list of ${l}'s vault is in: follow new matches, queue those
 * whose attributes.updated changed, drop those that left.
 */
static void
reconcile(struct sync *s, struct source *l)
{
	int64_t now = sync_now_ms(s);
	const struct kv_list *list = &l->u.lister->pages.list;
	struct source *o;
	struct select_member *m;
	size_t i, j, matched = 0;
	char counts[64];

	for (j = 0; j < s->nsources; j++)
		if (source_select_lister_of(s->sources[j]) == l)
			s->sources[j]->u.member->mark = 0;
	for (i = 0; i < list->n; i++) {
		const struct kv_item *it = &list->items[i];

		if (!item_selected(l->u.lister->sel, it))
			continue;
		matched++;
		o = NULL;
		for (j = 0; j < s->nsources; j++)
			if (source_select_lister_of(s->sources[j]) == l &&
			    strcmp(s->sources[j]->cfg->name, it->name) == 0) {
				o = s->sources[j];
				break;
			}
		if (o == NULL && (o = selected_new(s, l, it->name)) == NULL)
			continue;
		m = o->u.member;
		m->mark = 1;
		m->want_updated = it->updated;
		/* The list confirms the value held. */
		if (o->outs[0]->have && m->seen_updated == it->updated &&
		    o->failures == 0)
			o->last_ok = o->outs[0]->last_ok = now;
		if (o->state == SOURCE_IDLE && (!o->outs[0]->have ||
		    m->seen_updated != it->updated) && o->not_before <= now) {
			o->state = SOURCE_QUEUED;
			o->next_cycle = l->next_cycle;
		}
	}
	for (j = s->nsources; j > 0; j--)
		if (source_select_lister_of(s->sources[j - 1]) == l &&
		    !s->sources[j - 1]->u.member->mark)
			selected_gone(s, j - 1);
	snprintf(counts, sizeof(counts), "%zu", matched);
	log_kv(LOG_DEBUG, "listed", "select", l->cfg->name, "matched", counts,
	    NULL);
}

/* source_ops.done: a page of the vault's secrets came back 200. */
static void
lister_done(struct source *o, const struct http_response *r)
{

	if (source_kv_list_page(o, &o->u.lister->pages, r, KV_SECRET) != 0)
		return;
	reconcile(o->s, o);
	source_ok(o);		/* a lister has no outputs: it logs */
	source_next(o, 0, 0);
}

/* source_ops.url: the next page of the vault's secrets. */
static char *
lister_url(const struct source *o)
{
	const struct select_lister *l = o->u.lister;

	if (l->pages.next_url != NULL)
		return (strdup(l->pages.next_url));
	return (kv_versions_url(o->cfg->vault, KV_SECRET, NULL));
}

/* source_ops.reset: forget the pages listed so far. */
static void
lister_reset(struct source *o)
{

	source_kv_pages_clear(&o->u.lister->pages);
}

static void
lister_free(struct source *o)
{

	if (o->u.lister == NULL)
		return;
	lister_reset(o);
	own_free(o->u.lister->own);
	free(o->u.lister);
	o->u.lister = NULL;
}

const struct source_ops source_lister_ops = {
	.kind = "select",
	.start = source_kv_start_queued,
	.reset = lister_reset,
	.free = lister_free,
	.auth = source_kv_auth,
	.url = lister_url,
	.done = lister_done
};

/* source_ops.done: the GET of a selected secret came back 200. */
static void
member_done(struct source *o, const struct http_response *r)
{
	int64_t updated;

	if (source_kv_fetched(o, r, &updated) == 0)
		o->u.member->seen_updated = o->u.member->want_updated;
}

/* source_ops.reset: one GET, nothing in progress to forget. */
static void
member_reset(struct source *o)
{

	(void)o;
}

static void
member_free(struct source *o)
{

	if (o->u.member == NULL)
		return;
	if (o->u.member->lister != NULL)	/* selected_new() made it */
		metrics_select_remove(o->cfg->name, o->cfg->alias);
	own_free(o->u.member->own);
	free(o->u.member);
	o->u.member = NULL;
}

const struct source_ops source_selected_ops = {
	.kind = "selected",
	.start = source_kv_start_queued,
	.reset = member_reset,
	.free = member_free,
	.auth = source_kv_auth,
	.url = source_kv_object_url,
	.done = member_done
};
