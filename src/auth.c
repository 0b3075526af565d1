/*
 * auth.c - the access tokens akvd presents to Key Vault and Blob Storage:
 * the token cache and its scheduler.
 *
 * States: no token / token usable; independently, a request may be in
 * flight and one timer is armed for whatever comes next (the first
 * request, a retry after a failure, or the early renewal).  Requests are
 * only ever started from that timer, so callers of auth_token() never see
 * the event callback run under them.  The requests themselves, per
 * method, and their answers are auth_request.c's.
 *
 * Files (projected token, secret, certificate) are read by path at every
 * request, and an inotify watch on their directory retries a failed
 * request as soon as one of them changes.
 *
 * More scopes (Blob Storage's) are more struct auth, hung off the first
 * one by auth_scope(): each with its own token, timer and request, sharing
 * the credential, the tenant and the event callback.  A secondary scope's
 * token is renewed only if it was asked for since it was acquired.
 * A reload is auth_prepare() (copies, for every scope), then auth_commit().
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "auth_int.h"
#include "backoff.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define AUTH_RETRY_BASE_MS	1000
#define AUTH_RETRY_CAP_MS	(60 * 1000)
#define AUTH_MIN_GAP_S		1.0	/* between two requests of a scope,
					   whatever the answers said */

int64_t
auth_wall_now(void)
{

	return ((int64_t)time(NULL));
}

/* Monotonic seconds: for the floors between requests. */
double
auth_mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* ---------------------------------------------------------------------- */
/* Configuration copies                                                   */

static void
cfg_clear(struct akvd_auth *c)
{

	free(c->tenant_id);
	free(c->client_id);
	free(c->token_file);
	free(c->authority_host);
	free(c->client_secret_file);
	free(c->certificate_file);
	free(c->object_id);
	free(c->resource_id);
	free(c->imds_endpoint);
	free(c->identity_endpoint);
	memset(c, 0, sizeof(*c));
}

static char *
dup_or_null(const char *s, int *err)
{
	char *d;

	if (s == NULL)
		return (NULL);
	if ((d = strdup(s)) == NULL)
		*err = 1;
	return (d);
}

static int
cfg_copy(struct akvd_auth *dst, const struct akvd_auth *src)
{
	int err = 0;

	*dst = *src;		/* scalars and method_why */
	dst->tenant_id = dup_or_null(src->tenant_id, &err);
	dst->client_id = dup_or_null(src->client_id, &err);
	dst->token_file = dup_or_null(src->token_file, &err);
	dst->authority_host = dup_or_null(src->authority_host, &err);
	dst->client_secret_file = dup_or_null(src->client_secret_file, &err);
	dst->certificate_file = dup_or_null(src->certificate_file, &err);
	dst->object_id = dup_or_null(src->object_id, &err);
	dst->resource_id = dup_or_null(src->resource_id, &err);
	dst->imds_endpoint = dup_or_null(src->imds_endpoint, &err);
	dst->identity_endpoint = dup_or_null(src->identity_endpoint, &err);
	if (err) {
		cfg_clear(dst);
		return (-1);
	}
	return (0);
}

static int
same_identity(const struct akvd_auth *a, const struct akvd_auth *b)
{

	return (a->method == b->method && str_equal(a->tenant_id, b->tenant_id) &&
	    str_equal(a->client_id, b->client_id) &&
	    str_equal(a->token_file, b->token_file) &&
	    str_equal(a->authority_host, b->authority_host) &&
	    str_equal(a->client_secret_file, b->client_secret_file) &&
	    str_equal(a->certificate_file, b->certificate_file) &&
	    str_equal(a->object_id, b->object_id) &&
	    str_equal(a->resource_id, b->resource_id) &&
	    str_equal(a->imds_endpoint, b->imds_endpoint) &&
	    str_equal(a->identity_endpoint, b->identity_endpoint));
}

/* Methods that ask Entra ID directly, and so need a tenant. */
int
auth_uses_entra(const struct akvd_auth *c)
{

	return (c->method == AUTH_WORKLOAD_IDENTITY ||
	    c->method == AUTH_CLIENT_SECRET ||
	    c->method == AUTH_CLIENT_CERTIFICATE);
}

/* The file whose directory is worth watching, or NULL. */
static const char *
watched_file(const struct akvd_auth *c)
{

	switch (c->method) {
	case AUTH_WORKLOAD_IDENTITY:
		return (c->token_file);
	case AUTH_CLIENT_SECRET:
		return (c->client_secret_file);
	case AUTH_CLIENT_CERTIFICATE:
		return (c->certificate_file);
	default:
		return (NULL);
	}
}

void
auth_drop_token(struct auth *a)
{

	str_wipe_free(a->token);
	a->token = NULL;
	memset(&a->times, 0, sizeof(a->times));
}

/* ---------------------------------------------------------------------- */
/* Scheduling                                                             */

/*
 * A request failed: count it, keep a usable token, retry with backoff.
 * ${permanent} failures (a configuration Entra or IMDS refuses) are
 * retried at the backoff cap: they need a person, not a quick retry.  A
 * usable token makes the retry come before it lapses, unless the server
 * sent Retry-After (${retry_after_ms} >= 0): that is a floor on the next
 * attempt whatever else holds (see auth_schedule).
 */
void
auth_failed(struct auth *a, int permanent, long retry_after_ms)
{
	uint64_t ms;
	int64_t left;

	a->failures++;
	metrics_token(0, 0);
	a->permanent = permanent;
	ms = backoff_delay(permanent ? 64 : a->failures, AUTH_RETRY_BASE_MS,
	    AUTH_RETRY_CAP_MS, rand_unit());
	if (a->token != NULL) {
		left = a->times.usable_until - auth_wall_now();
		if (left <= 0)
			auth_drop_token(a);
		else if ((uint64_t)left * 1000 < ms)
			ms = (uint64_t)left * 1000;
	}
	if (retry_after_ms >= 0) {
		ms = backoff_retry_after(retry_after_ms, ms);
		a->not_before = auth_mono_now() + backoff_retry_after(
		    retry_after_ms, 0) / 1000.0;
	}
	auth_schedule(a, ms / 1000.0);
	if (a->fn != NULL)
		a->fn(a->token != NULL, a->cookie);
}

/* ev_timer: time for the next token request. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct auth *a = w->data;

	a->scheduled = 0;
	if (a->parent != NULL && a->token != NULL && !a->used &&
	    a->failures == 0) {
		/* Nobody needs this scope any more: let the token lapse. */
		log_kv(LOG_DEBUG, "access token not renewed: unused", "scope",
		    a->scope, NULL);
		auth_drop_token(a);
		return;
	}
	if (a->req == NULL)
		auth_request(a);
}

/*
 * Arm the timer for the next request in ${after} seconds, but never
 * sooner than AUTH_MIN_GAP_S after the last request started nor before a
 * Retry-After deadline: whatever a server answers (a token living 1 s, a
 * refusal of a fresh token, a change of file), requests of a scope cannot
 * come faster than that.  Every request is started from this timer.
 */
void
auth_schedule(struct auth *a, double after)
{
	double now = auth_mono_now(), floor;

	if (after < 0)
		after = 0;
	floor = a->last_start > 0 ? a->last_start + AUTH_MIN_GAP_S - now : 0;
	if (after < floor)
		after = floor;
	if (after < a->not_before - now)
		after = a->not_before - now;
	ev_timer_stop(a->loop, &a->timer);
	ev_timer_set(&a->timer, after, 0.);
	ev_timer_start(a->loop, &a->timer);
	a->scheduled = 1;
}

/* ---------------------------------------------------------------------- */
/* Watching the credential's directory                                    */

/* ev_io: something happened in the watched directory. */
static void
inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct auth *a = w->data;
	char buf[4096] __attribute__((aligned(__alignof__(
	    struct inotify_event))));
	ssize_t n;
	int changed = 0;

	while ((n = read(a->ifd, buf, sizeof(buf))) > 0)
		changed = 1;
	/*
	 * A fresh token (kubelet: IN_MOVED_TO "..data"), secret or
	 * certificate: retry a failed request now instead of waiting.
	 */
	if (changed && a->failures > 0 && a->req == NULL) {
		log_msg(LOG_INFO, "credential file changed: retrying the "
		    "token request now");
		a->last_code = 0;
		auth_schedule(a, 0);
	}
}

static void
watch_stop(struct auth *a)
{

	if (a->ifd == -1)
		return;
	ev_io_stop(a->loop, &a->inotify);
	close(a->ifd);
	a->ifd = -1;
	a->wd = -1;
}

/* Watch the directory of the credential file, if the method has one. */
static void
watch_start(struct auth *a)
{
	const char *file = watched_file(&a->cfg);
	char dir[PATH_MAX], *slash;

	watch_stop(a);
	if (file == NULL || strlen(file) >= sizeof(dir))
		return;
	strcpy(dir, file);
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*slash = '\0';
	if (dir[0] == '\0')
		strcpy(dir, "/");
	if ((a->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return;
	a->wd = inotify_add_watch(a->ifd, dir, IN_CREATE | IN_MOVED_TO |
	    IN_CLOSE_WRITE);
	if (a->wd == -1) {
		log_kv(LOG_WARN, "cannot watch the credential's directory",
		    "dir", dir, "error", strerror(errno), NULL);
		close(a->ifd);
		a->ifd = -1;
		return;
	}
	ev_io_init(&a->inotify, inotify_cb, a->ifd, EV_READ);
	a->inotify.data = a;
	ev_io_start(a->loop, &a->inotify);
}

/* ---------------------------------------------------------------------- */
/* Interface                                                              */

struct auth *
auth_new(struct ev_loop *loop, struct http *http,
    const struct akvd_auth *cfg, const char *scope, auth_event_fn *fn,
    void *cookie)
{
	struct auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto oom;
	a->loop = loop;
	a->http = http;
	a->fn = fn;
	a->cookie = cookie;
	a->ifd = a->wd = -1;
	ev_init(&a->timer, timer_cb);
	a->timer.data = a;
	if (cfg_copy(&a->cfg, cfg) == -1)
		goto oom;
	if ((a->scope = strdup(scope)) == NULL)
		goto oom;
	if (cfg->tenant_id != NULL && (a->tenant = strdup(cfg->tenant_id)) ==
	    NULL)
		goto oom;
	watch_start(a);
	return (a);

oom:
	log_msg(LOG_ERROR, "auth: out of memory");
	if (a != NULL) {
		cfg_clear(&a->cfg);
		free(a->scope);
		free(a);
	}
	return (NULL);
}

/* Release the secondary scopes of ${a}. */
static void
free_scopes(struct auth *a)
{
	struct auth *c;

	while ((c = a->scopes) != NULL) {
		a->scopes = c->next;
		c->next = NULL;
		auth_free(c);
	}
}

/*
 * auth_scope(a, scope): the token cache of ${a}'s identity for ${scope}:
 * ${a} itself for its own scope, else a secondary one created on first
 * use (e.g. Blob Storage's), which shares ${a}'s credential, tenant and
 * event callback, renews its token only while it is asked for, and lives
 * until auth_free(a) or a change of identity (do not keep the pointer
 * across auth_commit).  No request is made until auth_token() is
 * called on it.  Returns NULL on ENOMEM (logged).
 */
struct auth *
auth_scope(struct auth *a, const char *scope)
{
	struct auth *c;

	if (a->parent != NULL)
		a = a->parent;
	if (strcmp(a->scope, scope) == 0)
		return (a);
	for (c = a->scopes; c != NULL; c = c->next)
		if (strcmp(c->scope, scope) == 0)
			return (c);
	if ((c = auth_new(a->loop, a->http, &a->cfg, scope, a->fn,
	    a->cookie)) == NULL)
		return (NULL);
	if (a->tenant != NULL && c->tenant == NULL &&
	    (c->tenant = strdup(a->tenant)) == NULL) {
		log_msg(LOG_ERROR, "auth: out of memory");
		auth_free(c);
		return (NULL);
	}
	c->parent = a;
	c->next = a->scopes;
	a->scopes = c;
	return (c);
}

/*
 * What auth_commit() applies to one struct auth: copies made by
 * auth_prepare(), so that the commit allocates nothing.
 */
struct auth_change {
	struct auth	*a;
	struct akvd_auth cfg;		/* owned until committed */
	char		*tenant;	/* primary, new identity: owned */
	char		*scope;		/* primary, new identity: owned */
};

struct auth_pending {
	int		 keep;		/* same identity and scope: the
					   primary keeps its token */
	int		 same;		/* same identity: every secondary
					   scope keeps its token */
	size_t		 n;		/* changes[0] is the primary's */
	struct auth_change changes[];
};

void
auth_abort(struct auth_pending *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		cfg_clear(&p->changes[i].cfg);
		free(p->changes[i].tenant);
		free(p->changes[i].scope);
	}
	free(p);
}

int
auth_prepare(struct auth *a, const struct akvd_auth *cfg, const char *scope,
    struct auth_pending **pp)
{
	struct auth_pending *p;
	struct auth *c;
	size_t n = 1;

	*pp = NULL;
	for (c = a->scopes; c != NULL; c = c->next)
		n++;
	if ((p = calloc(1, sizeof(*p) + n * sizeof(p->changes[0]))) == NULL)
		goto oom;
	p->same = same_identity(cfg, &a->cfg);
	p->keep = p->same && strcmp(scope, a->scope) == 0;
	p->changes[0].a = a;
	p->n = 1;
	if (cfg_copy(&p->changes[0].cfg, cfg) == -1)
		goto oom;
	if (!p->keep && ((cfg->tenant_id != NULL && (p->changes[0].tenant =
	    strdup(cfg->tenant_id)) == NULL) ||
	    (p->changes[0].scope = strdup(scope)) == NULL))
		goto oom;
	/* Same credential: the other scopes keep their tokens. */
	for (c = a->scopes; p->same && c != NULL; c = c->next) {
		p->changes[p->n].a = c;
		if (cfg_copy(&p->changes[p->n].cfg, cfg) == -1)
			goto oom;
		p->n++;
	}
	*pp = p;
	return (0);
oom:
	log_msg(LOG_ERROR, "auth: out of memory");
	auth_abort(p);
	return (-1);
}

void
auth_commit(struct auth *a, struct auth_pending *p)
{
	struct auth_change *ch;
	size_t i;

	if (p->same) {
		for (i = 1; i < p->n; i++) {
			ch = &p->changes[i];
			cfg_clear(&ch->a->cfg);
			ch->a->cfg = ch->cfg;
			memset(&ch->cfg, 0, sizeof(ch->cfg));
		}
	} else
		free_scopes(a);
	ch = &p->changes[0];
	cfg_clear(&a->cfg);
	a->cfg = ch->cfg;
	memset(&ch->cfg, 0, sizeof(ch->cfg));
	if (p->keep) {
		auth_abort(p);
		return;
	}
	log_msg(LOG_INFO, "identity changed: dropping the cached access "
	    "token");
	free(a->scope);
	a->scope = ch->scope;
	ch->scope = NULL;
	free(a->tenant);
	a->tenant = ch->tenant;
	ch->tenant = NULL;
	http_cancel(a->req);
	a->req = NULL;
	ev_timer_stop(a->loop, &a->timer);
	a->scheduled = 0;
	a->failures = 0;
	a->permanent = 0;
	a->last_code = 0;
	a->not_before = 0;	/* another credential: not throttled yet */
	auth_drop_token(a);
	a->gen++;
	watch_start(a);
	auth_abort(p);
}

const char *
auth_token(struct auth *a, uint64_t *gen)
{

	if (a->token != NULL && auth_wall_now() >= a->times.usable_until) {
		log_msg(LOG_WARN, "access token expired before it could be "
		    "renewed");
		auth_drop_token(a);
	}
	a->used = 1;
	if (a->token != NULL) {
		if (gen != NULL)
			*gen = a->gen;
		return (a->token);
	}
	if (a->req == NULL && !a->scheduled && !auth_needs_tenant(a))
		auth_schedule(a, 0);
	return (NULL);
}

void
auth_invalidate(struct auth *a, uint64_t gen)
{

	if (a->token == NULL || gen != a->gen)
		return;
	if (a->parent == NULL)
		log_msg(LOG_WARN, "Key Vault refused the access token: "
		    "requesting a new one");
	else
		log_kv(LOG_WARN, "the service refused the access token: "
		    "requesting a new one", "scope", a->scope, NULL);
	auth_drop_token(a);
	if (a->req == NULL) {
		ev_timer_stop(a->loop, &a->timer);
		a->scheduled = 0;
	}
}

int
auth_needs_tenant(const struct auth *a)
{

	return (auth_uses_entra(&a->cfg) && a->tenant == NULL);
}

int
auth_set_tenant(struct auth *a, const char *tenant)
{
	struct auth *c;
	char *t;

	if ((t = strdup(tenant)) == NULL) {
		log_msg(LOG_ERROR, "auth: out of memory");
		return (-1);
	}
	free(a->tenant);
	a->tenant = t;
	if (a->parent == NULL)
		log_kv(LOG_INFO, "tenant learnt from Key Vault's challenge",
		    "tenant", t, NULL);
	for (c = a->scopes; c != NULL; c = c->next)
		if (auth_set_tenant(c, tenant) == -1)
			return (-1);
	return (0);
}

unsigned
auth_failures(const struct auth *a)
{

	return (a->failures);
}

int
auth_failed_permanently(const struct auth *a)
{

	return (a->failures > 0 && a->permanent);
}

void
auth_free(struct auth *a)
{

	if (a == NULL)
		return;
	free_scopes(a);
	http_cancel(a->req);
	ev_timer_stop(a->loop, &a->timer);
	watch_stop(a);
	auth_drop_token(a);
	cfg_clear(&a->cfg);
	free(a->tenant);
	free(a->scope);
	free(a);
}
