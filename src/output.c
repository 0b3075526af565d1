/*
 * output.c - what is written: the files of one object rendered from its
 * source (OUT_FILE: what a success or a failure of the source means for
 * them, logged and counted per object), and the outputs made of several
 * objects: a bundle (render_bundle()) and a template (template_render()),
 * remade from the values held at every commit, keeping their previous
 * file while they cannot be made.  An output owns its files; it borrows
 * its configuration (s->cfg) and what it reads (its source, the file
 * outputs of s->fouts), which output_bind() points it at whenever the
 * tables are made.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "log.h"
#include "metrics.h"
#include "render.h"
#include "sync_int.h"
#include "template.h"
#include "util.h"

/* A new output of ${kind} reading ${n} sources, or NULL (ENOMEM). */
static struct output *
output_new(struct sync *s, enum output_kind kind, size_t n)
{
	struct output *out;

	if ((out = calloc(1, sizeof(*out))) == NULL)
		return (NULL);
	if ((out->srcs = calloc(n + 1, sizeof(*out->srcs))) == NULL) {
		free(out);
		return (NULL);
	}
	out->s = s;
	out->kind = kind;
	out->nsrcs = n;
	return (out);
}

struct output *
output_bundle_new(struct sync *s, const struct akvd_bundle *b)
{
	struct output *out;

	if ((out = output_new(s, OUT_BUNDLE, b->n)) == NULL)
		return (NULL);
	out->bundle = b;
	out->path = b->path;
	out->mode = b->mode;
	out->uid = b->uid;
	out->gid = b->gid;
	return (out);
}

struct output *
output_template_new(struct sync *s, const struct akvd_template *t)
{
	struct output *out;

	if ((out = output_new(s, OUT_TEMPLATE, t->nobjs)) == NULL)
		return (NULL);
	out->tmpl = t;
	out->path = t->path;
	out->mode = t->mode;
	out->uid = t->uid;
	out->gid = t->gid;
	return (out);
}

/* Wipe and free ${n} buffers at ${b}. */
void
output_bufs_wipe(struct buf *b, size_t n)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++)
		buf_wipe(&b[i]);
	free(b);
}

void
output_paths_free(char **paths, size_t n)
{
	size_t i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

char **
output_paths(const struct akvd_object *cfg, int lister, size_t *np)
{
	char path[PATH_MAX], **paths;
	size_t i, n;

	/* A lister has no file; a bundle member holds one value. */
	n = lister ? 0 : cfg->bundle != 0 ? 1 : config_object_nfiles(cfg);
	if ((paths = calloc(n + 1, sizeof(*paths))) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		if (config_object_path(cfg, i, path, sizeof(path)) == -1 ||
		    (paths[i] = strdup(path)) == NULL) {
			output_paths_free(paths, n);
			return (NULL);
		}
	}
	*np = n;
	return (paths);
}

struct output *
output_file_new(struct sync *s, const struct akvd_object *cfg)
{
	struct output *out;

	if ((out = calloc(1, sizeof(*out))) == NULL)
		return (NULL);
	out->s = s;
	out->kind = OUT_FILE;
	out->cfg = cfg;
	out->last_ok = sync_now_ms(s);
	if ((out->paths = output_paths(cfg, 0, &out->nfiles)) == NULL ||
	    (out->files = calloc(out->nfiles + 1,
	    sizeof(*out->files))) == NULL) {
		output_paths_free(out->paths, out->nfiles);
		free(out);
		return (NULL);
	}
	return (out);
}

void
output_free(struct output *out)
{

	if (out == NULL)
		return;
	buf_wipe(&out->file);
	output_bufs_wipe(out->files, out->nfiles);
	output_paths_free(out->paths, out->nfiles);
	free(out->version);
	free(out->srcs);
	free(out);
}

void
output_bind(struct output *out, struct output **fouts)
{
	size_t k;

	for (k = 0; k < out->nsrcs; k++)
		out->srcs[k] = fouts[out->kind == OUT_BUNDLE ?
		    out->bundle->first + k : out->tmpl->objs[k]];
}

int
output_take(struct output *out, struct output *old)
{
	struct buf *files = out->files;
	char *version = out->version;
	size_t f;

	if (!old->have || out->nfiles != old->nfiles ||
	    (out->cfg->bundle != 0) != (old->cfg->bundle != 0) ||
	    (out->cfg->bundle != 0 &&
	    strcmp(out->cfg->name, old->cfg->name) != 0))
		return (-1);
	for (f = 0; f < out->nfiles; f++)
		if (strcmp(out->paths[f], old->paths[f]) != 0)
			return (-1);
	out->files = old->files;
	out->version = old->version;
	out->have = 1;
	out->written = old->written;
	out->changed = old->changed;
	old->files = files;
	old->version = version;
	old->have = 0;
	old->carried = 1;
	return (0);
}

void
output_keep(struct output *out, struct output *old)
{
	struct buf *files = out->files;
	char *version = out->version;

	out->files = old->files;
	out->version = old->version;
	out->have = old->have;
	out->written = old->written;
	out->changed = old->changed;
	out->fetched = old->fetched;
	out->failures = old->failures;
	out->failing_since = old->failing_since;
	out->last_ok = old->last_ok;
	memcpy(out->reason, old->reason, sizeof(out->reason));
	old->files = files;
	old->version = version;
	old->have = 0;
	old->carried = 1;
}

int
output_rerender(struct output *out, const struct kv_secret *raw)
{
	struct buf made[CONFIG_SPLIT_FILES];
	size_t i;
	char err[256];
	int rc = -1;

	if (raw->value == NULL)
		return (-1);
	memset(made, 0, sizeof(made));
	if (render_object(out->cfg, raw->value, raw->len, raw->content_type,
	    raw->managed, made, err, sizeof(err)) == -1) {
		log_kv(LOG_WARN, "cannot render the value held the new way: "
		    "fetching it again", "object", out->cfg->name, "reason",
		    err, NULL);
		goto done;
	}
	for (i = 0; i < out->nfiles; i++) {
		buf_wipe(&out->files[i]);
		out->files[i] = made[i];
		memset(&made[i], 0, sizeof(made[i]));
	}
	out->have = 1;
	out->changed = 1;
	out->s->dirty = 1;
	log_kv(LOG_INFO, "object rendered again from the value held",
	    "object", out->cfg->name, "alias", out->cfg->alias, "version",
	    out->version, NULL);
	rc = 0;
done:
	for (i = 0; i < CONFIG_SPLIT_FILES; i++)
		buf_wipe(&made[i]);
	return (rc);
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

void
output_success(struct output *out, const char *version, struct buf **files)
{
	const char *prev = out->version != NULL ? out->version : "(on disk)";
	int changed = 0;
	char *v;

	if (out->failures > 0)
		log_kv(LOG_INFO, "object recovered", "object", out->cfg->name,
		    "version", version, "after", out->reason, NULL);
	out->failures = 0;
	out->reason[0] = '\0';
	out->fetched = 1;
	out->last_ok = sync_now_ms(out->s);
	if (out->have && out->version != NULL &&
	    strcmp(out->version, version) == 0) {
		log_kv(LOG_DEBUG, "object unchanged", "object", out->cfg->name,
		    "version", version, NULL);
	} else if (out->have && bufs_equal(out->files, *files, out->nfiles)) {
		log_kv(LOG_DEBUG, "object version changed, content identical",
		    "object", out->cfg->name, "version", version,
		    "previous", prev, NULL);
	} else {
		/* A first value is a change once the set was complete. */
		if (out->have || out->s->complete)
			out->changed = 1;
		log_kv(LOG_INFO, out->have ? "object updated" :
		    "object fetched", "object", out->cfg->name,
		    "alias", out->cfg->alias, "version", version,
		    "previous", out->have ? prev : "(none)", NULL);
		output_bufs_wipe(out->files, out->nfiles);
		out->files = *files;	/* ownership moves */
		*files = NULL;
		out->have = 1;
		out->s->dirty = 1;
		changed = 1;
	}
	metrics_fetch(out->cfg->name, out->cfg->alias, changed ? FETCH_OK :
	    FETCH_UNCHANGED, changed);
	if ((v = strdup(version)) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	free(out->version);
	out->version = v;
}

void
output_log_failure(const struct akvd_object *cfg, unsigned failures,
    const char *reason, const struct fetch_result *r, int transient,
    uint64_t delay, int have, const char *version)
{
	char fails[16], retry[32];

	snprintf(fails, sizeof(fails), "%u", failures);
	if (transient)
		duration_format(delay, retry, sizeof(retry));
	else
		snprintf(retry, sizeof(retry), "next cycle");
	log_kv(transient ? LOG_WARN : LOG_ERROR, "object fetch failed",
	    "object", cfg->name, "vault", cfg->vault, "url", cfg->url,
	    "reason", reason, "detail", r->detail,
	    "failures", fails, "retry_in", retry,
	    have ? "keeping" : "have", have ?
	    (version != NULL ? version : "(on disk)") : "nothing", NULL);
}

int
output_carry(struct output *out, struct output *old)
{
	struct buf tmp;
	int differs;

	tmp = out->file;
	out->file = old->file;
	old->file = tmp;
	out->have = old->have;
	out->written = old->written;
	out->changed = old->changed;
	out->failures = old->failures;
	memcpy(out->reason, old->reason, sizeof(out->reason));
	old->have = 0;
	differs = out->mode != old->mode || out->uid != old->uid ||
	    out->gid != old->gid;
	if (out->kind == OUT_BUNDLE) {
		const struct akvd_bundle *a = old->bundle, *b = out->bundle;

		/* A member that changed is a new object: a changed reload. */
		return (differs || a->format != b->format || a->n != b->n ||
		    a->first != b->first);
	} else {
		const struct akvd_template *a = old->tmpl, *b = out->tmpl;

		return (differs || a->len != b->len ||
		    memcmp(a->text, b->text, a->len) != 0);
	}
}

/*
 * As source_worth_logging(): the first failure for ${reason}, then the 2nd,
 * 4th, 8th... identical one.
 */
static int
worth_logging(struct output *out, const char *reason)
{

	if (strcmp(out->reason, reason) != 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", reason);
		return (1);
	}
	return (log_repeat_due(out->failures));
}

void
output_failure(struct output *out, const struct fetch_result *r,
    int transient, uint64_t delay)
{
	char reason[sizeof(out->reason)];

	out->failures++;
	if (out->failures == 1)
		out->failing_since = sync_now_ms(out->s);
	metrics_fetch(out->cfg->name, out->cfg->alias, r->cls, 0);
	fetch_reason(r, reason, sizeof(reason));
	if (worth_logging(out, reason))
		output_log_failure(out->cfg, out->failures, reason, r,
		    transient, delay, out->have, out->version);
}

/* ${made} (taken) is ${out}'s new file, if it differs from the held one. */
static void
output_made(struct output *out, struct buf *made, size_t nsrcs)
{
	const char *what = out->kind == OUT_BUNDLE ? "bundle" : "template";
	char msg[32], count[16];

	out->failures = 0;
	out->reason[0] = '\0';
	if (out->have && out->file.len == made->len && (made->len == 0 ||
	    memcmp(out->file.data, made->data, made->len) == 0))
		return;
	snprintf(count, sizeof(count), "%zu", nsrcs);
	snprintf(msg, sizeof(msg), "%s %s", what, out->have ? "updated" :
	    "made");
	log_kv(LOG_INFO, msg, what, out->path, "objects", count, NULL);
	if (out->have || out->s->complete)
		out->changed = 1;
	buf_wipe(&out->file);
	if (made->data == NULL && buf_append(made, "", 0) == -1)
		log_msg(LOG_ERROR, "sync: out of memory");
	out->file = *made;
	memset(made, 0, sizeof(*made));
	out->have = 1;
}

/*
 * Make the file of bundle ${out} if its required members all have a value;
 * else it keeps its previous file.
 */
static void
render_bundle_output(struct output *out)
{
	const struct akvd_bundle *bc = out->bundle;
	struct render_entry *ent;
	struct buf made;
	size_t k, n;
	char err[192];

	if ((ent = calloc(bc->n + 1, sizeof(*ent))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	for (k = n = 0; k < out->nsrcs; k++) {
		const struct output *m = out->srcs[k];

		if (!m->have && !m->cfg->optional)
			break;
		if (!m->have)
			continue;
		ent[n].key = m->cfg->alias;
		ent[n].value = m->files[0].data != NULL ? m->files[0].data : "";
		ent[n].len = m->files[0].len;
		n++;
	}
	memset(&made, 0, sizeof(made));
	if (k < out->nsrcs) {
		log_kv(LOG_DEBUG, "bundle kept: a member has no value",
		    "bundle", bc->path, "object", out->srcs[k]->cfg->name,
		    NULL);
	} else if (render_bundle(bc->format, ent, n, &made, err,
	    sizeof(err)) == -1) {
		out->failures++;
		if (worth_logging(out, err))
			log_kv(LOG_ERROR, "bundle not written: keeping the "
			    "previous one", "bundle", bc->path, "reason", err,
			    NULL);
	} else
		output_made(out, &made, n);
	buf_wipe(&made);
	free(ent);
}

/* What a template sees of the objects it uses, for template_render. */
struct tmpl_view {
	const struct output *out;
	struct template_object *objs;	/* [k]: of srcs[k]; value NULL:
					   absent */
	struct buf	*parts;		/* [3k..3k+2]: key, leaf, chain */
	struct template_tag **tags;	/* [k]: of objs[k], or NULL */
};

static const struct template_object *
tmpl_lookup(void *cookie, const char *name)
{
	const struct tmpl_view *v = cookie;
	size_t k;

	for (k = 0; k < v->out->nsrcs; k++)
		if (strcmp(v->out->srcs[k]->cfg->alias, name) == 0)
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
	char err[128];
	size_t k;

	for (k = 0; k < v->out->nsrcs; k++) {
		const struct output *m = v->out->srcs[k];
		const struct source *r = m->src;
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
		/* Its source holds what Key Vault returned. */
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
 * Render template ${out} from the values held (TEMPLATE_STRICT); if it
 * cannot be (a value its context cannot hold, a missing value) it keeps
 * its previous file, logged by path and tag, never by value.
 */
static void
render_template_output(struct output *out)
{
	const struct akvd_template *t = out->tmpl;
	struct tmpl_view v;
	struct buf made;
	const char *missing = NULL;
	size_t k;
	char err[192];

	if (t->t == NULL)
		return;
	memset(&v, 0, sizeof(v));
	v.out = out;
	v.objs = calloc(out->nsrcs + 1, sizeof(*v.objs));
	v.parts = calloc(3 * out->nsrcs + 1, sizeof(*v.parts));
	v.tags = calloc(out->nsrcs + 1, sizeof(*v.tags));
	memset(&made, 0, sizeof(made));
	if (v.objs == NULL || v.parts == NULL || v.tags == NULL)
		log_msg(LOG_ERROR, "sync: out of memory");
	else if (tmpl_view_fill(&v, &missing) == -1)
		log_kv(LOG_DEBUG, "template kept: an object has no value",
		    "template", t->path, "object", missing, NULL);
	else if (template_render(t->t, TEMPLATE_STRICT, tmpl_lookup, &v,
	    &made, err, sizeof(err)) == -1) {
		out->failures++;
		if (worth_logging(out, err))
			log_kv(LOG_ERROR, "template not written: keeping the "
			    "previous one", "template", t->path, "reason", err,
			    NULL);
	} else
		output_made(out, &made, out->nsrcs);
	buf_wipe(&made);
	for (k = 0; v.parts != NULL && k < 3 * out->nsrcs; k++)
		buf_wipe(&v.parts[k]);
	free(v.parts);
	for (k = 0; v.tags != NULL && k < out->nsrcs; k++)
		free(v.tags[k]);
	free(v.tags);
	free(v.objs);
}

void
output_render(struct output *out)
{

	if (out->kind == OUT_BUNDLE)
		render_bundle_output(out);
	else
		render_template_output(out);
}
