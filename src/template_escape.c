/*
 * template_escape.c - the escaping contexts of templates: what a value
 * becomes when inserted with "|raw", "|url", "|json", "|yaml", "|sh",
 * "|xml", "|properties", "|pgpass", "|base64" or "|hex" (see
 * template_int.h; the parser and the renderer are in template.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "template_int.h"
#include "util.h"

const char *const ctx_names[CTX_COUNT] = {
	"raw", "url", "json", "yaml", "sh", "xml", "properties", "pgpass",
	"base64", "hex"
};

/*
 * The escapes a JSON string and a YAML double-quoted scalar share: '"',
 * '\\', LF, CR and TAB.  Writes the escape of ${cp} to ${tmp} (${len}
 * bytes) and returns 1, or returns 0 if ${cp} is none of these.
 */
static int
escape_quoted(uint32_t cp, char *tmp, size_t len)
{
	if (cp == '"' || cp == '\\')
		snprintf(tmp, len, "\\%c", (int)cp);
	else if (cp == '\n')
		snprintf(tmp, len, "\\n");
	else if (cp == '\r')
		snprintf(tmp, len, "\\r");
	else if (cp == '\t')
		snprintf(tmp, len, "\\t");
	else
		return (0);
	return (1);
}

/*
 * Append ${s} (${n} bytes) escaped for ${ctx} to ${out}.  Returns 0, or
 * -1 with *${why} saying what the context cannot hold (NULL: ENOMEM).
 */
int
escape(enum ctx ctx, const char *s, size_t n, struct buf *out,
    const char **why)
{
	static const char hexd[] = "0123456789abcdef";
	static const char hexu[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	char tmp[16];
	unsigned char *b64;
	size_t i, k;
	uint32_t cp;
	int rc = 0;

	*why = NULL;
	switch (ctx) {
	case CTX_RAW:
		return (buf_append(out, s, n));
	case CTX_URL:
		for (i = 0; i < n && rc == 0; i++) {
			if ((u[i] >= 'A' && u[i] <= 'Z') ||
			    (u[i] >= 'a' && u[i] <= 'z') ||
			    (u[i] >= '0' && u[i] <= '9') || u[i] == '-' ||
			    u[i] == '.' || u[i] == '_' || u[i] == '~') {
				rc = buf_append(out, &s[i], 1);
				continue;
			}
			tmp[0] = '%';
			tmp[1] = hexu[u[i] >> 4];
			tmp[2] = hexu[u[i] & 0xf];
			rc = buf_append(out, tmp, 3);
		}
		return (rc);
	case CTX_HEX:
		for (i = 0; i < n && rc == 0; i++) {
			tmp[0] = hexd[u[i] >> 4];
			tmp[1] = hexd[u[i] & 0xf];
			rc = buf_append(out, tmp, 2);
		}
		return (rc);
	case CTX_BASE64:
		if (n == 0)
			return (buf_append(out, "", 0));
		if (n > (SIZE_MAX - 1) / 4 * 3 - 3 ||
		    (b64 = malloc((n + 2) / 3 * 4 + 1)) == NULL)
			return (-1);
		for (i = 0, k = 0; i < n; i += 3 * 1024) {
			/* EVP_EncodeBlock takes an int length. */
			k += (size_t)EVP_EncodeBlock(b64 + k, u + i,
			    (int)(n - i < 3 * 1024 ? n - i : 3 * 1024));
		}
		rc = buf_append(out, b64, k);
		wipe_free(b64, k);
		return (rc);
	case CTX_SH:
		if (memchr(s, '\0', n) != NULL) {
			*why = "a shell word cannot hold a NUL byte";
			return (-1);
		}
		rc = buf_append(out, "'", 1);
		for (i = 0; i < n && rc == 0; i++) {
			if (s[i] == '\'')
				rc = buf_append(out, "'\\''", 4);
			else
				rc = buf_append(out, &s[i], 1);
		}
		if (rc == 0)
			rc = buf_append(out, "'", 1);
		return (rc);
	case CTX_PGPASS:
		for (i = 0; i < n && rc == 0; i++) {
			if (s[i] == '\0' || s[i] == '\n' || s[i] == '\r') {
				*why = "a .pgpass field cannot hold a NUL, "
				    "CR or LF byte";
				return (-1);
			}
			if (s[i] == ':' || s[i] == '\\')
				rc = buf_append(out, "\\", 1);
			if (rc == 0)
				rc = buf_append(out, &s[i], 1);
		}
		return (rc);
	default:
		break;
	}
	/* The text formats: character by character. */
	for (i = 0; i < n && rc == 0; i += k) {
		if ((k = utf8_next(s + i, n - i, &cp)) == 0) {
			*why = "the value is not UTF-8 text";
			return (-1);
		}
		tmp[0] = '\0';
		switch (ctx) {
		case CTX_JSON:
			if (escape_quoted(cp, tmp, sizeof(tmp)))
				break;
			if (cp < 0x20 || cp == 0x7f)
				snprintf(tmp, sizeof(tmp), "\\u%04x",
				    (unsigned)cp);
			break;
		case CTX_YAML:
			if (escape_quoted(cp, tmp, sizeof(tmp)))
				break;
			if (cp == 0x85)
				strcpy(tmp, "\\N");
			else if (cp == 0x2028)
				strcpy(tmp, "\\L");
			else if (cp == 0x2029)
				strcpy(tmp, "\\P");
			else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
				snprintf(tmp, sizeof(tmp), "\\x%02x",
				    (unsigned)cp);
			else if (cp == 0xfeff || cp == 0xfffe ||
			    cp == 0xffff)
				snprintf(tmp, sizeof(tmp), "\\u%04x",
				    (unsigned)cp);
			break;
		case CTX_XML:
			if (cp == '&')
				strcpy(tmp, "&amp;");
			else if (cp == '<')
				strcpy(tmp, "&lt;");
			else if (cp == '>')
				strcpy(tmp, "&gt;");
			else if (cp == '"')
				strcpy(tmp, "&quot;");
			else if (cp == '\'')
				strcpy(tmp, "&apos;");
			else if (cp == '\t' || cp == '\n' || cp == '\r')
				snprintf(tmp, sizeof(tmp), "&#%u;",
				    (unsigned)cp);
			else if (cp < 0x20 || cp == 0xfffe ||
			    cp == 0xffff) {
				*why = "XML 1.0 cannot hold a control "
				    "character other than TAB, LF, CR (nor "
				    "U+FFFE, U+FFFF)";
				return (-1);
			}
			break;
		case CTX_PROPERTIES:
			if (cp == '\\' || cp == '=' || cp == ':' ||
			    cp == '#' || cp == '!' || (cp == ' ' && i == 0))
				snprintf(tmp, sizeof(tmp), "\\%c", (int)cp);
			else if (cp == '\t')
				strcpy(tmp, "\\t");
			else if (cp == '\n')
				strcpy(tmp, "\\n");
			else if (cp == '\r')
				strcpy(tmp, "\\r");
			else if (cp == '\f')
				strcpy(tmp, "\\f");
			else if (cp >= 0x10000)
				snprintf(tmp, sizeof(tmp), "\\u%04x\\u%04x",
				    (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
				    (unsigned)(0xdc00 + ((cp - 0x10000) &
				    0x3ff)));
			else if (cp < 0x20 || cp > 0x7e)
				snprintf(tmp, sizeof(tmp), "\\u%04x",
				    (unsigned)cp);
			break;
		default:
			break;
		}
		if (tmp[0] != '\0')
			rc = buf_append(out, tmp, strlen(tmp));
		else
			rc = buf_append(out, s + i, k);
	}
	return (rc);
}
