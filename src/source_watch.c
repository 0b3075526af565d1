/*
 * source_watch.c - change detection per vault: Key Vault has no
 * conditional GET, so instead of one GET per configured object and cycle,
 * one of the objects due lists the vault's objects of its kind (pages of
 * 25) when that costs fewer requests, and only the objects whose
 * attributes.updated moved, or that the listing did not show, are
 * fetched.  A pinned version is immutable: it is fetched only every
 * WATCH_SAFETY cycles (to notice it was disabled or deleted), and every
 * object is fetched every WATCH_SAFETY cycles whatever a listing says.
 *
 * The listing is a phase (P_WATCH) of one object of the group, its
 * "leader"; the others are queued with o->watch set and wait for it
 * (source_watch_may_start()).  A listing that fails in any way releases
 * them all to GET, as without change detection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "log.h"
#include "sync_int.h"
#include "util.h"

static const char *
kind_name(enum kv_kind k)
{

	return (k == KV_CERTIFICATE ? "certificates" : k == KV_KEY ?
	    "keys" : "secrets");
}

/*
 * A configured Key Vault object fetched whole (history, blob and select
 * have their own ways).
 */
static int
watchable(const struct source *o)
{

	return (o->ops == &source_kv_ops && o->sel == NULL &&
	    o->lister == NULL && o->own == NULL &&
	    o->cfg->history == 0 && o->cfg->type != OBJ_BLOB);
}

static int
pinned(const struct source *o)
{

	return (o->cfg->version != NULL && o->cfg->version[0] != '\0');
}

/* Every output of ${o} holds a value of this run. */
static int
held(const struct source *o)
{
	size_t i;

	for (i = 0; i < o->nouts; i++)
		if (!o->outs[i]->have || o->outs[i]->version == NULL)
			return (0);
	return (o->nouts > 0);
}

/* Does ${o} hold a value of this run that a cycle may spare a GET of? */
static int
sparable(const struct source *o)
{

	return (o->state == O_QUEUED && watchable(o) && held(o) &&
	    o->failures == 0 && o->quiet + 1 < WATCH_SAFETY);
}

size_t
source_watch_budget(size_t n, size_t pages)
{

	if (pages == 0)
		pages = 1;
	return (pages < n ? n - 1 : 0);
}

/* The state of ${vault} and ${kind}, made if new; NULL on ENOMEM. */
static struct watch *
watch_get(struct sync *s, const char *vault, enum kv_kind kind)
{
	struct watch *w;

	for (w = s->watches; w != NULL; w = w->next)
		if (w->kind == kind && strcmp(w->vault, vault) == 0)
			return (w);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	if ((w->vault = strdup(vault)) == NULL) {
		free(w);
		return (NULL);
	}
	w->kind = kind;
	w->next = s->watches;
	s->watches = w;
	return (w);
}

void
source_watch_plan(struct sync *s)
{
	struct watch *w;
	struct source *o;
	size_t i;

	if (s->once)
		return;
	for (w = s->watches; w != NULL; w = w->next)
		w->n = 0;
	for (i = 0; i < s->nobjs; i++) {
		o = s->objs[i];
		if (!sparable(o) || o->watch != NULL)
			continue;
		if (pinned(o)) {
			/* Immutable: the value held is current. */
			source_confirm(o);
			continue;
		}
		if (o->held_updated == 0 ||
		    (w = watch_get(s, o->cfg->vault, source_kv_kind(o))) == NULL)
			continue;
		w->n++;
	}
	for (w = s->watches; w != NULL; w = w->next) {
		w->budget = 0;
		if (w->n == 0 || w->leader != NULL)
			continue;
		/* Forbidden: try again every WATCH_SAFETY cycles. */
		if (w->forbidden && ++w->forbidden_cycles % WATCH_SAFETY != 0)
			continue;
		w->budget = source_watch_budget(w->n, w->pages);
		w->done = 0;
	}
	for (i = 0; i < s->nobjs; i++) {
		o = s->objs[i];
		if (!sparable(o) || o->watch != NULL || pinned(o) ||
		    o->held_updated == 0 ||
		    (w = watch_get(s, o->cfg->vault, source_kv_kind(o))) == NULL ||
		    w->budget == 0)
			continue;
		o->watch = w;
		if (w->leader == NULL) {
			w->leader = o;
			o->phase = P_WATCH;
		}
	}
}

int
source_watch_may_start(struct source *o)
{

	if (o->watch == NULL)
		return (1);
	if (o->watch->leader == o)
		return (1);
	if (o->watch->leader != NULL)
		return (0);
	o->watch = NULL;	/* its listing is gone: GET it */
	return (1);
}

void
source_watch_leave(struct source *o)
{

	if (o->watch != NULL && o->watch->leader == o)
		o->watch->leader = NULL;
	o->watch = NULL;
}

/* The item of ${name} in ${l}, or NULL (names are case-insensitive). */
static const struct kv_item *
find_item(const struct kv_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->items[i].name, name) == 0)
			return (&l->items[i]);
	return (NULL);
}

/* Does the listing of ${l} show that ${o} holds the current value? */
static int
unchanged(const struct kv_list *l, const struct source *o)
{
	const struct kv_item *it;

	return ((it = find_item(l, o->cfg->name)) != NULL && it->enabled &&
	    it->updated != 0 && it->updated == o->held_updated);
}

/*
 * The listing of leader ${o} is over (${ok}: it came back, complete or
 * stopped at its budget): confirm what it shows unchanged; every other
 * object waiting for it, and the leader, GET.
 */
static void
settle(struct source *o, int ok)
{
	struct sync *s = o->s;
	struct watch *w = o->watch;
	struct source *m;
	size_t i, spared = 0, fetched = 0;
	int lead_ok;
	char a[24], b[24], c[24];

	for (i = 0; i < s->nobjs; i++) {
		m = s->objs[i];
		if (m == o || m->watch != w || m->state != O_QUEUED)
			continue;
		m->watch = NULL;
		if (ok && unchanged(&o->list, m)) {
			source_confirm(m);
			spared++;
		} else
			fetched++;
	}
	lead_ok = ok && unchanged(&o->list, o);
	if (ok) {
		snprintf(a, sizeof(a), "%zu", w->done);
		snprintf(b, sizeof(b), "%zu", spared + (lead_ok ? 1 : 0));
		snprintf(c, sizeof(c), "%zu", fetched + (lead_ok ? 0 : 1));
		log_kv(LOG_DEBUG, "vault listed", "vault", w->vault, "kind",
		    kind_name(w->kind), "pages", a, "unchanged", b, "fetching",
		    c, NULL);
	}
	if (lead_ok) {
		source_confirm(o);		/* resets its phase: leaves w */
		return;
	}
	source_reset_phase(o);		/* P_FETCH, leaves w */
	(void)source_kv_continue(o);
}

void
source_watch_done(struct source *o, const struct http_response *r)
{
	struct watch *w = o->watch;
	struct kv_error e;
	char err[256], *next = NULL;

	if (r->failed || r->status != 200) {
		memset(&e, 0, sizeof(e));
		if (!r->failed)
			(void)kv_parse_error(r->body.data, r->body.len, &e);
		if (!r->failed && r->status == 403) {
			if (!w->forbidden)
				log_kv(LOG_WARN, "listing the vault is "
				    "forbidden: fetching each object every "
				    "cycle (grant the list permission to "
				    "save requests)", "vault", w->vault,
				    "kind", kind_name(w->kind), "code",
				    e.code, NULL);
			w->forbidden = 1;
			w->forbidden_cycles = 0;
		} else
			log_kv(LOG_DEBUG, "listing the vault failed: "
			    "fetching each object", "vault", w->vault,
			    "error", r->failed ? r->error : e.code, NULL);
		settle(o, 0);
		return;
	}
	if (kv_parse_list(r->body.data, r->body.len, w->kind, w->vault,
	    &o->list, &next, err, sizeof(err)) == -1) {
		log_kv(LOG_WARN, "listing the vault failed: fetching each "
		    "object", "vault", w->vault, "reason", err, NULL);
		settle(o, 0);
		return;
	}
	w->done++;
	if (w->forbidden) {
		log_kv(LOG_INFO, "listing the vault is allowed again",
		    "vault", w->vault, "kind", kind_name(w->kind), NULL);
		w->forbidden = 0;
	}
	free(o->next_url);
	o->next_url = next;
	if (next != NULL && w->done < w->budget) {
		(void)source_kv_continue(o);
		return;
	}
	/* Complete: its size; stopped early: at least one page more. */
	w->pages = next != NULL ? w->done + 1 : w->done;
	settle(o, 1);
}

void
source_watch_free(struct sync *s)
{
	struct watch *w;

	while ((w = s->watches) != NULL) {
		s->watches = w->next;
		free(w->vault);
		free(w);
	}
}
