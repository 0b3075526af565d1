/*
 * kv.c - the Azure Key Vault data plane: URLs and responses.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "http.h"
#include "kv.h"
#include "util.h"

static int64_t	json_time(const cJSON *, const char *);
static int	copy_tags(char ***, size_t *, const cJSON *);
static void	free_tags(char **);

/*
 * The concatenation of the strings given, up to a NULL, as a new string;
 * NULL on ENOMEM.  URLs are built once per request: no format parsing.
 */
static char *
join(const char *first, ...)
{
	va_list ap;
	const char *p;
	size_t len = 0, n;
	char *out, *q;

	va_start(ap, first);
	for (p = first; p != NULL; p = va_arg(ap, const char *))
		len += strlen(p);
	va_end(ap);
	if ((out = q = malloc(len + 1)) == NULL)
		return (NULL);
	va_start(ap, first);
	for (p = first; p != NULL; p = va_arg(ap, const char *)) {
		n = strlen(p);
		memcpy(q, p, n);
		q += n;
	}
	va_end(ap);
	*q = '\0';
	return (out);
}

#define KV_STR(x)	KV_STR2(x)
#define KV_STR2(x)	#x

/* The path segment of a kind: "secrets", "certificates", "keys". */
static const char *
kind_segment(enum kv_kind k)
{

	switch (k) {
	case KV_CERTIFICATE:
		return ("certificates");
	case KV_KEY:
		return ("keys");
	default:
		return ("secrets");
	}
}

/*
 * kv_object_url(vault, kind, name, version): "{vault}/{secrets|
 * certificates|keys}/{name}[/{version}]?api-version=7.4" with ${name} and
 * ${version} escaped; NULL or "" ${version} means the latest.  Returns a
 * new string (free()), or NULL on ENOMEM.
 */
char *
kv_object_url(const char *vault, enum kv_kind kind, const char *name,
    const char *version)
{
	char *n = NULL, *v = NULL, *url = NULL;

	if ((n = http_escape(name)) == NULL)
		goto out;
	if (version != NULL && version[0] != '\0' &&
	    (v = http_escape(version)) == NULL)
		goto out;
	url = join(vault, "/", kind_segment(kind), "/", n, v != NULL ? "/" :
	    "", v != NULL ? v : "", "?api-version=" KV_API_VERSION, NULL);
out:
	free(n);
	free(v);
	return (url);
}

/*
 * kv_secret_url(vault, name, version): kv_object_url for a secret.
 */
char *
kv_secret_url(const char *vault, const char *name, const char *version)
{

	return (kv_object_url(vault, KV_SECRET, name, version));
}

/*
 * kv_versions_url(vault, kind, name): the first page of the versions of
 * ${name}: "{vault}/{kind}/{name}/versions?api-version=7.4&maxresults=25";
 * with a NULL ${name}, the list of the vault's objects of that kind:
 * "{vault}/{kind}?api-version=7.4&maxresults=25".  Returns a new string,
 * or NULL on ENOMEM.
 */
char *
kv_versions_url(const char *vault, enum kv_kind kind, const char *name)
{
	char *n = NULL, *url;

	if (name != NULL && (n = http_escape(name)) == NULL)
		return (NULL);
	url = join(vault, "/", kind_segment(kind), n != NULL ? "/" : "",
	    n != NULL ? n : "", n != NULL ? "/versions" : "",
	    "?api-version=" KV_API_VERSION "&maxresults=" KV_STR(KV_PAGE),
	    NULL);
	free(n);
	return (url);
}

/*
 * The version in ${id} ".../{segment}/NAME/VERSION", or NULL.  With
 * ${name_out}, the NAME too (id ".../{segment}/NAME" of a list, then
 * VERSION is NULL and *${name_out} set).
 */
static const char *
id_version(const char *id, const char *seg, const char **name,
    size_t *namelen)
{
	char pat[32];
	const char *p, *n, *slash;

	snprintf(pat, sizeof(pat), "/%s/", seg);
	if ((p = strstr(id, pat)) == NULL)
		return (NULL);
	n = p + strlen(pat);
	slash = strchr(n, '/');
	if (name != NULL) {
		*name = n;
		*namelen = slash != NULL ? (size_t)(slash - n) : strlen(n);
	}
	if (slash == NULL || slash == n || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL)
		return (NULL);
	return (slash + 1);
}

/*
 * Does the JSON text ${body} escape a NUL character ("\u0000")?  cJSON
 * would end the string there, silently truncating the value.
 */
static int
has_escaped_nul(const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	/* From backslash to backslash (memchr: a body is kilobytes). */
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL &&
	    end - p >= 2) {
		if (p[1] == 'u' && end - p >= 6 && memcmp(p + 2, "0000", 4) == 0)
			return (1);
		p += 2;	/* skip the escaped character ("\\u0000" is text) */
	}
	return (0);
}

/*
 * kv_parse_object(body, len, kind, out, err, errlen): parse a SecretBundle
 * (the value), a CertificateBundle ("cer", base64 DER) or a KeyBundle (the
 * "key" JWK as compact JSON) into ${out}.  Returns 0, or -1 with a message
 * in ${err} that never holds the value.  On success the caller releases
 * ${out} with kv_secret_clear().
 */
int
kv_parse_object(const char *body, size_t len, enum kv_kind kind,
    struct kv_secret *out, char *err, size_t errlen)
{
	cJSON *j, *v, *id, *attr, *en, *ct;
	const char *ver, *field;
	char *text = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL) {
		snprintf(err, errlen, "response is not JSON");
		return (-1);
	}
	if (kind == KV_SECRET && has_escaped_nul(body, len)) {
		snprintf(err, errlen, "value holds a NUL byte (\\u0000)");
		goto out;
	}
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "response is not a JSON object");
		goto out;
	}
	field = kind == KV_CERTIFICATE ? "cer" : kind == KV_KEY ? "key" :
	    "value";
	v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (kind == KV_KEY ? !cJSON_IsObject(v) : !cJSON_IsString(v)) {
		snprintf(err, errlen, "response has no \"%s\"", field);
		goto out;
	}
	/* A KeyBundle's id is in key.kid. */
	id = kind == KV_KEY ? cJSON_GetObjectItemCaseSensitive(v, "kid") :
	    cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!cJSON_IsString(id) || (ver = id_version(id->valuestring,
	    kind_segment(kind), NULL, NULL)) == NULL) {
		snprintf(err, errlen, "response has no \"%s\" of the form "
		    ".../%s/NAME/VERSION", kind == KV_KEY ? "key.kid" : "id",
		    kind_segment(kind));
		goto out;
	}
	attr = cJSON_GetObjectItemCaseSensitive(j, "attributes");
	en = cJSON_GetObjectItemCaseSensitive(attr, "enabled");
	out->enabled = cJSON_IsFalse(en) ? 0 : 1;
	out->updated = json_time(attr, "updated");
	ct = cJSON_GetObjectItemCaseSensitive(j, "contentType");
	if (copy_tags(&out->tags, &out->ntags,
	    cJSON_GetObjectItemCaseSensitive(j, "tags")) == -1) {
		snprintf(err, errlen, "out of memory");
		kv_secret_clear(out);
		goto out;
	}
	out->managed = kind == KV_SECRET &&
	    (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "managed")) ||
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "kid")));
	if (kind == KV_KEY) {
		if ((text = cJSON_PrintUnformatted(v)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	out->len = strlen(text != NULL ? text : v->valuestring);
	if ((out->value = malloc(out->len + 1)) == NULL ||
	    (out->version = strdup(ver)) == NULL ||
	    (cJSON_IsString(ct) &&
	    (out->content_type = strdup(ct->valuestring)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		kv_secret_clear(out);
		goto out;
	}
	memcpy(out->value, text != NULL ? text : v->valuestring,
	    out->len + 1);
	rc = 0;
out:
	if (text != NULL)
		wipe_free(text, strlen(text) + 1);
	json_delete_wiped(j);
	return (rc);
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

	return (kv_parse_object(body, len, KV_SECRET, out, err, errlen));
}

/* Seconds from a JSON number, or 0. */
static int64_t
json_time(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	int64_t t;

	if (!cJSON_IsNumber(v) || json_int(v, 0, INT64_C(999999999999999),
	    &t) == -1)
		return (0);
	return (t);
}

/*
 * Copy the string tags of ${t} into ${*out} (key, value, ..., NULL) and
 * their count into ${*n} (pairs, when ${n} is not NULL).  Returns 0, or
 * -1 on ENOMEM (what was copied is in ${*out}, for the caller to free).
 */
static int
copy_tags(char ***out, size_t *np, const cJSON *t)
{
	const cJSON *c;
	size_t n = 0;

	if (!cJSON_IsObject(t))
		t = NULL;	/* no tags (an array has no keys) */
	cJSON_ArrayForEach(c, t)
		if (cJSON_IsString(c) && c->string != NULL)
			n++;
	if (np != NULL)
		*np = n;
	if ((*out = calloc(2 * n + 1, sizeof(**out))) == NULL)
		return (-1);
	n = 0;
	cJSON_ArrayForEach(c, t) {
		if (!cJSON_IsString(c) || c->string == NULL)
			continue;
		if (((*out)[n] = strdup(c->string)) == NULL ||
		    ((*out)[n + 1] = strdup(c->valuestring)) == NULL)
			return (-1);
		n += 2;
	}
	return (0);
}

/* Free a NULL-terminated key, value... array of copy_tags(). */
static void
free_tags(char **tags)
{
	char **t;

	for (t = tags; t != NULL && *t != NULL; t++)
		free(*t);
	free(tags);
}

/*
 * Note that ${l}'s listing follows ${link}: -1 with a message if it did
 * already (a loop) or has followed KV_MAX_PAGES links.
 */
static int
follow_link(struct kv_list *l, const char *link, char *err, size_t errlen)
{
	char **links;
	size_t i;

	for (i = 0; i < l->nlinks; i++)
		if (strcmp(l->links[i], link) == 0) {
			snprintf(err, errlen, "nextLink repeats a page "
			    "already listed");
			return (-1);
		}
	if (l->nlinks + 1 >= KV_MAX_PAGES) {
		snprintf(err, errlen, "listing has more than %d pages",
		    KV_MAX_PAGES);
		return (-1);
	}
	if ((links = reallocarray(l->links, l->nlinks + 1,
	    sizeof(*links))) == NULL)
		goto oom;
	l->links = links;
	if ((links[l->nlinks] = strdup(link)) == NULL)
		goto oom;
	l->nlinks++;
	return (0);
oom:
	snprintf(err, errlen, "out of memory");
	return (-1);
}

/*
 * kv_parse_list(body, len, kind, vault, out, next, err, errlen): parse a
 * page of SecretItem (or CertificateItem, KeyItem), appending its items
 * to ${out}.  *${next} is set to the nextLink (a new string), or NULL on
 * the last page; a nextLink that does not point into ${vault} is an error
 * (a token must never go elsewhere), and so is one ${out} has returned
 * already or one past KV_MAX_PAGES pages.  "tags" that are not an object,
 * and tags whose value is not a string, are ignored.  Returns 0, or -1
 * with a message in ${err}.
 */
int
kv_parse_list(const char *body, size_t len, enum kv_kind kind,
    const char *vault, struct kv_list *out, char **next, char *err,
    size_t errlen)
{
	cJSON *j, *arr, *c, *id, *attr, *nl, *ct;
	struct kv_item *items, *it;
	const char *ver, *name = NULL;
	size_t vl = strlen(vault), namelen = 0;
	int rc = -1;

	*next = NULL;
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL) {
		snprintf(err, errlen, "response is not JSON");
		return (-1);
	}
	arr = cJSON_GetObjectItemCaseSensitive(j, "value");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "list response has no \"value\" array");
		goto out;
	}
	nl = cJSON_GetObjectItemCaseSensitive(j, "nextLink");
	if (cJSON_IsString(nl) && nl->valuestring[0] != '\0') {
		if (strncasecmp(nl->valuestring, vault, vl) != 0 ||
		    nl->valuestring[vl] != '/') {
			snprintf(err, errlen, "nextLink does not point into "
			    "the vault");
			goto out;
		}
		if (follow_link(out, nl->valuestring, err, errlen) == -1)
			goto out;
		if ((*next = strdup(nl->valuestring)) == NULL)
			goto oom;
	} else if (nl != NULL && !cJSON_IsNull(nl) && !cJSON_IsString(nl)) {
		snprintf(err, errlen, "nextLink is not a string");
		goto out;
	}
	cJSON_ArrayForEach(c, arr) {
		/* A KeyItem names itself by "kid". */
		id = cJSON_GetObjectItemCaseSensitive(c, kind == KV_KEY ?
		    "kid" : "id");
		if (!cJSON_IsString(id))
			continue;
		ver = id_version(id->valuestring, kind_segment(kind), &name,
		    &namelen);
		if (name == NULL || namelen == 0)
			continue;
		items = reallocarray(out->items, out->n + 1, sizeof(*items));
		if (items == NULL)
			goto oom;
		out->items = items;
		it = &out->items[out->n++];
		memset(it, 0, sizeof(*it));
		attr = cJSON_GetObjectItemCaseSensitive(c, "attributes");
		it->enabled = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
		    attr, "enabled")) ? 0 : 1;
		it->created = json_time(attr, "created");
		it->updated = json_time(attr, "updated");
		ct = cJSON_GetObjectItemCaseSensitive(c, "contentType");
		it->managed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c,
		    "managed"));
		if ((it->name = strndup(name, namelen)) == NULL ||
		    (ver != NULL && (it->version = strdup(ver)) == NULL) ||
		    (cJSON_IsString(ct) && (it->content_type =
		    strdup(ct->valuestring)) == NULL) ||
		    copy_tags(&it->tags, NULL,
		    cJSON_GetObjectItemCaseSensitive(c, "tags")) == -1)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	if (rc == -1) {
		free(*next);
		*next = NULL;
	}
	cJSON_Delete(j);
	return (rc);
}

/* kv_list_clear(l): free every item; ${l} zeroed. */
void
kv_list_clear(struct kv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].version);
		free(l->items[i].content_type);
		free_tags(l->items[i].tags);
	}
	free(l->items);
	for (i = 0; i < l->nlinks; i++)
		free(l->links[i]);
	free(l->links);
	memset(l, 0, sizeof(*l));
}

/* kv_item_tag(it, key): the value of tag ${key} of ${it}, or NULL. */
const char *
kv_item_tag(const struct kv_item *it, const char *key)
{
	char **t;

	for (t = it->tags; t != NULL && t[0] != NULL; t += 2)
		if (strcmp(t[0], key) == 0)
			return (t[1]);
	return (NULL);
}

/* kv_secret_clear(s): wipe the value and free everything; ${s} zeroed. */
void
kv_secret_clear(struct kv_secret *s)
{

	if (s->value != NULL)
		wipe_free(s->value, s->len + 1);
	free(s->version);
	free(s->content_type);
	free_tags(s->tags);
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
