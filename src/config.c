/*
 * config.c - the configuration file, parsed once into typed structures.
 *
 * The parser walks the JSON document once, collecting every error with its
 * JSON path ("objects[2].alias: ..."), in document order.  Nothing
 * downstream validates again.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "duration.h"

#define MAX_CONFIG_SIZE		(1024 * 1024)
#define MIN_INTERVAL_MS		1000
#define MIN_TIMEOUT_MS		100
#define MAX_TIMEOUT_MS		(10 * 60 * 1000)
#define MIN_RESPONSE		1024
#define MAX_RESPONSE		(64 * 1024 * 1024)
#define MAX_CONCURRENCY		64
#define URL_MAX			512

struct parser {
	struct config_errors	*errs;
	const char		*base;	/* directory of the file, or NULL */
};

static int	vault_url(const char *, const char *, char *, size_t);
static void	perr(struct parser *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Record "path: message". */
static void
perr(struct parser *p, const char *path, const char *fmt, ...)
{
	struct config_errors *e = p->errs;
	va_list ap;
	int n;

	if (e->n < CONFIG_MAXERR) {
		n = snprintf(e->msg[e->n], CONFIG_ERRLEN, "%s: ", path);
		if (n < 0 || n >= CONFIG_ERRLEN)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(e->msg[e->n] + n, CONFIG_ERRLEN - (size_t)n, fmt, ap);
		va_end(ap);
	}
	e->n++;
}

/* ---------------------------------------------------------------------- */
/* Value checks                                                           */

/*
 * config_alias_valid(s): nonzero if ${s} is a relative path that stays
 * inside the output directory: not empty, not absolute, no empty, "." or
 * ".." component, no component starting with ".." (reserved for the
 * writer's "..data" layout), at most 255 bytes per component.
 */
int
config_alias_valid(const char *s)
{
	const char *c = s, *end;
	size_t n;

	if (s == NULL || *s == '\0' || *s == '/' || strlen(s) > 4095)
		return (0);
	for (end = s; *end != '\0'; end++)
		if (iscntrl((unsigned char)*end) || *end == '\\')
			return (0);
	for (;;) {
		n = strcspn(c, "/");
		if (n == 0 || n > 255)
			return (0);
		if (n == 1 && c[0] == '.')
			return (0);
		if (n >= 2 && c[0] == '.' && c[1] == '.')
			return (0);
		if (c[n] == '\0')
			return (1);
		c += n + 1;
	}
}

static int
vault_name_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 3 || n > 24 || !isalpha((unsigned char)s[0]) ||
	    s[n - 1] == '-' || strstr(s, "--") != NULL)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return (0);
	return (1);
}

/*
 * Normalize an https URL with no path, query, fragment or userinfo:
 * lowercase scheme and host, optional port, no trailing slash (or exactly
 * one with ${slash}).  Returns 0 or -1.
 */
static int
https_url(const char *s, char *out, size_t len, int slash)
{
	const char *h;
	size_t hn, i, pn = 0;

	if (strncasecmp(s, "https://", 8) != 0)
		return (-1);
	h = s + 8;
	hn = strcspn(h, ":/?#@");
	if (hn == 0 || h[hn] == '@' || h[hn] == '?' || h[hn] == '#')
		return (-1);
	for (i = 0; i < hn; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '.')
			return (-1);
	if (h[hn] == ':') {
		pn = 1;
		while (isdigit((unsigned char)h[hn + pn]))
			pn++;
		if (pn == 1 || pn > 6)
			return (-1);
	}
	if (strcmp(h + hn + pn, "") != 0 && strcmp(h + hn + pn, "/") != 0)
		return (-1);
	if (8 + hn + pn + 2 > len)
		return (-1);
	memcpy(out, "https://", 8);
	for (i = 0; i < hn; i++)
		out[8 + i] = (char)tolower((unsigned char)h[i]);
	memcpy(out + 8 + hn, h + hn, pn);
	out[8 + hn + pn] = '\0';
	if (slash)
		strcat(out, "/");
	return (0);
}

/*
 * config_vault_url(s, out, len): turn a vault URL or a bare vault name
 * ("myvault" -> "https://myvault.vault.azure.net") into the normalized
 * form (https, no trailing slash).  Returns 0, or -1 if ${s} is neither.
 */
int
config_vault_url(const char *s, char *out, size_t len)
{

	return (vault_url(s, "vault.azure.net", out, len));
}

/* As config_vault_url, with the cloud's vault DNS suffix. */
static int
vault_url(const char *s, const char *suffix, char *out, size_t len)
{
	int n;

	if (strstr(s, "://") == NULL) {
		if (!vault_name_valid(s))
			return (-1);
		n = snprintf(out, len, "https://%s.%s", s, suffix);
		if (n < 0 || (size_t)n >= len)
			return (-1);
		for (n = 8; out[n] != '\0'; n++)
			out[n] = (char)tolower((unsigned char)out[n]);
		return (0);
	}
	return (https_url(s, out, len, 0));
}

/*
 * Nonzero if ${s} has ${min}..${max} bytes, each a letter, a digit or one
 * of ${extra}.
 */
static int
word_valid(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s), i;

	if (n < min || n > max)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return (0);
	return (1);
}

/* Key Vault object names, versions, tenants (GUID or domain), clients. */
#define object_name_valid(s)	word_valid((s), 1, 127, "-")
#define version_valid(s)	word_valid((s), 0, 64, "")
#define tenant_valid(s)		word_valid((s), 1, 128, "-.")
#define client_id_valid(s)	word_valid((s), 1, 128, "-")

/* ---------------------------------------------------------------------- */
/* JSON helpers                                                           */

/* Every key of ${obj} must be one of ${keys} (NULL-terminated). */
static void
check_keys(struct parser *p, const char *path, const cJSON *obj,
    const char *const *keys)
{
	const cJSON *c;
	size_t i;
	char sub[256];

	cJSON_ArrayForEach(c, obj) {
		for (i = 0; keys[i] != NULL; i++)
			if (c->string != NULL && strcmp(c->string, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			if (path[0] == '\0')
				snprintf(sub, sizeof(sub), "%s", c->string);
			else
				snprintf(sub, sizeof(sub), "%s.%s", path,
				    c->string);
			perr(p, sub, "unknown key");
		}
	}
}

static void
join(char *dst, size_t len, const char *path, const char *key)
{

	if (path[0] == '\0')
		snprintf(dst, len, "%s", key);
	else
		snprintf(dst, len, "%s.%s", path, key);
}

/* A string member: 1 present and valid type, 0 absent, -1 wrong type. */
static int
get_string(struct parser *p, const char *path, const cJSON *obj,
    const char *key, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[256];

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return (0);
	join(sub, sizeof(sub), path, key);
	if (!cJSON_IsString(v)) {
		perr(p, sub, "must be a string");
		return (-1);
	}
	*out = v->valuestring;
	return (1);
}

static int
get_duration(struct parser *p, const char *key, const cJSON *root,
    uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (v == NULL)
		return (0);
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble != (double)(uint64_t)
		    v->valuedouble || v->valuedouble > 1e12) {
			perr(p, key, "must be a non-negative whole number of "
			    "seconds");
			return (-1);
		}
		*out = (uint64_t)v->valuedouble * 1000;
		return (1);
	}
	if (!cJSON_IsString(v)) {
		perr(p, key, "must be a duration string or integer seconds");
		return (-1);
	}
	if (duration_parse(v->valuestring, out) == -1) {
		perr(p, key, "invalid duration \"%s\" (use e.g. \"90s\", "
		    "\"2m\", \"1h\")", v->valuestring);
		return (-1);
	}
	return (1);
}

static int
get_int(struct parser *p, const char *key, const cJSON *root, long min,
    long max, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)
	    v->valuedouble || v->valuedouble < (double)min ||
	    v->valuedouble > (double)max) {
		perr(p, key, "must be an integer from %ld to %ld", min, max);
		return (-1);
	}
	*out = (long)v->valuedouble;
	return (1);
}

/* Collapse "//", "/./" and "/x/../" in an absolute path, in place. */
static void
clean_path(char *r)
{
	char *out = r, *in = r, *prev;
	size_t n;

	while (*in != '\0') {
		while (*in == '/')
			in++;
		n = strcspn(in, "/");
		if (n == 0)
			break;
		if (n == 1 && in[0] == '.') {
			in += 1;
			continue;
		}
		if (n == 2 && in[0] == '.' && in[1] == '.') {
			prev = out;
			while (prev > r && *--prev != '/')
				;
			out = prev;
			in += 2;
			continue;
		}
		*out++ = '/';
		memmove(out, in, n);
		out += n;
		in += n;
	}
	if (out == r)
		*out++ = '/';
	*out = '\0';
}

/* Resolve a path: absolute as is, relative against the config's dir. */
static char *
resolve_path(struct parser *p, const char *path, const char *s)
{
	char *r;
	size_t n;

	if (s[0] == '\0') {
		perr(p, path, "must not be empty");
		return (NULL);
	}
	if (s[0] == '/') {
		r = strdup(s);
	} else if (p->base == NULL) {
		perr(p, path, "must be an absolute path");
		return (NULL);
	} else if (asprintf(&r, "%s/%s", p->base, s) == -1)
		r = NULL;
	if (r == NULL) {
		perr(p, path, "out of memory");
		return (NULL);
	}
	clean_path(r);
	(void)n;
	return (r);
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0' ? v : NULL);
}

/* ---------------------------------------------------------------------- */
/* Sections                                                               */

static const struct {
	const char	*name;
	const char	*authority;
	const char	*vault_suffix;
	const char	*vault_scope;
} clouds[] = {
	{ "public", "https://login.microsoftonline.com/", "vault.azure.net",
	    "https://vault.azure.net/.default" },
	{ "china", "https://login.chinacloudapi.cn/", "vault.azure.cn",
	    "https://vault.azure.cn/.default" },
	{ "usgov", "https://login.microsoftonline.us/",
	    "vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net/.default" },
};

static const char *const method_names[] = {
	[AUTH_WORKLOAD_IDENTITY] = "workload_identity",
	[AUTH_MANAGED_IDENTITY] = "managed_identity",
	[AUTH_APP_SERVICE] = "app_service",
	[AUTH_CLIENT_SECRET] = "client_secret",
	[AUTH_CLIENT_CERTIFICATE] = "client_certificate",
};
#define NMETHODS	(sizeof(method_names) / sizeof(method_names[0]))

/* auth_method_name(m): "workload_identity", "managed_identity"... */
const char *
auth_method_name(enum auth_method m)
{

	return ((size_t)m < NMETHODS ? method_names[m] : "unknown");
}

/*
 * "cloud": a name, or {"authority_host", "vault_suffix", "vault_scope"}.
 * Fills c->cloud, c->vault_suffix, c->vault_scope and returns the
 * cloud's authority host (static or owned by ${c}).
 */
static const char *
parse_cloud(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	static const char *const keys[] = { "authority_host", "vault_suffix",
	    "vault_scope", NULL };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "cloud");
	const char *host = NULL, *suffix = NULL, *scope = NULL;
	size_t i = 0;

	if (v != NULL && cJSON_IsString(v)) {
		for (i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
			if (strcmp(v->valuestring, clouds[i].name) == 0)
				break;
		if (i == sizeof(clouds) / sizeof(clouds[0])) {
			perr(p, "cloud", "unknown cloud \"%s\" (public, china, "
			    "usgov, or an object with authority_host, "
			    "vault_suffix and vault_scope)", v->valuestring);
			i = 0;
		}
	} else if (v != NULL && cJSON_IsObject(v)) {
		check_keys(p, "cloud", v, keys);
		if (get_string(p, "cloud", v, "authority_host", &host) == 0)
			perr(p, "cloud.authority_host", "required");
		if (get_string(p, "cloud", v, "vault_suffix", &suffix) == 0)
			perr(p, "cloud.vault_suffix", "required");
		else if (suffix != NULL && !word_valid(suffix, 3, 200, "-."))
			perr(p, "cloud.vault_suffix", "must be a DNS suffix "
			    "such as \"vault.azure.net\"");
		if (get_string(p, "cloud", v, "vault_scope", &scope) == 0)
			perr(p, "cloud.vault_scope", "required");
		else if (scope != NULL && (strncmp(scope, "https://", 8) != 0 ||
		    strlen(scope) < 18 ||
		    strcmp(scope + strlen(scope) - 9, "/.default") != 0))
			perr(p, "cloud.vault_scope", "must be an https URL "
			    "ending in \"/.default\"");
		c->cloud = strdup("custom");
		c->vault_suffix = strdup(suffix != NULL ? suffix : "");
		c->vault_scope = strdup(scope != NULL ? scope : "");
		return (host);
	} else if (v != NULL)
		perr(p, "cloud", "must be a cloud name or an object");
	c->cloud = strdup(clouds[i].name);
	c->vault_suffix = strdup(clouds[i].vault_suffix);
	c->vault_scope = strdup(clouds[i].vault_scope);
	return (clouds[i].authority);
}

/* A string setting: the config's value, else the variable's. */
static const char *
setting(struct parser *p, const cJSON *a, const char *key, const char *var,
    int *from_config)
{
	const char *v = NULL;

	*from_config = 0;
	if (a != NULL) {
		switch (get_string(p, "auth", a, key, &v)) {
		case 1:
			*from_config = 1;
			return (v);
		case -1:
			*from_config = -1;
			return (NULL);
		}
	}
	return (var != NULL ? env(var) : NULL);
}

/* The "auto" chain of DefaultAzureCredential, decided from settings. */
static enum auth_method
choose_method(struct akvd_auth *au, const char *secret_file,
    const char *cert, const char *token_file, const char *tenant,
    const char *client)
{
	const char *why;
	enum auth_method m;

	if ((secret_file != NULL || env("AZURE_CLIENT_SECRET") != NULL) &&
	    tenant != NULL && client != NULL) {
		m = AUTH_CLIENT_SECRET;
		why = secret_file != NULL ? "auth.client_secret_file, a tenant "
		    "and a client id are set" : "AZURE_CLIENT_SECRET, "
		    "AZURE_CLIENT_ID and AZURE_TENANT_ID are set";
	} else if (cert != NULL && tenant != NULL && client != NULL) {
		m = AUTH_CLIENT_CERTIFICATE;
		why = "a client certificate (AZURE_CLIENT_CERTIFICATE_PATH), "
		    "a tenant and a client id are set";
	} else if (token_file != NULL) {
		m = AUTH_WORKLOAD_IDENTITY;
		why = "a federated token file (AZURE_FEDERATED_TOKEN_FILE) "
		    "is set";
	} else if (env("IDENTITY_ENDPOINT") != NULL) {
		m = AUTH_APP_SERVICE;
		why = "IDENTITY_ENDPOINT is set (App Service, Container Apps, "
		    "Functions)";
	} else {
		m = AUTH_MANAGED_IDENTITY;
		why = "no service principal, federated token or App Service "
		    "variables are set: using the VM's managed identity "
		    "(IMDS)";
	}
	au->method_auto = 1;
	snprintf(au->method_why, sizeof(au->method_why), "%s", why);
	return (m);
}

/* http(s) URL of a local identity endpoint, normalized without '/'. */
static int
local_endpoint(const char *s, char *out, size_t len)
{
	const char *h;
	size_t n;

	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return (-1);
	if (strncmp(h, "127.", 4) != 0 && strncmp(h, "169.254.", 8) != 0 &&
	    strncmp(h, "localhost", 9) != 0 && h == s + 7)
		return (-1);	/* plain http only to a local address */
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n == 0 || n >= len || strpbrk(s, " \t\r\n\"") != NULL)
		return (-1);
	memcpy(out, s, n);
	out[n] = '\0';
	return (0);
}

static void
require(struct parser *p, const char *value, const char *path,
    const char *var, const char *method)
{

	if (value != NULL)
		return;
	if (var != NULL)
		perr(p, path, "required by %s (set it here or in %s)", method,
		    var);
	else
		perr(p, path, "required by %s", method);
}

static void
parse_auth(struct parser *p, const cJSON *root, struct akvd_config *c,
    const char *cloud_authority)
{
	static const char *const keys[] = { "method", "tenant_id",
	    "client_id", "token_file", "authority_host", "client_secret_file",
	    "certificate_file", "object_id", "resource_id", "imds_endpoint",
	    "identity_endpoint", NULL };
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "auth");
	struct akvd_auth *au = &c->auth;
	const char *method = NULL, *tenant, *client, *file, *host, *secret,
	    *cert, *oid, *rid, *imds, *ident, *mname;
	char url[URL_MAX];
	int ft, fc, ff, fh, fs, fce, fo, fr, fi, fe, n;
	size_t i;

	if (a != NULL && !cJSON_IsObject(a)) {
		perr(p, "auth", "must be an object");
		a = NULL;
	}
	if (a != NULL) {
		check_keys(p, "auth", a, keys);
		(void)get_string(p, "auth", a, "method", &method);
	}
	tenant = setting(p, a, "tenant_id", "AZURE_TENANT_ID", &ft);
	client = setting(p, a, "client_id", "AZURE_CLIENT_ID", &fc);
	file = setting(p, a, "token_file", "AZURE_FEDERATED_TOKEN_FILE", &ff);
	host = setting(p, a, "authority_host", "AZURE_AUTHORITY_HOST", &fh);
	secret = setting(p, a, "client_secret_file", NULL, &fs);
	cert = setting(p, a, "certificate_file",
	    "AZURE_CLIENT_CERTIFICATE_PATH", &fce);
	oid = setting(p, a, "object_id", NULL, &fo);
	rid = setting(p, a, "resource_id", NULL, &fr);
	imds = setting(p, a, "imds_endpoint",
	    "AZURE_POD_IDENTITY_AUTHORITY_HOST", &fi);
	ident = setting(p, a, "identity_endpoint", "IDENTITY_ENDPOINT", &fe);

	if (method == NULL || strcmp(method, "auto") == 0)
		au->method = choose_method(au, secret, cert, file, tenant,
		    client);
	else {
		for (i = 0; i < NMETHODS; i++)
			if (strcmp(method, method_names[i]) == 0)
				break;
		if (i == NMETHODS) {
			perr(p, "auth.method", "unsupported method \"%s\" "
			    "(supported: auto, workload_identity, "
			    "managed_identity, app_service, client_secret, "
			    "client_certificate)", method);
			return;
		}
		au->method = (enum auth_method)i;
		snprintf(au->method_why, sizeof(au->method_why),
		    "auth.method is \"%s\"", method);
	}
	mname = method_names[au->method];

	/* What each method needs. */
	switch (au->method) {
	case AUTH_WORKLOAD_IDENTITY:
		require(p, client, "auth.client_id", "AZURE_CLIENT_ID", mname);
		require(p, file, "auth.token_file",
		    "AZURE_FEDERATED_TOKEN_FILE", mname);
		break;
	case AUTH_CLIENT_SECRET:
		require(p, client, "auth.client_id", "AZURE_CLIENT_ID", mname);
		if (secret == NULL && env("AZURE_CLIENT_SECRET") == NULL &&
		    fs != -1)
			perr(p, "auth.client_secret_file", "required by "
			    "client_secret (a file holding the secret; or set "
			    "AZURE_CLIENT_SECRET)");
		break;
	case AUTH_CLIENT_CERTIFICATE:
		require(p, client, "auth.client_id", "AZURE_CLIENT_ID", mname);
		require(p, cert, "auth.certificate_file",
		    "AZURE_CLIENT_CERTIFICATE_PATH", mname);
		break;
	case AUTH_MANAGED_IDENTITY:
		n = (client != NULL && fc == 1) + (oid != NULL) +
		    (rid != NULL);
		if (n > 1)
			perr(p, "auth", "choose one of client_id, object_id "
			    "and resource_id for a user-assigned identity");
		break;
	case AUTH_APP_SERVICE:
		require(p, ident, "auth.identity_endpoint",
		    "IDENTITY_ENDPOINT", mname);
		if (env("IDENTITY_HEADER") == NULL)
			perr(p, "auth", "app_service needs the IDENTITY_HEADER "
			    "variable (set by the platform)");
		break;
	}

	if (tenant != NULL) {
		if (!tenant_valid(tenant))
			perr(p, "auth.tenant_id", "invalid tenant \"%s\" (a "
			    "GUID or a domain name)", tenant);
		else
			au->tenant_id = strdup(tenant);
	}
	if (client != NULL) {
		if (!client_id_valid(client))
			perr(p, "auth.client_id", "invalid client id \"%s\"",
			    client);
		else
			au->client_id = strdup(client);
	}
	if (oid != NULL) {
		if (!client_id_valid(oid))
			perr(p, "auth.object_id", "invalid object id \"%s\"",
			    oid);
		else
			au->object_id = strdup(oid);
	}
	if (rid != NULL) {
		if (rid[0] != '/' || strpbrk(rid, " \t\r\n&?#") != NULL)
			perr(p, "auth.resource_id", "must be an ARM resource "
			    "id (/subscriptions/...)");
		else
			au->resource_id = strdup(rid);
	}
	if (file != NULL && au->method == AUTH_WORKLOAD_IDENTITY)
		au->token_file = resolve_path(p, "auth.token_file", file);
	if (secret != NULL && au->method == AUTH_CLIENT_SECRET)
		au->client_secret_file = resolve_path(p,
		    "auth.client_secret_file", secret);
	if (cert != NULL && au->method == AUTH_CLIENT_CERTIFICATE)
		au->certificate_file = resolve_path(p,
		    "auth.certificate_file", cert);
	if (au->method == AUTH_MANAGED_IDENTITY) {
		if (imds == NULL)
			imds = CONFIG_DEFAULT_IMDS;
		if (local_endpoint(imds, url, sizeof(url)) == -1)
			perr(p, "auth.imds_endpoint", "must be an http URL of "
			    "a link-local or loopback address, or https");
		else
			au->imds_endpoint = strdup(url);
	}
	if (au->method == AUTH_APP_SERVICE && ident != NULL) {
		if (local_endpoint(ident, url, sizeof(url)) == -1)
			perr(p, "auth.identity_endpoint", "must be an http URL "
			    "of a link-local or loopback address, or https");
		else
			au->identity_endpoint = strdup(url);
	}

	if (host == NULL)
		host = cloud_authority;
	if (host == NULL || https_url(host, url, sizeof(url), 1) == -1) {
		if (fh != -1)
			perr(p, "auth.authority_host", "must be an https URL "
			    "without a path, e.g. \"%s\"",
			    CONFIG_DEFAULT_AUTHORITY);
	} else
		au->authority_host = strdup(url);
	(void)ft;
	(void)ff;
	(void)fce;
	(void)fo;
	(void)fr;
	(void)fi;
	(void)fe;
}

static void
parse_tls(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	static const char *const keys[] = { "ca_file", NULL };
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tls");
	const char *ca;

	if (t == NULL)
		return;
	if (!cJSON_IsObject(t)) {
		perr(p, "tls", "must be an object");
		return;
	}
	check_keys(p, "tls", t, keys);
	if (get_string(p, "tls", t, "ca_file", &ca) == 1)
		c->ca_file = resolve_path(p, "tls.ca_file", ca);
}

static void
parse_object(struct parser *p, const cJSON *o, size_t idx,
    struct akvd_config *c, struct akvd_object *obj)
{
	static const char *const keys[] = { "name", "type", "alias",
	    "version", "vault", "mode", "optional", NULL };
	const char *name = NULL, *type, *alias, *version, *vault;
	const cJSON *m, *opt;
	char path[64], sub[96], url[URL_MAX], *end;
	unsigned long mode;
	int r;

	snprintf(path, sizeof(path), "objects[%zu]", idx);
	obj->mode = CONFIG_DEFAULT_MODE;
	if (!cJSON_IsObject(o)) {
		perr(p, path, "must be an object");
		return;
	}
	check_keys(p, path, o, keys);

	snprintf(sub, sizeof(sub), "%s.name", path);
	r = get_string(p, path, o, "name", &name);
	if (r == 0)
		perr(p, sub, "required");
	else if (r == 1 && !object_name_valid(name))
		perr(p, sub, "invalid Key Vault name \"%s\" (1-127 letters, "
		    "digits and hyphens)", name);
	else if (r == 1)
		obj->name = strdup(name);

	snprintf(sub, sizeof(sub), "%s.type", path);
	if (get_string(p, path, o, "type", &type) == 1 &&
	    strcmp(type, "secret") != 0)
		perr(p, sub, "unsupported type \"%s\" (supported: secret)",
		    type);
	obj->type = OBJ_SECRET;

	snprintf(sub, sizeof(sub), "%s.alias", path);
	r = get_string(p, path, o, "alias", &alias);
	if (r == 0 && obj->name != NULL)
		alias = obj->name;
	if (r == 1 && !config_alias_valid(alias)) {
		if (alias[0] == '/')
			perr(p, sub, "must be a relative file name, not an "
			    "absolute path");
		else if (strstr(alias, "..") != NULL)
			perr(p, sub, "must be a relative file name without "
			    "\"..\"");
		else
			perr(p, sub, "must be a relative file name without "
			    "empty or \".\" components, backslashes or "
			    "control characters");
	}
	else if (alias != NULL && r != -1)
		obj->alias = strdup(alias);

	snprintf(sub, sizeof(sub), "%s.version", path);
	r = get_string(p, path, o, "version", &version);
	if (r == 1 && !version_valid(version))
		perr(p, sub, "invalid version \"%s\" (letters and digits)",
		    version);
	else if (r != -1)
		obj->version = strdup(r == 1 ? version : "");

	snprintf(sub, sizeof(sub), "%s.vault", path);
	r = get_string(p, path, o, "vault", &vault);
	if (r == 1) {
		if (vault_url(vault, c->vault_suffix, url, sizeof(url)) == -1)
			perr(p, sub, "must be an https URL or a vault name");
		else
			obj->vault = strdup(url);
	} else if (r == 0) {
		if (c->vault != NULL)
			obj->vault = strdup(c->vault);
		else
			perr(p, sub, "required (no top-level \"vault\")");
	}

	snprintf(sub, sizeof(sub), "%s.mode", path);
	m = cJSON_GetObjectItemCaseSensitive(o, "mode");
	if (cJSON_IsNumber(m))
		perr(p, sub, "must be an octal string such as \"0440\", not a "
		    "number");
	else if (m != NULL && !cJSON_IsString(m))
		perr(p, sub, "must be an octal string such as \"0440\"");
	else if (m != NULL) {
		errno = 0;
		mode = strtoul(m->valuestring, &end, 8);
		if (m->valuestring[0] < '0' || m->valuestring[0] > '7' ||
		    *end != '\0' || errno != 0 || mode > 0777)
			perr(p, sub, "invalid mode \"%s\" (octal, at most "
			    "0777)", m->valuestring);
		else
			obj->mode = (mode_t)mode;
	}

	snprintf(sub, sizeof(sub), "%s.optional", path);
	opt = cJSON_GetObjectItemCaseSensitive(o, "optional");
	if (opt != NULL && !cJSON_IsBool(opt))
		perr(p, sub, "must be true or false");
	else
		obj->optional = cJSON_IsTrue(opt);
}

static const struct {
	const char	*name;
	int		 signo;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM },
	{ "WINCH", SIGWINCH }, { "ALRM", SIGALRM }, { "CONT", SIGCONT },
};

/* "HUP" or "SIGHUP" -> SIGHUP; 0 if unknown. */
static int
signal_number(const char *s)
{
	size_t i;

	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(s, signals[i].name) == 0)
			return (signals[i].signo);
	return (0);
}

static const char *
signal_name(int signo)
{
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].signo == signo)
			return (signals[i].name);
	return ("?");
}

/* Is ${url} an http(s) URL akvd may call to notify the app? */
static int
notify_url_valid(const char *url)
{
	const char *h;

	if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncmp(url, "http://", 7) == 0) {
		h = url + 7;
		/* Plain http only on the machine itself (a sidecar's app). */
		if (strncmp(h, "127.", 4) != 0 && strncmp(h, "localhost", 9) &&
		    strncmp(h, "[::1]", 5) != 0)
			return (0);
	} else
		return (0);
	return (h[0] != '\0' && h[0] != '/' && strpbrk(url, " \t\r\n") ==
	    NULL);
}

static void
parse_notify_entry(struct parser *p, const cJSON *e, size_t idx,
    struct akvd_notify *n)
{
	static const char *const keys[] = { "signal", "pid_file", "process",
	    "exec", "timeout", "http", "method", NULL };
	const cJSON *ex, *v, *t;
	const char *sig = NULL, *pf = NULL, *proc = NULL, *url = NULL,
	    *method = NULL;
	char path[64], sub[96];
	size_t i, argc;
	int kinds;

	snprintf(path, sizeof(path), "notify[%zu]", idx);
	if (!cJSON_IsObject(e)) {
		perr(p, path, "must be an object");
		return;
	}
	check_keys(p, path, e, keys);
	(void)get_string(p, path, e, "signal", &sig);
	(void)get_string(p, path, e, "pid_file", &pf);
	(void)get_string(p, path, e, "process", &proc);
	(void)get_string(p, path, e, "http", &url);
	(void)get_string(p, path, e, "method", &method);
	ex = cJSON_GetObjectItemCaseSensitive(e, "exec");
	kinds = (pf != NULL) + (proc != NULL) + (ex != NULL) + (url != NULL);
	if (kinds != 1) {
		perr(p, path, "needs exactly one of pid_file, process, exec "
		    "and http");
		return;
	}
	n->timeout_ms = CONFIG_DEFAULT_EXEC_TIMEOUT_MS;
	t = cJSON_GetObjectItemCaseSensitive(e, "timeout");
	if (t != NULL) {
		snprintf(sub, sizeof(sub), "%s.timeout", path);
		if (cJSON_IsString(t) && duration_parse(t->valuestring,
		    &n->timeout_ms) == 0 && n->timeout_ms >= 100)
			;
		else if (cJSON_IsNumber(t) && t->valuedouble >= 1 &&
		    t->valuedouble < 86400)
			n->timeout_ms = (uint64_t)t->valuedouble * 1000;
		else
			perr(p, sub, "must be a duration of at least 100ms");
	}
	if (pf != NULL || proc != NULL) {
		snprintf(sub, sizeof(sub), "%s.signal", path);
		if (sig == NULL)
			perr(p, sub, "required with %s", pf != NULL ?
			    "pid_file" : "process");
		else if ((n->signo = signal_number(sig)) == 0)
			perr(p, sub, "unknown signal \"%s\" (HUP, INT, QUIT, "
			    "USR1, USR2, TERM, WINCH, ALRM, CONT)", sig);
		else
			n->signame = strdup(signal_name(n->signo));
	} else if (sig != NULL) {
		snprintf(sub, sizeof(sub), "%s.signal", path);
		perr(p, sub, "only with pid_file or process");
	}
	if (pf != NULL) {
		n->kind = NOTIFY_PID_FILE;
		snprintf(sub, sizeof(sub), "%s.pid_file", path);
		n->pid_file = resolve_path(p, sub, pf);
	} else if (proc != NULL) {
		n->kind = NOTIFY_PROCESS;
		snprintf(sub, sizeof(sub), "%s.process", path);
		if (proc[0] == '\0' || strchr(proc, '/') != NULL ||
		    strlen(proc) > 255)
			perr(p, sub, "must be an executable name, not a path");
		else
			n->process = strdup(proc);
	} else if (ex != NULL) {
		n->kind = NOTIFY_EXEC;
		snprintf(sub, sizeof(sub), "%s.exec", path);
		argc = cJSON_IsArray(ex) ? (size_t)cJSON_GetArraySize(ex) : 0;
		if (argc == 0) {
			perr(p, sub, "must be a non-empty array: the program "
			    "and its arguments (no shell)");
			return;
		}
		if ((n->argv = calloc(argc + 1, sizeof(*n->argv))) == NULL)
			return;
		i = 0;
		cJSON_ArrayForEach(v, ex) {
			if (!cJSON_IsString(v)) {
				perr(p, sub, "must hold strings only");
				break;
			}
			n->argv[i++] = strdup(v->valuestring);
		}
		if (n->argv[0] != NULL && n->argv[0][0] != '/')
			perr(p, sub, "the program must be an absolute path");
	} else {
		n->kind = NOTIFY_HTTP;
		snprintf(sub, sizeof(sub), "%s.http", path);
		if (!notify_url_valid(url))
			perr(p, sub, "must be an https URL, or http to "
			    "127.0.0.1 or localhost");
		else
			n->url = strdup(url);
		if (t == NULL)
			n->timeout_ms = 10 * 1000;
	}
	if (method != NULL && n->kind != NOTIFY_HTTP) {
		snprintf(sub, sizeof(sub), "%s.method", path);
		perr(p, sub, "only with http");
	} else if (n->kind == NOTIFY_HTTP) {
		if (method == NULL)
			method = "POST";
		if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0 &&
		    strcmp(method, "PUT") != 0) {
			snprintf(sub, sizeof(sub), "%s.method", path);
			perr(p, sub, "must be POST, GET or PUT");
		} else
			n->method = strdup(method);
	}
}

static void
parse_notify(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, "notify"), *e;
	size_t i = 0;

	c->debounce_ms = CONFIG_DEFAULT_DEBOUNCE_MS;
	(void)get_duration(p, "debounce", root, &c->debounce_ms);
	if (l == NULL)
		return;
	if (!cJSON_IsArray(l)) {
		perr(p, "notify", "must be an array");
		return;
	}
	c->nnotify = (size_t)cJSON_GetArraySize(l);
	if (c->nnotify == 0)
		return;
	if ((c->notify = calloc(c->nnotify, sizeof(*c->notify))) == NULL) {
		c->nnotify = 0;
		perr(p, "notify", "out of memory");
		return;
	}
	cJSON_ArrayForEach(e, l) {
		parse_notify_entry(p, e, i, &c->notify[i]);
		i++;
	}
}

/* Aliases must be unique, and no alias a directory of another. */
static void
check_aliases(struct parser *p, const struct akvd_config *c)
{
	size_t i, j, li, lj;
	const char *a, *b;
	char path[64];

	for (i = 0; i < c->nobjects; i++) {
		if ((a = c->objects[i].alias) == NULL)
			continue;
		li = strlen(a);
		for (j = 0; j < i; j++) {
			if ((b = c->objects[j].alias) == NULL)
				continue;
			lj = strlen(b);
			snprintf(path, sizeof(path), "objects[%zu].alias", i);
			if (strcmp(a, b) == 0) {
				perr(p, path, "\"%s\" is already used by "
				    "objects[%zu]", a, j);
				break;
			}
			if ((li > lj && strncmp(a, b, lj) == 0 &&
			    a[lj] == '/') || (lj > li &&
			    strncmp(a, b, li) == 0 && b[li] == '/')) {
				perr(p, path, "\"%s\" conflicts with \"%s\" of "
				    "objects[%zu]", a, b, j);
				break;
			}
		}
	}
}

static struct akvd_config *
parse(const char *json, size_t len, const char *base,
    struct config_errors *errs)
{
	static const char *const keys[] = { "output_dir", "interval",
	    "timeout", "max_response_size", "concurrency", "cloud", "vault",
	    "auth", "tls", "objects", "notify", "debounce", NULL };
	struct parser p = { errs, base };
	struct akvd_config *c;
	const cJSON *objs, *o;
	cJSON *root;
	const char *s, *end = NULL, *authority;
	char url[URL_MAX];
	long n;
	size_t i, line = 1, col = 1;

	memset(errs, 0, sizeof(*errs));
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		if (end == NULL)
			end = json;
		for (s = json; s < end && s < json + len; s++) {
			if (*s == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		perr(&p, "config", "invalid JSON at line %zu, column %zu",
		    line, col);
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cJSON_Delete(root);
		perr(&p, "config", "out of memory");
		return (NULL);
	}
	c->interval_ms = CONFIG_DEFAULT_INTERVAL_MS;
	c->timeout_ms = CONFIG_DEFAULT_TIMEOUT_MS;
	c->max_response = CONFIG_DEFAULT_MAX_RESPONSE;
	c->concurrency = CONFIG_DEFAULT_CONCURRENCY;
	if (!cJSON_IsObject(root)) {
		perr(&p, "config", "must be a JSON object");
		goto out;
	}
	check_keys(&p, "", root, keys);

	if (get_string(&p, "", root, "output_dir", &s) == 0)
		perr(&p, "output_dir", "required");
	else if (s != NULL && (c->output_dir = resolve_path(&p, "output_dir",
	    s)) != NULL && strcmp(c->output_dir, "/") == 0)
		perr(&p, "output_dir", "must not be \"/\"");

	if (get_duration(&p, "interval", root, &c->interval_ms) == 1 &&
	    c->interval_ms < MIN_INTERVAL_MS)
		perr(&p, "interval", "must be at least 1s");
	if (get_duration(&p, "timeout", root, &c->timeout_ms) == 1 &&
	    (c->timeout_ms < MIN_TIMEOUT_MS || c->timeout_ms > MAX_TIMEOUT_MS))
		perr(&p, "timeout", "must be from 100ms to 10m");
	if (get_int(&p, "max_response_size", root, MIN_RESPONSE, MAX_RESPONSE,
	    &n) == 1)
		c->max_response = (size_t)n;
	if (get_int(&p, "concurrency", root, 1, MAX_CONCURRENCY, &n) == 1)
		c->concurrency = (unsigned)n;

	authority = parse_cloud(&p, root, c);
	if (get_string(&p, "", root, "vault", &s) == 1) {
		if (vault_url(s, c->vault_suffix, url, sizeof(url)) == -1)
			perr(&p, "vault", "must be an https URL or a vault "
			    "name");
		else
			c->vault = strdup(url);
	}
	parse_auth(&p, root, c, authority);
	parse_tls(&p, root, c);
	parse_notify(&p, root, c);

	objs = cJSON_GetObjectItemCaseSensitive(root, "objects");
	if (objs == NULL)
		perr(&p, "objects", "required");
	else if (!cJSON_IsArray(objs))
		perr(&p, "objects", "must be an array");
	else if (cJSON_GetArraySize(objs) == 0)
		perr(&p, "objects", "must list at least one object");
	else {
		c->nobjects = (size_t)cJSON_GetArraySize(objs);
		if ((c->objects = calloc(c->nobjects,
		    sizeof(*c->objects))) == NULL) {
			perr(&p, "objects", "out of memory");
			c->nobjects = 0;
		}
		i = 0;
		cJSON_ArrayForEach(o, objs) {
			if (i < c->nobjects)
				parse_object(&p, o, i, c, &c->objects[i]);
			i++;
		}
		check_aliases(&p, c);
	}
out:
	cJSON_Delete(root);
	if (errs->n > 0) {
		config_free(c);
		return (NULL);
	}
	return (c);
}

/* ---------------------------------------------------------------------- */
/* Public interface                                                       */

/*
 * config_parse(json, len, errs): as config_load, from a buffer.
 */
struct akvd_config *
config_parse(const char *json, size_t len, struct config_errors *errs)
{

	return (parse(json, len, NULL, errs));
}

/*
 * config_load(path, errs): read and parse the file at ${path}.  Returns a
 * new configuration owned by the caller (release with config_free), or NULL
 * with at least one message in ${errs}.  A file that cannot be read is
 * reported as "PATH: strerror".
 */
struct akvd_config *
config_load(const char *path, struct config_errors *errs)
{
	struct parser p = { errs, NULL };
	struct akvd_config *c = NULL;
	char *buf = NULL, *base = NULL, *slash, cwd[PATH_MAX];
	struct stat st;
	ssize_t r;
	size_t len = 0;
	int fd;

	errs->n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perr(&p, path, "%s", strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_CONFIG_SIZE) {
		perr(&p, path, "%s", S_ISREG(st.st_mode) ? "file too large" :
		    "not a regular file");
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		perr(&p, path, "%s", strerror(errno));
		goto out;
	}
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			perr(&p, path, "%s", r == 0 ? "short read" :
			    strerror(errno));
			goto out;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';

	/* Relative paths inside are relative to the file's directory. */
	if ((slash = strrchr(path, '/')) != NULL) {
		if (path[0] == '/')
			base = strndup(path, (size_t)(slash - path));
		else if (getcwd(cwd, sizeof(cwd)) != NULL &&
		    asprintf(&base, "%s/%.*s", cwd, (int)(slash - path),
		    path) == -1)
			base = NULL;
		if (base != NULL && base[0] == '\0') {
			free(base);
			base = strdup("/");
		}
	} else if (getcwd(cwd, sizeof(cwd)) != NULL)
		base = strdup(cwd);
	if (base == NULL) {
		perr(&p, path, "cannot resolve its directory");
		goto out;
	}
	c = parse(buf, len, base, errs);
out:
	free(base);
	free(buf);
	close(fd);
	return (c);
}

/* config_free(cfg): release ${cfg}; NULL is a no-op. */
void
config_free(struct akvd_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nobjects; i++) {
		free(c->objects[i].name);
		free(c->objects[i].alias);
		free(c->objects[i].version);
		free(c->objects[i].vault);
	}
	free(c->objects);
	for (i = 0; i < c->nnotify; i++) {
		struct akvd_notify *n = &c->notify[i];
		char **a;

		free(n->signame);
		free(n->pid_file);
		free(n->process);
		for (a = n->argv; a != NULL && *a != NULL; a++)
			free(*a);
		free(n->argv);
		free(n->url);
		free(n->method);
	}
	free(c->notify);
	free(c->output_dir);
	free(c->vault);
	free(c->auth.tenant_id);
	free(c->auth.client_id);
	free(c->auth.token_file);
	free(c->auth.authority_host);
	free(c->auth.client_secret_file);
	free(c->auth.certificate_file);
	free(c->auth.object_id);
	free(c->auth.resource_id);
	free(c->auth.imds_endpoint);
	free(c->auth.identity_endpoint);
	free(c->cloud);
	free(c->vault_suffix);
	free(c->vault_scope);
	free(c->ca_file);
	free(c);
}

static void
add_opt(cJSON *o, const char *key, const char *v)
{

	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
}

/*
 * config_print(f, cfg): write ${cfg} to ${f} as normalized, indented JSON
 * with every default filled in (the output of --check).  It parses back to
 * an equal configuration.  Returns 0, or -1 on a write error.
 */
int
config_print(FILE *f, const struct akvd_config *c)
{
	cJSON *root, *auth, *tls, *objs, *o, *cloud;
	char d[64], mode[16];
	char *out;
	size_t i;
	int rc = -1;

	if ((root = cJSON_CreateObject()) == NULL)
		return (-1);
	cJSON_AddStringToObject(root, "output_dir", c->output_dir);
	duration_format(c->interval_ms, d, sizeof(d));
	cJSON_AddStringToObject(root, "interval", d);
	duration_format(c->timeout_ms, d, sizeof(d));
	cJSON_AddStringToObject(root, "timeout", d);
	cJSON_AddNumberToObject(root, "max_response_size",
	    (double)c->max_response);
	cJSON_AddNumberToObject(root, "concurrency", c->concurrency);
	if (c->vault != NULL)
		cJSON_AddStringToObject(root, "vault", c->vault);
	if (strcmp(c->cloud, "custom") == 0) {
		cloud = cJSON_AddObjectToObject(root, "cloud");
		cJSON_AddStringToObject(cloud, "authority_host",
		    c->auth.authority_host);
		cJSON_AddStringToObject(cloud, "vault_suffix", c->vault_suffix);
		cJSON_AddStringToObject(cloud, "vault_scope", c->vault_scope);
	} else
		cJSON_AddStringToObject(root, "cloud", c->cloud);
	auth = cJSON_AddObjectToObject(root, "auth");
	cJSON_AddStringToObject(auth, "method",
	    auth_method_name(c->auth.method));
	add_opt(auth, "tenant_id", c->auth.tenant_id);
	add_opt(auth, "client_id", c->auth.client_id);
	add_opt(auth, "token_file", c->auth.token_file);
	add_opt(auth, "client_secret_file", c->auth.client_secret_file);
	add_opt(auth, "certificate_file", c->auth.certificate_file);
	add_opt(auth, "object_id", c->auth.object_id);
	add_opt(auth, "resource_id", c->auth.resource_id);
	add_opt(auth, "imds_endpoint", c->auth.imds_endpoint);
	add_opt(auth, "identity_endpoint", c->auth.identity_endpoint);
	cJSON_AddStringToObject(auth, "authority_host",
	    c->auth.authority_host);
	if (c->ca_file != NULL) {
		tls = cJSON_AddObjectToObject(root, "tls");
		cJSON_AddStringToObject(tls, "ca_file", c->ca_file);
	}
	objs = cJSON_AddArrayToObject(root, "objects");
	for (i = 0; i < c->nobjects; i++) {
		const struct akvd_object *ob = &c->objects[i];

		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(objs, o);
		cJSON_AddStringToObject(o, "name", ob->name);
		cJSON_AddStringToObject(o, "type", "secret");
		cJSON_AddStringToObject(o, "alias", ob->alias);
		cJSON_AddStringToObject(o, "version", ob->version);
		cJSON_AddStringToObject(o, "vault", ob->vault);
		snprintf(mode, sizeof(mode), "%04o", (unsigned)ob->mode);
		cJSON_AddStringToObject(o, "mode", mode);
		cJSON_AddBoolToObject(o, "optional", ob->optional);
	}
	if (c->nnotify > 0) {
		cJSON *nl = cJSON_AddArrayToObject(root, "notify"), *ne;
		char **a;

		duration_format(c->debounce_ms, d, sizeof(d));
		cJSON_AddStringToObject(root, "debounce", d);
		for (i = 0; i < c->nnotify; i++) {
			const struct akvd_notify *n = &c->notify[i];

			if ((ne = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(nl, ne);
			add_opt(ne, "signal", n->signame);
			add_opt(ne, "pid_file", n->pid_file);
			add_opt(ne, "process", n->process);
			if (n->argv != NULL) {
				cJSON *arr = cJSON_AddArrayToObject(ne, "exec");

				for (a = n->argv; *a != NULL; a++)
					cJSON_AddItemToArray(arr,
					    cJSON_CreateString(*a));
			}
			add_opt(ne, "http", n->url);
			add_opt(ne, "method", n->method);
			if (n->kind == NOTIFY_EXEC || n->kind == NOTIFY_HTTP) {
				duration_format(n->timeout_ms, d, sizeof(d));
				cJSON_AddStringToObject(ne, "timeout", d);
			}
		}
	}
	if ((out = cJSON_Print(root)) == NULL)
		goto out;
	rc = fprintf(f, "%s\n", out) < 0 ? -1 : 0;
	free(out);
out:
	cJSON_Delete(root);
	return (rc);
}

static int
same(const char *a, const char *b)
{

	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/*
 * config_object_same_source(a, b): nonzero if ${a} and ${b} fetch the same
 * thing (name, type, version, vault); used by reload to keep state.
 */
int
config_object_same_source(const struct akvd_object *a,
    const struct akvd_object *b)
{

	return (a->type == b->type && same(a->name, b->name) &&
	    same(a->version, b->version) && same(a->vault, b->vault));
}
