/*
 * auth_request.c - the token requests of auth.c, per method: the Entra ID
 * form POST (workload identity's federated token, a client secret, a
 * client assertion signed with a certificate) or a GET to IMDS or to the
 * App Service identity endpoint; then the answer, shared by all: the
 * token handed to the cache (auth.c), or the failure logged with a hint
 * and handed to auth_failed().  Credential files are read here, by path,
 * at every request.  Everything here runs from auth.c's timer or from
 * the request's completion, never under an auth_* call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assertion.h"
#include "auth.h"
#include "auth_int.h"
#include "backoff.h"
#include "entra.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define AUTH_MAX_FILE		(64 * 1024)

/* ---------------------------------------------------------------------- */
/* Failures                                                               */

/*
 * Log a failure: every time the reason changes, then with growing
 * intervals (log_repeat_due: 1st, 2nd, 4th, 8th... identical failure) so
 * an outage does not flood the log.
 */
static int
worth_logging(struct auth *a, long code)
{

	if (code != a->last_code) {
		a->last_code = code;
		return (1);
	}
	return (log_repeat_due(a->failures + 1));	/* this failure's number */
}

/* Hint for an error without an AADSTS code (IMDS, App Service). */
static const char *
identity_hint(const struct auth *a, const char *description, long status)
{

	if (strstr(description, "Identity not found") != NULL ||
	    strstr(description, "identity not found") != NULL)
		return ("this VM has no managed identity, or the client_id "
		    "(object_id, resource_id) is wrong: assign the identity "
		    "to the VM or fix auth.client_id");
	if (strstr(description, "Multiple user assigned identities") !=
	    NULL)
		return ("the VM has several user-assigned identities and "
		    "none was named: set auth.client_id (or auth.object_id, "
		    "auth.resource_id) to the one to use; its client id is "
		    "shown by `az identity show -g GROUP -n NAME --query "
		    "clientId` or in the portal (Managed Identities, the "
		    "identity, Overview, Client ID)");
	if (strstr(description, "Required metadata header") != NULL)
		return ("IMDS wants the \"Metadata: true\" header: is "
		    "something rewriting requests?");
	if (a->cfg.method == AUTH_MANAGED_IDENTITY && status == 410)
		return ("IMDS is being updated: retrying for up to 70 s");
	if (a->cfg.method == AUTH_APP_SERVICE && (status == 401 ||
	    status == 403))
		return ("the identity endpoint refused IDENTITY_HEADER: is "
		    "the app's identity enabled?");
	return (NULL);
}

static void
log_refusal(struct auth *a, const struct http_response *r)
{
	struct entra_error e;
	const char *hint, *who;
	char code[32], status[16];

	who = auth_uses_entra(&a->cfg) ? "token request refused by Entra ID" :
	    a->cfg.method == AUTH_MANAGED_IDENTITY ? "token request refused "
	    "by IMDS" : "token request refused by the identity endpoint";
	snprintf(status, sizeof(status), "%ld", r->status);
	if (entra_parse_error(r->body.data, r->body.len, &e) == -1) {
		if (worth_logging(a, -r->status))
			log_kv(LOG_ERROR, who, "status", status,
			    "method", config_auth_method_name(a->cfg.method),
			    "error", "unrecognized response body", "hint",
			    identity_hint(a, "", r->status) != NULL ?
			    identity_hint(a, "", r->status) :
			    "see the status", NULL);
		return;
	}
	if (!worth_logging(a, e.code != 0 ? e.code : -r->status))
		return;
	snprintf(code, sizeof(code), "AADSTS%ld", e.code);
	if ((hint = entra_hint(e.code)) == NULL)
		hint = identity_hint(a, e.description, r->status);
	log_kv(LOG_ERROR, who, "status", status,
	    "code", e.code != 0 ? code : e.error,
	    "method", config_auth_method_name(a->cfg.method),
	    "tenant", a->tenant != NULL ? a->tenant : "(none)",
	    "client_id", a->cfg.client_id != NULL ? a->cfg.client_id :
	    "(system-assigned)",
	    "description", e.description,
	    "hint", hint != NULL ? hint : "see the description", NULL);
}

/*
 * Which failures fix themselves.  IMDS: 404, 410, 429 and 5xx (as
 * Microsoft documents), not other 4xx.  Entra ID and App Service: 408,
 * 429 and 5xx.
 */
static int
transient_status(long status)
{

	return (status == 404 || status == 408 || status == 410 ||
	    status == 429 || status >= 500);
}

/* ---------------------------------------------------------------------- */
/* Requests                                                               */

/* Read a small file by path: the projected token or a client secret. */
static char *
read_small(struct auth *a, const char *path, const char *what)
{
	struct buf b = BUF_INIT;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (worth_logging(a, errno == ENOENT ? -1000 : -1001)) {
			if (errno == ENOENT)
				log_kv(LOG_WARN, "waiting for the file to "
				    "appear", "file", what, "path", path,
				    "hint", a->cfg.method ==
				    AUTH_WORKLOAD_IDENTITY ? "is the pod "
				    "labelled azure.workload.identity/use="
				    "true and the token volume projected?" :
				    "create it, or fix the path", NULL);
			else
				log_kv(LOG_ERROR, "cannot read", "file", what,
				    "path", path, "error", strerror(errno),
				    NULL);
		}
		return (NULL);
	}
	rc = buf_read_fd(&b, fd, AUTH_MAX_FILE);
	close(fd);
	if (rc == -1) {
		if (worth_logging(a, -1002))
			log_kv(LOG_ERROR, "cannot read", "file", what,
			    "path", path, "error", strerror(errno), NULL);
		buf_wipe(&b);
		return (NULL);
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
	    b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		if (worth_logging(a, -1003))
			log_kv(LOG_ERROR, "the file is empty", "file", what,
			    "path", path, NULL);
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);	/* NUL-terminated by buf_append */
}

/* The Entra ID form of this method, or NULL (logged). */
static char *
entra_form(struct auth *a, const char *token_url)
{
	char *cred, *form = NULL, err[256];
	const char *env_secret;

	switch (a->cfg.method) {
	case AUTH_WORKLOAD_IDENTITY:
		if ((cred = read_small(a, a->cfg.token_file,
		    "federated token")) == NULL)
			return (NULL);
		form = entra_assertion_form(a->cfg.client_id, a->scope, cred);
		break;
	case AUTH_CLIENT_SECRET:
		if (a->cfg.client_secret_file != NULL)
			cred = read_small(a, a->cfg.client_secret_file,
			    "client secret");
		else if ((env_secret = getenv("AZURE_CLIENT_SECRET")) != NULL)
			cred = strdup(env_secret);
		else
			cred = NULL;
		if (cred == NULL)
			return (NULL);
		form = entra_secret_form(a->cfg.client_id, a->scope, cred);
		break;
	case AUTH_CLIENT_CERTIFICATE:
		if ((cred = assertion_sign(a->cfg.certificate_file,
		    a->cfg.client_id, token_url, auth_wall_now(), err,
		    sizeof(err))) == NULL) {
			if (worth_logging(a, -1004))
				log_kv(LOG_ERROR, "cannot sign a client "
				    "assertion", "error", err, NULL);
			return (NULL);
		}
		form = entra_assertion_form(a->cfg.client_id, a->scope, cred);
		break;
	default:
		return (NULL);
	}
	str_wipe_free(cred);
	if (form == NULL)
		log_msg(LOG_ERROR, "auth: out of memory");
	return (form);
}

/* The resource of a scope: "https://vault.azure.net/.default" -> "...". */
static char *
scope_resource(const char *scope)
{
	size_t n = strlen(scope);

	if (n > 9 && strcmp(scope + n - 9, "/.default") == 0)
		n -= 9;
	return (strndup(scope, n));
}

/* IMDS or App Service: the URL of the token request. */
static char *
identity_url(struct auth *a)
{
	struct buf b = BUF_INIT;
	char *res = NULL, *id = NULL;
	const char *param = NULL, *value = NULL;
	int rc = -1;

	if ((res = scope_resource(a->scope)) == NULL)
		goto out;
	if (a->cfg.object_id != NULL) {
		param = a->cfg.method == AUTH_MANAGED_IDENTITY ? "object_id" :
		    "principal_id";
		value = a->cfg.object_id;
	} else if (a->cfg.resource_id != NULL) {
		param = a->cfg.method == AUTH_MANAGED_IDENTITY ? "msi_res_id" :
		    "mi_res_id";
		value = a->cfg.resource_id;
	} else if (a->cfg.client_id != NULL) {
		param = "client_id";
		value = a->cfg.client_id;
	}
	{
		char *r = http_escape(res);

		if (r == NULL)
			goto out;
		if (a->cfg.method == AUTH_MANAGED_IDENTITY)
			rc = buf_appendf(&b, "%s/metadata/identity/oauth2/"
			    "token?api-version=2018-02-01&resource=%s",
			    a->cfg.imds_endpoint, r);
		else
			rc = buf_appendf(&b, "%s?api-version=2019-08-01"
			    "&resource=%s", a->cfg.identity_endpoint, r);
		free(r);
	}
	if (rc == 0 && param != NULL) {
		if ((id = http_escape(value)) == NULL)
			rc = -1;
		else
			rc = buf_appendf(&b, "&%s=%s", param, id);
	}
out:
	free(res);
	free(id);
	if (rc == -1) {
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);
}

static void	token_done(struct http_response *, void *);

/* Start a token request now. */
void
auth_request(struct auth *a)
{
	struct http_reqspec spec;
	struct buf hdr = BUF_INIT;
	char *form = NULL, *url = NULL;
	const char *ih;

	memset(&spec, 0, sizeof(spec));
	if (auth_uses_entra(&a->cfg)) {
		if (a->tenant == NULL) {
			/* sync_* learns it from Key Vault's challenge. */
			log_msg(LOG_INFO, "no tenant configured: learning it "
			    "from Key Vault's challenge");
			return;
		}
		if ((url = entra_token_url(a->cfg.authority_host,
		    a->tenant)) == NULL || (form = entra_form(a, url)) ==
		    NULL) {
			free(url);
			auth_failed(a, 0, -1);
			return;
		}
		spec.form = form;
	} else {
		if ((url = identity_url(a)) == NULL) {
			log_msg(LOG_ERROR, "auth: out of memory");
			auth_failed(a, 0, -1);
			return;
		}
		if (a->cfg.method == AUTH_MANAGED_IDENTITY)
			spec.headers[0] = "Metadata: true";
		else {
			if ((ih = getenv("IDENTITY_HEADER")) == NULL)
				ih = "";
			if (buf_appendf(&hdr, "X-IDENTITY-HEADER: %s", ih) ==
			    -1) {
				free(url);
				auth_failed(a, 0, -1);
				return;
			}
			spec.headers[0] = hdr.data;
		}
		spec.local = 1;
	}
	spec.url = url;
	log_kv(LOG_DEBUG, "requesting access token", "method",
	    config_auth_method_name(a->cfg.method), "url", url, NULL);
	a->last_start = auth_mono_now();
	a->req = http_request(a->http, &spec, token_done, a);
	str_wipe_free(form);
	buf_wipe(&hdr);
	free(url);
	if (a->req == NULL)
		auth_failed(a, 0, -1);
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
	metrics_request(METRICS_IDENTITY, r->status, r->failed, r->seconds);
	if (r->failed) {
		if (worth_logging(a, -1))
			log_kv(LOG_ERROR, "token request failed", "method",
			    config_auth_method_name(a->cfg.method), "error",
			    r->error, NULL);
		auth_failed(a, 0, r->retry_after_ms);
		return;
	}
	if (r->status != 200) {
		log_refusal(a, r);
		auth_failed(a, !transient_status(r->status), r->retry_after_ms);
		return;
	}
	now = auth_wall_now();
	if (entra_parse_token(r->body.data, r->body.len, now, &t, err,
	    sizeof(err)) == -1) {
		if (worth_logging(a, -2))
			log_kv(LOG_ERROR, "bad token response", "method",
			    config_auth_method_name(a->cfg.method), "error",
			    err, NULL);
		auth_failed(a, 0, -1);
		return;
	}
	if (t.warning[0] != '\0')
		log_kv(LOG_WARN, "token lifetime not usable as sent", "method",
		    config_auth_method_name(a->cfg.method), "scope", a->scope,
		    "problem", t.warning, "lifetime", t.guessed ?
		    "assumed 10m" : "as sent", NULL);
	backoff_token_schedule(now, t.expires_in, t.refresh_in, &times);
	auth_drop_token(a);
	a->token = t.access_token;	/* ownership moves */
	t.access_token = NULL;
	entra_token_clear(&t);
	a->times = times;
	a->gen++;
	a->used = 0;
	/* The expiry gauge is the Key Vault token's. */
	metrics_token(1, a->parent == NULL ? (time_t)times.expires_on : 0);
	if (a->failures > 0)
		log_kv(LOG_INFO, "token request succeeded after failures",
		    NULL);
	a->failures = 0;
	a->permanent = 0;
	a->last_code = 0;
	snprintf(exp, sizeof(exp), "%lld", (long long)(times.expires_on - now));
	snprintf(renew, sizeof(renew), "%lld",
	    (long long)(times.renew_at - now));
	log_kv(LOG_INFO, "access token acquired", "method",
	    config_auth_method_name(a->cfg.method), "scope", a->scope,
	    "expires_in", exp, "renew_in", renew, NULL);
	auth_schedule(a, (double)(times.renew_at - now));
	if (a->fn != NULL)
		a->fn(1, a->cookie);
}

