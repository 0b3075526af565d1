/*
 * plan.c - a reload as a diff of source keys.
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

int
plan_same_value(const struct akvd_object *a, const struct akvd_object *b)
{

	return (a->type == b->type && a->type != OBJ_BLOB &&
	    a->history == 0 && b->history == 0 &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->vault, b->vault) == 0 &&
	    strcmp(a->version, b->version) == 0);
}

int
plan_objects(const struct akvd_config *old, const struct akvd_config *new,
    struct plan_match *out)
{
	char *used;
	size_t i, j;

	if ((used = calloc(old->nobjects + 1, 1)) == NULL)
		return (-1);
	for (i = 0; i < new->nobjects; i++) {
		out[i].how = PLAN_NEW;
		out[i].old = 0;
		for (j = 0; j < old->nobjects; j++) {
			if (used[j] || !config_object_same_source(
			    &old->objects[j], &new->objects[i]))
				continue;
			out[i].how = PLAN_KEEP;
			out[i].old = j;
			used[j] = 1;
			break;
		}
	}
	for (i = 0; i < new->nobjects; i++) {
		if (out[i].how != PLAN_NEW)
			continue;
		for (j = 0; j < old->nobjects; j++) {
			if (used[j] || !plan_same_value(&old->objects[j],
			    &new->objects[i]))
				continue;
			out[i].how = PLAN_RERENDER;
			out[i].old = j;
			used[j] = 1;
			break;
		}
	}
	free(used);
	return (0);
}

int
plan_bundles(const struct akvd_config *old, const struct akvd_config *new,
    struct plan_match *out)
{
	char *used;
	size_t i, j;

	if ((used = calloc(old->nbundles + 1, 1)) == NULL)
		return (-1);
	for (i = 0; i < new->nbundles; i++) {
		out[i].how = PLAN_NEW;
		out[i].old = 0;
		for (j = 0; j < old->nbundles; j++) {
			if (used[j] || strcmp(old->bundles[j].path,
			    new->bundles[i].path) != 0)
				continue;
			out[i].how = PLAN_KEEP;
			out[i].old = j;
			used[j] = 1;
			break;
		}
	}
	free(used);
	return (0);
}

int
plan_selects(const struct akvd_config *old, const struct akvd_config *new,
    struct plan_match *out)
{
	char *used;
	size_t i, j;

	if ((used = calloc(old->nselects + 1, 1)) == NULL)
		return (-1);
	for (i = 0; i < new->nselects; i++) {
		out[i].how = PLAN_NEW;
		out[i].old = 0;
		for (j = 0; j < old->nselects; j++) {
			if (used[j] || !config_select_same(&old->selects[j],
			    &new->selects[i]))
				continue;
			out[i].how = PLAN_KEEP;
			out[i].old = j;
			used[j] = 1;
			break;
		}
	}
	free(used);
	return (0);
}
