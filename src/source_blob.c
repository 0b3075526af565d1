/*
 * source_blob.c - Azure Blob Storage objects.
 *
 * A blob is fetched with a Storage-scoped token.  Its ETag plays the part
 * of a secret's version: once one is known, the GET carries If-None-Match
 * and a 304 means unchanged.  A blob adopted from disk at start-up has no
 * ETag: its first GET is unconditional and rewrites nothing unless the
 * content differs.  The wire protocol is blob.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "sync_int.h"
#include "util.h"

/* source_ops.auth: the token cache of the Storage scope. */
static struct auth *
blob_auth(struct source *o)
{

	return (auth_scope(o->s->auth, o->s->cfg->storage_scope));
}

/* Blob Storage answered with an error status. */
static void
blob_http_error(struct source *o, const struct http_response *r)
{
	struct fetch_result res;

	blob_error(&res, r->status, r->error_code, r->body.data, r->body.len);
	res.retry_after_ms = r->retry_after_ms;
	source_failure(o, &res);
}

/* HTTP completion of a GET of the blob ${o}. */
static void
blob_done(struct http_response *r, void *cookie)
{
	struct source *o = cookie;
	struct output *out = o->outs[0];
	struct sync *s = o->s;
	struct buf *files;
	struct auth *a;

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_STORAGE, r->status, r->failed, r->seconds);
	if (r->failed && r->too_large) {
		/* Not transient: the next cycle may find it smaller. */
		source_fail(o, FETCH_OTHER, "blob larger than max_size",
		    r->error);
	} else if (r->failed) {
		source_fail(o, FETCH_TRANSPORT, "request failed", r->error);
	} else if (r->status == 304 && out->have && out->version != NULL) {
		/* Not modified: the ETag is the version, nothing to take. */
		files = NULL;
		source_success(o, out->version, &files);
		source_next(o, 0, 0);
	} else if (r->status == 200) {
		/* As a secret whose version is the ETag. */
		if ((files = calloc(out->nfiles, sizeof(*files))) == NULL ||
		    buf_append(&files[0], r->body.data != NULL ?
		    r->body.data : "", r->body.len) == -1) {
			log_msg(LOG_ERROR, "sync: out of memory");
			source_fail(o, FETCH_LOCAL, "out of memory", NULL);
		} else {
			source_success(o, r->etag != NULL ? r->etag :
			    "(no ETag)", &files);
			source_next(o, 0, 0);
		}
		output_bufs_wipe(files, out->nfiles);	/* NULL if taken */
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the storage token once and retry at once. */
		o->retried_401 = 1;
		if ((a = blob_auth(o)) != NULL)
			auth_invalidate(a, o->gen);
		o->state = SOURCE_QUEUED;
	} else {
		blob_http_error(o, r);
	}
	sync_kick(s);
}

static int
blob_start(struct sync *s, struct source *o, const char *token)
{
	struct http_reqspec spec;
	struct buf inm = BUF_INIT;
	const struct output *out = o->outs[0];

	memset(&spec, 0, sizeof(spec));
	spec.url = o->cfg->url;
	spec.bearer = token;
	spec.headers[0] = "x-ms-version: " BLOB_API_VERSION;
	spec.headers[1] = "Accept: */*";
	/* An ETag is quoted, or weak (W/"..."); "(no ETag)" is not. */
	if (out->have && blob_etag_usable(out->version)) {
		if (buf_appendf(&inm, "If-None-Match: %s", out->version) == -1) {
			log_msg(LOG_ERROR, "sync: out of memory");
			return (-1);
		}
		spec.headers[2] = inm.data;
	}
	spec.max_body = o->cfg->max_size;
	log_kv(LOG_DEBUG, "fetching", "object", o->cfg->name, "url",
	    o->cfg->url, "if_none_match", out->have ? out->version : NULL,
	    NULL);
	o->req = http_request(s->http, &spec, blob_done, o);
	buf_wipe(&inm);
	if (o->req == NULL)
		return (-1);
	o->state = SOURCE_INFLIGHT;
	s->inflight++;
	return (0);
}

/*
 * Nonzero if a Key Vault probe is in flight or about to start in this
 * pump() (a queued secret): it may learn the tenant blobs need too.
 */
static int
tenant_coming(const struct sync *s)
{
	size_t i;

	if (s->probing)
		return (1);
	for (i = 0; i < s->nsources; i++)
		if (s->sources[i]->cfg->type != OBJ_BLOB &&
		    s->sources[i]->state == SOURCE_QUEUED)
			return (1);
	return (0);
}

/* source_ops.start: start a queued blob if the storage token is there. */
static void
blob_start_queued(struct source *o, struct source_pump *p)
{
	struct sync *s = o->s;
	struct auth *a;
	const char *token;
	uint64_t gen = 0;

	if ((a = blob_auth(o)) == NULL) {
		source_fail(o, FETCH_LOCAL, "out of memory", NULL);
		return;
	}
	if ((token = auth_token(a, &gen)) == NULL) {
		/* A tenant is learnt only from Key Vault's challenge. */
		if (auth_needs_tenant(a) && !tenant_coming(s))
			source_fail(o, FETCH_OTHER,
			    "no tenant for the storage token",
			    "set auth.tenant_id (or AZURE_TENANT_ID)");
		return;		/* sync_auth_event() resumes */
	}
	o->gen = gen;
	if (blob_start(s, o, token) == -1)
		source_fail(o, FETCH_LOCAL, "cannot start request", NULL);
}

/* source_ops.reset: one GET, nothing in progress to forget. */
static void
blob_reset(struct source *o)
{

	(void)o;
}

/* source_ops.free: a blob keeps no state of its own. */
static void
blob_free(struct source *o)
{

	(void)o;
}

const struct source_ops source_blob_ops = {
	.kind = "blob",
	.start = blob_start_queued,
	.reset = blob_reset,
	.free = blob_free,
	.auth = blob_auth
};

struct source *
source_blob_new(struct sync *s, const struct akvd_object *cfg)
{

	return (source_new(s, cfg, &source_blob_ops));
}
