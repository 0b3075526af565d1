/*
 * sync.c - polling Key Vault and keeping the output directory current.
 *
 * One ev_timer ("wake") is armed for the earliest due object; when it fires
 * every object due by then is queued, and pump() starts requests for queued
 * objects while fewer than "concurrency" are in flight and a token is
 * available.  When the last request of a burst completes, a snapshot is
 * committed if anything changed.  Between bursts nothing runs: the only
 * wake-ups are the next due time and the token renewal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "duration.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "sync.h"
#include "util.h"
#include "writer.h"

#define RETRY_BASE_MS		1000
#define RETRY_CAP_MIN_MS	(30 * 1000)
#define RETRY_CAP_MAX_MS	(5 * 60 * 1000)
#define ONCE_ATTEMPTS		3	/* per object, transient failures */
#define ONCE_AUTH_ATTEMPTS	7	/* about a minute: IMDS's 410 window,
					   a token volume still projecting */
#define COMMIT_RETRY_MS		5000
#define BATCH_SLACK_MS		50	/* objects due this close go together */
#define BLOB_API_VERSION	"2020-04-08"	/* x-ms-version */

enum obj_state {
	O_IDLE = 0,		/* waiting for its due time */
	O_QUEUED,		/* due, waiting for a slot or a token */
	O_INFLIGHT,
	O_SETTLED		/* --once: no further attempt */
};

struct obj {
	struct sync	*s;
	const struct akvd_object *cfg;	/* into s->cfg->objects */
	enum obj_state	 state;

	struct buf	 data;		/* last good value (secret) */
	int		 have;
	char		*version;	/* of data; NULL if adopted from disk */
	int		 fetched;	/* fetched from Key Vault this run */
	int		 attempted;	/* tried at least once */

	int64_t		 due;		/* monotonic ms */
	int64_t		 next_cycle;	/* due time after a success */
	int64_t		 not_before;	/* Retry-After */
	unsigned	 failures;	/* consecutive */
	int64_t		 failing_since;	/* monotonic ms of the first one */
	int64_t		 last_ok;	/* monotonic ms of the last success
					   (creation until then) */
	char		 reason[192];	/* of the last failure */
	int		 retried_401;

	struct http_req	*req;
	uint64_t	 gen;		/* token generation used */
	int		 probe;		/* sent without a token to learn the
					   tenant from the 401 challenge */
	int		 changed;	/* content changed since the last
					   snapshot written */
};

struct sync {
	struct ev_loop	*loop;
	struct http	*http;
	struct auth	*auth;
	struct akvd_config *cfg;
	int		 once;
	sync_done_fn	*done_fn;
	void		*done_cookie;
	int		 finished;

	struct obj	**objs;
	size_t		 nobjs;
	unsigned	 inflight;
	int		 probing;	/* a challenge probe is in flight */
	int		 dirty;		/* snapshot differs from objects */
	int		 committed;	/* a snapshot was written this run */
	time_t		 last_commit;	/* wall clock, for sync_status */
	sync_snapshot_fn *snap_fn;
	void		*snap_cookie;
	int64_t		 commit_retry;	/* monotonic ms, 0 if none */
	ev_timer	 wake;
};

static void	pump(struct sync *);
static void	schedule(struct sync *);
static void	announce(struct sync *);

/* The index of ${o} in the configuration, for metrics_fetch(). */
static size_t
obj_index(const struct obj *o)
{

	return ((size_t)(o->cfg - o->s->cfg->objects));
}

/* The metrics class of a failure reason written by this file. */
static const char *
reason_class(const char *reason)
{
	long status;

	if (strncmp(reason, "HTTP ", 5) == 0) {
		status = strtol(reason + 5, NULL, 10);
		if (status == 401)
			return ("unauthorized");
		if (status == 403)
			return ("forbidden");
		if (status == 404)
			return ("not_found");
		if (status == 429)
			return ("throttled");
		if (status == 408 || status >= 500)
			return ("server_error");
		return ("client_error");
	}
	if (strcmp(reason, "request failed") == 0)
		return ("connection");
	if (strcmp(reason, "bad response") == 0)
		return ("bad_response");
	if (strcmp(reason, "secret version is disabled") == 0)
		return ("disabled");
	if (strstr(reason, "challenge") != NULL)
		return ("challenge");
	return ("other");
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Log a failure of ${o} when its reason changed, and then on the 2nd, 4th,
 * 8th... identical failure, so an outage does not flood the log.
 */
static int
obj_worth_logging(struct obj *o, const char *reason)
{
	unsigned n = o->failures;

	if (strcmp(o->reason, reason) != 0) {
		snprintf(o->reason, sizeof(o->reason), "%s", reason);
		return (1);
	}
	return ((n & (n - 1)) == 0);
}

static uint64_t
retry_cap(const struct sync *s)
{
	uint64_t cap = s->cfg->interval_ms;

	if (cap < RETRY_CAP_MIN_MS)
		cap = RETRY_CAP_MIN_MS;
	if (cap > RETRY_CAP_MAX_MS)
		cap = RETRY_CAP_MAX_MS;
	return (cap);
}

static void
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
	buf_wipe(&o->data);
	free(o->version);
	free(o);
}

/* ---------------------------------------------------------------------- */
/* Snapshots                                                              */

static int
all_attempted(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++)
		if (!s->objs[i]->attempted)
			return (0);
	return (1);
}

static int
busy(const struct sync *s)
{
	size_t i;

	if (s->inflight > 0)
		return (1);
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->state == O_QUEUED)
			return (1);
	return (0);
}

/* Commit a snapshot if something changed and the burst is over. */
static int
maybe_commit(struct sync *s)
{
	struct writer_file *files;
	size_t i, n = 0;
	char count[32];
	int rc;

	if (!s->dirty || busy(s) || !all_attempted(s))
		return (0);
	if ((files = calloc(s->nobjs + 1, sizeof(*files))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		s->commit_retry = mono_ms() + COMMIT_RETRY_MS;
		return (-1);
	}
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (!o->have)
			continue;
		files[n].path = o->cfg->alias;
		files[n].data = o->data.data != NULL ? o->data.data : "";
		files[n].len = o->data.len;
		files[n].mode = o->cfg->mode;
		n++;
	}
	if (n == 0) {
		/* Nothing to show yet: keep whatever is on disk. */
		free(files);
		return (0);
	}
	rc = writer_commit(s->cfg->output_dir, files, n);
	free(files);
	metrics_snapshot(rc == 0);
	if (rc == -1) {
		log_kv(LOG_ERROR, "snapshot not written: keeping the previous "
		    "one", "dir", s->cfg->output_dir, NULL);
		s->commit_retry = mono_ms() + COMMIT_RETRY_MS;
		return (-1);
	}
	s->dirty = 0;
	s->commit_retry = 0;
	s->last_commit = time(NULL);
	snprintf(count, sizeof(count), "%zu", n);
	log_kv(LOG_INFO, "snapshot written", "dir", s->cfg->output_dir,
	    "objects", count, NULL);
	announce(s);
	return (0);
}

/* Tell the snapshot callback what changed, then forget it. */
static void
announce(struct sync *s)
{
	const char **changed;
	size_t i, n = 0;
	int first = !s->committed;

	s->committed = 1;
	if ((changed = calloc(s->nobjs + 1, sizeof(*changed))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return;
	}
	for (i = 0; i < s->nobjs; i++) {
		if (s->objs[i]->changed)
			changed[n++] = s->objs[i]->cfg->alias;
		s->objs[i]->changed = 0;
	}
	if (s->snap_fn != NULL)
		s->snap_fn(first, changed, n, s->snap_cookie);
	free(changed);
}

/* --once: when every object is settled, write and report. */
static void
once_check(struct sync *s)
{
	size_t i;
	int ok = 1, rc;

	if (!s->once || s->finished)
		return;
	for (i = 0; i < s->nobjs; i++) {
		if (s->objs[i]->state != O_SETTLED)
			return;
		if (!s->objs[i]->fetched && !s->objs[i]->cfg->optional)
			ok = 0;
	}
	rc = maybe_commit(s);
	s->finished = 1;
	ev_timer_stop(s->loop, &s->wake);
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (!o->fetched)
			log_kv(o->cfg->optional ? LOG_WARN : LOG_ERROR,
			    "object not fetched", "object", o->cfg->name,
			    "optional", o->cfg->optional ? "true" : "false",
			    "reason", o->reason, NULL);
	}
	if (rc == -1)
		ok = 0;
	s->done_fn(ok, s->done_cookie);
}

/* ---------------------------------------------------------------------- */
/* Fetch outcomes                                                         */

/* After an attempt: next due time, or settle in --once mode. */
static void
obj_next(struct obj *o, int transient, uint64_t delay_ms)
{
	struct sync *s = o->s;
	int64_t now = mono_ms();

	o->attempted = 1;
	if (s->once) {
		if (!transient || o->failures >= ONCE_ATTEMPTS ||
		    o->failures == 0) {
			o->state = O_SETTLED;
			return;
		}
	}
	o->state = O_IDLE;
	if (o->failures == 0 || !transient)
		o->due = o->next_cycle > now ? o->next_cycle : now;
	else
		o->due = now + (int64_t)delay_ms;
	if (o->due < o->not_before)
		o->due = o->not_before;
}

static void
obj_success(struct obj *o, struct kv_secret *sec)
{
	const char *prev = o->version != NULL ? o->version : "(on disk)";
	int changed = 0;

	if (o->failures > 0)
		log_kv(LOG_INFO, "object recovered", "object", o->cfg->name,
		    "version", sec->version, "after", o->reason, NULL);
	o->failures = 0;
	o->reason[0] = '\0';
	o->retried_401 = 0;
	o->fetched = 1;
	o->last_ok = mono_ms();
	if (o->have && o->version != NULL &&
	    strcmp(o->version, sec->version) == 0) {
		log_kv(LOG_DEBUG, "object unchanged", "object", o->cfg->name,
		    "version", sec->version, NULL);
	} else if (o->have && o->data.len == sec->len &&
	    (sec->len == 0 ||
	    memcmp(o->data.data, sec->value, sec->len) == 0)) {
		log_kv(LOG_DEBUG, "object version changed, content identical",
		    "object", o->cfg->name, "version", sec->version,
		    "previous", prev, NULL);
	} else {
		struct buf nb = BUF_INIT;

		if (buf_append(&nb, sec->value, sec->len) == -1) {
			log_msg(LOG_ERROR, "sync: out of memory");
			snprintf(o->reason, sizeof(o->reason), "out of memory");
			o->failures = 1;
			o->failing_since = mono_ms();
			o->fetched = 0;
			return;
		}
		if (o->have || o->s->committed)
			o->changed = 1;
		log_kv(LOG_INFO, o->have ? "object updated" : "object fetched",
		    "object", o->cfg->name, "alias", o->cfg->alias,
		    "version", sec->version,
		    "previous", o->have ? prev : "(none)", NULL);
		buf_wipe(&o->data);
		o->data = nb;
		o->have = 1;
		o->s->dirty = 1;
		changed = 1;
	}
	metrics_fetch(obj_index(o), NULL, changed);
	free(o->version);
	o->version = sec->version;	/* ownership moves */
	sec->version = NULL;
}

/*
 * A failure: ${transient} ones back off exponentially (at least
 * ${retry_after_ms} when the server said so); the others wait for the next
 * cycle.
 */
static void
obj_failure(struct obj *o, const char *reason, const char *detail,
    int transient, long retry_after_ms)
{
	struct sync *s = o->s;
	uint64_t delay = 0;
	char fails[16], retry[32];

	o->failures++;
	if (o->failures == 1)
		o->failing_since = mono_ms();
	metrics_fetch(obj_index(o), reason_class(reason), 0);
	if (transient) {
		delay = backoff_delay(o->failures, RETRY_BASE_MS,
		    retry_cap(s), rand_unit());
		if (retry_after_ms >= 0) {
			delay = backoff_retry_after(retry_after_ms, delay);
			o->not_before = mono_ms() + retry_after_ms;
		}
	}
	if (obj_worth_logging(o, reason)) {
		snprintf(fails, sizeof(fails), "%u", o->failures);
		if (transient)
			duration_format(delay, retry, sizeof(retry));
		else
			snprintf(retry, sizeof(retry), "next cycle");
		log_kv(transient ? LOG_WARN : LOG_ERROR, "object fetch failed",
		    "object", o->cfg->name, "vault", o->cfg->vault,
		    "url", o->cfg->url,
		    "reason", reason, "detail", detail != NULL ? detail : "",
		    "failures", fails, "retry_in", retry,
		    o->have ? "keeping" : "have", o->have ?
		    (o->version != NULL ? o->version : "(on disk)") : "nothing",
		    NULL);
	}
	obj_next(o, transient, delay);
}

/* Key Vault answered with an error status. */
static void
obj_http_error(struct obj *o, const struct http_response *r)
{
	struct kv_error e;
	char reason[192], detail[512];
	int transient;

	memset(&e, 0, sizeof(e));
	if (kv_parse_error(r->body.data, r->body.len, &e) == -1)
		snprintf(e.code, sizeof(e.code), "unrecognized body");
	snprintf(reason, sizeof(reason), "HTTP %ld %s%s%s", r->status, e.code,
	    e.inner[0] != '\0' ? "/" : "", e.inner);
	snprintf(detail, sizeof(detail), "%s", e.message);
	transient = r->status == 408 || r->status == 429 || r->status >= 500;
	obj_failure(o, reason, detail, transient, r->retry_after_ms);
}

/*
 * A probe came back 401: take the tenant from the challenge, but only if
 * its resource is the vault's parent domain (a look-alike vault must not
 * learn where our tokens come from, nor get one).
 */
static int
learn_tenant(struct obj *o, const struct http_response *r)
{
	struct kv_challenge c;

	if (kv_parse_challenge(r->www_authenticate, &c) == -1) {
		obj_failure(o, "no usable challenge in Key Vault's 401",
		    "set auth.tenant_id", 0, -1);
		return (1);
	}
	if (!kv_resource_matches(o->cfg->vault, c.resource)) {
		obj_failure(o, "refusing Key Vault's challenge", c.resource, 0,
		    -1);
		log_kv(LOG_ERROR, "the challenge's resource is not a parent "
		    "domain of the vault: not sending a token there",
		    "vault", o->cfg->vault, "resource", c.resource,
		    "hint", "set auth.tenant_id if this vault is genuine", NULL);
		return (1);
	}
	return (auth_set_tenant(o->s->auth, c.tenant) == 0 ? 0 : 1);
}

/* HTTP completion of a GET of ${o}. */
static void
obj_done(struct http_response *r, void *cookie)
{
	struct obj *o = cookie;
	struct sync *s = o->s;
	struct kv_secret sec;
	char err[256];

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_KEYVAULT, r->status, r->failed, r->seconds);
	if (o->probe) {
		o->probe = 0;
		s->probing = 0;
		if (!r->failed && r->status == 401 &&
		    learn_tenant(o, r) == 0) {
			o->state = O_QUEUED;
			pump(s);
			return;
		}
	}
	if (r->failed) {
		obj_failure(o, "request failed", r->error, 1, -1);
	} else if (r->status == 200) {
		memset(&sec, 0, sizeof(sec));
		if (kv_parse_secret(r->body.data, r->body.len, &sec, err,
		    sizeof(err)) == -1)
			obj_failure(o, "bad response", err, 1, -1);
		else if (!sec.enabled)
			obj_failure(o, "secret version is disabled", NULL, 0,
			    -1);
		else {
			obj_success(o, &sec);
			obj_next(o, 0, 0);
		}
		kv_secret_clear(&sec);
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the token once and retry at once. */
		o->retried_401 = 1;
		auth_invalidate(s->auth, o->gen);
		o->state = O_QUEUED;
	} else {
		obj_http_error(o, r);
	}
	pump(s);
}

/* ---------------------------------------------------------------------- */
/* Blob Storage                                                           */

/*
 * A blob is fetched with a Storage-scoped token.  Its ETag plays the part
 * of a secret's version: once one is known, the GET carries If-None-Match
 * and a 304 means unchanged.  A blob adopted from disk at start-up has no
 * ETag: its first GET is unconditional and rewrites nothing unless the
 * content differs.
 */

/* The token cache of the Storage scope. */
static struct auth *
blob_auth(struct sync *s)
{

	return (auth_scope(s->auth, s->cfg->storage_scope));
}

/* Copy the text of <${tag}>...</${tag}> in an error body, sanitized. */
static void
xml_text(const struct buf *b, const char *tag, char *out, size_t len)
{
	char otag[32], ctag[32];
	const char *p, *e;
	size_t n, i;

	out[0] = '\0';
	if (b->data == NULL || len == 0)
		return;
	snprintf(otag, sizeof(otag), "<%s>", tag);
	snprintf(ctag, sizeof(ctag), "</%s>", tag);
	if ((p = memmem(b->data, b->len, otag, strlen(otag))) == NULL)
		return;
	p += strlen(otag);
	if ((e = memmem(p, b->len - (size_t)(p - b->data), ctag,
	    strlen(ctag))) == NULL)
		return;
	n = (size_t)(e - p);
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
	out[n] = '\0';
}

/* What to check for a Storage error code, or NULL. */
static const char *
blob_hint(const char *code, long status)
{

	if (strcmp(code, "AuthorizationPermissionMismatch") == 0 ||
	    strcmp(code, "AuthorizationFailure") == 0 || status == 403)
		return ("the identity needs the \"Storage Blob Data Reader\" "
		    "role on the storage account or the container (and the "
		    "account's network rules must admit this host)");
	if (strcmp(code, "BlobNotFound") == 0)
		return ("no blob of that name in the container: check the "
		    "url");
	if (strcmp(code, "ContainerNotFound") == 0)
		return ("no such container in the storage account: check the "
		    "url");
	if (strcmp(code, "InvalidAuthenticationInfo") == 0 ||
	    strcmp(code, "AuthenticationFailed") == 0 || status == 401)
		return ("the storage token was refused: check the cloud "
		    "(storage_scope) and the tenant");
	return (NULL);
}

/* Blob Storage answered with an error status. */
static void
blob_http_error(struct obj *o, const struct http_response *r)
{
	char code[64], msg[256], reason[192], detail[512];
	const char *hint;
	int transient;

	if (r->error_code != NULL)
		snprintf(code, sizeof(code), "%s", r->error_code);
	else
		xml_text(&r->body, "Code", code, sizeof(code));
	if (code[0] == '\0')
		snprintf(code, sizeof(code), "no error code");
	xml_text(&r->body, "Message", msg, sizeof(msg));
	snprintf(reason, sizeof(reason), "HTTP %ld %s", r->status, code);
	hint = blob_hint(code, r->status);
	snprintf(detail, sizeof(detail), "%s%s%s", msg,
	    hint != NULL ? (msg[0] != '\0' ? "; hint: " : "hint: ") : "",
	    hint != NULL ? hint : "");
	transient = r->status == 408 || r->status == 429 || r->status >= 500;
	obj_failure(o, reason, detail, transient, r->retry_after_ms);
}

/* HTTP completion of a GET of the blob ${o}. */
static void
blob_done(struct http_response *r, void *cookie)
{
	struct obj *o = cookie;
	struct sync *s = o->s;
	struct kv_secret sec;
	struct auth *a;

	o->req = NULL;
	s->inflight--;
	metrics_request(METRICS_STORAGE, r->status, r->failed, r->seconds);
	memset(&sec, 0, sizeof(sec));
	if (r->failed && r->too_large) {
		/* Not transient: the next cycle may find it smaller. */
		obj_failure(o, "blob larger than max_size", r->error, 0, -1);
	} else if (r->failed) {
		obj_failure(o, "request failed", r->error, 1, -1);
	} else if ((r->status == 304 && o->have && o->version != NULL) ||
	    r->status == 200) {
		/* As a secret whose version is the ETag. */
		if (r->status == 304) {
			sec.version = strdup(o->version);
			sec.value = o->data.data != NULL ? o->data.data : "";
			sec.len = o->data.len;
		} else {
			sec.version = strdup(r->etag != NULL ? r->etag :
			    "(no ETag)");
			sec.value = r->body.data != NULL ? r->body.data : "";
			sec.len = r->body.len;
		}
		if (sec.version == NULL) {
			log_msg(LOG_ERROR, "sync: out of memory");
			obj_failure(o, "out of memory", NULL, 1, -1);
		} else {
			obj_success(o, &sec);
			obj_next(o, 0, 0);
		}
		free(sec.version);	/* NULL if ownership moved */
	} else if (r->status == 401 && !o->retried_401) {
		/* Renew the storage token once and retry at once. */
		o->retried_401 = 1;
		if ((a = blob_auth(s)) != NULL)
			auth_invalidate(a, o->gen);
		o->state = O_QUEUED;
	} else {
		blob_http_error(o, r);
	}
	pump(s);
}

static int
blob_start(struct sync *s, struct obj *o, const char *token)
{
	struct http_reqspec spec;
	struct buf inm = BUF_INIT;

	memset(&spec, 0, sizeof(spec));
	spec.url = o->cfg->url;
	spec.bearer = token;
	spec.headers[0] = "x-ms-version: " BLOB_API_VERSION;
	spec.headers[1] = "Accept: */*";
	/* An ETag is quoted, or weak (W/"..."); "(no ETag)" is not. */
	if (o->have && o->version != NULL && (o->version[0] == '"' ||
	    strncmp(o->version, "W/", 2) == 0)) {
		if (buf_appendf(&inm, "If-None-Match: %s", o->version) == -1) {
			log_msg(LOG_ERROR, "sync: out of memory");
			return (-1);
		}
		spec.headers[2] = inm.data;
	}
	spec.max_body = o->cfg->max_size;
	log_kv(LOG_DEBUG, "fetching", "object", o->cfg->name, "url",
	    o->cfg->url, "if_none_match", o->have ? o->version : NULL, NULL);
	o->req = http_request(s->http, &spec, blob_done, o);
	buf_wipe(&inm);
	if (o->req == NULL)
		return (-1);
	o->state = O_INFLIGHT;
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
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->cfg->type != OBJ_BLOB &&
		    s->objs[i]->state == O_QUEUED)
			return (1);
	return (0);
}

/* pump() for a queued blob: start it if the storage token is there. */
static void
blob_pump(struct sync *s, struct obj *o)
{
	struct auth *a;
	const char *token;
	uint64_t gen = 0;

	if ((a = blob_auth(s)) == NULL) {
		obj_failure(o, "out of memory", NULL, 1, -1);
		return;
	}
	if ((token = auth_token(a, &gen)) == NULL) {
		/* A tenant is learnt only from Key Vault's challenge. */
		if (auth_needs_tenant(a) && !tenant_coming(s))
			obj_failure(o, "no tenant for the storage token",
			    "set auth.tenant_id (or AZURE_TENANT_ID)", 0, -1);
		return;		/* sync_auth_event() resumes */
	}
	o->gen = gen;
	if (blob_start(s, o, token) == -1)
		obj_failure(o, "cannot start request", NULL, 1, -1);
}

/* ---------------------------------------------------------------------- */
/* Scheduling                                                             */

static int
start_fetch(struct sync *s, struct obj *o, const char *token)
{
	char *url;

	if ((url = kv_secret_url(o->cfg->vault, o->cfg->name,
	    o->cfg->version)) == NULL) {
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

/* No tenant yet: ask Key Vault without a token, for its challenge. */
static void
start_probe(struct sync *s, struct obj *o)
{

	if (start_fetch(s, o, NULL) == -1) {
		obj_failure(o, "cannot start request", NULL, 1, -1);
		return;
	}
	o->probe = 1;
	s->probing = 1;
}

/* Start requests for queued objects while there is room and a token. */
static void
pump(struct sync *s)
{
	const char *token = NULL;
	uint64_t gen = 0;
	size_t i;
	int waiting = 0;

	if (s->finished)
		return;
	for (i = 0; i < s->nobjs && s->inflight < s->cfg->concurrency; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_QUEUED)
			continue;
		if (o->cfg->type == OBJ_BLOB) {
			blob_pump(s, o);
			continue;
		}
		if (waiting)
			continue;
		if (token == NULL &&
		    (token = auth_token(s->auth, &gen)) == NULL) {
			if (auth_needs_tenant(s->auth) && !s->probing)
				start_probe(s, o);
			waiting = 1;	/* sync_auth_event() resumes */
			continue;
		}
		o->gen = gen;
		if (start_fetch(s, o, token) == -1)
			obj_failure(o, "cannot start request", NULL, 1, -1);
	}
	if (!busy(s))
		maybe_commit(s);
	once_check(s);
	schedule(s);
}

/* Arm the wake timer for the earliest due object (or commit retry). */
static void
schedule(struct sync *s)
{
	int64_t next = INT64_MAX, now;
	size_t i;

	ev_timer_stop(s->loop, &s->wake);
	if (s->finished)
		return;
	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->state == O_IDLE && s->objs[i]->due < next)
			next = s->objs[i]->due;
	if (s->dirty && s->commit_retry != 0 && s->commit_retry < next)
		next = s->commit_retry;
	if (next == INT64_MAX)
		return;
	now = mono_ms();
	ev_timer_set(&s->wake, next > now ? (double)(next - now) / 1000. : 0.,
	    0.);
	ev_timer_start(s->loop, &s->wake);
}

/* ev_timer: queue every object that is due. */
static void
wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sync *s = w->data;
	int64_t now = mono_ms(), cycle;
	size_t i;

	cycle = now + (int64_t)backoff_jitter(s->cfg->interval_ms,
	    rand_unit());
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_IDLE || o->due > now + BATCH_SLACK_MS)
			continue;
		o->state = O_QUEUED;
		o->next_cycle = cycle;
	}
	if (s->commit_retry != 0 && s->commit_retry <= now)
		s->commit_retry = 0;
	pump(s);
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                             */

static struct obj *
obj_new(struct sync *s, const struct akvd_object *cfg)
{
	struct obj *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	o->s = s;
	o->cfg = cfg;
	o->state = O_IDLE;
	o->due = mono_ms();
	o->last_ok = o->due;
	return (o);
}

/* Adopt the values of the snapshot already on disk. */
static void
adopt_existing(struct sync *s)
{
	size_t i, n = 0;
	char count[32];

	if (writer_cleanup(s->cfg->output_dir) == -1)
		return;
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (writer_read(s->cfg->output_dir, o->cfg->alias,
		    &o->data) == 0) {
			o->have = 1;
			n++;
		} else
			buf_wipe(&o->data);
	}
	if (n > 0) {
		snprintf(count, sizeof(count), "%zu", n);
		log_kv(LOG_INFO, "adopted the existing snapshot until Key "
		    "Vault confirms it", "dir", s->cfg->output_dir,
		    "objects", count, NULL);
	}
}

struct sync *
sync_new(struct ev_loop *loop, struct http *http, struct auth *auth,
    struct akvd_config *cfg, int once, sync_done_fn *fn, void *cookie)
{
	struct sync *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto oom;
	s->loop = loop;
	s->http = http;
	s->auth = auth;
	s->once = once;
	s->done_fn = fn;
	s->done_cookie = cookie;
	s->dirty = 1;		/* the first snapshot is always written */
	ev_init(&s->wake, wake_cb);
	s->wake.data = s;
	if ((s->objs = calloc(cfg->nobjects + 1, sizeof(*s->objs))) == NULL)
		goto oom;
	for (i = 0; i < cfg->nobjects; i++) {
		if ((s->objs[i] = obj_new(s, &cfg->objects[i])) == NULL)
			goto oom;
		s->nobjs++;
	}
	s->cfg = cfg;
	(void)metrics_objects(cfg);
	adopt_existing(s);
	schedule(s);
	return (s);

oom:
	log_msg(LOG_ERROR, "sync: out of memory");
	if (s != NULL) {
		for (i = 0; i < s->nobjs; i++)
			obj_free(s->objs[i]);
		free(s->objs);
		free(s);
	}
	return (NULL);
}

int
sync_reload(struct sync *s, struct akvd_config *cfg)
{
	struct obj **objs, *o;
	size_t i, j;
	int64_t now = mono_ms();
	int changed = 0;
	char count[32];

	if ((objs = calloc(cfg->nobjects + 1, sizeof(*objs))) == NULL) {
		log_msg(LOG_ERROR, "sync: out of memory");
		return (-1);
	}
	/* Keep the state of objects that fetch the same thing. */
	for (i = 0; i < cfg->nobjects; i++) {
		for (j = 0; j < s->nobjs; j++) {
			o = s->objs[j];
			if (o == NULL || !config_object_same_source(o->cfg,
			    &cfg->objects[i]))
				continue;
			if (strcmp(o->cfg->alias, cfg->objects[i].alias) != 0 ||
			    o->cfg->mode != cfg->objects[i].mode)
				changed = 1;
			o->cfg = &cfg->objects[i];
			objs[i] = o;
			s->objs[j] = NULL;
			break;
		}
	}
	for (i = 0; i < cfg->nobjects; i++) {
		if (objs[i] != NULL)
			continue;
		if ((objs[i] = obj_new(s, &cfg->objects[i])) == NULL)
			goto oom;
		changed = 1;
	}
	for (j = 0; j < s->nobjs; j++) {
		if (s->objs[j] != NULL) {
			obj_free(s->objs[j]);
			changed = 1;
		}
	}
	free(s->objs);
	s->objs = objs;
	s->nobjs = cfg->nobjects;
	if (strcmp(s->cfg->output_dir, cfg->output_dir) != 0) {
		changed = 1;
		writer_cleanup(cfg->output_dir);
	}
	if (cfg->interval_ms < s->cfg->interval_ms) {
		for (i = 0; i < s->nobjs; i++) {
			o = s->objs[i];
			if (o->state == O_IDLE && o->failures == 0 &&
			    o->due > now + (int64_t)cfg->interval_ms)
				o->due = now + (int64_t)cfg->interval_ms;
		}
	}
	config_free(s->cfg);
	s->cfg = cfg;
	(void)metrics_objects(cfg);
	if (changed)
		s->dirty = 1;
	snprintf(count, sizeof(count), "%zu", s->nobjs);
	log_kv(LOG_INFO, "configuration applied", "objects", count, NULL);
	/*
	 * Fetch and commit from the loop, not from here: a snapshot now would
	 * reach the caller's hooks before it points them at ${cfg} (the old
	 * configuration they hold is freed above).
	 */
	ev_timer_stop(s->loop, &s->wake);
	ev_timer_set(&s->wake, 0., 0.);
	ev_timer_start(s->loop, &s->wake);
	return (0);

oom:
	/* Put the kept objects back where they were. */
	for (i = 0; i < cfg->nobjects; i++) {
		if (objs[i] == NULL)
			continue;
		for (j = 0; j < s->nobjs; j++) {
			if (s->objs[j] == NULL &&
			    config_object_same_source(objs[i]->cfg,
			    &s->cfg->objects[j])) {
				objs[i]->cfg = &s->cfg->objects[j];
				s->objs[j] = objs[i];
				objs[i] = NULL;
				break;
			}
		}
		obj_free(objs[i]);
	}
	free(objs);
	log_msg(LOG_ERROR, "sync: out of memory");
	return (-1);
}

void
sync_resync(struct sync *s)
{
	int64_t now = mono_ms();
	size_t i;

	log_msg(LOG_INFO, "resync requested: fetching every object");
	for (i = 0; i < s->nobjs; i++) {
		struct obj *o = s->objs[i];

		if (o->state != O_IDLE)
			continue;
		o->due = o->not_before > now ? o->not_before : now;
	}
	schedule(s);
}

void
sync_auth_event(struct sync *s, int ok)
{
	size_t i;

	if (s->finished)
		return;
	if (!ok && s->once) {
		for (i = 0; i < s->nobjs; i++) {
			struct obj *o = s->objs[i];
			struct auth *a = o->cfg->type == OBJ_BLOB ?
			    blob_auth(s) : s->auth;

			if (o->state != O_QUEUED && o->state != O_IDLE)
				continue;
			if (a == NULL || !(auth_failed_permanently(a) ||
			    auth_failures(a) >= ONCE_AUTH_ATTEMPTS))
				continue;
			snprintf(o->reason, sizeof(o->reason),
			    "no access token");
			o->attempted = 1;
			o->state = O_SETTLED;
		}
	}
	pump(s);
}

void
sync_on_snapshot(struct sync *s, sync_snapshot_fn *fn, void *cookie)
{

	s->snap_fn = fn;
	s->snap_cookie = cookie;
}

void
sync_status(const struct sync *s, char *buf, size_t len)
{
	size_t i, failing = 0;
	struct tm tm;
	char when[32] = "none yet";

	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i]->failures > 0)
			failing++;
	if (s->committed) {
		gmtime_r(&s->last_commit, &tm);
		strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	}
	snprintf(buf, len, "%zu objects, %zu failing, last snapshot %s",
	    s->nobjs, failing, when);
}

int
sync_ready(const struct sync *s, char *why, size_t len)
{
	int64_t now = mono_ms(), limit, stale;
	size_t i;

	if (!s->committed) {
		snprintf(why, len, "no snapshot written yet");
		return (0);
	}
	limit = (int64_t)s->cfg->ready_max_failed *
	    (int64_t)s->cfg->interval_ms;
	/*
	 * An object that cannot even be tried (no access token) is not
	 * "failing", but it is stale: one interval (+10% jitter, + timeout)
	 * more than that without a success counts as well.
	 */
	stale = ((int64_t)s->cfg->ready_max_failed + 1) *
	    (int64_t)s->cfg->interval_ms * 11 / 10 +
	    (int64_t)s->cfg->timeout_ms;
	for (i = 0; i < s->nobjs; i++) {
		const struct obj *o = s->objs[i];

		if (o->cfg->optional)
			continue;
		if (!o->have) {
			snprintf(why, len, "%s: no value yet: %s",
			    o->cfg->name, o->reason[0] != '\0' ? o->reason :
			    "not fetched");
			return (0);
		}
		if (o->failures > 0 && now - o->failing_since > limit) {
			snprintf(why, len, "%s: failing for %llds: %s",
			    o->cfg->name,
			    (long long)((now - o->failing_since) / 1000),
			    o->reason);
			return (0);
		}
		if (now - o->last_ok > stale) {
			snprintf(why, len, "%s: no successful fetch for %llds: "
			    "%s", o->cfg->name,
			    (long long)((now - o->last_ok) / 1000),
			    o->failures > 0 ? o->reason :
			    auth_failures(s->auth) > 0 ? "no access token" :
			    "not fetched");
			return (0);
		}
	}
	snprintf(why, len, "ready");
	return (1);
}

int
sync_value(const struct sync *s, const char *name, const char **data,
    size_t *len)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		const struct obj *o = s->objs[i];

		if (!o->have || (strcmp(o->cfg->name, name) != 0 &&
		    strcmp(o->cfg->alias, name) != 0))
			continue;
		*data = o->data.data != NULL ? o->data.data : "";
		*len = o->data.len;
		return (0);
	}
	return (-1);
}

const struct akvd_config *
sync_config(const struct sync *s)
{

	return (s->cfg);
}

void
sync_free(struct sync *s)
{
	size_t i;

	if (s == NULL)
		return;
	ev_timer_stop(s->loop, &s->wake);
	for (i = 0; i < s->nobjs; i++)
		obj_free(s->objs[i]);
	free(s->objs);
	config_free(s->cfg);
	free(s);
}
