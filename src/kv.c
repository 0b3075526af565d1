/*
 * kv.c - the Azure Key Vault data plane: URLs and responses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "http.h"
#include "kv.h"
#include "util.h"

/*
 * kv_secret_url(vault, name, version): "{vault}/secrets/{name}[/{version}]
 * ?api-version=7.4" with ${name} and ${version} escaped; NULL or ""
 * ${version} means the latest.  Returns a new string (free()), or NULL on
 * ENOMEM.
 */
char *
kv_secret_url(const char *vault, const char *name, const char *version)
{
	struct buf b = BUF_INIT;
	char *n = NULL, *v = NULL;
	int rc = -1;

	if ((n = http_escape(name)) == NULL)
		goto out;
	if (version != NULL && version[0] != '\0' &&
	    (v = http_escape(version)) == NULL)
		goto out;
	rc = buf_appendf(&b, "%s/secrets/%s%s%s?api-version=" KV_API_VERSION,
	    vault, n, v != NULL ? "/" : "", v != NULL ? v : "");
out:
	free(n);
	free(v);
	if (rc == -1) {
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);
}

/*
 * kv_parse_secret(body, len, out, err, errlen): parse a SecretBundle.
 * Returns 0, or -1 with a message in ${err} that never holds the value.
 * On success the caller releases ${out} with kv_secret_clear().
 */
int
kv_parse_secret(const char *body, size_t len, struct kv_secret *out,
    char *err, size_t errlen)
{
	cJSON *j, *v, *id, *attr, *en, *ct;
	const char *slash, *p;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL) {
		snprintf(err, errlen, "response is not JSON");
		return (-1);
	}
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "response is not a JSON object");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "value");
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "response has no \"value\"");
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!cJSON_IsString(id) || (p = strstr(id->valuestring,
	    "/secrets/")) == NULL || (slash = strrchr(id->valuestring,
	    '/')) == NULL || slash < p + 9 || slash == p + 8 ||
	    slash[1] == '\0' || strchr(p + 9, '/') != slash) {
		snprintf(err, errlen, "response has no \"id\" of the form "
		    ".../secrets/NAME/VERSION");
		goto out;
	}
	attr = cJSON_GetObjectItemCaseSensitive(j, "attributes");
	en = cJSON_GetObjectItemCaseSensitive(attr, "enabled");
	out->enabled = cJSON_IsFalse(en) ? 0 : 1;
	ct = cJSON_GetObjectItemCaseSensitive(j, "contentType");
	out->len = strlen(v->valuestring);
	if ((out->value = malloc(out->len + 1)) == NULL ||
	    (out->version = strdup(slash + 1)) == NULL ||
	    (cJSON_IsString(ct) &&
	    (out->content_type = strdup(ct->valuestring)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		kv_secret_clear(out);
		goto out;
	}
	memcpy(out->value, v->valuestring, out->len + 1);
	rc = 0;
out:
	json_delete_wiped(j);
	return (rc);
}

/* kv_secret_clear(s): wipe the value and free everything; ${s} zeroed. */
void
kv_secret_clear(struct kv_secret *s)
{

	if (s->value != NULL)
		wipe_free(s->value, s->len + 1);
	free(s->version);
	free(s->content_type);
	memset(s, 0, sizeof(*s));
}

/*
 * kv_parse_error(body, len, out): parse {"error":{"code","message",
 * "innererror":{"code"}}}.  Returns 0, or -1 (${out} zeroed) if the body
 * is not a Key Vault error.
 */
int
kv_parse_error(const char *body, size_t len, struct kv_error *out)
{
	cJSON *j, *e, *c, *m, *in;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL)
		return (-1);
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	c = cJSON_GetObjectItemCaseSensitive(e, "code");
	if (!cJSON_IsObject(e) || !cJSON_IsString(c)) {
		cJSON_Delete(j);
		return (-1);
	}
	json_copy_text(out->code, sizeof(out->code), c, 1);
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	json_copy_text(out->message, sizeof(out->message), m, 0);
	in = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    e, "innererror"), "code");
	json_copy_text(out->inner, sizeof(out->inner), in, 1);
	cJSON_Delete(j);
	return (0);
}

/* Find param="value" in a challenge; copies value into dst. */
static int
challenge_param(const char *h, const char *name, char *dst, size_t dlen)
{
	const char *p = h, *q;
	size_t n = strlen(name), l;

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[n] == '=') {
			p += n + 1;
			if (*p == '"') {
				p++;
				if ((q = strchr(p, '"')) == NULL)
					return (-1);
			} else
				q = p + strcspn(p, ", ");
			l = (size_t)(q - p);
			if (l >= dlen)
				return (-1);
			memcpy(dst, p, l);
			dst[l] = '\0';
			return (0);
		}
		p += n;
	}
	return (-1);
}

/* The host of an https URL, lowercased, without port. */
static int
url_host(const char *url, char *dst, size_t dlen)
{
	const char *p;
	size_t n, i;

	if (strncasecmp(url, "https://", 8) != 0)
		return (-1);
	p = url + 8;
	n = strcspn(p, ":/?#");
	if (n == 0 || n >= dlen)
		return (-1);
	for (i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)p[i]);
	dst[n] = '\0';
	return (0);
}

/*
 * kv_parse_challenge(header, out): parse a WWW-Authenticate value such as
 * Bearer authorization="https://login.windows.net/{tenant}",
 * resource="https://vault.azure.net" ("authorization_uri" and "scope" are
 * accepted too; "/.default" is stripped from a scope).  Returns 0, or -1.
 */
int
kv_parse_challenge(const char *h, struct kv_challenge *out)
{
	char auth[512], *p, *s;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (-1);
	if (challenge_param(h, "authorization", auth, sizeof(auth)) == -1 &&
	    challenge_param(h, "authorization_uri", auth, sizeof(auth)) == -1)
		return (-1);
	if (challenge_param(h, "resource", out->resource,
	    sizeof(out->resource)) == -1) {
		if (challenge_param(h, "scope", out->resource,
		    sizeof(out->resource)) == -1)
			return (-1);
		n = strlen(out->resource);
		if (n > 9 && strcmp(out->resource + n - 9, "/.default") == 0)
			out->resource[n - 9] = '\0';
	}
	if (strncasecmp(auth, "https://", 8) != 0 ||
	    (p = strchr(auth + 8, '/')) == NULL)
		return (-1);
	p++;
	if ((s = strpbrk(p, "/?#")) != NULL)
		*s = '\0';
	if (*p == '\0' || strlen(p) >= sizeof(out->tenant))
		return (-1);
	memcpy(out->tenant, p, strlen(p) + 1);
	return (0);
}

/*
 * kv_resource_matches(vault_url, resource): nonzero iff the vault's host
 * ends with "." + the resource's host (case-insensitive): the SDKs'
 * verification that a challenge does not send a token to a look-alike.
 */
int
kv_resource_matches(const char *vault, const char *resource)
{
	char vh[256], rh[256];
	size_t vl, rl;

	if (url_host(vault, vh, sizeof(vh)) == -1 ||
	    url_host(resource, rh, sizeof(rh)) == -1)
		return (0);
	vl = strlen(vh);
	rl = strlen(rh);
	return (vl > rl + 1 && vh[vl - rl - 1] == '.' &&
	    strcmp(vh + vl - rl, rh) == 0);
}
