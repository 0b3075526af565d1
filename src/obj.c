/*
 * obj.c - the state of one object of the sync: its files, version and
 * schedule, and what a success or a failure does to them (backoff,
 * Retry-After, --once settling, logs and metrics).  Below the kinds of
 * source and the scheduler; see obj.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
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
obj_worth_logging(struct obj *o, const char *reason)
{

	if (strcmp(o->reason, reason) != 0) {
		snprintf(o->reason, sizeof(o->reason), "%s", reason);
		return (1);
	}
	return (log_repeat_due(o->failures));
}

/* Wipe and free ${n} buffers at ${b}. */
void
obj_bufs_wipe(struct buf *b, size_t n)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++)
		buf_wipe(&b[i]);
	free(b);
}

void
obj_paths_free(char **paths, size_t n)
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

	obj_bufs_wipe(o->files, o->nfiles);
	obj_paths_free(o->paths, o->nfiles);
	o->files = NULL;
	o->paths = NULL;
	o->nfiles = 0;
}

/* Forget a multi-request fetch in progress: o->ops->reset(). */
void
obj_reset_phase(struct obj *o)
{

	o->ops->reset(o);
}

char **
obj_paths_for(const struct obj *o, const struct akvd_object *cfg,
    size_t *np)
{
	char path[PATH_MAX], **paths;
	size_t i, n;

	/* A lister has no file; a bundle member holds one value. */
	n = o->sel != NULL ? 0 : cfg->bundle != 0 ? 1 :
	    config_object_nfiles(cfg);
	if ((paths = calloc(n + 1, sizeof(*paths))) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		if (config_object_path(cfg, i, path, sizeof(path)) == -1 ||
		    (paths[i] = strdup(path)) == NULL) {
			obj_paths_free(paths, n);
			return (NULL);
		}
	}
	*np = n;
	return (paths);
}

void
obj_set_paths(struct obj *o, const struct akvd_object *cfg, char **paths,
    size_t n)
{

	obj_paths_free(o->paths, o->nfiles);
	o->paths = paths;
	o->nfiles = n;
	o->cfg = cfg;
}

/*
 * Point ${o} at ${cfg}: the paths of its files follow the alias.  The
 * number of files never changes (same_source compares split and history).
 * Returns 0, or -1 on ENOMEM (${o} unchanged).
 */
int
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
			obj_paths_free(paths, n);
			return (-1);
		}
	}
	if (o->files == NULL &&
	    (o->files = calloc(n + 1, sizeof(*o->files))) == NULL) {
		obj_paths_free(paths, n);
		return (-1);
	}
	obj_paths_free(o->paths, o->nfiles);
	o->paths = paths;
	o->nfiles = n;
	o->cfg = cfg;
	return (0);
}

void
obj_own_free(struct akvd_object *c)
{

	if (c == NULL)
		return;
	free(c->name);
	free(c->alias);
	free(c->version);
	free(c->vault);
	free(c);
}

void
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
	if (o->lister != NULL)		/* a selected secret */
		metrics_select_remove(o->cfg->name, o->cfg->alias);
	obj_reset_phase(o);
	obj_free_files(o);
	kv_secret_clear(&o->raw);
	free(o->version);
	obj_own_free(o->own);
	free(o);
}

/*
 * After an attempt: next due time.  With --once, a success or a permanent
 * failure settles the object, and a transient one is retried with backoff
 * while the retry falls before the deadline (once_timeout).
 */
void
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
void
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
		obj_bufs_wipe(o->files, o->nfiles);
		o->files = *files;	/* ownership moves */
		*files = NULL;
		o->have = 1;
		o->s->dirty = 1;
		changed = 1;
	}
	metrics_fetch(o->cfg->name, o->cfg->alias, changed ? FETCH_OK :
	    FETCH_UNCHANGED, changed);
	if ((v = strdup(version)) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	free(o->version);
	o->version = v;
}

/*
 * ${o} holds the current value without a GET (a listing showed it
 * unchanged, or it is an immutable pinned version): a success of this
 * cycle for it and for the objects that follow it.
 */
void
obj_confirm(struct obj *o)
{
	struct sync *s = o->s;
	int64_t now = sync_now_ms(s);
	size_t i;

	o->quiet++;
	for (i = 0; i < s->nobjs; i++) {
		struct obj *d = s->objs[i];

		if (d->src != o)
			continue;
		d->last_ok = now;
		d->attempted = 1;
		metrics_fetch(d->cfg->name, d->cfg->alias, FETCH_UNCHANGED,
		    0);
	}
	log_kv(LOG_DEBUG, "object unchanged, not fetched", "object",
	    o->cfg->name, "version", o->version, NULL);
	obj_next(o, 0, 0);
}

/*
 * A failure ${r}: transient ones back off exponentially (at least the
 * Retry-After the server asked for); the others wait for the next cycle.
 */
void
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
	metrics_fetch(o->cfg->name, o->cfg->alias, r->cls, 0);
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
	snapshot_report_waiting(s);
}

/* obj_failure() of class ${cls} without a response. */
void
obj_fail(struct obj *o, enum fetch_class cls, const char *what,
    const char *detail)
{
	struct fetch_result r;

	fetch_fail(&r, cls, what, detail);
	obj_failure(o, &r);
}

struct akvd_object *
obj_own_new(const char *name, const char *alias, const char *vault)
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
		obj_own_free(c);
		return (NULL);
	}
	return (c);
}
