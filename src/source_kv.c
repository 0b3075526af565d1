/*
 * source_kv.c - Key Vault objects: a secret, certificate or key (latest or
 * pinned), and a "history" one, which lists its versions and fetches only
 * those it does not hold.  Also the probe that learns the tenant from Key
 * Vault's 401 challenge, and the HTTP completion of every Key Vault request
 * (a select's list included).
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
#include "sync_int.h"
#include "render.h"
#include "util.h"

/* Key Vault answered with an error status. */
static void
obj_http_error(struct source *o, const struct http_response *r)
{
	struct fetch_result res;
	struct kv_error e;
	char code[sizeof(res.code)];

	memset(&e, 0, sizeof(e));
	if (kv_parse_error(r->body.data, r->body.len, &e) == -1)
		snprintf(e.code, sizeof(e.code), "unrecognized body");
	snprintf(code, sizeof(code), "%s%s%s", e.code,
	    e.inner[0] != '\0' ? "/" : "", e.inner);
	fetch_http(&res, r->status, code, e.message, r->retry_after_ms);
	source_failure(o, &res);
}

/*
 * A probe came back 401: take the tenant from the challenge, but only if
 * its resource is the vault's parent domain (a look-alike vault must not
 * learn where our tokens come from, nor get one).  Returns 0, or 1 once
 * the failure of ${o} is recorded.
 */
static int
learn_tenant(struct source *o, const struct http_response *r)
{
	struct kv_challenge c;

	if (kv_parse_challenge(r->www_authenticate, &c) == -1) {
		source_fail(o, FETCH_CHALLENGE,
		    "no usable challenge in Key Vault's 401",
		    "set auth.tenant_id");
		return (1);
	}
	if (!kv_resource_matches(o->cfg->vault, c.resource)) {
		source_fail(o, FETCH_CHALLENGE, "refusing Key Vault's challenge",
		    c.resource);
		log_kv(LOG_ERROR, "the challenge's resource is not a parent "
		    "domain of the vault: not sending a token there",
		    "vault", o->cfg->vault, "resource", c.resource,
		    "hint", "set auth.tenant_id if this vault is genuine", NULL);
		return (1);
	}
	if (auth_set_tenant(o->s->auth, c.tenant) == -1) {
		source_fail(o, FETCH_LOCAL, "out of memory", NULL);
		return (1);
	}
	return (0);
}

/* source_kv_kind(o): the Key Vault kind ${o} reads (secret, cert, key). */
enum kv_kind
source_kv_kind(const struct source *o)
{

	switch (o->cfg->type) {
	case OBJ_CERT:
		return (KV_CERTIFICATE);
	case OBJ_KEY:
		return (KV_KEY);
	default:
		return (KV_SECRET);
	}
}

/*
 * Parse the body of ${r} into ${sec}.  Returns 0, or -1 after recording
 * the failure of ${o}.
 */
static int
obj_parse(struct source *o, const struct http_response *r,
    struct kv_secret *sec)
{
	char err[256];

	if (kv_parse_object(r->body.data, r->body.len, source_kv_kind(o), sec,
	    err, sizeof(err)) == -1)
		source_fail(o, FETCH_BAD_RESPONSE, "bad response", err);
	else if (!sec->enabled)
		source_fail(o, FETCH_DISABLED, "version is disabled", NULL);
	else
		return (0);
	return (-1);
}

/*
 * Render ${sec} the way ${cfg} says into ${files} (a new array of
 * ${n}).  Returns 0, or -1 with ${res} set.
 */
static int
obj_render(const struct akvd_object *cfg, const struct kv_secret *sec,
    size_t n, struct buf **files, struct fetch_result *res)
{
	struct buf out[CONFIG_SPLIT_FILES];
	char err[256];
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(out));
	*files = NULL;
	if (render_object(cfg, sec->value, sec->len, sec->content_type,
	    sec->managed, out, err, sizeof(err)) == -1)
		fetch_fail(res, FETCH_RENDER, "cannot render the object", err);
	else if ((*files = calloc(n + 1, sizeof(**files))) == NULL)
		fetch_fail(res, FETCH_LOCAL, "out of memory", NULL);
	else {
		for (i = 0; i < n; i++) {
			(*files)[i] = out[i];
			memset(&out[i], 0, sizeof(out[i]));
		}
		rc = 0;
	}
	for (i = 0; i < CONFIG_SPLIT_FILES; i++)
		buf_wipe(&out[i]);
	return (rc);
}

/*
 * A single GET came back 200: each output renders the value its own way;
 * the value is held (raw) for a change of render options.
 */
static void
done_fetch(struct source *o, const struct http_response *r)
{
	struct fetch_result res, first;
	struct kv_secret sec;
	struct buf *files;
	size_t i, ok = 0;

	memset(&first, 0, sizeof(first));
	memset(&sec, 0, sizeof(sec));
	if (obj_parse(o, r, &sec) == -1)
		goto out;
	for (i = 0; i < o->nouts; i++) {
		struct output *d = o->outs[i];

		if (obj_render(d->cfg, &sec, d->nfiles, &files, &res) == -1) {
			output_failure(d, &res, 0, 0);
			if (i == ok)
				first = res;
			continue;
		}
		if (ok++ == 0)
			source_ok(o);
		output_success(d, sec.version, &files);
		output_bufs_wipe(files, d->nfiles);
	}
	if (ok == 0) {
		source_render_failed(o, &first);
		goto out;
	}
	/* What a listing of the vault will show while it is current. */
	o->held_updated = sec.updated;
	o->quiet = 0;
	if (o->lister != NULL)
		o->seen_updated = o->want_updated;
	kv_secret_clear(&o->raw);
	o->raw = sec;
	memset(&sec, 0, sizeof(sec));
	source_next(o, 0, 0);
out:
	kv_secret_clear(&sec);
}

/* Newest first: by creation time, then by position in the list. */
static int
item_cmp(const void *a, const void *b)
{
	const struct kv_item *x = *(struct kv_item *const *)a;
	const struct kv_item *y = *(struct kv_item *const *)b;

	if (x->created != y->created)
		return (x->created > y->created ? -1 : 1);
	return (x > y ? -1 : x < y ? 1 : 0);
}

/*
 * Every page of versions is in: choose the newest N enabled ones.  Returns
 * 1 if they are what is on disk already, 0 if they must be fetched, -1
 * after recording a failure.
 */
static int
choose_versions(struct source *o)
{
	struct kv_item **v;
	struct buf key = BUF_INIT;
	size_t i, n = 0, want = o->cfg->history;
	char detail[96];
	int rc = -1;

	if ((v = calloc(o->list.n + 1, sizeof(*v))) == NULL ||
	    (o->want = calloc(want, sizeof(*o->want))) == NULL) {
		source_fail(o, FETCH_LOCAL, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < o->list.n; i++)
		if (o->list.items[i].enabled && o->list.items[i].version !=
		    NULL)
			v[n++] = &o->list.items[i];
	if (n < want) {
		snprintf(detail, sizeof(detail), "%zu enabled, history needs "
		    "%zu", n, want);
		source_fail(o, FETCH_OTHER, "not enough enabled versions",
		    detail);
		goto out;
	}
	qsort(v, n, sizeof(*v), item_cmp);
	for (i = 0; i < want; i++) {
		if ((o->want[i] = strdup(v[i]->version)) == NULL ||
		    buf_appendf(&key, "%s%s", i > 0 ? "," : "",
		    v[i]->version) == -1) {
			o->nwant = i + 1;
			source_fail(o, FETCH_LOCAL, "out of memory", NULL);
			goto out;
		}
	}
	o->nwant = want;
	if (o->outs[0]->have && o->outs[0]->version != NULL &&
	    strcmp(o->outs[0]->version, key.data) == 0) {
		struct buf *none = NULL;

		source_success(o, key.data, &none);
		source_next(o, 0, 0);
		rc = 1;
		goto out;
	}
	if ((o->pending = calloc(want, sizeof(*o->pending))) == NULL) {
		source_fail(o, FETCH_LOCAL, "out of memory", NULL);
		goto out;
	}
	rc = 0;
out:
	buf_wipe(&key);
	free(v);
	return (rc);
}

/*
 * Copy into o->pending the versions of o->want that ${o} holds already
 * (its output's version lists them in the order of its files), so that
 * only new
 * versions are fetched.
 */
static void
history_reuse(struct source *o)
{
	const struct output *out = o->outs[0];
	const char *p, *q;
	size_t k, m, len;

	if (!out->have || out->version == NULL)
		return;
	for (k = 0; k < o->nwant; k++) {
		for (p = out->version, m = 0; m < out->nfiles;
		    m++, p = q + 1) {
			q = strchr(p, ',');
			len = q != NULL ? (size_t)(q - p) : strlen(p);
			if (strlen(o->want[k]) == len &&
			    strncmp(p, o->want[k], len) == 0) {
				if (buf_append(&o->pending[k],
				    out->files[m].data, out->files[m].len) == -1)
					buf_wipe(&o->pending[k]);
				break;
			}
			if (q == NULL)
				break;
		}
	}
}

/*
 * Fetch the next version of the history not held yet, or, when every one
 * is there, make them the object's files.
 */
static void
history_next(struct source *o)
{
	struct buf key = BUF_INIT, *files;
	size_t i;

	while (o->k < o->nwant && o->pending[o->k].data != NULL)
		o->k++;
	if (o->k < o->nwant) {
		(void)source_kv_continue(o);
		return;
	}
	for (i = 0; i < o->nwant; i++) {
		if (buf_appendf(&key, "%s%s", i > 0 ? "," : "",
		    o->want[i]) == -1) {
			buf_wipe(&key);
			source_fail(o, FETCH_LOCAL, "out of memory", NULL);
			return;
		}
	}
	files = o->pending;
	o->pending = NULL;
	source_success(o, key.data, &files);
	output_bufs_wipe(files, o->nwant);
	buf_wipe(&key);
	source_next(o, 0, 0);
}

/*
 * source_kv_list_page(o, r, kind): add page ${r} of a list of ${kind} to
 * o->list and ask for the page its nextLink names.  Returns 1 while pages
 * remain, 0 once the list is whole, -1 after recording a failure.
 */
int
source_kv_list_page(struct source *o, const struct http_response *r,
    enum kv_kind kind)
{
	char err[256], *next = NULL;

	if (kv_parse_list(r->body.data, r->body.len, kind, o->cfg->vault,
	    &o->list, &next, err, sizeof(err)) == -1) {
		source_fail(o, FETCH_BAD_RESPONSE, "bad response", err);
		return (-1);
	}
	free(o->next_url);
	o->next_url = next;
	if (next != NULL) {
		(void)source_kv_continue(o);
		return (1);
	}
	return (0);
}

/* A page of the versions list came back 200. */
static void
done_versions(struct source *o, const struct http_response *r)
{

	if (source_kv_list_page(o, r, source_kv_kind(o)) != 0)
		return;
	if (choose_versions(o) != 0)
		return;
	o->phase = P_HISTORY;
	o->k = 0;
	history_reuse(o);
	history_next(o);
}

/* Version k of a history came back 200. */
static void
done_history(struct source *o, const struct http_response *r)
{
	struct fetch_result res;
	struct kv_secret sec;
	struct buf *files;

	memset(&sec, 0, sizeof(sec));
	if (obj_parse(o, r, &sec) == 0) {
		if (obj_render(o->cfg, &sec, 1, &files, &res) == -1)
			source_failure(o, &res);
		else {
			o->pending[o->k++] = files[0];
			free(files);
			history_next(o);
		}
	}
	kv_secret_clear(&sec);
}

/* HTTP completion of a request of ${o}. */
static void
obj_done(struct http_response *r, void *cookie)
{
	struct source *o = cookie;
	struct sync *s = o->s;

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_KEYVAULT, r->status, r->failed, r->seconds);
	if (o->probe) {
		o->probe = 0;
		s->probing = 0;
		if (!r->failed && r->status == 401) {
			/* Handled once: no token to renew, no retry. */
			if (learn_tenant(o, r) == 0)
				o->state = O_QUEUED;
			sync_kick(s);
			return;
		}
	}
	if (o->phase == P_WATCH) {
		source_watch_done(o, r);
		sync_kick(s);
		return;
	}
	if (r->failed) {
		source_fail(o, FETCH_TRANSPORT, "request failed", r->error);
	} else if (r->status == 200) {
		switch (o->phase) {
		case P_VERSIONS:
			done_versions(o, r);
			break;
		case P_HISTORY:
			done_history(o, r);
			break;
		case P_LIST:
			source_select_done_list(o, r);
			break;
		default:
			done_fetch(o, r);
			break;
		}
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the token once and retry at once. */
		o->retried_401 = 1;
		auth_invalidate(s->auth, o->gen);
		o->state = O_QUEUED;
	} else {
		obj_http_error(o, r);
	}
	sync_kick(s);
}

/* The URL of the next request of ${o}, a new string, or NULL. */
static char *
obj_url(const struct source *o)
{

	switch (o->phase) {
	case P_VERSIONS:
		if (o->next_url != NULL)
			return (strdup(o->next_url));
		return (kv_versions_url(o->cfg->vault, source_kv_kind(o),
		    o->cfg->name));
	case P_HISTORY:
		return (kv_object_url(o->cfg->vault, source_kv_kind(o),
		    o->cfg->name, o->want[o->k]));
	case P_LIST:
		if (o->next_url != NULL)
			return (strdup(o->next_url));
		return (kv_versions_url(o->cfg->vault, KV_SECRET, NULL));
	case P_WATCH:
		if (o->next_url != NULL)
			return (strdup(o->next_url));
		return (kv_versions_url(o->cfg->vault, o->watch->kind, NULL));
	default:
		return (kv_object_url(o->cfg->vault, source_kv_kind(o),
		    o->cfg->name, o->cfg->version));
	}
}

int
source_kv_start(struct sync *s, struct source *o, const char *token)
{
	char *url;

	if ((url = obj_url(o)) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return (-1);
	}
	log_kv(LOG_DEBUG, "fetching", "object", o->cfg->name, "url", url,
	    NULL);
	o->req = http_get(s->http, url, token, obj_done, o);
	free(url);
	if (o->req == NULL)
		return (-1);
	o->state = O_INFLIGHT;
	s->inflight++;
	return (0);
}

/*
 * The next request of a multi-request fetch, in the same slot: now if a
 * token is at hand, else queued until one is.  Returns 0, or -1 after
 * recording a failure.
 */
int
source_kv_continue(struct source *o)
{
	struct sync *s = o->s;
	const char *token;
	uint64_t gen;

	if ((token = auth_token(s->auth, &gen)) == NULL) {
		o->state = O_QUEUED;
		return (0);
	}
	o->gen = gen;
	if (source_kv_start(s, o, token) == -1) {
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
		return (-1);
	}
	return (0);
}

/* No tenant yet: ask Key Vault without a token, for its challenge. */
static void
source_kv_probe(struct sync *s, struct source *o)
{

	if (source_kv_start(s, o, NULL) == -1) {
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
		return;
	}
	o->probe = 1;
	s->probing = 1;
}

/* source_ops.start: one Key Vault token serves every start of a pump(). */
static void
kv_start(struct source *o, struct source_pump *p)
{
	struct sync *s = o->s;

	if (p->waiting || !source_watch_may_start(o))
		return;
	if (p->token == NULL &&
	    (p->token = auth_token(s->auth, &p->gen)) == NULL) {
		if (auth_needs_tenant(s->auth) && !s->probing)
			source_kv_probe(s, o);
		p->waiting = 1;		/* sync_auth_event() resumes */
		return;
	}
	o->gen = p->gen;
	if (source_kv_start(s, o, p->token) == -1)
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
}

/* source_ops.reset: forget a history or list fetch in progress. */
static void
kv_reset(struct source *o)
{
	size_t i;

	source_watch_leave(o);
	free(o->next_url);
	o->next_url = NULL;
	kv_list_clear(&o->list);
	for (i = 0; i < o->nwant; i++)
		free(o->want[i]);
	free(o->want);
	o->want = NULL;
	output_bufs_wipe(o->pending, o->nwant);
	o->pending = NULL;
	o->nwant = o->k = 0;
	o->phase = o->sel != NULL ? P_LIST : o->cfg->history > 0 ?
	    P_VERSIONS : P_FETCH;
}

static struct auth *
kv_auth(struct source *o)
{

	return (o->s->auth);
}

const struct source_ops source_kv_ops = {
	.kind = "keyvault",
	.start = kv_start,
	.reset = kv_reset,
	.auth = kv_auth
};
