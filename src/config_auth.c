/*
 * config_auth.c - "cloud" (the Azure cloud table), "auth" (the "auto"
 * chain of credential kinds, IMDS and App Service endpoints) and "tls".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0' ? v : NULL);
}

/* ---------------------------------------------------------------------- */
/* Clouds                                                                 */

static const struct {
	const char	*name;
	const char	*authority;
	const char	*vault_suffix;
	const char	*vault_scope;
	const char	*storage_scope;	/* as the Azure SDKs' audiences */
} clouds[] = {
	{ "public", "https://login.microsoftonline.com/", "vault.azure.net",
	    "https://vault.azure.net/.default",
	    "https://storage.azure.com/.default" },
	{ "china", "https://login.chinacloudapi.cn/", "vault.azure.cn",
	    "https://vault.azure.cn/.default",
	    "https://storage.azure.cn/.default" },
	{ "usgov", "https://login.microsoftonline.us/",
	    "vault.usgovcloudapi.net",
	    "https://vault.usgovcloudapi.net/.default",
	    "https://storage.azure.us/.default" },
};

static const char *const method_names[] = {
	[AUTH_WORKLOAD_IDENTITY] = "workload_identity",
	[AUTH_MANAGED_IDENTITY] = "managed_identity",
	[AUTH_APP_SERVICE] = "app_service",
	[AUTH_CLIENT_SECRET] = "client_secret",
	[AUTH_CLIENT_CERTIFICATE] = "client_certificate",
};
#define NMETHODS	(sizeof(method_names) / sizeof(method_names[0]))

/* config_auth_method_name(m): "workload_identity", "managed_identity"... */
const char *
config_auth_method_name(enum auth_method m)
{

	return ((size_t)m < NMETHODS ? method_names[m] : "unknown");
}

/* Nonzero if ${s} is an https URL ending in "/.default". */
static int
scope_valid(const char *s)
{

	return (strncmp(s, "https://", 8) == 0 && strlen(s) >= 18 &&
	    strcmp(s + strlen(s) - 9, "/.default") == 0);
}

/*
 * "cloud": a name, or {"authority_host", "vault_suffix", "vault_scope",
 * "storage_scope"}.  Fills c->cloud, c->vault_suffix, c->vault_scope,
 * c->storage_scope and returns the cloud's authority host (static or
 * owned by ${c}).
 */
const char *
parse_cloud(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	static const char *const keys[] = { "authority_host", "vault_suffix",
	    "vault_scope", "storage_scope", NULL };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "cloud");
	const char *host = NULL, *suffix = NULL, *scope = NULL, *sscope;
	char url[URL_MAX], sv[SHOW_LEN];
	size_t i = 0;
	int r;

	if (v != NULL && cJSON_IsString(v)) {
		for (i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
			if (strcmp(v->valuestring, clouds[i].name) == 0)
				break;
		if (i == sizeof(clouds) / sizeof(clouds[0])) {
			perr(p, "cloud", "unknown cloud \"%s\" (public, "
			    "china, usgov, or an object with authority_host, "
			    "vault_suffix and vault_scope)",
			    show(sv, v->valuestring));
			i = 0;
		}
	} else if (v != NULL && cJSON_IsObject(v)) {
		check_keys(p, "cloud", v, keys);
		r = get_string(p, "cloud", v, "authority_host", &host);
		if (r == 0)
			perr(p, "cloud.authority_host", "required");
		else if (r == 1 &&
		    https_url(host, url, sizeof(url), 1) == -1) {
			perr(p, "cloud.authority_host", "must be an https URL "
			    "without a path");
			host = NULL;
		}
		if (get_string(p, "cloud", v, "vault_suffix", &suffix) == 0)
			perr(p, "cloud.vault_suffix", "required");
		else if (suffix != NULL && (strlen(suffix) < 3 ||
		    strlen(suffix) > 200 || host_len(suffix) != strlen(suffix)))
			perr(p, "cloud.vault_suffix", "must be a DNS suffix "
			    "such as \"vault.azure.net\"");
		if (get_string(p, "cloud", v, "vault_scope", &scope) == 0)
			perr(p, "cloud.vault_scope", "required");
		else if (scope != NULL && !scope_valid(scope))
			perr(p, "cloud.vault_scope", "must be an https URL "
			    "ending in \"/.default\"");
		if (get_string(p, "cloud", v, "storage_scope", &sscope) == 0)
			sscope = CONFIG_DEFAULT_STORAGE_SCOPE;
		else if (sscope != NULL && !scope_valid(sscope))
			perr(p, "cloud.storage_scope", "must be an https URL "
			    "ending in \"/.default\"");
		c->cloud = pdup(p, "cloud", "custom");
		c->vault_suffix = pdup(p, "cloud", suffix != NULL ? suffix :
		    "");
		c->vault_scope = pdup(p, "cloud", scope != NULL ? scope : "");
		c->storage_scope = pdup(p, "cloud", sscope != NULL ? sscope :
		    "");
		return (host);
	} else if (v != NULL)
		perr(p, "cloud", "must be a cloud name or an object");
	c->cloud = pdup(p, "cloud", clouds[i].name);
	c->vault_suffix = pdup(p, "cloud", clouds[i].vault_suffix);
	c->vault_scope = pdup(p, "cloud", clouds[i].vault_scope);
	c->storage_scope = pdup(p, "cloud", clouds[i].storage_scope);
	return (clouds[i].authority);
}

enum { SET_NONE = 0, SET_ENV, SET_CONFIG, SET_BAD };

/* One auth setting, and where it came from. */
struct setting {
	const char	*v;		/* NULL if unset or mistyped */
	int		 from;		/* SET_* */
	char		 note[48];	/* " (from VAR)" if from VAR */
};

/* Fill ${s}: the config's value of ${key}, else the variable ${var}'s. */
static void
setting(struct parser *p, const cJSON *a, const char *key, const char *var,
    struct setting *s)
{

	s->v = NULL;
	s->from = SET_NONE;
	s->note[0] = '\0';
	if (a != NULL) {
		switch (get_string(p, "auth", a, key, &s->v)) {
		case 1:
			s->from = SET_CONFIG;
			return;
		case -1:
			s->from = SET_BAD;
			return;
		}
	}
	if (var != NULL && (s->v = env(var)) != NULL) {
		s->from = SET_ENV;
		snprintf(s->note, sizeof(s->note), " (from %s)", var);
	}
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
		why = secret_file != NULL ? "auth.client_secret_file, a "
		    "tenant and a client id are set" : "AZURE_CLIENT_SECRET, "
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

/*
 * Nonzero if the ${n} bytes at ${h} are "localhost", "[::1]", or an IPv4
 * address in 127.0.0.0/8 or 169.254.0.0/16.
 */
static int
local_host(const char *h, size_t n)
{
	unsigned v[4] = { 0 }, part = 0, digits = 0;
	size_t i;

	if ((n == 9 && strncmp(h, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0))
		return (1);
	for (i = 0; i < n; i++) {
		if (h[i] >= '0' && h[i] <= '9' && digits < 3) {
			v[part] = v[part] * 10 + (unsigned)(h[i] - '0');
			digits++;
		} else if (h[i] == '.' && digits > 0 && part < 3) {
			part++;
			digits = 0;
		} else
			return (0);
	}
	if (part != 3 || digits == 0 || v[0] > 255 || v[1] > 255 ||
	    v[2] > 255 || v[3] > 255)
		return (0);
	return (v[0] == 127 || (v[0] == 169 && v[1] == 254));
}

/*
 * Normalize ${s}, the http(s) URL of a local identity endpoint (IMDS, App
 * Service), into ${out} without trailing '/': plain http only to a local
 * address, no userinfo, no blanks, quotes or control characters.  Returns
 * 0 or -1.
 */
static int
local_endpoint(const char *s, char *out, size_t len)
{
	const unsigned char *u;
	const char *h;
	size_t an, hn, pn, n;

	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return (-1);
	for (u = (const unsigned char *)s; *u != '\0'; u++)
		if (*u <= ' ' || *u == 0x7f || *u == '"' || *u == '\\')
			return (-1);
	an = strcspn(h, "/?#");		/* host and port */
	hn = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (an == 0 || hn > an || (pn = port_len(h + hn)) == (size_t)-1 ||
	    hn + pn != an)
		return (-1);
	if (h == s + 7 ? !local_host(h, hn) : host_len(h) != hn)
		return (-1);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n >= len)
		return (-1);
	memcpy(out, s, n);
	out[n] = '\0';
	return (0);
}

static void
require(struct parser *p, const struct setting *s, const char *path,
    const char *var, const char *method)
{

	if (s->from != SET_NONE)
		return;		/* there, or reported as mistyped */
	if (var != NULL)
		perr(p, path, "required by %s (set it here or in %s)", method,
		    var);
	else
		perr(p, path, "required by %s", method);
}

void
parse_auth(struct parser *p, const cJSON *root, struct akvd_config *c,
    const char *cloud_authority)
{
	static const char *const keys[] = { "method", "tenant_id",
	    "client_id", "token_file", "authority_host", "client_secret_file",
	    "certificate_file", "object_id", "resource_id", "imds_endpoint",
	    "identity_endpoint", NULL };
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "auth");
	struct akvd_auth *au = &c->auth;
	struct setting method, tenant, client, file, host, secret, cert, oid,
	    rid, imds, ident;
	char url[URL_MAX], sv[SHOW_LEN];
	const char *mname;
	size_t i;
	int known = 1;

	if (a != NULL && !cJSON_IsObject(a)) {
		perr(p, "auth", "must be an object");
		a = NULL;
	}
	if (a != NULL)
		check_keys(p, "auth", a, keys);
	setting(p, a, "method", NULL, &method);
	setting(p, a, "tenant_id", "AZURE_TENANT_ID", &tenant);
	setting(p, a, "client_id", "AZURE_CLIENT_ID", &client);
	setting(p, a, "token_file", "AZURE_FEDERATED_TOKEN_FILE", &file);
	setting(p, a, "authority_host", "AZURE_AUTHORITY_HOST", &host);
	setting(p, a, "client_secret_file", NULL, &secret);
	setting(p, a, "certificate_file", "AZURE_CLIENT_CERTIFICATE_PATH",
	    &cert);
	setting(p, a, "object_id", NULL, &oid);
	setting(p, a, "resource_id", NULL, &rid);
	setting(p, a, "imds_endpoint", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
	    &imds);
	setting(p, a, "identity_endpoint", "IDENTITY_ENDPOINT", &ident);

	if (method.v == NULL || strcmp(method.v, "auto") == 0)
		au->method = choose_method(au, secret.v, cert.v, file.v,
		    tenant.v, client.v);
	else {
		for (i = 0; i < NMETHODS; i++)
			if (strcmp(method.v, method_names[i]) == 0)
				break;
		if (i == NMETHODS) {
			perr(p, "auth.method", "unsupported method \"%s\" "
			    "(supported: auto, workload_identity, "
			    "managed_identity, app_service, client_secret, "
			    "client_certificate)", show(sv, method.v));
			known = 0;	/* check the rest, no needs */
			i = AUTH_WORKLOAD_IDENTITY;
		}
		au->method = (enum auth_method)i;
		snprintf(au->method_why, sizeof(au->method_why),
		    "auth.method is \"%s\"", method_names[i]);
	}
	mname = method_names[au->method];

	if (tenant.v != NULL) {
		if (!tenant_valid(tenant.v))
			perr(p, "auth.tenant_id", "invalid tenant \"%s\" (a "
			    "GUID or a domain name)%s", show(sv, tenant.v),
			    tenant.note);
		else
			au->tenant_id = pdup(p, "auth.tenant_id", tenant.v);
	}
	/*
	 * AZURE_CLIENT_ID names the user-assigned identity only when the
	 * configuration names none by object_id or resource_id: the variable
	 * may be there for another tool (the workload identity webhook sets
	 * it), and akvd would neither use nor print it.
	 */
	if (au->method == AUTH_MANAGED_IDENTITY && client.from == SET_ENV &&
	    (oid.v != NULL || rid.v != NULL)) {
		client.v = NULL;
		client.from = SET_NONE;
	}
	if (client.v != NULL) {
		if (!client_id_valid(client.v))
			perr(p, "auth.client_id", "invalid client id \"%s\"%s",
			    show(sv, client.v), client.note);
		else
			au->client_id = pdup(p, "auth.client_id", client.v);
	}
	if (oid.v != NULL) {
		if (!client_id_valid(oid.v))
			perr(p, "auth.object_id", "invalid object id \"%s\"",
			    show(sv, oid.v));
		else
			au->object_id = pdup(p, "auth.object_id", oid.v);
	}
	if (rid.v != NULL) {
		if (rid.v[0] != '/' || strpbrk(rid.v, " \t\r\n&?#") != NULL)
			perr(p, "auth.resource_id", "must be an ARM resource "
			    "id (/subscriptions/...)");
		else
			au->resource_id = pdup(p, "auth.resource_id", rid.v);
	}
	if (file.v != NULL && au->method == AUTH_WORKLOAD_IDENTITY)
		au->token_file = resolve_path(p, "auth.token_file", file.v);
	if (secret.v != NULL && au->method == AUTH_CLIENT_SECRET)
		au->client_secret_file = resolve_path(p,
		    "auth.client_secret_file", secret.v);
	if (cert.v != NULL && au->method == AUTH_CLIENT_CERTIFICATE)
		au->certificate_file = resolve_path(p,
		    "auth.certificate_file", cert.v);
	if (au->method == AUTH_MANAGED_IDENTITY && imds.from != SET_BAD) {
		if (imds.v == NULL)
			imds.v = CONFIG_DEFAULT_IMDS;
		if (local_endpoint(imds.v, url, sizeof(url)) == -1)
			perr(p, "auth.imds_endpoint", "must be an http URL of "
			    "a link-local or loopback address, or https%s",
			    imds.note);
		else
			au->imds_endpoint = pdup(p, "auth.imds_endpoint", url);
	}
	if (au->method == AUTH_APP_SERVICE && ident.v != NULL) {
		if (local_endpoint(ident.v, url, sizeof(url)) == -1)
			perr(p, "auth.identity_endpoint", "must be an http "
			    "URL of a link-local or loopback address, or "
			    "https%s",
			    ident.note);
		else
			au->identity_endpoint = pdup(p,
			    "auth.identity_endpoint", url);
	}

	/* Config, else AZURE_AUTHORITY_HOST, else the cloud's. */
	if (host.v == NULL && host.from != SET_BAD)
		host.v = cloud_authority;
	if (host.v != NULL) {
		if (https_url(host.v, url, sizeof(url), 1) == -1)
			perr(p, "auth.authority_host", "must be an https URL "
			    "without a path, e.g. \"%s\"%s",
			    CONFIG_DEFAULT_AUTHORITY, host.note);
		else
			au->authority_host = pdup(p, "auth.authority_host",
			    url);
	}

	/* What each method needs. */
	if (!known)
		return;
	switch (au->method) {
	case AUTH_WORKLOAD_IDENTITY:
		require(p, &client, "auth.client_id", "AZURE_CLIENT_ID",
		    mname);
		require(p, &file, "auth.token_file",
		    "AZURE_FEDERATED_TOKEN_FILE", mname);
		break;
	case AUTH_CLIENT_SECRET:
		require(p, &client, "auth.client_id", "AZURE_CLIENT_ID",
		    mname);
		if (secret.from == SET_NONE &&
		    env("AZURE_CLIENT_SECRET") == NULL)
			perr(p, "auth.client_secret_file", "required by "
			    "client_secret (a file holding the secret; or set "
			    "AZURE_CLIENT_SECRET)");
		break;
	case AUTH_CLIENT_CERTIFICATE:
		require(p, &client, "auth.client_id", "AZURE_CLIENT_ID",
		    mname);
		require(p, &cert, "auth.certificate_file",
		    "AZURE_CLIENT_CERTIFICATE_PATH", mname);
		break;
	case AUTH_MANAGED_IDENTITY:
		if ((client.from == SET_CONFIG) + (oid.v != NULL) +
		    (rid.v != NULL) > 1)
			perr(p, "auth", "choose one of client_id, object_id "
			    "and resource_id for a user-assigned identity");
		break;
	case AUTH_APP_SERVICE:
		require(p, &ident, "auth.identity_endpoint",
		    "IDENTITY_ENDPOINT", mname);
		if (env("IDENTITY_HEADER") == NULL)
			perr(p, "auth", "app_service needs the "
			    "IDENTITY_HEADER variable (set by the platform)");
		break;
	}
}

void
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
