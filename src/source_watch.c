/*
 * source_watch.c - change detection per vault, of the configured Key Vault
 * objects, latest or pinned (source_kv_ops; their struct kv_latest and
 * struct watch are in source_kv.h): Key Vault has no conditional GET, so
 * instead of one GET per configured object and cycle, one of the objects
 * due lists the vault's objects of its kind (pages of
 * 25) when that costs fewer requests, and only the objects whose
 * attributes.updated moved, or that the listing did not show, are
 * fetched.  A pinned version is immutable: it is fetched only every
 * WATCH_SAFETY cycles (to notice it was disabled or deleted), and every
 * object is fetched every WATCH_SAFETY cycles whatever a listing says.
 *
 * The listing is the next request of one object of the group, its
 * "leader" (source_watch_leading()); the others are queued with their
 * watch set and wait for it (source_watch_may_start()).  A listing that
 * fails in any way releases them all to GET, as without change
 * detection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "log.h"
#include "source_kv.h"
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

	return (o->ops == &source_kv_ops);
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

	return (o->state == SOURCE_QUEUED && watchable(o) && held(o) &&
	    o->failures == 0 && !o->refetch &&
	    o->u.latest->quiet + 1 < WATCH_SAFETY);
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

/* ${o} holds the current value without a GET: one more quiet cycle. */
static void
confirm(struct source *o)
{

	o->u.latest->quiet++;
	source_confirm(o);
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
	for (i = 0; i < s->nsources; i++) {
		o = s->sources[i];
		if (!sparable(o) || o->u.latest->watch != NULL)
			continue;
		if (pinned(o)) {
			/* Immutable: the value held is current. */
			confirm(o);
			continue;
		}
		if (o->u.latest->held_updated == 0 ||
		    (w = watch_get(s, o->cfg->vault,
		    source_kv_kind(o))) == NULL)
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
	for (i = 0; i < s->nsources; i++) {
		o = s->sources[i];
		if (!sparable(o) || o->u.latest->watch != NULL || pinned(o) ||
		    o->u.latest->held_updated == 0 ||
		    (w = watch_get(s, o->cfg->vault,
		    source_kv_kind(o))) == NULL ||
		    w->budget == 0)
			continue;
		o->u.latest->watch = w;
		if (w->leader == NULL)
			w->leader = o;
	}
}

int
source_watch_leading(const struct source *o)
{

	return (o->ops == &source_kv_ops && o->u.latest->watch != NULL &&
	    o->u.latest->watch->leader == o);
}

int
source_watch_may_start(struct source *o)
{
	struct kv_latest *l;

	if (o->ops != &source_kv_ops || (l = o->u.latest)->watch == NULL)
		return (1);
	if (l->watch->leader == o)
		return (1);
	if (l->watch->leader != NULL)
		return (0);
	l->watch = NULL;	/* its listing is gone: GET it */
	return (1);
}

void
source_watch_leave(struct source *o)
{
	struct kv_latest *l = o->u.latest;

	if (l->watch != NULL && l->watch->leader == o)
		l->watch->leader = NULL;
	l->watch = NULL;
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
	    it->updated != 0 && it->updated == o->u.latest->held_updated);
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
	struct watch *w = o->u.latest->watch;
	const struct kv_list *list = &o->u.latest->pages.list;
	struct source *m;
	size_t i, spared = 0, fetched = 0;
	int lead_ok;
	char a[24], b[24], c[24];

	for (i = 0; i < s->nsources; i++) {
		m = s->sources[i];
		if (m == o || m->ops != &source_kv_ops ||
		    m->u.latest->watch != w || m->state != SOURCE_QUEUED)
			continue;
		m->u.latest->watch = NULL;
		if (ok && unchanged(list, m)) {
			confirm(m);
			spared++;
		} else
			fetched++;
	}
	lead_ok = ok && unchanged(list, o);
	if (ok) {
		snprintf(a, sizeof(a), "%zu", w->done);
		snprintf(b, sizeof(b), "%zu", spared + (lead_ok ? 1 : 0));
		snprintf(c, sizeof(c), "%zu", fetched + (lead_ok ? 0 : 1));
		log_kv(LOG_DEBUG, "vault listed", "vault", w->vault, "kind",
		    kind_name(w->kind), "pages", a, "unchanged", b, "fetching",
		    c, NULL);
	}
	if (lead_ok) {
		confirm(o);		/* resets it: leaves w */
		return;
	}
	source_reset(o);		/* leaves w: a GET next */
	(void)source_kv_continue(o);
}

void
source_watch_done(struct source *o, const struct http_response *r)
{
	struct kv_latest *l = o->u.latest;
	struct watch *w = l->watch;
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
	    &l->pages.list, &next, err, sizeof(err)) == -1) {
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
	free(l->pages.next_url);
	l->pages.next_url = next;
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
