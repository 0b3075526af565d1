/*
 * plan.c - a reload as a diff of source keys.
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

int
plan_same_key(const struct akvd_object *a, const struct akvd_object *b)
{

	if (a->type == OBJ_BLOB || b->type == OBJ_BLOB)
		return (a->type == b->type && strcmp(a->url, b->url) == 0);
	return (a->type == b->type && a->history == b->history &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->vault, b->vault) == 0 &&
	    strcmp(a->version, b->version) == 0);
}

/*
 * Group the ${n} objects at ${objs} by source key: ${slot}[i] the source
 * of objs[i], in the order of first reading.  Returns the number of
 * sources.
 */
static size_t
group(const struct akvd_object *objs, size_t n, size_t *slot)
{
	size_t i, k, nsrc = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < i && !plan_same_key(&objs[k], &objs[i]); k++)
			;
		slot[i] = k < i ? slot[k] : nsrc++;
	}
	return (nsrc);
}

int
plan_sources(const struct akvd_config *old, const struct akvd_config *new,
    const struct plan_match *pm, size_t *slot, struct plan_match *out,
    size_t *n)
{
	size_t *oslot = NULL, i, k;

	if (pm != NULL && (oslot = calloc(old->nobjects + 1,
	    sizeof(*oslot))) == NULL)
		return (-1);
	*n = group(new->objects, new->nobjects, slot);
	for (k = 0; k < *n; k++) {
		out[k].how = PLAN_NEW;
		out[k].old = 0;
	}
	if (pm != NULL) {
		(void)group(old->objects, old->nobjects, oslot);
		for (i = 0; i < new->nobjects; i++) {
			k = slot[i];
			if (pm[i].how == PLAN_NEW || out[k].how != PLAN_NEW)
				continue;
			out[k].how = PLAN_KEEP;
			out[k].old = oslot[pm[i].old];
		}
	}
	free(oslot);
	return (0);
}

int
plan_same_value(const struct akvd_object *a, const struct akvd_object *b)
{

	return (a->type == b->type && a->type != OBJ_BLOB &&
	    a->history == 0 && b->history == 0 &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->vault, b->vault) == 0 &&
	    strcmp(a->version, b->version) == 0);
}

/* Do old item ${j} and new item ${i} of one kind match? */
typedef int match_fn(const struct akvd_config *, size_t,
    const struct akvd_config *, size_t);

/*
 * Give each of the ${nnew} new items the first old one of ${nold} not yet
 * taken that ${same} matches: ${how} for it, else PLAN_NEW (or leave an
 * item already matched alone, with ${only_new}).  ${used} marks the old
 * items taken.
 */
static void
match(const struct akvd_config *old, size_t nold,
    const struct akvd_config *new, size_t nnew, match_fn *same,
    enum plan_how how, int only_new, char *used, struct plan_match *out)
{
	size_t i, j;

	for (i = 0; i < nnew; i++) {
		if (only_new && out[i].how != PLAN_NEW)
			continue;
		out[i].how = PLAN_NEW;
		out[i].old = 0;
		for (j = 0; j < nold; j++) {
			if (used[j] || !same(old, j, new, i))
				continue;
			out[i].how = how;
			out[i].old = j;
			used[j] = 1;
			break;
		}
	}
}

static int
same_source(const struct akvd_config *old, size_t j,
    const struct akvd_config *new, size_t i)
{

	return (config_object_same_source(&old->objects[j],
	    &new->objects[i]));
}

static int
same_value(const struct akvd_config *old, size_t j,
    const struct akvd_config *new, size_t i)
{

	return (plan_same_value(&old->objects[j], &new->objects[i]));
}

static int
same_bundle(const struct akvd_config *old, size_t j,
    const struct akvd_config *new, size_t i)
{

	return (strcmp(old->bundles[j].path, new->bundles[i].path) == 0);
}

static int
same_select(const struct akvd_config *old, size_t j,
    const struct akvd_config *new, size_t i)
{

	return (config_select_same(&old->selects[j], &new->selects[i]));
}

int
plan_objects(const struct akvd_config *old, const struct akvd_config *new,
    struct plan_match *out)
{
	char *used;

	if ((used = calloc(old->nobjects + 1, 1)) == NULL)
		return (-1);
	/* Same source and rendering first; then same value, rendered anew. */
	match(old, old->nobjects, new, new->nobjects, same_source, PLAN_KEEP,
	    0, used, out);
	match(old, old->nobjects, new, new->nobjects, same_value,
	    PLAN_RERENDER, 1, used, out);
	free(used);
	return (0);
}

int
plan_bundles(const struct akvd_config *old, const struct akvd_config *new,
    struct plan_match *out)
{
	char *used;

	if ((used = calloc(old->nbundles + 1, 1)) == NULL)
		return (-1);
	match(old, old->nbundles, new, new->nbundles, same_bundle, PLAN_KEEP,
	    0, used, out);
	free(used);
	return (0);
}

int
plan_selects(const struct akvd_config *old, const struct akvd_config *new,
    struct plan_match *out)
{
	char *used;

	if ((used = calloc(old->nselects + 1, 1)) == NULL)
		return (-1);
	match(old, old->nselects, new, new->nselects, same_select, PLAN_KEEP,
	    0, used, out);
	free(used);
	return (0);
}
