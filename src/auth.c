/*
 * auth.c - the access token akvd presents to Key Vault.
 *
 * States: no token / token usable; independently, a request may be in
 * flight and one timer is armed for whatever comes next (the first
 * request, a retry after a failure, or the early renewal).  Requests are
 * only ever started from that timer, so callers of auth_token() never see
 * the event callback run under them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "backoff.h"
#include "entra.h"
#include "log.h"
#include "util.h"

#define AUTH_RETRY_BASE_MS	1000
#define AUTH_RETRY_CAP_MS	(60 * 1000)
#define AUTH_MAX_ASSERTION	(64 * 1024)

struct auth {
	struct ev_loop	*loop;
	struct http	*http;
	struct akvd_auth cfg;		/* strings owned */
	char		*scope;
	auth_event_fn	*fn;
	void		*cookie;

	char		*token;		/* wiped on release */
	uint64_t	 gen;		/* generation of token */
	struct token_times times;	/* wall clock seconds */

	struct http_req	*req;		/* in flight, or NULL */
	ev_timer	 timer;		/* next request */
	int		 scheduled;	/* timer armed for a request */
	unsigned	 failures;	/* consecutive */
	long		 last_code;	/* last AADSTS code logged */
};

static void	auth_schedule(struct auth *, double);

static int64_t
wall_now(void)
{

	return ((int64_t)time(NULL));
}

static void
cfg_clear(struct akvd_auth *c)
{

	free(c->tenant_id);
	free(c->client_id);
	free(c->token_file);
	free(c->authority_host);
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

	memset(dst, 0, sizeof(*dst));
	dst->method = src->method;
	dst->tenant_id = dup_or_null(src->tenant_id, &err);
	dst->client_id = dup_or_null(src->client_id, &err);
	dst->token_file = dup_or_null(src->token_file, &err);
	dst->authority_host = dup_or_null(src->authority_host, &err);
	if (err) {
		cfg_clear(dst);
		return (-1);
	}
	return (0);
}

static int
str_eq(const char *a, const char *b)
{

	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static void
drop_token(struct auth *a)
{

	str_wipe_free(a->token);
	a->token = NULL;
	memset(&a->times, 0, sizeof(a->times));
}

/*
 * Log a failure: every time the reason changes, then with growing
 * intervals (1st, 2nd, 4th, 8th... identical failure) so an outage does not
 * flood the log.
 */
static int
worth_logging(struct auth *a, long code)
{
	unsigned n = a->failures + 1;	/* this failure's number */

	if (code != a->last_code) {
		a->last_code = code;
		return (1);
	}
	return ((n & (n - 1)) == 0);
}

/* Read the projected service-account token, by path, every time. */
static char *
read_assertion(const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_kv(LOG_ERROR, "cannot read the federated token file",
		    "path", path, "error", strerror(errno),
		    "hint", errno == ENOENT ? "is the service account token "
		    "volume projected (azure.workload.identity/use label)?" :
		    "check the file's permissions", NULL);
		return (NULL);
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t)n > AUTH_MAX_ASSERTION) {
			n = -1;
			errno = EFBIG;
			break;
		}
		if (buf_append(&b, chunk, (size_t)n) == -1) {
			n = -1;
			errno = ENOMEM;
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	if (n < 0) {
		log_kv(LOG_ERROR, "cannot read the federated token file",
		    "path", path, "error", strerror(errno), NULL);
		buf_wipe(&b);
		return (NULL);
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
	    b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		log_kv(LOG_ERROR, "the federated token file is empty",
		    "path", path, NULL);
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);	/* NUL-terminated by buf_append */
}

/* A request failed: count it, keep a usable token, retry with backoff. */
static void
failed(struct auth *a, int notify)
{
	uint64_t ms;
	int64_t left;

	a->failures++;
	ms = backoff_delay(a->failures, AUTH_RETRY_BASE_MS,
	    AUTH_RETRY_CAP_MS, rand_unit());
	if (a->token != NULL) {
		left = a->times.usable_until - wall_now();
		if (left <= 0)
			drop_token(a);
		else if ((uint64_t)left * 1000 < ms)
			ms = (uint64_t)left * 1000;
	}
	auth_schedule(a, ms / 1000.0);
	if (notify && a->fn != NULL)
		a->fn(a->token != NULL, a->cookie);
}

static void
log_entra_error(struct auth *a, const struct http_response *r)
{
	struct entra_error e;
	const char *hint;
	char code[32], status[16];

	snprintf(status, sizeof(status), "%ld", r->status);
	if (entra_parse_error(r->body.data, r->body.len, &e) == -1) {
		if (worth_logging(a, -r->status))
			log_kv(LOG_ERROR, "token request refused by Entra ID",
			    "status", status, "tenant", a->cfg.tenant_id,
			    "client_id", a->cfg.client_id,
			    "error", "unrecognized response body", NULL);
		return;
	}
	if (!worth_logging(a, e.code))
		return;
	snprintf(code, sizeof(code), "AADSTS%ld", e.code);
	hint = entra_hint(e.code);
	log_kv(LOG_ERROR, "token request refused by Entra ID",
	    "status", status, "code", e.code != 0 ? code : e.error,
	    "tenant", a->cfg.tenant_id, "client_id", a->cfg.client_id,
	    "description", e.description,
	    "hint", hint != NULL ? hint : "see the description", NULL);
}

/* HTTP completion of a token request. */
static void
token_done(struct http_response *r, void *cookie)
{
	struct auth *a = cookie;
	struct entra_token t;
	struct token_times times;
	char err[256], exp[32], renew[32];
	int64_t now;

	a->req = NULL;
	if (r->failed) {
		if (worth_logging(a, -1))
			log_kv(LOG_ERROR, "token request failed",
			    "url_host", a->cfg.authority_host,
			    "error", r->error, NULL);
		failed(a, 1);
		return;
	}
	if (r->status != 200) {
		log_entra_error(a, r);
		failed(a, 1);
		return;
	}
	if (entra_parse_token(r->body.data, r->body.len, &t, err,
	    sizeof(err)) == -1) {
		if (worth_logging(a, -2))
			log_kv(LOG_ERROR, "bad token response from Entra ID",
			    "error", err, NULL);
		failed(a, 1);
		return;
	}
	now = wall_now();
	token_schedule(now, t.expires_in, t.refresh_in, &times);
	drop_token(a);
	a->token = t.access_token;	/* ownership moves */
	t.access_token = NULL;
	entra_token_clear(&t);
	a->times = times;
	a->gen++;
	if (a->failures > 0)
		log_kv(LOG_INFO, "token request succeeded after failures",
		    NULL);
	a->failures = 0;
	a->last_code = 0;
	snprintf(exp, sizeof(exp), "%lld", (long long)(times.expires_on - now));
	snprintf(renew, sizeof(renew), "%lld",
	    (long long)(times.renew_at - now));
	log_kv(LOG_INFO, "access token acquired", "scope", a->scope,
	    "expires_in", exp, "renew_in", renew, NULL);
	auth_schedule(a, (double)(times.renew_at - now));
	if (a->fn != NULL)
		a->fn(1, a->cookie);
}

/* Start a token request now. */
static void
request(struct auth *a)
{
	char *assertion, *form, *url;

	if ((assertion = read_assertion(a->cfg.token_file)) == NULL) {
		failed(a, 1);
		return;
	}
	form = entra_assertion_form(a->cfg.client_id, a->scope, assertion);
	str_wipe_free(assertion);
	url = entra_token_url(a->cfg.authority_host, a->cfg.tenant_id);
	if (form == NULL || url == NULL) {
		log_msg(LOG_ERROR, "auth: out of memory");
		str_wipe_free(form);
		free(url);
		failed(a, 1);
		return;
	}
	log_kv(LOG_DEBUG, "requesting access token", "url", url, NULL);
	a->req = http_post_form(a->http, url, form, token_done, a);
	str_wipe_free(form);
	free(url);
	if (a->req == NULL)
		failed(a, 1);
}

/* ev_timer: time for the next token request. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct auth *a = w->data;

	a->scheduled = 0;
	if (a->req == NULL)
		request(a);
}

static void
auth_schedule(struct auth *a, double after)
{

	if (after < 0)
		after = 0;
	ev_timer_stop(a->loop, &a->timer);
	ev_timer_set(&a->timer, after, 0.);
	ev_timer_start(a->loop, &a->timer);
	a->scheduled = 1;
}

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
	ev_init(&a->timer, timer_cb);
	a->timer.data = a;
	if (cfg_copy(&a->cfg, cfg) == -1)
		goto oom;
	if ((a->scope = strdup(scope)) == NULL)
		goto oom;
	return (a);

oom:
	log_msg(LOG_ERROR, "auth: out of memory");
	if (a != NULL) {
		cfg_clear(&a->cfg);
		free(a);
	}
	return (NULL);
}

int
auth_reconfigure(struct auth *a, const struct akvd_auth *cfg)
{
	struct akvd_auth n;
	int same;

	if (cfg_copy(&n, cfg) == -1) {
		log_msg(LOG_ERROR, "auth: out of memory");
		return (-1);
	}
	same = n.method == a->cfg.method &&
	    str_eq(n.tenant_id, a->cfg.tenant_id) &&
	    str_eq(n.client_id, a->cfg.client_id) &&
	    str_eq(n.token_file, a->cfg.token_file) &&
	    str_eq(n.authority_host, a->cfg.authority_host);
	cfg_clear(&a->cfg);
	a->cfg = n;
	if (!same) {
		log_msg(LOG_INFO, "identity changed: dropping the cached "
		    "access token");
		http_cancel(a->req);
		a->req = NULL;
		ev_timer_stop(a->loop, &a->timer);
		a->scheduled = 0;
		a->failures = 0;
		a->last_code = 0;
		drop_token(a);
		a->gen++;
	}
	return (0);
}

const char *
auth_token(struct auth *a, uint64_t *gen)
{

	if (a->token != NULL && wall_now() >= a->times.usable_until) {
		log_msg(LOG_WARN, "access token expired before it could be "
		    "renewed");
		drop_token(a);
	}
	if (a->token != NULL) {
		if (gen != NULL)
			*gen = a->gen;
		return (a->token);
	}
	if (a->req == NULL && !a->scheduled)
		auth_schedule(a, 0);
	return (NULL);
}

void
auth_invalidate(struct auth *a, uint64_t gen)
{

	if (a->token == NULL || gen != a->gen)
		return;
	log_msg(LOG_WARN, "Key Vault refused the access token: "
	    "requesting a new one");
	drop_token(a);
	if (a->req == NULL) {
		ev_timer_stop(a->loop, &a->timer);
		a->scheduled = 0;
	}
}

unsigned
auth_failures(const struct auth *a)
{

	return (a->failures);
}

void
auth_free(struct auth *a)
{

	if (a == NULL)
		return;
	http_cancel(a->req);
	ev_timer_stop(a->loop, &a->timer);
	drop_token(a);
	cfg_clear(&a->cfg);
	free(a->scope);
	free(a);
}
