/*
 * config.c - the configuration file, parsed once into typed structures.
 *
 * The parser walks the JSON document once, collecting every error with its
 * JSON path ("objects[2].alias: ...").  The checks do not run in document
 * order (objects need the top-level vault, auth needs the cloud), so each
 * error is filed under where its path is in the document and the list
 * reads top to bottom.  Nothing downstream validates again.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

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
#include "util.h"

#define MAX_CONFIG_SIZE		(1024 * 1024)
#define MIN_INTERVAL_MS		1000
#define MIN_TIMEOUT_MS		100
#define MAX_TIMEOUT_MS		(10 * 60 * 1000)
#define MIN_ONCE_TIMEOUT_MS	1000
#define MAX_ONCE_TIMEOUT_MS	(24 * 60 * 60 * 1000)
#define MIN_RESPONSE		1024
#define MAX_RESPONSE		(64 * 1024 * 1024)
#define MAX_CONCURRENCY		64
#define MAX_OBJECTS		4096
#define MAX_READY_FAILED	1000	/* ready_max_failed_intervals */
#define MAX_SECONDS		1e12	/* durations as JSON numbers */
#define URL_MAX			512
#define SHOW_LEN		80	/* a value quoted in a message */
#define POS_DEPTH		6	/* "bundles[0].objects[2].alias": 5 */
#define MAX_KEYS		24	/* per check_keys() table */

struct parser {
	struct config_errors *errs;
	const char	*base;		/* the file's directory, or NULL */
	const cJSON	*root;		/* the document, to order errors */
	int		 vault_bad;	/* top-level vault invalid */
	size_t		 pos[CONFIG_MAXERR][POS_DEPTH];
					/* where each kept error is */
};

static int	vault_url(const char *, const char *, char *, size_t);
static void	perr(struct parser *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
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
static void
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
static char *
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
static const char *
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
static const char *
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
static size_t
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
static size_t
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
static int
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

/* As config_vault_url, with the cloud's vault DNS suffix. */
static int
vault_url(const char *s, const char *suffix, char *out, size_t len)
{
	int n;

	if (suffix == NULL)
		return (-1);
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

static void
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
static void
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
static int
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
static int
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

static int
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

static int
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
static char *
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

/* auth_method_name(m): "workload_identity", "managed_identity"... */
const char *
auth_method_name(enum auth_method m)
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
static const char *
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
		else if (suffix != NULL && !word_valid(suffix, 3, 200, "-."))
			perr(p, "cloud.vault_suffix", "must be a DNS suffix "
			    "such as \"vault.azure.net\"");
		if (get_string(p, "cloud", v, "vault_scope", &scope) == 0)
			perr(p, "cloud.vault_scope", "required");
		else if (scope != NULL &&
		    (strncmp(scope, "https://", 8) != 0 ||
		    strlen(scope) < 18 ||
		    strcmp(scope + strlen(scope) - 9, "/.default") != 0))
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

static const char *const type_names[] = { "secret", "cert", "key",
    "blob" };
static const char *const encoding_names[] = { "utf-8", "base64", "hex" };
static const char *const format_names[] = { "auto", "pem", "pfx" };

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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* config_type_name(t): "secret", "cert", "key", "blob". */
const char *
config_type_name(enum object_type t)
{

	return ((size_t)t < NELEM(type_names) ? type_names[t] : "?");
}

/* A string member that must be one of ${names}; -1 if absent or bad. */
static int
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
static void
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
static void
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
static void
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
static void
parse_object(struct parser *p, const cJSON *o, const char *path,
    size_t member, struct akvd_config *c, struct akvd_object *obj)
{
	static const char *const keys[] = { "name", "type", "alias",
	    "version", "vault", "mode", "optional", "encoding", "format",
	    "split", "history", "uid", "gid", "url", "max_size", NULL };
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
			perr(p, sub, "must be an https URL or a vault name");
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

	snprintf(sub, sizeof(sub), "%s.history", path);
	h = cJSON_GetObjectItemCaseSensitive(o, "history");
	if (h != NULL && whole_number(h, 1, CONFIG_MAX_HISTORY, &hist) == -1)
		perr(p, sub, "must be an integer from 1 to %d",
		    CONFIG_MAX_HISTORY);
	else if (h != NULL)
		obj->history = (unsigned)hist;
	check_object_options(p, path, o, obj);
}

/* ---------------------------------------------------------------------- */
/* Bundles                                                                */

static const char *const bundle_formats[] = { "json", "dotenv" };

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

/* Nonzero if ${key} has no empty "--"-separated segment. */
static int
json_key_valid(const char *key)
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
 * Nonzero if JSON keys ${a} and ${b} put two values at one place, or a
 * value where the other needs an object ("A" and "A--B").
 */
static int
json_keys_clash(const char *a, const char *b)
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
		if (b->format == BUNDLE_JSON && !json_key_valid(a)) {
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
			    strcmp(na, nb) == 0 : json_keys_clash(a, o)) {
				perr(p, path, "\"%s\" clashes with \"%s\" of "
				    "bundles[%zu].objects[%zu]", show(sv, a),
				    o, bi, j);
				break;
			}
		}
	}
}

/* Count the members of the well-formed bundles, to size cfg->objects. */
static size_t
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
static void *
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

static void
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
			perr(p, sub, "must be an https URL or a vault name");
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

static void
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

/*
 * Is ${url} an http(s) URL akvd may call to notify the app?  The authority
 * must be exactly host[:port]: no "user@" (curl would connect to what
 * follows it, and credentials have no place in a config file).
 */
static int
notify_url_valid(const char *url)
{
	const char *h;
	char host[64];
	size_t an, hn, pn;
	struct in_addr a4;
	struct in6_addr a6;

	if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else
		return (0);
	if (strpbrk(url, " \t\r\n\\") != NULL)
		return (0);
	an = strcspn(h, "/?#");
	hn = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (an == 0 || hn > an || hn >= sizeof(host) ||
	    memchr(h, '@', an) != NULL ||
	    (pn = port_len(h + hn)) == (size_t)-1 || hn + pn != an)
		return (0);
	memcpy(host, h, hn);
	host[hn] = '\0';
	if (host[0] == '[') {
		if (hn < 3 || host[hn - 1] != ']')
			return (0);
		host[hn - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6) != 1)
			return (0);
		host[hn - 1] = ']';
	} else if (host_len(host) != hn)
		return (0);
	if (h == url + 8)
		return (1);
	/*
	 * Plain http only on the machine itself (a sidecar's app):
	 * the whole host must be loopback, not "127.x.example.com".
	 */
	return (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    (inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127));
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
	int64_t secs;
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
		else if (cJSON_IsNumber(t) && num_from_double(t->valuedouble,
		    1, 86399, &secs) == 0)
			n->timeout_ms = (uint64_t)secs * 1000;
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
			    "127.0.0.1 or localhost, with no user@");
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

/* Supervise mode: "on_change", "stop_signal", "stop_grace", "env". */
static void
parse_supervise(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(root, "on_change");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "env"), *e;
	const char *sig = NULL;
	size_t i, j;
	char sub[320];

	c->stop_signal = SIGTERM;
	c->stop_grace_ms = CONFIG_DEFAULT_STOP_GRACE_MS;
	if (get_string(p, "", root, "stop_signal", &sig) == 1 &&
	    (c->stop_signal = signal_number(sig)) == 0)
		perr(p, "stop_signal", "unknown signal \"%s\"", sig);
	(void)get_duration(p, "stop_grace", root, &c->stop_grace_ms);
	if (cJSON_IsString(oc) && strcmp(oc->valuestring, "restart") == 0)
		c->on_change = ON_CHANGE_RESTART;
	else if (cJSON_IsObject(oc)) {
		static const char *const keys[] = { "signal", NULL };

		check_keys(p, "on_change", oc, keys);
		if (get_string(p, "on_change", oc, "signal", &sig) != 1 ||
		    (c->on_change_signal = signal_number(sig)) == 0)
			perr(p, "on_change.signal", "must be a signal name "
			    "such as \"HUP\"");
		c->on_change = ON_CHANGE_SIGNAL;
	} else if (oc != NULL)
		perr(p, "on_change", "must be \"restart\" or "
		    "{\"signal\": \"HUP\"}");
	if (env == NULL)
		return;
	if (!cJSON_IsObject(env)) {
		perr(p, "env", "must be an object: {\"VARIABLE\": \"object "
		    "name\"}");
		return;
	}
	c->nenv = (size_t)cJSON_GetArraySize(env);
	if (c->nenv == 0)
		return;
	if ((c->env = calloc(c->nenv, sizeof(*c->env))) == NULL) {
		c->nenv = 0;
		return;
	}
	i = 0;
	cJSON_ArrayForEach(e, env) {
		snprintf(sub, sizeof(sub), "env.%s", e->string);
		if (!word_valid(e->string, 1, 255, "_") ||
		    isdigit((unsigned char)e->string[0]))
			perr(p, sub, "invalid variable name");
		else if (!cJSON_IsString(e))
			perr(p, sub, "must name an object");
		else {
			for (j = 0; j < c->nobjects; j++)
				if ((c->objects[j].name != NULL &&
				    strcmp(c->objects[j].name,
				    e->valuestring) == 0) ||
				    (c->objects[j].alias != NULL &&
				    strcmp(c->objects[j].alias,
				    e->valuestring) == 0))
					break;
			if (j == c->nobjects)
				perr(p, sub, "no object named \"%s\"",
				    e->valuestring);
			c->env[i].var = strdup(e->string);
			c->env[i].object = strdup(e->valuestring);
		}
		i++;
	}
	/* The environment of a running process cannot change. */
	if (c->on_change == ON_CHANGE_SIGNAL)
		perr(p, "on_change", "env needs \"restart\": a running "
		    "process's environment cannot change");
	c->on_change = ON_CHANGE_RESTART;
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
static int
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
static void
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

/* A bundle's path clashes with no file and no other bundle. */
static void
check_bundle_paths(struct parser *p, const struct akvd_config *c)
{
	char path[64], b[PATH_MAX];
	size_t i, j, f;
	int bad;

	for (i = 0; i < c->nbundles; i++) {
		const char *a = c->bundles[i].path;

		if (a == NULL)
			continue;
		snprintf(path, sizeof(path), "bundles[%zu].path", i);
		bad = 0;
		for (j = 0; j < c->nobjects && !bad; j++) {
			if (c->objects[j].alias == NULL)
				continue;
			for (f = 0; f < config_object_nfiles(&c->objects[j]);
			    f++) {
				if (config_object_path(&c->objects[j], f, b,
				    sizeof(b)) == -1 || !paths_clash(a, b))
					continue;
				perr(p, path, "\"%s\" clashes with \"%s\" of "
				    "objects[%zu]", a, b, j);
				bad = 1;
				break;
			}
		}
		for (j = 0; j < i && !bad; j++) {
			if (c->bundles[j].path != NULL &&
			    paths_clash(a, c->bundles[j].path)) {
				perr(p, path, "\"%s\" clashes with \"%s\" of "
				    "bundles[%zu]", a, c->bundles[j].path, j);
				bad = 1;
			}
		}
	}
}

/*
 * "listen": "HOST:PORT" with a numeric IPv4 address, "[IPv6]:PORT", or
 * ":PORT" for every address.  Port 0 asks for an ephemeral port (logged).
 */
static void
parse_listen(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->listen_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->listen_addr;
	const char *s, *colon, *port;
	char host[INET6_ADDRSTRLEN + 2], sv[SHOW_LEN], *end;
	size_t hlen;
	unsigned long n;
	long max;

	c->ready_max_failed = CONFIG_DEFAULT_READY_MAX_FAILED;
	if (get_int(p, "ready_max_failed_intervals", root, 0,
	    MAX_READY_FAILED, &max) == 1)
		c->ready_max_failed = (unsigned)max;
	if (get_string(p, "", root, "listen", &s) != 1)
		return;
	if ((colon = strrchr(s, ':')) == NULL ||
	    (s[0] == '[' && (colon == s + 1 || colon[-1] != ']'))) {
		perr(p, "listen", "\"%s\" is not HOST:PORT (e.g. "
		    "\"127.0.0.1:9090\", \"[::1]:9090\", \":9090\")",
		    show(sv, s));
		return;
	}
	port = colon + 1;
	errno = 0;
	n = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end != '\0' || errno != 0 ||
	    n > 65535) {
		perr(p, "listen", "invalid port \"%s\" (0 to 65535)",
		    show(sv, port));
		return;
	}
	hlen = (size_t)(colon - s);
	memset(&c->listen_addr, 0, sizeof(c->listen_addr));
	if (hlen == 0) {
		/* Every address: IPv6 and IPv4 (status.c falls back). */
		c->listen_any = 1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)n);
		c->listen_addrlen = sizeof(*sin6);
		if (asprintf(&c->listen, ":%lu", n) == -1)
			c->listen = NULL;
	} else if (s[0] == '[' && colon[-1] == ']' &&
	    hlen - 2 < sizeof(host)) {
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			perr(p, "listen", "\"%s\" is not a numeric IPv6 "
			    "address", show(sv, host));
			return;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)n);
		c->listen_addrlen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (asprintf(&c->listen, "[%s]:%lu", host, n) == -1)
			c->listen = NULL;
	} else {
		if (hlen >= sizeof(host) || memchr(s, ':', hlen) != NULL) {
			perr(p, "listen", "an IPv6 address must be in "
			    "brackets: \"[::1]:9090\"");
			return;
		}
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			perr(p, "listen", "\"%s\" is not a numeric IP address "
			    "(host names are not resolved)", show(sv, host));
			return;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)n);
		c->listen_addrlen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		if (asprintf(&c->listen, "%s:%lu", host, n) == -1)
			c->listen = NULL;
	}
	if (c->listen == NULL)
		perr(p, "listen", "out of memory");
}

static struct akvd_config *
parse(const char *json, size_t len, const char *name,
    const char *base, struct config_errors *errs)
{
	static const char *const keys[] = { "output_dir", "interval",
	    "timeout", "max_response_size", "concurrency", "cloud", "vault",
	    "auth", "tls", "objects", "select", "bundles", "notify",
	    "debounce", "on_change", "stop_signal", "stop_grace", "env",
	    "listen", "ready_max_failed_intervals", "once_timeout", NULL };
	struct parser p;
	struct akvd_config *c = NULL;
	const cJSON *objs, *o, *bl;
	cJSON *root;
	size_t nobj, nmem;
	const char *s, *end = NULL, *authority;
	char *text, url[URL_MAX];
	long n;
	size_t i, line = 1, col = 1;

	memset(&p, 0, sizeof(p));
	p.errs = errs;
	p.base = base;
	memset(errs, 0, sizeof(*errs));

	/* cJSON must see the end: a NUL there, and no NUL before it. */
	if ((text = malloc(len + 1)) == NULL) {
		perr(&p, name, "out of memory");
		return (NULL);
	}
	memcpy(text, json, len);
	text[len] = '\0';
	root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (root != NULL && strlen(text) != len) {
		cJSON_Delete(root);
		root = NULL;
		end = text + strlen(text);
	}
	if (root == NULL) {
		if (end == NULL)
			end = text;
		for (s = text; s < end; s++) {
			if (*s == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)*s & 0xc0) != 0x80)
				col++;	/* characters, not UTF-8 bytes */
		}
		perr(&p, name, "invalid JSON at line %zu, column %zu", line,
		    col);
		free(text);
		return (NULL);
	}
	free(text);
	p.root = root;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		perr(&p, name, "out of memory");
		goto out;
	}
	c->interval_ms = CONFIG_DEFAULT_INTERVAL_MS;
	c->timeout_ms = CONFIG_DEFAULT_TIMEOUT_MS;
	c->max_response = CONFIG_DEFAULT_MAX_RESPONSE;
	c->concurrency = CONFIG_DEFAULT_CONCURRENCY;
	if (!cJSON_IsObject(root)) {
		perr(&p, name, "must be a JSON object");
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
	c->once_timeout_ms = CONFIG_DEFAULT_ONCE_TIMEOUT_MS;
	if (get_duration(&p, "once_timeout", root, &c->once_timeout_ms) == 1 &&
	    (c->once_timeout_ms < MIN_ONCE_TIMEOUT_MS ||
	    c->once_timeout_ms > MAX_ONCE_TIMEOUT_MS))
		perr(&p, "once_timeout", "must be from 1s to 24h");

	authority = parse_cloud(&p, root, c);
	switch (get_string(&p, "", root, "vault", &s)) {
	case 1:
		if (vault_url(s, c->vault_suffix, url, sizeof(url)) == -1) {
			perr(&p, "vault", "must be an https URL or a vault "
			    "name");
			p.vault_bad = 1;
		} else
			c->vault = pdup(&p, "vault", url);
		break;
	case -1:
		p.vault_bad = 1;	/* no "required" for each object */
		break;
	}
	parse_auth(&p, root, c, authority);
	parse_tls(&p, root, c);
	parse_notify(&p, root, c);
	parse_listen(&p, root, c);

	parse_select(&p, root, c);
	objs = cJSON_GetObjectItemCaseSensitive(root, "objects");
	bl = cJSON_GetObjectItemCaseSensitive(root, "bundles");
	nobj = cJSON_IsArray(objs) ? (size_t)cJSON_GetArraySize(objs) : 0;
	nmem = count_members(bl);
	if (objs == NULL && c->nselects == 0 && bl == NULL)
		perr(&p, "objects", "required (or \"select\", \"bundles\")");
	else if (objs != NULL && !cJSON_IsArray(objs))
		perr(&p, "objects", "must be an array");
	else if (nobj == 0 && nmem == 0 && c->nselects == 0)
		perr(&p, "objects", "must list at least one object");
	else if (nobj + nmem > MAX_OBJECTS)
		perr(&p, "objects", "must list at most %d objects, bundles' "
		    "included", MAX_OBJECTS);
	else if ((c->objects = calloc(nobj + nmem + 1,
	    sizeof(*c->objects))) == NULL)
		perr(&p, "objects", "out of memory");
	else {
		i = 0;
		cJSON_ArrayForEach(o, objs) {
			char opath[64];

			snprintf(opath, sizeof(opath), "objects[%zu]", i);
			parse_object(&p, o, opath, 0, c, &c->objects[i]);
			i++;
		}
		c->nobjects = nobj;
		parse_bundles(&p, bl, c);
		check_aliases(&p, c);
		check_bundle_paths(&p, c);
	}
	parse_supervise(&p, root, c);
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

	return (parse(json, len, "config", NULL, errs));
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
	struct parser p;
	struct akvd_config *c = NULL;
	char *buf = NULL, *nbuf, *base = NULL, *slash, cwd[PATH_MAX];
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	memset(&p, 0, sizeof(p));
	p.errs = errs;
	memset(errs, 0, sizeof(*errs));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perr(&p, path, "%s", strerror(errno));
		return (NULL);
	}

	/* Read to the end: a pipe, or a file being replaced, has no size. */
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 16384 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				perr(&p, path, "%s", strerror(errno));
				goto out;
			}
			buf = nbuf;
		}
		if ((r = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			perr(&p, path, "%s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MAX_CONFIG_SIZE) {
			perr(&p, path, "larger than %d bytes",
			    MAX_CONFIG_SIZE);
			goto out;
		}
	}

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
	c = parse(buf, len, path, base, errs);
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
		free(c->objects[i].url);
	}
	free(c->objects);
	for (i = 0; i < c->nselects; i++) {
		struct akvd_select *sel = &c->selects[i];
		size_t j;

		free(sel->vault);
		free(sel->prefix);
		free(sel->dir);
		for (j = 0; sel->tags != NULL && j < 2 * sel->ntags; j++)
			free(sel->tags[j]);
		free(sel->tags);
	}
	free(c->selects);
	for (i = 0; i < c->nbundles; i++)
		free(c->bundles[i].path);
	free(c->bundles);
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
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].var);
		free(c->env[i].object);
	}
	free(c->env);
	free(c->listen);
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
	free(c->storage_scope);
	free(c->ca_file);
	free(c);
}

/*
 * Write ${item} to ${f} as JSON indented by two spaces per level, its
 * closing line at ${depth}.  Returns 0, or -1 on a write error.
 */
static int
print_json(FILE *f, const cJSON *item, int depth)
{
	const cJSON *c;
	char *s;
	int obj, rc;

	obj = cJSON_IsObject(item);
	if (!obj && !cJSON_IsArray(item)) {
		/* A scalar: cJSON writes it, escaping strings. */
		if ((s = cJSON_PrintUnformatted(item)) == NULL)
			return (-1);
		rc = fputs(s, f) == EOF ? -1 : 0;
		cJSON_free(s);
		return (rc);
	}
	if (item->child == NULL)
		return (fputs(obj ? "{}" : "[]", f) == EOF ? -1 : 0);
	if (fputs(obj ? "{\n" : "[\n", f) == EOF)
		return (-1);
	cJSON_ArrayForEach(c, item) {
		/* Keys are akvd's own: plain ASCII, nothing to escape. */
		if (fprintf(f, "%*s", 2 * (depth + 1), "") < 0 ||
		    (obj && fprintf(f, "\"%s\": ", c->string) < 0) ||
		    print_json(f, c, depth + 1) == -1 ||
		    fputs(c->next != NULL ? ",\n" : "\n", f) == EOF)
			return (-1);
	}
	return (fprintf(f, "%*s%c", 2 * depth, "", obj ? '}' : ']') < 0 ?
	    -1 : 0);
}

/* The normalized form of a blob object. */
static void
print_blob(cJSON *o, const struct akvd_object *ob)
{
	char mode[16];

	snprintf(mode, sizeof(mode), "%04o", (unsigned)ob->mode);
	cJSON_AddStringToObject(o, "type", "blob");
	cJSON_AddStringToObject(o, "url", ob->url);
	cJSON_AddStringToObject(o, "alias", ob->alias);
	cJSON_AddStringToObject(o, "mode", mode);
	if (ob->uid != CONFIG_OWNER_KEEP)
		cJSON_AddNumberToObject(o, "uid", (double)ob->uid);
	if (ob->gid != CONFIG_OWNER_KEEP)
		cJSON_AddNumberToObject(o, "gid", (double)ob->gid);
	cJSON_AddBoolToObject(o, "optional", ob->optional);
	cJSON_AddNumberToObject(o, "max_size", (double)ob->max_size);
}

static void
add_opt(cJSON *o, const char *key, const char *v)
{

	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
}

/* One object as --check prints it; a bundle member has fewer keys. */
static cJSON *
print_object(const struct akvd_object *ob)
{
	cJSON *o;
	char mode[16];

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	if (ob->type == OBJ_BLOB) {
		print_blob(o, ob);
		return (o);
	}
	cJSON_AddStringToObject(o, "name", ob->name);
	cJSON_AddStringToObject(o, "type", config_type_name(ob->type));
	cJSON_AddStringToObject(o, "alias", ob->alias);
	cJSON_AddStringToObject(o, "version", ob->version);
	cJSON_AddStringToObject(o, "vault", ob->vault);
	if (ob->bundle == 0) {
		snprintf(mode, sizeof(mode), "%04o", (unsigned)ob->mode);
		cJSON_AddStringToObject(o, "mode", mode);
		if (ob->uid != CONFIG_OWNER_KEEP)
			cJSON_AddNumberToObject(o, "uid", (double)ob->uid);
		if (ob->gid != CONFIG_OWNER_KEEP)
			cJSON_AddNumberToObject(o, "gid", (double)ob->gid);
	}
	cJSON_AddBoolToObject(o, "optional", ob->optional);
	if (ob->type == OBJ_SECRET) {
		cJSON_AddStringToObject(o, "encoding",
		    encoding_names[ob->encoding]);
		if (ob->bundle == 0) {
			cJSON_AddStringToObject(o, "format",
			    format_names[ob->format]);
			cJSON_AddBoolToObject(o, "split", ob->split);
		}
	}
	if (ob->history > 0)
		cJSON_AddNumberToObject(o, "history", ob->history);
	return (o);
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
	if (c->cloud != NULL && strcmp(c->cloud, "custom") == 0) {
		cloud = cJSON_AddObjectToObject(root, "cloud");
		cJSON_AddStringToObject(cloud, "authority_host",
		    c->auth.authority_host);
		cJSON_AddStringToObject(cloud, "vault_suffix",
		    c->vault_suffix);
		cJSON_AddStringToObject(cloud, "vault_scope", c->vault_scope);
		cJSON_AddStringToObject(cloud, "storage_scope",
		    c->storage_scope);
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

		if (ob->bundle != 0)
			continue;
		if ((o = print_object(ob)) == NULL)
			goto out;
		cJSON_AddItemToArray(objs, o);
	}
	if (c->nbundles > 0) {
		cJSON *bl = cJSON_AddArrayToObject(root, "bundles"), *be, *bo;
		size_t j;

		for (i = 0; i < c->nbundles; i++) {
			const struct akvd_bundle *b = &c->bundles[i];

			if ((be = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(bl, be);
			cJSON_AddStringToObject(be, "path", b->path);
			cJSON_AddStringToObject(be, "format",
			    bundle_formats[b->format]);
			snprintf(mode, sizeof(mode), "%04o",
			    (unsigned)b->mode);
			cJSON_AddStringToObject(be, "mode", mode);
			if (b->uid != CONFIG_OWNER_KEEP)
				cJSON_AddNumberToObject(be, "uid",
				    (double)b->uid);
			if (b->gid != CONFIG_OWNER_KEEP)
				cJSON_AddNumberToObject(be, "gid",
				    (double)b->gid);
			bo = cJSON_AddArrayToObject(be, "objects");
			for (j = 0; j < b->n; j++) {
				if ((o = print_object(&c->objects[b->first +
				    j])) == NULL)
					goto out;
				cJSON_AddItemToArray(bo, o);
			}
		}
	}
	if (c->nselects > 0) {
		cJSON *sl = cJSON_AddArrayToObject(root, "select"), *se, *tg;

		for (i = 0; i < c->nselects; i++) {
			const struct akvd_select *sel = &c->selects[i];
			size_t j;

			if ((se = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(sl, se);
			cJSON_AddStringToObject(se, "vault", sel->vault);
			cJSON_AddStringToObject(se, "prefix", sel->prefix);
			tg = cJSON_AddObjectToObject(se, "tags");
			for (j = 0; j < sel->ntags; j++)
				cJSON_AddStringToObject(tg, sel->tags[2 * j],
				    sel->tags[2 * j + 1]);
			cJSON_AddBoolToObject(se, "strip_prefix",
			    sel->strip_prefix);
			cJSON_AddStringToObject(se, "dir", sel->dir);
			snprintf(mode, sizeof(mode), "%04o",
			    (unsigned)sel->mode);
			cJSON_AddStringToObject(se, "mode", mode);
			if (sel->uid != CONFIG_OWNER_KEEP)
				cJSON_AddNumberToObject(se, "uid",
				    (double)sel->uid);
			if (sel->gid != CONFIG_OWNER_KEEP)
				cJSON_AddNumberToObject(se, "gid",
				    (double)sel->gid);
		}
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
	if (c->on_change != ON_CHANGE_NOTHING || c->nenv > 0 ||
	    c->stop_signal != SIGTERM ||
	    c->stop_grace_ms != CONFIG_DEFAULT_STOP_GRACE_MS) {
		if (c->on_change == ON_CHANGE_RESTART)
			cJSON_AddStringToObject(root, "on_change", "restart");
		else if (c->on_change == ON_CHANGE_SIGNAL) {
			o = cJSON_AddObjectToObject(root, "on_change");
			cJSON_AddStringToObject(o, "signal",
			    signal_name(c->on_change_signal));
		}
		cJSON_AddStringToObject(root, "stop_signal",
		    signal_name(c->stop_signal));
		duration_format(c->stop_grace_ms, d, sizeof(d));
		cJSON_AddStringToObject(root, "stop_grace", d);
		if (c->nenv > 0) {
			o = cJSON_AddObjectToObject(root, "env");
			for (i = 0; i < c->nenv; i++)
				cJSON_AddStringToObject(o, c->env[i].var,
				    c->env[i].object);
		}
	}
	if (c->listen != NULL)
		cJSON_AddStringToObject(root, "listen", c->listen);
	if (c->listen != NULL ||
	    c->ready_max_failed != CONFIG_DEFAULT_READY_MAX_FAILED)
		cJSON_AddNumberToObject(root, "ready_max_failed_intervals",
		    c->ready_max_failed);
	if (c->once_timeout_ms != CONFIG_DEFAULT_ONCE_TIMEOUT_MS) {
		duration_format(c->once_timeout_ms, d, sizeof(d));
		cJSON_AddStringToObject(root, "once_timeout", d);
	}
	rc = print_json(f, root, 0) == -1 || fputc('\n', f) == EOF ?
	    -1 : 0;
out:
	cJSON_Delete(root);
	return (rc);
}

/*
 * config_object_same_source(a, b): nonzero if ${a} and ${b} fetch the same
 * thing (name, type, version, vault) and render it the same way (encoding,
 * format, split, history); used by reload to keep state.
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
