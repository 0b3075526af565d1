/*
 * config_bundles.c - "bundles" (several objects in one JSON or dotenv
 * file) and "select" (every secret of a vault with a prefix or tags).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"

/* ---------------------------------------------------------------------- */
/* Bundles                                                                */

const char *const bundle_formats[] = { "json", "dotenv" };

/*
 * config_dotenv_name(key, out, len): the variable name of bundle key
 * ${key} in a dotenv bundle: upper-cased, '-' -> '_'.  Returns 0, or -1
 * if the result is not a valid shell variable name or does not fit.
 */
int
config_dotenv_name(const char *key, char *out, size_t len)
{
	size_t i, n = strlen(key);

	if (n == 0 || n >= len || isdigit((unsigned char)key[0]))
		return (-1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)key[i];

		if (ch == '-' || ch == '_')
			out[i] = '_';
		else if (isascii(ch) && isalnum(ch))
			out[i] = (char)toupper(ch);
		else
			return (-1);
	}
	out[n] = '\0';
	return (0);
}

/*
 * config_json_key_valid(key): nonzero if JSON bundle key ${key} has no
 * empty "--"-separated segment.
 */
int
config_json_key_valid(const char *key)
{
	const char *p = key, *q;

	for (;;) {
		q = strstr(p, "--");
		if (q == p || *p == '\0')
			return (0);
		if (q == NULL)
			return (1);
		p = q + 2;
	}
}

/*
 * config_json_keys_clash(a, b): nonzero if JSON bundle keys ${a} and ${b}
 * put two values at one place, or a value where the other needs an object
 * ("A" and "A--B").
 */
int
config_json_keys_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return (strcmp(a, b) == 0);
	if (la > lb)
		return (strncmp(a, b, lb) == 0 &&
		    strncmp(a + lb, "--", 2) == 0);
	return (strncmp(a, b, la) == 0 && strncmp(b + la, "--", 2) == 0);
}

/* Each key of a bundle names one value, and reads back as itself. */
static void
check_bundle_keys(struct parser *p, const struct akvd_config *c,
    size_t bi)
{
	const struct akvd_bundle *b = &c->bundles[bi];
	char path[96], na[256], nb[256], sv[SHOW_LEN];
	size_t i, j;

	for (i = 0; i < b->n; i++) {
		const char *a = c->objects[b->first + i].alias;

		if (a == NULL)
			continue;
		snprintf(path, sizeof(path), "bundles[%zu].objects[%zu].alias",
		    bi, i);
		if (b->format == BUNDLE_DOTENV &&
		    config_dotenv_name(a, na, sizeof(na)) == -1) {
			perr(p, path, "\"%s\" is not a variable name once "
			    "upper-cased with '-' as '_' (letters, digits, "
			    "'-' and '_', not starting with a digit)",
			    show(sv, a));
			continue;
		}
		if (b->format == BUNDLE_JSON && !config_json_key_valid(a)) {
			perr(p, path, "\"%s\" has an empty \"--\" section",
			    show(sv, a));
			continue;
		}
		for (j = 0; j < i; j++) {
			const char *o = c->objects[b->first + j].alias;

			if (o == NULL)
				continue;
			if (b->format == BUNDLE_DOTENV ?
			    config_dotenv_name(o, nb, sizeof(nb)) == 0 &&
			    strcmp(na, nb) == 0 : config_json_keys_clash(a, o)) {
				perr(p, path, "\"%s\" clashes with \"%s\" of "
				    "bundles[%zu].objects[%zu]", show(sv, a),
				    o, bi, j);
				break;
			}
		}
	}
}

/* Count the members of the well-formed bundles, to size cfg->objects. */
size_t
count_members(const cJSON *bl)
{
	const cJSON *b, *ol;
	size_t n = 0;

	if (!cJSON_IsArray(bl))
		return (0);
	cJSON_ArrayForEach(b, bl) {
		ol = cJSON_GetObjectItemCaseSensitive(b, "objects");
		if (cJSON_IsArray(ol))
			n += (size_t)cJSON_GetArraySize(ol);
	}
	return (n);
}

static void
parse_bundle(struct parser *p, const cJSON *e, size_t bi,
    struct akvd_config *c, struct akvd_bundle *b)
{
	static const char *const keys[] = { "path", "format", "objects",
	    "mode", "uid", "gid", NULL };
	const cJSON *ol, *o;
	const char *s, *why;
	char path[64], sub[128];
	size_t i;
	int r;

	snprintf(path, sizeof(path), "bundles[%zu]", bi);
	b->mode = CONFIG_DEFAULT_MODE;
	b->uid = b->gid = CONFIG_OWNER_KEEP;
	b->first = c->nobjects;
	if (!cJSON_IsObject(e)) {
		perr(p, path, "must be an object");
		return;
	}
	check_keys(p, path, e, keys);
	snprintf(sub, sizeof(sub), "%s.path", path);
	r = get_string(p, path, e, "path", &s);
	if (r == 0)
		perr(p, sub, "required");
	else if (r == 1 && (why = alias_problem(s)) != NULL)
		perr(p, sub, "%s", why);
	else if (r == 1)
		b->path = pdup(p, sub, s);
	if ((r = get_enum(p, path, e, "format", bundle_formats,
	    NELEM(bundle_formats))) != -1)
		b->format = (enum bundle_format)r;
	get_mode(p, path, e, &b->mode);
	get_owner(p, path, e, "uid", &b->uid);
	get_owner(p, path, e, "gid", &b->gid);

	snprintf(sub, sizeof(sub), "%s.objects", path);
	ol = cJSON_GetObjectItemCaseSensitive(e, "objects");
	if (ol == NULL) {
		perr(p, sub, "required");
		return;
	}
	if (!cJSON_IsArray(ol) || cJSON_GetArraySize(ol) == 0) {
		perr(p, sub, "must list at least one object");
		return;
	}
	i = 0;
	cJSON_ArrayForEach(o, ol) {
		snprintf(sub, sizeof(sub), "%s.objects[%zu]", path, i);
		parse_object(p, o, sub, bi + 1, c,
		    &c->objects[c->nobjects++]);
		b->n++;
		i++;
	}
	check_bundle_keys(p, c, bi);
}

/*
 * The top-level array ${v} ("${key}", absent or at most ${max} ${what}):
 * a zeroed table of its ${*n} entries of ${size} bytes each, or NULL when
 * it is absent, empty or wrong (the error recorded).
 */
void *
list_new(struct parser *p, const cJSON *v, const char *key, size_t max,
    const char *what, size_t size, size_t *n)
{
	void *t;

	*n = 0;
	if (v == NULL)
		return (NULL);
	if (!cJSON_IsArray(v)) {
		perr(p, key, "must be an array");
		return (NULL);
	}
	if ((size_t)cJSON_GetArraySize(v) > max) {
		perr(p, key, "must list at most %zu %s", max, what);
		return (NULL);
	}
	if (cJSON_GetArraySize(v) == 0)
		return (NULL);
	if ((t = calloc((size_t)cJSON_GetArraySize(v), size)) == NULL) {
		perr(p, key, "out of memory");
		return (NULL);
	}
	*n = (size_t)cJSON_GetArraySize(v);
	return (t);
}

void
parse_bundles(struct parser *p, const cJSON *bl, struct akvd_config *c)
{
	const cJSON *e;
	size_t i = 0;

	if ((c->bundles = list_new(p, bl, "bundles", CONFIG_MAX_BUNDLES,
	    "bundles", sizeof(*c->bundles), &c->nbundles)) == NULL)
		return;
	cJSON_ArrayForEach(e, bl) {
		parse_bundle(p, e, i, c, &c->bundles[i]);
		i++;
	}
}

/*
 * config_select_same(a, b): nonzero if ${a} and ${b} select and name the
 * same secrets (vault, prefix, tags, strip_prefix, dir).
 */
int
config_select_same(const struct akvd_select *a, const struct akvd_select *b)
{
	size_t i;

	if (a->ntags != b->ntags || a->strip_prefix != b->strip_prefix ||
	    strcmp(a->vault, b->vault) != 0 ||
	    strcmp(a->prefix, b->prefix) != 0 || strcmp(a->dir, b->dir) != 0)
		return (0);
	for (i = 0; i < 2 * a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]) != 0)
			return (0);
	return (1);
}

static void
parse_select_entry(struct parser *p, const cJSON *e, size_t idx,
    struct akvd_config *c, struct akvd_select *sel)
{
	static const char *const keys[] = { "vault", "prefix", "tags",
	    "strip_prefix", "dir", "mode", "uid", "gid", NULL };
	const char *s, *why;
	const cJSON *t, *tag;
	char path[64], sub[96], url[URL_MAX], sv[SHOW_LEN];
	size_t i;
	int r;

	snprintf(path, sizeof(path), "select[%zu]", idx);
	sel->mode = CONFIG_DEFAULT_MODE;
	sel->uid = sel->gid = CONFIG_OWNER_KEEP;
	if (!cJSON_IsObject(e)) {
		perr(p, path, "must be an object");
		return;
	}
	check_keys(p, path, e, keys);

	snprintf(sub, sizeof(sub), "%s.vault", path);
	r = get_string(p, path, e, "vault", &s);
	if (r == 1) {
		if (vault_url(s, c->vault_suffix, url, sizeof(url)) == -1)
			vault_err(p, sub, s);
		else
			sel->vault = pdup(p, sub, url);
	} else if (r == 0 && c->vault != NULL)
		sel->vault = pdup(p, sub, c->vault);
	else if (r == 0 && !p->vault_bad)
		perr(p, sub, "required (no top-level \"vault\")");

	snprintf(sub, sizeof(sub), "%s.prefix", path);
	r = get_string(p, path, e, "prefix", &s);
	if (r == 1 && s[0] != '\0' && !word_valid(s, 1, 126, "-"))
		perr(p, sub, "invalid prefix \"%s\" (letters, digits and "
		    "hyphens)", show(sv, s));
	else if (r != -1)
		sel->prefix = pdup(p, sub, r == 1 ? s : "");

	snprintf(sub, sizeof(sub), "%s.dir", path);
	r = get_string(p, path, e, "dir", &s);
	if (r == 1 && s[0] != '\0' && (why = alias_problem(s)) != NULL)
		perr(p, sub, "%s", why);
	else if (r != -1)
		sel->dir = pdup(p, sub, r == 1 ? s : "");

	snprintf(sub, sizeof(sub), "%s.tags", path);
	t = cJSON_GetObjectItemCaseSensitive(e, "tags");
	if (t != NULL && !cJSON_IsObject(t))
		perr(p, sub, "must be an object of strings: {\"env\": "
		    "\"prod\"}");
	else if (t != NULL) {
		sel->ntags = (size_t)cJSON_GetArraySize(t);
		if ((sel->tags = calloc(2 * sel->ntags + 1,
		    sizeof(*sel->tags))) == NULL) {
			sel->ntags = 0;
			perr(p, sub, "out of memory");
		}
		i = 0;
		cJSON_ArrayForEach(tag, t) {
			if (i >= sel->ntags)
				break;
			if (!cJSON_IsString(tag)) {
				snprintf(sub, sizeof(sub), "%s.tags.%s", path,
				    show(sv, tag->string));
				perr(p, sub, "must be a string");
			}
			sel->tags[2 * i] = pdup(p, sub, tag->string);
			sel->tags[2 * i + 1] = pdup(p, sub,
			    cJSON_IsString(tag) ? tag->valuestring : "");
			i++;
		}
	}

	get_bool(p, path, e, "strip_prefix", &sel->strip_prefix);

	get_mode(p, path, e, &sel->mode);
	get_owner(p, path, e, "uid", &sel->uid);
	get_owner(p, path, e, "gid", &sel->gid);
}

void
parse_select(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	const cJSON *sl = cJSON_GetObjectItemCaseSensitive(root, "select");
	const cJSON *e;
	size_t i = 0;

	if ((c->selects = list_new(p, sl, "select", CONFIG_MAX_SELECT,
	    "entries", sizeof(*c->selects), &c->nselects)) == NULL)
		return;
	cJSON_ArrayForEach(e, sl) {
		parse_select_entry(p, e, i, c, &c->selects[i]);
		i++;
	}
}
