/*
 * render_bundle.c - bundle files: the values of a bundle serialized as one
 * JSON object or as dotenv lines (see render.h).  Split from render.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

/* ---------------------------------------------------------------------- */
/* Bundles                                                                */

static int
json_string(struct buf *out, const char *s, size_t n)
{
	size_t i;
	int rc = 0;

	rc |= buf_append(out, "\"", 1);
	for (i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			rc = buf_append(out, "\\\"", 2);
			break;
		case '\\':
			rc = buf_append(out, "\\\\", 2);
			break;
		case '\n':
			rc = buf_append(out, "\\n", 2);
			break;
		case '\r':
			rc = buf_append(out, "\\r", 2);
			break;
		case '\t':
			rc = buf_append(out, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				rc = buf_appendf(out, "\\u%04x", c);
			else
				rc = buf_append(out, &s[i], 1);
		}
	}
	if (rc == 0)
		rc = buf_append(out, "\"", 1);
	return (rc);
}

/* Segment ${d} of a "--"-separated key: its start, length in *${len}. */
static const char *
segment(const char *key, size_t d, size_t *len)
{
	const char *p = key, *q;

	for (;;) {
		q = strstr(p, "--");
		if (d == 0) {
			*len = q != NULL ? (size_t)(q - p) : strlen(p);
			return (p);
		}
		if (q == NULL) {
			*len = 0;
			return (NULL);
		}
		p = q + 2;
		d--;
	}
}

static int
seg_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);

	if (c != 0)
		return (c);
	return (la < lb ? -1 : la > lb ? 1 : 0);
}

/* Keys in order, segment by segment. */
static int
entry_cmp(const void *x, const void *y)
{
	const struct render_entry *a = *(const struct render_entry *const *)x;
	const struct render_entry *b = *(const struct render_entry *const *)y;
	const char *sa, *sb;
	size_t d, la, lb;
	int c;

	for (d = 0;; d++) {
		sa = segment(a->key, d, &la);
		sb = segment(b->key, d, &lb);
		if (sa == NULL || sb == NULL)
			return (sa == NULL ? (sb == NULL ? 0 : -1) : 1);
		if ((c = seg_cmp(sa, la, sb, lb)) != 0)
			return (c);
	}
}

/* Write entries [lo, hi), which share their first ${d} segments. */
static int
json_object(struct buf *out, const struct render_entry **e, size_t lo,
    size_t hi, size_t d, int indent)
{
	const char *seg, *s2;
	size_t i = lo, j, len, l2;
	int rc;

	rc = buf_append(out, "{\n", 2);
	while (i < hi && rc == 0) {
		seg = segment(e[i]->key, d, &len);
		for (j = i + 1; j < hi; j++) {
			s2 = segment(e[j]->key, d, &l2);
			if (s2 == NULL || seg_cmp(seg, len, s2, l2) != 0)
				break;
		}
		rc |= buf_appendf(out, "%*s", indent + 2, "");
		rc |= json_string(out, seg, len);
		rc |= buf_append(out, ": ", 2);
		if (rc == 0 && j == i + 1 && segment(e[i]->key, d + 1,
		    &l2) == NULL)
			rc = json_string(out, e[i]->value, e[i]->len);
		else if (rc == 0)
			rc = json_object(out, e, i, j, d + 1, indent + 2);
		if (rc == 0)
			rc = buf_append(out, j < hi ? ",\n" : "\n",
			    j < hi ? 2 : 1);
		i = j;
	}
	if (rc == 0)
		rc = buf_appendf(out, "%*s}", indent, "");
	return (rc);
}

/*
 * render_bundle(format, entries, n, out, err, errlen): the bytes of a
 * bundle file.  JSON: one object, keys split at "--" into nested objects
 * (as ASP.NET Core's Key Vault provider), sorted, values as strings (each
 * must be UTF-8 without NUL).  dotenv: NAME='value' lines in the order
 * given, NAME upper-cased with '-' as '_', a quote written '\'' so that
 * POSIX sh reads the value back exactly (a NUL byte cannot be).  The keys
 * were checked by the configuration parser.  Returns 0, or -1 with a
 * message in ${err} naming the key (never the value).
 */
int
render_bundle(enum bundle_format format, const struct render_entry *ent,
    size_t n, struct buf *out, char *err, size_t errlen)
{
	const struct render_entry **sorted = NULL;
	char name[256];
	size_t i, k;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (format == BUNDLE_JSON &&
		    (!utf8_valid(ent[i].value, ent[i].len) ||
		    memchr(ent[i].value, '\0', ent[i].len) != NULL)) {
			snprintf(err, errlen, "the value of \"%s\" is not "
			    "UTF-8 text without NUL: JSON cannot hold it",
			    ent[i].key);
			return (-1);
		}
		if (format == BUNDLE_DOTENV &&
		    memchr(ent[i].value, '\0', ent[i].len) != NULL) {
			snprintf(err, errlen, "the value of \"%s\" holds a "
			    "NUL byte: a shell variable cannot", ent[i].key);
			return (-1);
		}
	}
	if (format == BUNDLE_DOTENV) {
		for (i = 0; i < n && rc == 0; i++) {
			if (config_dotenv_name(ent[i].key, name,
			    sizeof(name)) == -1) {
				snprintf(err, errlen, "\"%s\" is not a "
				    "variable name", ent[i].key);
				return (-1);
			}
			rc |= buf_appendf(out, "%s='", name);
			for (k = 0; k < ent[i].len && rc == 0; k++) {
				if (ent[i].value[k] == '\'')
					rc = buf_append(out, "'\\''", 4);
				else
					rc = buf_append(out, &ent[i].value[k],
					    1);
			}
			rc |= buf_append(out, "'\n", 2);
		}
	} else {
		if ((sorted = calloc(n + 1, sizeof(*sorted))) == NULL)
			rc = -1;
		for (i = 0; i < n && rc == 0; i++)
			sorted[i] = &ent[i];
		if (rc == 0) {
			qsort(sorted, n, sizeof(*sorted), entry_cmp);
			rc = json_object(out, sorted, 0, n, 0, 0);
		}
		if (rc == 0)
			rc = buf_append(out, "\n", 1);
		free(sorted);
	}
	if (rc == 0 && out->data == NULL)
		rc = buf_append(out, "", 0);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		buf_wipe(out);
		return (-1);
	}
	return (0);
}
