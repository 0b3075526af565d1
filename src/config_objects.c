/*
 * config_objects.c - "objects": Key Vault objects and their render
 * options, blob URLs, and the files each object writes, which must not
 * clash with one another or with a bundle.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

const char *const type_names[] = { "secret", "cert", "key", "blob" };
const char *const encoding_names[] = { "utf-8", "base64", "hex" };
const char *const format_names[] = { "auto", "pem", "pfx" };

/* config_type_name(t): "secret", "cert", "key", "blob". */
const char *
config_type_name(enum object_type t)
{

	return ((size_t)t < NELEM(type_names) ? type_names[t] : "?");
}

/* The options that only some types, or some combinations, allow. */
static void
check_object_options(struct parser *p, const char *path,
    const cJSON *o, struct akvd_object *obj)
{
	char sub[96];

	if (obj->type != OBJ_SECRET) {
		if (cJSON_GetObjectItemCaseSensitive(o, "encoding") != NULL) {
			join(sub, sizeof(sub), path, "encoding");
			perr(p, sub, "only for type \"secret\"");
		}
		if (cJSON_GetObjectItemCaseSensitive(o, "format") != NULL) {
			join(sub, sizeof(sub), path, "format");
			perr(p, sub, "only for type \"secret\"");
		}
		if (obj->split) {
			join(sub, sizeof(sub), path, "split");
			perr(p, sub, "only for type \"secret\"");
		}
	}
	if (obj->encoding != ENC_UTF8 && obj->format != FMT_AUTO) {
		join(sub, sizeof(sub), path, "format");
		perr(p, sub, "cannot be combined with \"encoding\"");
	}
	if (obj->split && (obj->format == FMT_PFX ||
	    obj->encoding != ENC_UTF8)) {
		join(sub, sizeof(sub), path, "split");
		perr(p, sub, "needs a certificate in PEM form (no \"format\": "
		    "\"pfx\", no \"encoding\")");
	}
	if (obj->history > 0 && obj->split) {
		join(sub, sizeof(sub), path, "history");
		perr(p, sub, "cannot be combined with \"split\"");
	}
	if (obj->history > 0 && obj->version != NULL &&
	    obj->version[0] != '\0') {
		join(sub, sizeof(sub), path, "history");
		perr(p, sub, "cannot be combined with a pinned \"version\"");
	}
}

/* ---------------------------------------------------------------------- */
/* Blob objects                                                           */

#define MAX_BLOB_SIZE	(256UL * 1024 * 1024)

/*
 * Path-style blob URLs (https://127.0.0.1:10000/account/container/blob,
 * as Azurite and other emulators serve them) are told apart from
 * https://account.blob.core.windows.net/container/blob by their host: an
 * IPv4 address, "localhost", or any explicit port.
 */
static int
blob_path_style(const char *host, size_t hn, size_t pn)
{
	size_t i;

	if (pn > 0 || (hn == 9 && strncasecmp(host, "localhost", 9) == 0))
		return (1);
	for (i = 0; i < hn; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return (0);
	return (1);
}

/* Azure's container names: 3-63 of [a-z0-9-], no "--", no edge '-'. */
static int
container_valid(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return (0);
	for (i = 0; i < n; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-')
			return (0);
		if (s[i] == '-' && i + 1 < n && s[i + 1] == '-')
			return (0);
	}
	return (1);
}

/* Percent-decode the string ${s} into ${out}; -1 if malformed. */
static int
pct_decode(const char *s, char *out, size_t len)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; s[i] != '\0'; i++) {
		if (o + 1 >= len)
			return (-1);
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (!isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]) ||
		    sscanf(s + i + 1, "%2x", &v) != 1 || v == 0)
			return (-1);
		out[o++] = (char)v;
		i += 2;
	}
	out[o] = '\0';
	return (0);
}

/*
 * What is wrong with ${s} as a blob URL, or NULL: then ${out} holds it
 * normalized (lowercase scheme and host) and ${leaf} the blob name's last
 * segment, percent-decoded (the default alias).
 */
static const char *
blob_url_problem(const char *s, char *out, size_t len, char *leaf,
    size_t leaflen)
{
	const char *h, *seg, *slash;
	size_t hn, pn, i;
	int r;

	if (strncasecmp(s, "https://", 8) != 0)
		return ("must be an https URL (https://ACCOUNT.blob.core."
		    "windows.net/CONTAINER/BLOB)");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return ("must be percent-encoded: no spaces, control "
			    "or non-ASCII characters");
	if (strpbrk(s, "?#") != NULL)
		return ("must not have a query or fragment (no SAS token: "
		    "akvd authenticates with Entra ID)");
	h = s + 8;
	if ((hn = host_len(h)) == 0)
		return ("has no valid host name");
	if ((pn = port_len(h + hn)) == (size_t)-1)
		return ("has an invalid port");
	seg = h + hn + pn;
	if (*seg++ != '/')
		return ("must be https://HOST[:PORT]/..., nothing between "
		    "the host and the path");
	/* Path-style: the account comes first. */
	if (blob_path_style(h, hn, pn)) {
		if ((slash = strchr(seg, '/')) == NULL || slash == seg)
			return ("must be https://HOST:PORT/ACCOUNT/CONTAINER/"
			    "BLOB (path-style: the host is an address or has "
			    "a port)");
		seg = slash + 1;
	}
	if ((slash = strchr(seg, '/')) == NULL || slash[1] == '\0')
		return ("must name a container and a blob: .../CONTAINER/"
		    "BLOB");
	if (!container_valid(seg, (size_t)(slash - seg)))
		return ("has an invalid container name (3-63 lowercase "
		    "letters, digits and single hyphens)");
	if (s[strlen(s) - 1] == '/')
		return ("must name a blob, not end with \"/\"");
	if (pct_decode(strrchr(s, '/') + 1, leaf, leaflen) == -1)
		return ("has invalid percent-encoding in the blob name");
	r = snprintf(out, len, "%s", s);
	if (r < 0 || (size_t)r >= len)
		return ("is too long");
	for (i = 0; i < 8 + hn; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return (NULL);
}

/*
 * "max_size": bytes as a JSON integer, or a string of digits with an
 * optional unit B, KiB, MiB or GiB.  Returns 0, or -1.
 */
static int
size_parse(const cJSON *v, size_t *out)
{
	static const struct {
		const char	*unit;
		unsigned long	 mult;
	} units[] = { { "", 1 }, { "B", 1 }, { "KiB", 1024 },
	    { "MiB", 1024 * 1024 }, { "GiB", 1024UL * 1024 * 1024 } };
	unsigned long long n;
	int64_t w;
	char *end;
	size_t i;

	if (cJSON_IsNumber(v)) {
		if (whole_number(v, 1, MAX_BLOB_SIZE, &w) == -1)
			return (-1);
		*out = (size_t)w;
		return (0);
	}
	if (!cJSON_IsString(v))
		return (-1);
	for (end = v->valuestring; isdigit((unsigned char)*end); end++)
		;
	if (num_parse(v->valuestring, (size_t)(end - v->valuestring), 1,
	    MAX_BLOB_SIZE, &w) == -1)
		return (-1);
	n = (unsigned long long)w;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]) ||
	    n > MAX_BLOB_SIZE / units[i].mult)
		return (-1);
	*out = (size_t)(n * units[i].mult);
	return (0);
}

/*
 * An object of type "blob": url, alias, mode, optional, max_size.  Its
 * name (for logs and "env") is its alias.
 */
static void
parse_blob(struct parser *p, const cJSON *o, const char *path,
    struct akvd_object *obj)
{
	static const char *const keys[] = { "type", "url", "alias", "mode",
	    "optional", "max_size", "uid", "gid", "name", "version", "vault",
	    NULL };
	static const char *const unused[] = { "name", "version", "vault" };
	const char *url, *alias, *why;
	const cJSON *v;
	char sub[96], norm[URL_MAX], leaf[256], sv[SHOW_LEN];
	size_t i;
	int r;

	obj->type = OBJ_BLOB;
	obj->max_size = CONFIG_DEFAULT_BLOB_MAX;
	check_keys(p, path, o, keys);
	for (i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(o, unused[i]) == NULL)
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, unused[i]);
		perr(p, sub, "not used by a blob (its url names it; the file "
		    "name is \"alias\")");
	}

	leaf[0] = '\0';
	snprintf(sub, sizeof(sub), "%s.url", path);
	r = get_string(p, path, o, "url", &url);
	if (r == 0)
		perr(p, sub, "required for a blob");
	else if (r == 1 && (why = blob_url_problem(url, norm, sizeof(norm),
	    leaf, sizeof(leaf))) != NULL)
		perr(p, sub, "%s", why);
	else if (r == 1)
		obj->url = pdup(p, sub, norm);

	/* The alias defaults to the last segment of the blob's name. */
	snprintf(sub, sizeof(sub), "%s.alias", path);
	r = get_string(p, path, o, "alias", &alias);
	if (r == 1 && (why = alias_problem(alias)) != NULL)
		perr(p, sub, "%s", why);
	else if (r == 1)
		obj->alias = pdup(p, sub, alias);
	else if (r == 0 && obj->url != NULL) {
		if (strchr(leaf, '/') != NULL || alias_problem(leaf) != NULL)
			perr(p, sub, "required: the blob name's last segment "
			    "\"%s\" is not a usable file name",
			    show(sv, leaf));
		else
			obj->alias = pdup(p, sub, leaf);
	}
	if (obj->alias != NULL)
		obj->name = pdup(p, sub, obj->alias);

	snprintf(sub, sizeof(sub), "%s.max_size", path);
	v = cJSON_GetObjectItemCaseSensitive(o, "max_size");
	if (v != NULL && size_parse(v, &obj->max_size) == -1)
		perr(p, sub, "must be a size from 1 byte to 256MiB: a number "
		    "of bytes or a string such as \"16MiB\" (units B, KiB, "
		    "MiB, GiB)");

	get_mode(p, path, o, &obj->mode);

	get_owner(p, path, o, "uid", &obj->uid);
	get_owner(p, path, o, "gid", &obj->gid);

	get_bool(p, path, o, "optional", &obj->optional);
}

/*
 * Parse the object at ${path}; a ${member} of a bundle (1 + its index)
 * has no file options, and its alias is a key, not a path.
 */
void
parse_object(struct parser *p, const cJSON *o, const char *path,
    size_t member, struct akvd_config *c, struct akvd_object *obj)
{
	static const char *const keys[] = { "name", "type", "alias",
	    "version", "vault", "mode", "optional", "encoding", "format",
	    "split", "history", "uid", "gid", "url", "max_size", "file",
	    NULL };
	static const char *const member_keys[] = { "name", "type", "alias",
	    "version", "vault", "optional", "encoding", NULL };
	static const char *const blob_only[] = { "url", "max_size" };
	const char *name = NULL, *alias, *version, *vault, *why;
	const cJSON *h, *t;
	char sub[128], url[URL_MAX], sv[SHOW_LEN];
	size_t i;
	int64_t hist;
	int r;

	obj->bundle = member;
	obj->type = OBJ_SECRET;
	obj->mode = CONFIG_DEFAULT_MODE;
	obj->uid = obj->gid = CONFIG_OWNER_KEEP;
	if (!cJSON_IsObject(o)) {
		perr(p, path, "must be an object");
		return;
	}
	t = cJSON_GetObjectItemCaseSensitive(o, "type");
	if (cJSON_IsString(t) && strcmp(t->valuestring, "blob") == 0) {
		if (member) {
			join(sub, sizeof(sub), path, "type");
			perr(p, sub, "a blob cannot be a member of a bundle");
			return;
		}
		parse_blob(p, o, path, obj);
		return;
	}
	check_keys(p, path, o, member ? member_keys : keys);
	for (i = 0; !member && i < NELEM(blob_only); i++) {
		if (cJSON_GetObjectItemCaseSensitive(o, blob_only[i]) == NULL)
			continue;
		join(sub, sizeof(sub), path, blob_only[i]);
		perr(p, sub, "only for objects of type \"blob\"");
	}

	snprintf(sub, sizeof(sub), "%s.name", path);
	r = get_string(p, path, o, "name", &name);
	if (r == 0)
		perr(p, sub, "required");
	else if (r == 1 && !object_name_valid(name))
		perr(p, sub, "invalid Key Vault name \"%s\" (1-127 letters, "
		    "digits and hyphens)", show(sv, name));
	else if (r == 1)
		obj->name = pdup(p, sub, name);

	if ((r = get_enum(p, path, o, "type", type_names,
	    NELEM(type_names))) != -1)
		obj->type = (enum object_type)r;
	if ((r = get_enum(p, path, o, "encoding", encoding_names,
	    NELEM(encoding_names))) != -1)
		obj->encoding = (enum object_encoding)r;
	if ((r = get_enum(p, path, o, "format", format_names,
	    NELEM(format_names))) != -1)
		obj->format = (enum object_format)r;

	/* The alias defaults to the name, which is always a valid one. */
	snprintf(sub, sizeof(sub), "%s.alias", path);
	r = get_string(p, path, o, "alias", &alias);
	if (r == 0)
		alias = obj->name;
	if (r == 1 && member && alias[0] == '\0')
		perr(p, sub, "must not be empty");
	else if (r == 1 && !member && (why = alias_problem(alias)) != NULL)
		perr(p, sub, "%s", why);
	else if (alias != NULL)
		obj->alias = pdup(p, sub, alias);

	snprintf(sub, sizeof(sub), "%s.version", path);
	r = get_string(p, path, o, "version", &version);
	if (r == 1 && !version_valid(version))
		perr(p, sub, "invalid version \"%s\" (up to 64 letters and "
		    "digits)", show(sv, version));
	else if (r != -1)
		obj->version = pdup(p, sub, r == 1 ? version : "");

	snprintf(sub, sizeof(sub), "%s.vault", path);
	r = get_string(p, path, o, "vault", &vault);
	if (r == 1) {
		if (vault_url(vault, c->vault_suffix, url, sizeof(url)) == -1)
			vault_err(p, sub, vault);
		else
			obj->vault = pdup(p, sub, url);
	} else if (r == 0 && c->vault != NULL)
		obj->vault = pdup(p, sub, c->vault);
	else if (r == 0 && !p->vault_bad)
		perr(p, sub, "required (no top-level \"vault\")");

	get_mode(p, path, o, &obj->mode);
	get_owner(p, path, o, "uid", &obj->uid);
	get_owner(p, path, o, "gid", &obj->gid);

	get_bool(p, path, o, "optional", &obj->optional);

	get_bool(p, path, o, "split", &obj->split);

	/* "file": false: held for templates and "env", written nowhere. */
	obj->nofile = 0;
	if (!member && cJSON_GetObjectItemCaseSensitive(o, "file") != NULL) {
		int file;

		get_bool(p, path, o, "file", &file);
		obj->nofile = !file;
	}

	snprintf(sub, sizeof(sub), "%s.history", path);
	h = cJSON_GetObjectItemCaseSensitive(o, "history");
	if (h != NULL && whole_number(h, 1, CONFIG_MAX_HISTORY, &hist) == -1)
		perr(p, sub, "must be an integer from 1 to %d",
		    CONFIG_MAX_HISTORY);
	else if (h != NULL)
		obj->history = (unsigned)hist;
	check_object_options(p, path, o, obj);
}

/*
 * config_object_nfiles(obj): how many files ${obj} writes: 1, 4 with
 * "split", N with "history: N", 0 for a member of a bundle.
 */
size_t
config_object_nfiles(const struct akvd_object *o)
{

	if (o->bundle != 0)
		return (0);
	if (o->history > 0)
		return (o->history);
	return (o->split ? CONFIG_SPLIT_FILES : 1);
}

/*
 * config_object_path(obj, i, buf, len): the path (relative to output_dir)
 * of file ${i} of ${obj}: the alias; alias + ".key", ".crt", ".ca.crt"
 * with split; alias + "/" + i with history.  Returns 0, or -1 if it does
 * not fit in ${len}.
 */
int
config_object_path(const struct akvd_object *o, size_t i, char *buf,
    size_t len)
{
	static const char *const suffix[CONFIG_SPLIT_FILES] = { "", ".key",
	    ".crt", ".ca.crt" };
	int n;

	if (o->history > 0)
		n = snprintf(buf, len, "%s/%zu", o->alias, i);
	else
		n = snprintf(buf, len, "%s%s", o->alias,
		    i < CONFIG_SPLIT_FILES ? suffix[i] : "?");
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/* Nonzero if ${a} and ${b} are equal or one is a directory of the other. */
int
paths_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return (strcmp(a, b) == 0);
	if (la > lb)
		return (strncmp(a, b, lb) == 0 && a[lb] == '/');
	return (strncmp(a, b, la) == 0 && b[la] == '/');
}

/*
 * Every file name (aliases and the extra files of split and history) must
 * be unique, and no name a directory of another.
 */
void
check_aliases(struct parser *p, const struct akvd_config *c)
{
	char path[64], a[PATH_MAX], b[PATH_MAX];
	size_t i, j, fi, fj;
	int bad;

	for (i = 0; i < c->nobjects; i++) {
		if (c->objects[i].alias == NULL)
			continue;
		snprintf(path, sizeof(path), "objects[%zu].alias", i);
		bad = 0;
		for (fi = 0; fi < config_object_nfiles(&c->objects[i]) &&
		    !bad; fi++) {
			if (config_object_path(&c->objects[i], fi, a,
			    sizeof(a)) == -1 || alias_problem(a) != NULL) {
				perr(p, path, "makes a file name that is too "
				    "long");
				bad = 1;
				break;
			}
			for (j = 0; j < i && !bad; j++) {
				if (c->objects[j].alias == NULL)
					continue;
				for (fj = 0; fj < config_object_nfiles(
				    &c->objects[j]); fj++) {
					if (config_object_path(&c->objects[j],
					    fj, b, sizeof(b)) == -1 ||
					    !paths_clash(a, b))
						continue;
					if (strcmp(a, b) == 0)
						perr(p, path, "\"%s\" is "
						    "already used by "
						    "objects[%zu]", a, j);
					else
						perr(p, path, "\"%s\" "
						    "conflicts with \"%s\" of "
						    "objects[%zu]", a, b, j);
					bad = 1;
					break;
				}
			}
		}
	}
}

/*
 * Does ${a}, the path named by ${path}, clash with a file of an object,
 * one of the first ${nbundles} bundles or the first ${ntemplates}
 * templates?  Reports the first clash and returns 1, else 0.
 */
int
check_path_clash(struct parser *p, const struct akvd_config *c,
    const char *path, const char *a, size_t nbundles, size_t ntemplates)
{
	char b[PATH_MAX];
	size_t j, f;

	for (j = 0; j < c->nobjects; j++) {
		if (c->objects[j].alias == NULL)
			continue;
		/* A bundle member has no file of its own: nfiles is 0. */
		for (f = 0; f < config_object_nfiles(&c->objects[j]); f++) {
			if (config_object_path(&c->objects[j], f, b,
			    sizeof(b)) == -1 || !paths_clash(a, b))
				continue;
			perr(p, path, "\"%s\" clashes with \"%s\" of "
			    "objects[%zu]", a, b, j);
			return (1);
		}
	}
	for (j = 0; j < nbundles; j++)
		if (c->bundles[j].path != NULL &&
		    paths_clash(a, c->bundles[j].path)) {
			perr(p, path, "\"%s\" clashes with \"%s\" of "
			    "bundles[%zu]", a, c->bundles[j].path, j);
			return (1);
		}
	for (j = 0; j < ntemplates; j++)
		if (c->templates[j].path != NULL &&
		    paths_clash(a, c->templates[j].path)) {
			perr(p, path, "\"%s\" clashes with \"%s\" of "
			    "templates[%zu]", a, c->templates[j].path, j);
			return (1);
		}
	return (0);
}

/* A bundle's path clashes with no file and no other bundle. */
void
check_bundle_paths(struct parser *p, const struct akvd_config *c)
{
	char path[64];
	size_t i;

	for (i = 0; i < c->nbundles; i++) {
		if (c->bundles[i].path == NULL)
			continue;
		snprintf(path, sizeof(path), "bundles[%zu].path", i);
		(void)check_path_clash(p, c, path, c->bundles[i].path, i, 0);
	}
}

/*
 * config_object_same_source(a, b): nonzero if ${a} and ${b} fetch the same
 * thing (name, type, version, vault; a blob's url) and render it the same
 * way (encoding, format, split, history); used by reload to keep state.
 */
int
config_object_same_source(const struct akvd_object *a,
    const struct akvd_object *b)
{

	if (a->type == OBJ_BLOB || b->type == OBJ_BLOB)
		return (a->type == b->type && str_equal(a->url, b->url));
	return (a->type == b->type && str_equal(a->name, b->name) &&
	    str_equal(a->version, b->version) && str_equal(a->vault, b->vault) &&
	    a->encoding == b->encoding && a->format == b->format &&
	    a->split == b->split && a->history == b->history);
}
