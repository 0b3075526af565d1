/*
 * entra.c - the Microsoft Entra ID token endpoint (v2).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "entra.h"
#include "http.h"
#include "util.h"

/*
 * entra_token_url(authority_host, tenant): "{authority_host}{tenant}/
 * oauth2/v2.0/token" (${authority_host} ends with '/'; ${tenant} is
 * escaped).  Returns a new string (free()), or NULL on ENOMEM.
 */
char *
entra_token_url(const char *authority, const char *tenant)
{
	struct buf b = BUF_INIT;
	char *t;
	size_t n = strlen(authority);

	if ((t = http_escape(tenant)) == NULL)
		return (NULL);
	if (buf_appendf(&b, "%s%s%s/oauth2/v2.0/token", authority,
	    n > 0 && authority[n - 1] == '/' ? "" : "/", t) == -1) {
		free(t);
		buf_wipe(&b);
		return (NULL);
	}
	free(t);
	return (b.data);
}

/*
 * entra_assertion_form(client_id, scope, assertion): the
 * x-www-form-urlencoded body of a client-credentials grant with a client
 * assertion (a federated token or a signed JWT).  Returns a new string that
 * holds the assertion: release it with str_wipe_free().  NULL on ENOMEM.
 */
char *
entra_assertion_form(const char *client_id, const char *scope,
    const char *assertion)
{
	struct buf b = BUF_INIT;
	char *c = NULL, *s = NULL, *a = NULL;
	int rc = -1;

	if ((c = http_escape(client_id)) == NULL ||
	    (s = http_escape(scope)) == NULL ||
	    (a = http_escape(assertion)) == NULL)
		goto out;
	rc = buf_appendf(&b, "grant_type=client_credentials&client_id=%s"
	    "&scope=%s&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth"
	    "%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=%s",
	    c, s, a);
out:
	free(c);
	free(s);
	str_wipe_free(a);
	if (rc == -1) {
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);
}

/*
 * entra_secret_form(client_id, scope, secret): the body of a
 * client-credentials grant with a client secret.  Release it with
 * str_wipe_free().  NULL on ENOMEM.
 */
char *
entra_secret_form(const char *client_id, const char *scope,
    const char *secret)
{
	struct buf b = BUF_INIT;
	char *c = NULL, *s = NULL, *x = NULL;
	int rc = -1;

	if ((c = http_escape(client_id)) == NULL ||
	    (s = http_escape(scope)) == NULL ||
	    (x = http_escape(secret)) == NULL)
		goto out;
	rc = buf_appendf(&b, "grant_type=client_credentials&client_id=%s"
	    "&scope=%s&client_secret=%s", c, s, x);
out:
	free(c);
	free(s);
	str_wipe_free(x);
	if (rc == -1) {
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);
}

/* A JSON number or numeric string as seconds; -1 if neither. */
static int64_t
json_seconds(const cJSON *v)
{
	char *end;
	long long n;

	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble > 1e12)
			return (-1);
		return ((int64_t)v->valuedouble);
	}
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		errno = 0;
		n = strtoll(v->valuestring, &end, 10);
		if (errno != 0 || *end != '\0' || n < 0 ||
		    !isdigit((unsigned char)v->valuestring[0]))
			return (-1);
		return ((int64_t)n);
	}
	return (-1);
}

/*
 * entra_parse_token(body, len, now, out, err, errlen): parse a successful
 * token response of Entra ID, IMDS or an App Service identity endpoint.
 * "expires_in" and "refresh_in" may be numbers or numeric strings (IMDS
 * sends strings); without "expires_in", "expires_on" (Unix seconds, as App
 * Service sends it) gives expires_in = expires_on - ${now}.  Returns 0, or
 * -1 with a message naming the field in ${err} (never the token).
 */
int
entra_parse_token(const char *body, size_t len, int64_t now,
    struct entra_token *out, char *err, size_t errlen)
{
	int64_t on;
	cJSON *j = NULL, *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL ||
	    !cJSON_IsObject(j)) {
		snprintf(err, errlen, "response is not a JSON object");
		json_delete_wiped(j);
		return (-1);
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "token_type");
	if (v != NULL && (!cJSON_IsString(v) ||
	    strcasecmp(v->valuestring, "Bearer") != 0)) {
		snprintf(err, errlen, "unsupported \"token_type\"");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		snprintf(err, errlen, "response has no \"access_token\"");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	if (v != NULL)
		out->expires_in = json_seconds(v);
	else if ((on = json_seconds(cJSON_GetObjectItemCaseSensitive(j,
	    "expires_on"))) > 0)
		out->expires_in = on - now;
	if (out->expires_in <= 0) {
		snprintf(err, errlen, "response has no valid \"expires_in\" "
		    "or \"expires_on\"");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "refresh_in");
	if (v != NULL && (out->refresh_in = json_seconds(v)) < 0) {
		snprintf(err, errlen, "invalid \"refresh_in\"");
		goto out;
	}
	if (v == NULL)
		out->refresh_in = 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	if ((out->access_token = strdup(v->valuestring)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_delete_wiped(j);
	if (rc == -1) {
		out->expires_in = out->refresh_in = 0;
	}
	return (rc);
}

/* entra_token_clear(t): wipe and free the token; ${t} is zeroed. */
void
entra_token_clear(struct entra_token *t)
{

	str_wipe_free(t->access_token);
	memset(t, 0, sizeof(*t));
}

/*
 * entra_parse_error(body, len, out): parse an error response.  ${code} is
 * the first of "error_codes", else the AADSTS number at the start of the
 * description; ${description} stops before the "\r\nTrace ID" lines.
 * Returns 0, or -1 (${out} zeroed) if the body is not an Entra error.
 */
int
entra_parse_error(const char *body, size_t len, struct entra_error *out)
{
	cJSON *j, *e, *d, *codes, *cid;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL)
		return (-1);
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!cJSON_IsObject(j) || !cJSON_IsString(e)) {
		cJSON_Delete(j);
		return (-1);
	}
	json_copy_text(out->error, sizeof(out->error), e, 1);
	d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	json_copy_text(out->description, sizeof(out->description), d, 1);
	codes = cJSON_GetObjectItemCaseSensitive(j, "error_codes");
	if (cJSON_IsArray(codes) && cJSON_IsNumber(cJSON_GetArrayItem(codes,
	    0)))
		out->code = (long)cJSON_GetArrayItem(codes, 0)->valuedouble;
	else if (strncmp(out->description, "AADSTS", 6) == 0) {
		p = out->description + 6;
		out->code = strtol(p, NULL, 10);
	}
	cid = cJSON_GetObjectItemCaseSensitive(j, "correlation_id");
	json_copy_text(out->correlation_id, sizeof(out->correlation_id), cid,
	    1);
	cJSON_Delete(j);
	return (0);
}

static const struct {
	long		 code;
	const char	*hint;
} hints[] = {
	{ 70021, "no federated credential on the identity matches the "
	    "token's issuer, subject and audience: compare them with "
	    "`az identity federated-credential list` (the issuer must match "
	    "the cluster's OIDC issuer exactly, trailing slash included)" },
	{ 700211, "no federated credential matches the token's issuer: "
	    "check the cluster's OIDC issuer URL (trailing slash included)" },
	{ 700212, "no federated credential matches the token's audience: "
	    "it should be api://AzureADTokenExchange" },
	{ 700213, "no federated credential matches the token's subject: "
	    "it should be system:serviceaccount:NAMESPACE:SERVICEACCOUNT" },
	{ 700024, "the service-account token is expired or not yet valid: "
	    "is the projected volume being refreshed, and is the clock "
	    "right?" },
	{ 50166, "Entra ID could not fetch the issuer's discovery document: "
	    "is the cluster's OIDC issuer enabled and publicly reachable?" },
	{ 90061, "Entra ID could not fetch the issuer's discovery document "
	    "or keys: is the cluster's OIDC issuer publicly reachable?" },
	{ 7000272, "the token's signing key is not in the issuer's JWKS: "
	    "were the cluster's service-account keys rotated?" },
	{ 700027, "the assertion's signature is invalid: is the token from "
	    "the cluster the federated credential names?" },
	{ 7000215, "the client secret is invalid: check the value, not the "
	    "secret's id" },
	{ 7000222, "the client secret has expired: create a new one" },
	{ 700016, "the application (client id) was not found in the tenant: "
	    "check AZURE_CLIENT_ID and AZURE_TENANT_ID" },
	{ 70023, "the service-account token lives longer than Entra "
	    "accepts (1 day 1 hour): lower expirationSeconds" },
	{ 90002, "the tenant was not found: check AZURE_TENANT_ID and the "
	    "cloud (authority host)" },
	{ 900023, "the tenant id is malformed: check AZURE_TENANT_ID" },
};

/*
 * entra_hint(code): a one-line hint of what to check for AADSTS ${code},
 * or NULL when there is none.
 */
const char *
entra_hint(long code)
{
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (hints[i].code == code)
			return (hints[i].hint);
	return (NULL);
}
