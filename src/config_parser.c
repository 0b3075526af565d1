/*
 * config_parser.c - the parser's machinery: errors filed by JSON path and
 * sorted into document order, typed getters for members, value checks.
 *
 * The checks do not run in document order (objects need the top-level
 * vault, auth needs the cloud), so each error is filed under where its
 * path is in the document and the list reads top to bottom.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"
#include "util.h"
#include "duration.h"

#define MAX_SECONDS		1e12	/* durations as JSON numbers */
#define MAX_KEYS		24	/* per check_keys() table */

static void	perr_at(struct parser *, const size_t *, const char *,
		    const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */

/*
 * Where ${path} ("objects[2].alias") is in the document: for each
 * component, its index among its siblings; a member that is not there
 * counts as after all of them, and unused components are 0.  Returns the
 * number of components resolved.
 */
static size_t
locate(const cJSON *root, const char *path, size_t pos[POS_DEPTH])
{
	const cJSON *node = root, *c, *best;
	const char *s = path;
	unsigned long k;
	size_t d, i, len, blen, bi;
	char *end;

	memset(pos, 0, POS_DEPTH * sizeof(pos[0]));
	for (d = 0; d < POS_DEPTH && node != NULL && *s != '\0'; d++) {
		if (*s == '[') {
			k = strtoul(s + 1, &end, 10);
			if (!cJSON_IsArray(node) || *end != ']')
				break;
			best = NULL;
			i = 0;
			cJSON_ArrayForEach(c, node) {
				if (i == k) {
					best = c;
					break;
				}
				i++;
			}
			pos[d] = i;
			node = best;
			s = end + 1;
			continue;
		}
		if (*s == '.')
			s++;
		if (!cJSON_IsObject(node))
			break;
		/* The longest key that is a whole component of ${s}. */
		best = NULL;
		blen = bi = i = 0;
		cJSON_ArrayForEach(c, node) {
			len = strlen(c->string);
			if ((best == NULL || len > blen) &&
			    strncmp(s, c->string, len) == 0 &&
			    (s[len] == '\0' || s[len] == '.' ||
			    s[len] == '[')) {
				best = c;
				blen = len;
				bi = i;
			}
			i++;
		}
		pos[d] = best != NULL ? bi : i;
		node = best;
		s += blen;
	}
	return (d);
}

static int
poscmp(const size_t *a, const size_t *b)
{
	size_t i;

	for (i = 0; i < POS_DEPTH; i++)
		if (a[i] != b[i])
			return (a[i] < b[i] ? -1 : 1);
	return (0);
}

/*
 * File ${msg} at ${pos}: after the errors at the same place, so that the
 * first CONFIG_MAXERR errors in document order are the ones kept.
 */
static void
record(struct parser *p, const size_t *pos, const char *msg)
{
	struct config_errors *e = p->errs;
	size_t n, i;

	n = e->n < CONFIG_MAXERR ? e->n : CONFIG_MAXERR;
	e->n++;
	for (i = n; i > 0 && poscmp(p->pos[i - 1], pos) > 0; i--)
		;
	if (i == CONFIG_MAXERR)
		return;
	if (n == CONFIG_MAXERR)
		n--;		/* the last one falls off */
	if (i < n) {
		memmove(e->msg[i + 1], e->msg[i], (n - i) * sizeof(e->msg[0]));
		memmove(p->pos[i + 1], p->pos[i], (n - i) * sizeof(p->pos[0]));
	}
	snprintf(e->msg[i], CONFIG_ERRLEN, "%s", msg);
	memcpy(p->pos[i], pos, sizeof(p->pos[0]));
}

static void
vperr_at(struct parser *p, const size_t *pos, const char *path,
    const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Record "path: message" at ${pos}. */
static void
vperr_at(struct parser *p, const size_t *pos, const char *path,
    const char *fmt, va_list ap)
{
	char msg[CONFIG_ERRLEN];
	int n;

	n = snprintf(msg, sizeof(msg), "%s: ", path);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	record(p, pos, msg);
}

static void
perr_at(struct parser *p, const size_t *pos, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr_at(p, pos, path, fmt, ap);
	va_end(ap);
}

/* Record "path: message", in the document's order. */
void
perr(struct parser *p, const char *path, const char *fmt, ...)
{
	size_t pos[POS_DEPTH];
	va_list ap;

	(void)locate(p->root, path, pos);
	va_start(ap, fmt);
	vperr_at(p, pos, path, fmt, ap);
	va_end(ap);
}

/* strdup(s), recording "path: out of memory" on failure. */
char *
pdup(struct parser *p, const char *path, const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL)
		perr(p, path, "out of memory");
	return (d);
}

/*
 * ${s} escaped as inside a JSON string and cut to 64 bytes or so, to quote
 * a value in a message without letting it break the line; in ${buf}.
 */
const char *
show(char buf[SHOW_LEN], const char *s)
{
	unsigned char ch;
	size_t o = 0;
	char e[8];
	int n;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			n = snprintf(e, sizeof(e), "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			n = snprintf(e, sizeof(e), "\\u%04x", ch);
		else
			n = snprintf(e, sizeof(e), "%c", ch);
		if (o + (size_t)n > 64) {
			/* Drop a UTF-8 sequence that would be cut. */
			while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) ==
			    0x80)
				o--;
			if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) ==
			    0xc0)
				o--;
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, e, (size_t)n);
		o += (size_t)n;
	}
	buf[o] = '\0';
	return (buf);
}

/* ---------------------------------------------------------------------- */
/* Value checks                                                           */

/*
 * What is wrong with ${s} as an alias (a message for "objects[i].alias:"),
 * or NULL if it is a relative path that stays inside the output directory.
 */
const char *
alias_problem(const char *s)
{
	const unsigned char *u;
	const char *c;
	size_t n;

	if (*s == '\0')
		return ("must not be empty");
	if (*s == '/')
		return ("must be a relative file name, not an absolute path");
	if (strlen(s) > 4095)
		return ("must be at most 4095 bytes long");
	for (u = (const unsigned char *)s; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f || *u == '\\')
			return ("must not contain control characters or "
			    "backslashes");
	for (c = s;; c += n + 1) {
		n = strcspn(c, "/");
		if (n >= 2 && c[0] == '.' && c[1] == '.')
			return ("must be a relative file name without \"..\"");
		if (n == 0 || (n == 1 && c[0] == '.'))
			return ("must not have empty or \".\" components");
		if (n > 255)
			return ("must not have components over 255 bytes");
		if (c[n] == '\0')
			return (NULL);
	}
}

/*
 * config_alias_valid(s): nonzero if ${s} is a relative path that stays
 * inside the output directory: not empty, not absolute, no empty, "." or
 * ".." component, no component starting with ".." (reserved for the
 * writer's "..data" layout), at most 255 bytes per component.
 */
int
config_alias_valid(const char *s)
{

	return (s != NULL && alias_problem(s) == NULL);
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
 * The length of the DNS name or IPv4 address at the start of ${h}: labels
 * of ASCII letters, digits and hyphens joined by single dots.  0 if none.
 */
size_t
host_len(const char *h)
{
	size_t n = 0, label = 0;

	for (;; n++) {
		if (isascii((unsigned char)h[n]) &&
		    (isalnum((unsigned char)h[n]) || h[n] == '-'))
			label++;
		else if (h[n] == '.' && label > 0 && label <= 63)
			label = 0;
		else
			break;
	}
	return (label > 0 && label <= 63 ? n : 0);
}

/*
 * The length of the ":PORT" (1 to 65535, no leading zero) at ${s}, 0 if
 * there is none, or (size_t)-1 if it is malformed.
 */
size_t
port_len(const char *s)
{
	unsigned long v = 0;
	size_t n;

	if (s[0] != ':')
		return (0);
	for (n = 1; n <= 6 && s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (unsigned long)(s[n] - '0');
	if (n == 1 || n > 6 || s[1] == '0' || v > 65535)
		return ((size_t)-1);
	return (n);
}

/*
 * Normalize an https URL with no path, query, fragment or userinfo:
 * lowercase scheme and host, optional port, no trailing slash (or exactly
 * one with ${slash}).  Returns 0 or -1.
 */
int
https_url(const char *s, char *out, size_t len, int slash)
{
	const char *h;
	size_t hn, pn, i;
	int n;

	if (strncasecmp(s, "https://", 8) != 0)
		return (-1);
	h = s + 8;
	if ((hn = host_len(h)) == 0 || (pn = port_len(h + hn)) == (size_t)-1)
		return (-1);
	if (strcmp(h + hn + pn, "") != 0 && strcmp(h + hn + pn, "/") != 0)
		return (-1);
	n = snprintf(out, len, "https://%.*s%s", (int)(hn + pn), h,
	    slash ? "/" : "");
	if (n < 0 || (size_t)n >= len)
		return (-1);
	for (i = 8; i < 8 + hn; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
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

/*
 * As config_vault_url, with the cloud's vault DNS suffix.  A name gives the
 * URL of name.suffix, checked as any URL is (so --check's output, which
 * holds the URL, parses back).
 */
int
vault_url(const char *s, const char *suffix, char *out, size_t len)
{
	char built[512];
	int n;

	if (suffix == NULL)
		return (-1);
	if (strstr(s, "://") == NULL) {
		if (!vault_name_valid(s))
			return (-1);
		n = snprintf(built, sizeof(built), "https://%s.%s", s, suffix);
		if (n < 0 || (size_t)n >= sizeof(built))
			return (-1);
		s = built;
	}
	return (https_url(s, out, len, 0));
}

/*
 * Record why ${s}, given at ${path}, is neither a vault URL nor a vault
 * name (vault_url() refused it): the value and the rule it breaks.
 */
void
vault_err(struct parser *p, const char *path, const char *s)
{
	char sv[SHOW_LEN];

	if (strncasecmp(s, "http://", 7) == 0)
		perr(p, path, "\"%s\": must be https (Key Vault serves only "
		    "TLS)", show(sv, s));
	else if (strstr(s, "://") != NULL)
		perr(p, path, "\"%s\": must be an https URL of a host and "
		    "an optional port, without a path, query or user name "
		    "(https://NAME.vault.azure.net)", show(sv, s));
	else
		perr(p, path, "\"%s\" is neither an https URL nor a vault "
		    "name (3-24 letters, digits and hyphens; it starts with "
		    "a letter, ends with a letter or digit, has no \"--\")",
		    show(sv, s));
}

/*
 * Nonzero if ${s} has ${min}..${max} bytes, each a letter, a digit or one
 * of ${extra}.
 */
int
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

/* ---------------------------------------------------------------------- */
/* JSON helpers                                                           */

void
join(char *dst, size_t len, const char *path, const char *key)
{

	if (path[0] == '\0')
		snprintf(dst, len, "%s", key);
	else
		snprintf(dst, len, "%s.%s", path, key);
}

/*
 * Every key of the object ${obj} at ${path} must be one of ${keys} (at
 * most MAX_KEYS, NULL-terminated), and appear once.
 */
void
check_keys(struct parser *p, const char *path, const cJSON *obj,
    const char *const *keys)
{
	unsigned char seen[MAX_KEYS] = { 0 };
	size_t pos[POS_DEPTH], d, i, j = 0;
	const cJSON *c;
	char sub[256], k[SHOW_LEN];

	d = locate(p->root, path, pos);
	cJSON_ArrayForEach(c, obj) {
		for (i = 0; i < MAX_KEYS && keys[i] != NULL; i++)
			if (strcmp(c->string, keys[i]) == 0)
				break;
		if (d < POS_DEPTH)
			pos[d] = j++;
		join(sub, sizeof(sub), path, show(k, c->string));
		if (i == MAX_KEYS || keys[i] == NULL)
			perr_at(p, pos, sub, "unknown key");
		else if (seen[i])
			perr_at(p, pos, sub, "duplicate key");
		else
			seen[i] = 1;
	}
}

/* A string member: 1 present and valid type, 0 absent, -1 wrong type. */
int
get_string(struct parser *p, const char *path, const cJSON *obj,
    const char *key, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[256];

	*out = NULL;
	if (v == NULL)
		return (0);
	join(sub, sizeof(sub), path, key);
	if (!cJSON_IsString(v)) {
		perr(p, sub, "must be a string");
		return (-1);
	}
	*out = v->valuestring;
	return (1);
}

/*
 * A JSON number that is a whole number in [${min}, ${max}], through the
 * range-checked conversion every number akvd reads goes through (no
 * out-of-range double is ever cast).  0, or -1.
 */
int
whole_number(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t n;

	if (!cJSON_IsNumber(v) ||
	    num_from_double(v->valuedouble, min, max, &n) == -1 ||
	    (double)n != v->valuedouble)
		return (-1);
	*out = n;
	return (0);
}

int
get_duration(struct parser *p, const char *key, const cJSON *root,
    uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	char sv[SHOW_LEN];
	int64_t d;

	if (v == NULL)
		return (0);
	if (cJSON_IsNumber(v)) {
		if (whole_number(v, 0, MAX_SECONDS, &d) == -1) {
			perr(p, key, "must be a non-negative whole number of "
			    "seconds");
			return (-1);
		}
		*out = (uint64_t)d * 1000;
		return (1);
	}
	if (!cJSON_IsString(v)) {
		perr(p, key, "must be a duration string or integer seconds");
		return (-1);
	}
	if (duration_parse(v->valuestring, out) == -1) {
		perr(p, key, "invalid duration \"%s\" (use e.g. \"90s\", "
		    "\"2m\", \"1h\")", show(sv, v->valuestring));
		return (-1);
	}
	return (1);
}

int
get_int(struct parser *p, const char *key, const cJSON *root, long min,
    long max, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	int64_t n;

	if (v == NULL)
		return (0);
	if (whole_number(v, min, max, &n) == -1) {
		perr(p, key, "must be an integer from %ld to %ld", min, max);
		return (-1);
	}
	*out = (long)n;
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
char *
resolve_path(struct parser *p, const char *path, const char *s)
{
	char *r;

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
	return (r);
}


/* "0440" or "440": at most three octal digits, after an optional "0". */
static int
mode_parse(const char *s, mode_t *out)
{
	size_t n = strlen(s), i;
	unsigned v = 0;

	if (n == 4 && s[0] == '0') {
		s++;
		n--;
	}
	if (n == 0 || n > 3)
		return (-1);
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return (-1);
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	*out = (mode_t)v;
	return (0);
}

/* The index of ${s} in ${names} (${n} of them), or -1. */
static int
lookup(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return ((int)i);
	return (-1);
}

/* A string member that must be one of ${names}; -1 if absent or bad. */
int
get_enum(struct parser *p, const char *path, const cJSON *o,
    const char *key, const char *const *names, size_t n)
{
	const char *s;
	char sub[96], sv[SHOW_LEN], list[128];
	size_t i;
	int v;

	if (get_string(p, path, o, key, &s) != 1)
		return (-1);
	if ((v = lookup(s, names, n)) != -1)
		return (v);
	list[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i > 0 ? ", " : "", names[i]);
	join(sub, sizeof(sub), path, key);
	perr(p, sub, "unsupported %s \"%s\" (supported: %s)", key,
	    show(sv, s), list);
	return (-1);
}

/* A boolean member ${key}: false when absent. */
void
get_bool(struct parser *p, const char *path, const cJSON *o,
    const char *key, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char sub[160];

	*out = 0;
	if (v == NULL)
		return;
	join(sub, sizeof(sub), path, key);
	if (!cJSON_IsBool(v))
		perr(p, sub, "must be true or false");
	else
		*out = cJSON_IsTrue(v);
}

/* "mode": an octal string; ${out} keeps its default when absent. */
void
get_mode(struct parser *p, const char *path, const cJSON *o, mode_t *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mode");
	char sub[160], sv[SHOW_LEN];

	if (m == NULL)
		return;
	join(sub, sizeof(sub), path, "mode");
	if (cJSON_IsNumber(m))
		perr(p, sub, "must be a quoted octal string such as \"0440\", "
		    "not the number %.15g", m->valuedouble);
	else if (!cJSON_IsString(m))
		perr(p, sub, "must be an octal string such as \"0440\"");
	else if (mode_parse(m->valuestring, out) == -1)
		perr(p, sub, "invalid mode \"%s\" (octal such as \"0440\" or "
		    "\"640\", at most 0777)", show(sv, m->valuestring));
}

/* "uid"/"gid": a non-negative integer below 2^31 - 1. */
void
get_owner(struct parser *p, const char *path, const cJSON *o,
    const char *key, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char sub[96];
	int64_t n;

	*out = CONFIG_OWNER_KEEP;
	if (v == NULL)
		return;
	join(sub, sizeof(sub), path, key);
	if (whole_number(v, 0, 2147483646, &n) == -1)
		perr(p, sub, "must be a numeric id from 0 to 2147483646");
	else
		*out = (long)n;
}
