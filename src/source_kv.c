/*
 * source_kv.c - Key Vault objects: the kinds of a configured secret,
 * certificate or key, latest or pinned (source_kv_ops, struct kv_latest
 * of source_kv.h, its change detection source_watch.c's), and with a
 * "history" (source_history_ops, struct kv_history below), which lists its
 * versions and fetches only those it does not hold.  Also what every Key
 * Vault kind shares (source_kv.h): the start of its requests, the probe
 * that learns the tenant from Key Vault's 401 challenge, the HTTP
 * completion (a 200 goes to the kind's ops->done), a GET rendered into
 * the outputs, the pages of a list.
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
#include "render.h"
#include "source_kv.h"
#include "sync_int.h"
#include "util.h"

/*
 * The state of a configured object with a history (source_history_ops;
 * o->u.history): the fetch in progress, its versions listed, then the
 * newest N of them fetched one by one.
 */
enum history_phase {
	H_VERSIONS = 0,		/* list the versions */
	H_FETCH			/* GET version k of want */
};

struct kv_history {
	enum history_phase phase;
	struct kv_pages	 pages;		/* H_VERSIONS: the versions so far */
	char		**want;		/* H_FETCH: versions, newest first */
	size_t		 nwant, k;
	struct buf	*pending;	/* H_FETCH: files rendered so far */
};

/* Key Vault answered with an error status. */
static void
kv_http_error(struct source *o, const struct http_response *r)
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
kv_parse(struct source *o, const struct http_response *r,
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
kv_render(const struct akvd_object *cfg, const struct kv_secret *sec,
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
int
source_kv_fetched(struct source *o, const struct http_response *r,
    int64_t *updated)
{
	struct fetch_result res, first;
	struct kv_secret sec;
	struct buf *files;
	size_t i, ok = 0;
	int rc = -1;

	memset(&first, 0, sizeof(first));
	memset(&sec, 0, sizeof(sec));
	if (kv_parse(o, r, &sec) == -1)
		goto out;
	for (i = 0; i < o->nouts; i++) {
		struct output *d = o->outs[i];

		if (kv_render(d->cfg, &sec, d->nfiles, &files, &res) == -1) {
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
	o->refetch = 0;
	/* What a listing of the vault will show while it is current. */
	*updated = sec.updated;
	kv_secret_clear(&o->raw);
	o->raw = sec;
	memset(&sec, 0, sizeof(sec));
	source_next(o, 0, 0);
	rc = 0;
out:
	kv_secret_clear(&sec);
	return (rc);
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
	struct kv_history *h = o->u.history;
	struct kv_item **v;
	struct buf key = BUF_INIT;
	size_t i, n = 0, want = o->cfg->history;
	char detail[96];
	int rc = -1;

	if ((v = calloc(h->pages.list.n + 1, sizeof(*v))) == NULL ||
	    (h->want = calloc(want, sizeof(*h->want))) == NULL) {
		source_fail(o, FETCH_LOCAL, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < h->pages.list.n; i++)
		if (h->pages.list.items[i].enabled &&
		    h->pages.list.items[i].version != NULL)
			v[n++] = &h->pages.list.items[i];
	if (n < want) {
		snprintf(detail, sizeof(detail), "%zu enabled, history needs "
		    "%zu", n, want);
		source_fail(o, FETCH_OTHER, "not enough enabled versions",
		    detail);
		goto out;
	}
	qsort(v, n, sizeof(*v), item_cmp);
	for (i = 0; i < want; i++) {
		if ((h->want[i] = strdup(v[i]->version)) == NULL ||
		    buf_appendf(&key, "%s%s", i > 0 ? "," : "",
		    v[i]->version) == -1) {
			h->nwant = i + 1;
			source_fail(o, FETCH_LOCAL, "out of memory", NULL);
			goto out;
		}
	}
	h->nwant = want;
	if (o->outs[0]->have && o->outs[0]->version != NULL &&
	    strcmp(o->outs[0]->version, key.data) == 0) {
		struct buf *none = NULL;

		source_success(o, key.data, &none);
		source_next(o, 0, 0);
		rc = 1;
		goto out;
	}
	if ((h->pending = calloc(want, sizeof(*h->pending))) == NULL) {
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
 * Copy into h->pending the versions of h->want that ${o} holds already
 * (its output's version lists them in the order of its files), so that
 * only new
 * versions are fetched.
 */
static void
history_reuse(struct source *o)
{
	struct kv_history *h = o->u.history;
	const struct output *out = o->outs[0];
	const char *p, *q;
	size_t k, m, len;

	if (!out->have || out->version == NULL)
		return;
	for (k = 0; k < h->nwant; k++) {
		for (p = out->version, m = 0; m < out->nfiles;
		    m++, p = q + 1) {
			q = strchr(p, ',');
			len = q != NULL ? (size_t)(q - p) : strlen(p);
			if (strlen(h->want[k]) == len &&
			    strncmp(p, h->want[k], len) == 0) {
				if (buf_append(&h->pending[k],
				    out->files[m].data, out->files[m].len) == -1)
					buf_wipe(&h->pending[k]);
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
	struct kv_history *h = o->u.history;
	struct buf key = BUF_INIT, *files;
	size_t i;

	while (h->k < h->nwant && h->pending[h->k].data != NULL)
		h->k++;
	if (h->k < h->nwant) {
		(void)source_kv_continue(o);
		return;
	}
	for (i = 0; i < h->nwant; i++) {
		if (buf_appendf(&key, "%s%s", i > 0 ? "," : "",
		    h->want[i]) == -1) {
			buf_wipe(&key);
			source_fail(o, FETCH_LOCAL, "out of memory", NULL);
			return;
		}
	}
	files = h->pending;
	h->pending = NULL;
	source_success(o, key.data, &files);
	output_bufs_wipe(files, h->nwant);
	buf_wipe(&key);
	source_next(o, 0, 0);
}

void
source_kv_pages_clear(struct kv_pages *pg)
{

	free(pg->next_url);
	pg->next_url = NULL;
	kv_list_clear(&pg->list);
}

int
source_kv_list_page(struct source *o, struct kv_pages *pg,
    const struct http_response *r, enum kv_kind kind)
{
	char err[256], *next = NULL;

	if (kv_parse_list(r->body.data, r->body.len, kind, o->cfg->vault,
	    &pg->list, &next, err, sizeof(err)) == -1) {
		source_fail(o, FETCH_BAD_RESPONSE, "bad response", err);
		return (-1);
	}
	free(pg->next_url);
	pg->next_url = next;
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
	struct kv_history *h = o->u.history;

	if (source_kv_list_page(o, &h->pages, r, source_kv_kind(o)) != 0)
		return;
	if (choose_versions(o) != 0)
		return;
	h->phase = H_FETCH;
	h->k = 0;
	history_reuse(o);
	history_next(o);
}

/* Version k of a history came back 200. */
static void
done_history(struct source *o, const struct http_response *r)
{
	struct kv_history *h = o->u.history;
	struct fetch_result res;
	struct kv_secret sec;
	struct buf *files;

	memset(&sec, 0, sizeof(sec));
	if (kv_parse(o, r, &sec) == 0) {
		if (kv_render(o->cfg, &sec, 1, &files, &res) == -1)
			source_failure(o, &res);
		else {
			h->pending[h->k++] = files[0];
			free(files);
			history_next(o);
		}
	}
	kv_secret_clear(&sec);
}

/* HTTP completion of a request of ${o}, of any Key Vault kind. */
static void
kv_done(struct http_response *r, void *cookie)
{
	struct source *o = cookie;
	struct sync *s = o->s;

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_KEYVAULT, r->status, r->failed, r->seconds);
	source_gate_answer(o, r);
	if (o->probe) {
		o->probe = 0;
		s->probing = 0;
		if (!r->failed && r->status == 401) {
			/* Handled once: no token to renew, no retry. */
			if (learn_tenant(o, r) == 0)
				o->state = SOURCE_QUEUED;
			sync_kick(s);
			return;
		}
	}
	if (source_watch_leading(o)) {
		source_watch_done(o, r);
		sync_kick(s);
		return;
	}
	if (r->failed) {
		source_fail(o, FETCH_TRANSPORT, "request failed", r->error);
	} else if (r->status == 200) {
		o->ops->done(o, r);
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the token once and retry at once. */
		o->retried_401 = 1;
		auth_invalidate(s->auth, o->gen);
		o->state = SOURCE_QUEUED;
	} else {
		kv_http_error(o, r);
	}
	sync_kick(s);
}

char *
source_kv_object_url(const struct source *o)
{

	return (kv_object_url(o->cfg->vault, source_kv_kind(o), o->cfg->name,
	    o->cfg->version));
}

/* Start the next request of ${o} with ${token} (NULL: a probe). */
static int
kv_send(struct sync *s, struct source *o, const char *token)
{
	char *url;

	if ((url = o->ops->url(o)) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return (-1);
	}
	log_kv(LOG_DEBUG, "fetching", "object", o->cfg->name, "url", url,
	    NULL);
	o->req = http_get(s->http, url, token, kv_done, o);
	free(url);
	if (o->req == NULL)
		return (-1);
	o->state = SOURCE_INFLIGHT;
	s->inflight++;
	return (0);
}

int
source_kv_continue(struct source *o)
{
	struct sync *s = o->s;
	const char *token;
	uint64_t gen;

	if ((token = auth_token(s->auth, &gen)) == NULL) {
		o->state = SOURCE_QUEUED;
		return (0);
	}
	o->gen = gen;
	if (kv_send(s, o, token) == -1) {
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
		return (-1);
	}
	return (0);
}

/* No tenant yet: ask Key Vault without a token, for its challenge. */
static void
kv_probe(struct sync *s, struct source *o)
{

	if (kv_send(s, o, NULL) == -1) {
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
		return;
	}
	o->probe = 1;
	s->probing = 1;
}

/* source_ops.start: one Key Vault token serves every start of a pump(). */
void
source_kv_start_queued(struct source *o, struct source_pump *p)
{
	struct sync *s = o->s;

	if (p->waiting || !source_watch_may_start(o))
		return;
	if (p->token == NULL &&
	    (p->token = auth_token(s->auth, &p->gen)) == NULL) {
		if (auth_needs_tenant(s->auth) && !s->probing)
			kv_probe(s, o);
		p->waiting = 1;		/* sync_auth_event() resumes */
		return;
	}
	o->gen = p->gen;
	if (kv_send(s, o, p->token) == -1)
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
}

struct auth *
source_kv_auth(struct source *o)
{

	return (o->s->auth);
}

/* Latest or pinned (source_kv_ops). */

/* source_ops.url: a GET of the object, or a page of its leader's listing. */
static char *
latest_url(const struct source *o)
{
	const struct kv_latest *l = o->u.latest;

	if (!source_watch_leading(o))
		return (source_kv_object_url(o));
	if (l->pages.next_url != NULL)
		return (strdup(l->pages.next_url));
	return (kv_versions_url(o->cfg->vault, l->watch->kind, NULL));
}

/* source_ops.done: the GET came back 200. */
static void
latest_done(struct source *o, const struct http_response *r)
{
	struct kv_latest *l = o->u.latest;
	int64_t updated;

	if (source_kv_fetched(o, r, &updated) == 0) {
		l->held_updated = updated;
		l->quiet = 0;
	}
}

/* source_ops.reset: leave a listing it leads or waits for. */
static void
latest_reset(struct source *o)
{

	source_watch_leave(o);
	source_kv_pages_clear(&o->u.latest->pages);
}

static void
latest_free(struct source *o)
{

	if (o->u.latest == NULL)
		return;
	latest_reset(o);
	free(o->u.latest);
	o->u.latest = NULL;
}

const struct source_ops source_kv_ops = {
	.kind = "keyvault",
	.start = source_kv_start_queued,
	.reset = latest_reset,
	.free = latest_free,
	.auth = source_kv_auth,
	.url = latest_url,
	.done = latest_done
};

/* With a history (source_history_ops). */

/* source_ops.url: a page of its versions, or the version it fetches. */
static char *
history_url(const struct source *o)
{
	const struct kv_history *h = o->u.history;

	if (h->phase == H_FETCH)
		return (kv_object_url(o->cfg->vault, source_kv_kind(o),
		    o->cfg->name, h->want[h->k]));
	if (h->pages.next_url != NULL)
		return (strdup(h->pages.next_url));
	return (kv_versions_url(o->cfg->vault, source_kv_kind(o),
	    o->cfg->name));
}

/* source_ops.done: a page of versions, or a version, came back 200. */
static void
history_done(struct source *o, const struct http_response *r)
{

	if (o->u.history->phase == H_FETCH)
		done_history(o, r);
	else
		done_versions(o, r);
}

/* source_ops.reset: forget the versions listed and fetched; list again. */
static void
history_reset(struct source *o)
{
	struct kv_history *h = o->u.history;
	size_t i;

	source_kv_pages_clear(&h->pages);
	for (i = 0; i < h->nwant; i++)
		free(h->want[i]);
	free(h->want);
	h->want = NULL;
	output_bufs_wipe(h->pending, h->nwant);
	h->pending = NULL;
	h->nwant = h->k = 0;
	h->phase = H_VERSIONS;
}

static void
history_free(struct source *o)
{

	if (o->u.history == NULL)
		return;
	history_reset(o);
	free(o->u.history);
	o->u.history = NULL;
}

const struct source_ops source_history_ops = {
	.kind = "history",
	.start = source_kv_start_queued,
	.reset = history_reset,
	.free = history_free,
	.auth = source_kv_auth,
	.url = history_url,
	.done = history_done
};

struct source *
source_kv_new(struct sync *s, const struct akvd_object *cfg)
{
	struct source *o;
	int history = cfg->history > 0;

	if ((o = source_new(s, cfg, history ? &source_history_ops :
	    &source_kv_ops)) == NULL)
		return (NULL);
	if (history && (o->u.history = calloc(1,
	    sizeof(*o->u.history))) == NULL) {
		source_free(o);
		return (NULL);
	}
	if (!history && (o->u.latest = calloc(1,
	    sizeof(*o->u.latest))) == NULL) {
		source_free(o);
		return (NULL);
	}
	return (o);
}
