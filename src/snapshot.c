/*
 * snapshot.c - turning the objects' values into one snapshot: the outputs
 * made of several sources (bundles, templates: output.c) made again, every
 * file handed to writer_commit(), the
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
#include "util.h"
#include "writer.h"

static void	announce(struct sync *);

static int
all_attempted(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nsources; i++)
		if (!s->sources[i]->attempted)
			return (0);
	return (1);
}

int
snapshot_busy(const struct sync *s)
{
	size_t i;

	if (s->inflight > 0)
		return (1);
	for (i = 0; i < s->nsources; i++)
		if (s->sources[i]->state == SOURCE_QUEUED)
			return (1);
	return (0);
}

/*
 * Every select has listed its vault once: before that, its secrets'
 * files would vanish from a snapshot.
 */
static int
all_listed(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nsources; i++)
		if (s->sources[i]->nouts == 0 && !s->sources[i]->fetched)
			return (0);
	return (1);
}

/*
 * Is the value of file output ${o} in the snapshot written?  With --once,
 * a value adopted from disk does not count: the run must confirm it.
 */
static int
output_complete(const struct sync *s, const struct output *o)
{

	return (o->written && (!s->once || o->fetched));
}

const char *
snapshot_waits_for(const struct sync *s, const struct output *o)
{

	if (o->reason[0] != '\0')
		return (o->reason);
	if (!o->fetched && auth_failures(s->auth) > 0)
		return ("no access token");
	if (o->have && !o->written)
		return ("not written yet");
	return ("not fetched yet");
}

/* Why lister ${o} has not listed its vault yet. */
static const char *
lister_waits_for(const struct sync *s, const struct source *o)
{

	if (o->reason[0] != '\0')
		return (o->reason);
	if (!o->fetched && auth_failures(s->auth) > 0)
		return ("no access token");
	return ("not listed yet");
}

size_t
snapshot_nviews(const struct sync *s)
{

	return (s->nfouts + s->cfg->nselects);
}

/*
 * policy_view_fn over what readiness counts: the file outputs of the
 * configured objects, the select listers (has each listed its vault?),
 * the file outputs of the selected secrets.
 */
void
snapshot_view(size_t i, struct policy_view *v, void *cookie)
{
	const struct sync *s = cookie;
	size_t ncfg = s->cfg->nobjects, nsel = s->cfg->nselects;

	if (i >= ncfg && i < ncfg + nsel) {
		const struct source *l = s->sources[s->nstatic + i - ncfg];

		v->name = l->cfg->name;
		v->reason = l->reason;
		v->waits_for = lister_waits_for(s, l);
		v->counts = 1;
		v->complete = l->fetched;
		v->failures = l->failures;
		v->failing_since = l->failing_since;
		v->last_ok = l->last_ok;
		return;
	} else {
		const struct output *o = s->fouts[i < ncfg ? i : i - nsel];

		v->name = o->cfg->name;
		v->reason = o->reason;
		v->waits_for = snapshot_waits_for(s, o);
		v->counts = !o->cfg->optional;
		v->complete = output_complete(s, o);
		v->failures = o->failures;
		v->failing_since = o->failing_since;
		v->last_ok = o->last_ok;
	}
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

	return (policy_complete(snapshot_nviews(s), snapshot_view,
	    (void *)(uintptr_t)s,
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

/* Add the files of ${o} to ${files} after ${n} of them; the new count. */
static size_t
add_files(const struct output *o, struct writer_file *files, size_t n)
{
	size_t f;

	if (!o->have || o->cfg->bundle != 0 || o->cfg->nofile)
		return (n);	/* no file of its own */
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
	return (n);
}

/* Add the files of the outputs made of several sources, as add_files(). */
static size_t
add_outputs(const struct sync *s, struct writer_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < s->nouts; i++) {
		const struct output *out = s->outs[i];

		if (!out->have)
			continue;
		files[n].path = out->path;
		files[n].data = out->file.data != NULL ? out->file.data : "";
		files[n].len = out->file.len;
		files[n].mode = out->mode;
		files[n].set_owner = 1;
		files[n].uid = out->uid;
		files[n].gid = out->gid;
		files[n].object = out->path;
		n++;
	}
	return (n);
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
	for (i = 0; i < s->nouts; i++)
		output_render(s->outs[i]);
	for (i = 0; i < s->nfouts; i++)
		n += s->fouts[i]->nfiles;
	n += s->nouts;
	if ((files = calloc(n + 1, sizeof(*files))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		s->commit_retry = sync_now_ms(s) + COMMIT_RETRY_MS;
		return (-1);
	}
	/* The configured objects, the bundles and templates, the others. */
	n = 0;
	for (i = 0; i < s->nfouts; i++) {
		if (i == s->cfg->nobjects)
			n = add_outputs(s, files, n);
		n = add_files(s->fouts[i], files, n);
	}
	if (s->nfouts <= s->cfg->nobjects)
		n = add_outputs(s, files, n);
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
	for (i = 0; i < s->nfouts; i++)
		s->fouts[i]->written = s->fouts[i]->have;
	for (i = 0; i < s->nouts; i++)
		s->outs[i]->written = s->outs[i]->have;
	for (i = n = 0; i < s->nfouts; i++)
		n += s->fouts[i]->have && s->fouts[i]->cfg->bundle == 0 &&
		    !s->fouts[i]->cfg->nofile;
	for (i = 0; i < s->nouts; i++)
		n += s->outs[i]->have;
	snprintf(count, sizeof(count), "%zu", n);
	log_kv(LOG_INFO, "snapshot written", "dir", s->cfg->output_dir,
	    "objects", count, NULL);
	announce(s);
	return (0);
}

/* Add the paths of the outputs that changed to ${changed}, as announce(). */
static size_t
changed_outputs(struct sync *s, const char **changed, size_t n)
{
	size_t i;

	for (i = 0; i < s->nouts; i++) {
		if (s->outs[i]->changed)
			changed[n++] = s->outs[i]->path;
		s->outs[i]->changed = 0;
	}
	return (n);
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
	if ((changed = calloc(s->nfouts + s->nouts + s->ngone + 1,
	    sizeof(*changed))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	for (i = 0; i < s->ngone; i++)
		changed[n++] = s->gone[i];
	/* The configured objects, the bundles and templates, the others. */
	for (i = 0; i < s->nfouts; i++) {
		if (i == s->cfg->nobjects)
			n = changed_outputs(s, changed, n);
		/* A member's alias is a key: its bundle is the file. */
		if (s->fouts[i]->changed && s->fouts[i]->cfg->bundle == 0)
			changed[n++] = s->fouts[i]->cfg->alias;
		s->fouts[i]->changed = 0;
	}
	if (s->nfouts <= s->cfg->nobjects)
		n = changed_outputs(s, changed, n);
	if (s->snap_fn != NULL)
		s->snap_fn(first, changed, n, s->snap_cookie);
	free(changed);
	output_paths_free(s->gone, s->ngone);
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
	for (i = 0; i < s->nsources; i++)
		if (s->sources[i]->state != SOURCE_SETTLED)
			return;
	/* The one snapshot of --once (pump() leaves it to this). */
	(void)snapshot_commit(s);
	s->finished = 1;
	ev_timer_stop(s->loop, &s->wake);
	ev_timer_stop(s->loop, &s->once_timer);
	for (i = 0; i < snapshot_nviews(s); i++) {
		size_t ncfg = s->cfg->nobjects, nsel = s->cfg->nselects;
		const struct akvd_object *c;
		const char *reason;
		int fetched;

		if (i >= ncfg && i < ncfg + nsel) {
			const struct source *l =
			    s->sources[s->nstatic + i - ncfg];

			c = l->cfg;
			fetched = l->fetched;
			reason = l->reason;
		} else {
			const struct output *o = s->fouts[i < ncfg ? i :
			    i - nsel];

			c = o->cfg;
			fetched = o->fetched;
			reason = o->reason;
		}
		if (!fetched)
			log_kv(c->optional ? LOG_WARN : LOG_ERROR,
			    "object not fetched", "object", c->name,
			    "optional", c->optional ? "true" : "false",
			    "reason", reason, NULL);
	}
	if (!(ok = snapshot_complete(s, why, sizeof(why))))
		log_kv(LOG_ERROR, "not complete", "status", why, NULL);
	s->done_fn(ok, s->done_cookie);
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
	for (i = 0; i < s->nfouts; i++) {
		struct output *o = s->fouts[i];
		size_t f;

		if (o->cfg->bundle != 0 || o->cfg->nofile)
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
	for (i = 0; i < s->nouts; i++) {
		struct output *out = s->outs[i];

		if (writer_read(s->cfg->output_dir, out->path, 0,
		    &out->file) == 0) {
			out->have = 1;
			n++;
		} else
			buf_wipe(&out->file);
	}
	if (n > 0) {
		snprintf(count, sizeof(count), "%zu", n);
		log_kv(LOG_INFO, "adopted the existing snapshot until Key "
		    "Vault confirms it", "dir", s->cfg->output_dir,
		    "objects", count, NULL);
	}
}
