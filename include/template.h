/*
 * template.h - logic-less, Mustache-style templates rendered from the
 * objects akvd holds, with escaping chosen per insertion.
 *
 * A template is parsed once (template_parse) into a compiled form that
 * is rendered any number of times (template_render) against a lookup
 * callback giving, per object name, a struct template_object the caller
 * fills.  The compiled form holds no secret; every buffer a rendering
 * writes a value into is wiped.  Error messages name the tag by its
 * line:column and text, never a value.
 *
 * Syntax (Mustache, https://mustache.github.io/mustache.5.html, without
 * partials and lambdas; nothing runs code):
 *
 *   {{ NAME }}             the value of NAME, raw (no escaping)
 *   {{ NAME | CONTEXT }}   the value escaped for CONTEXT (below); several
 *                          contexts apply left to right:
 *                          {{ tls.key | base64 | url }}
 *   {{{ NAME }}}, {{& NAME }}   raw, as in Mustache (contexts allowed)
 *   {{# NAME }}...{{/ NAME }}   rendered once if NAME is present (an
 *                          object that exists, a field that is set and
 *                          not empty); inside, names are looked up first
 *                          in NAME (a section over an object makes its
 *                          fields reachable by their bare names)
 *   {{^ NAME }}...{{/ NAME }}   rendered once if NAME is absent
 *   {{! comment }}         nothing (may span lines)
 *   {{=<% %>=}}            set the delimiters to "<%" and "%>" (any two
 *                          strings without whitespace or '=')
 *   {{.}}                  the innermost section's value
 *
 * Whitespace inside tags is ignored.  A line holding only whitespace and
 * section, inverted, closing, comment or delimiter tags is removed
 * entirely (Mustache's "standalone" lines); any other text is copied
 * byte for byte.  A partial ({{> x}}) is a syntax error.
 *
 * Names.  OBJECT is the name the caller's lookup knows (akvd: the
 * object's alias); it may hold any byte above space except '.', '|',
 * '{', '}' and '=' and may not start with one of "#^/!>&{=".
 *
 *   OBJECT                 its value (as OBJECT.value)
 *   OBJECT.value           its value: the bytes akvd would write to its
 *                          own file (after "encoding")
 *   OBJECT.version         Key Vault's version identifier
 *   OBJECT.content_type    the content type, when Key Vault has one
 *   OBJECT.updated         the time of its last update, RFC 3339 UTC,
 *                          "2024-05-01T12:00:00Z"
 *   OBJECT.tags.TAG        the value of tag TAG (everything after "tags."
 *                          is the tag's name, dots included)
 *   OBJECT.key             a certificate's private key, PEM (PKCS#8)
 *   OBJECT.leaf            a certificate's leaf certificate, PEM
 *   OBJECT.chain           the certificates after the leaf (leaf ->
 *                          root order), PEM; "" when there are none
 *
 * Inside {{#OBJECT}}...{{/OBJECT}} the fields are reachable as "value",
 * "version", ..., "tags.TAG", and they shadow objects of those names.
 * An unknown field is a syntax error.
 *
 * Missing values.  With TEMPLATE_STRICT (akvd's choice), inserting an
 * absent object, an unset field or a tag the object does not carry is an
 * error of the rendering; guard optional ones with a section.  Without
 * it, they render as nothing, as in Mustache.
 *
 * Contexts (CONTEXT above):
 *
 *   raw         the bytes unchanged
 *   url         a URL component: every byte but A-Z a-z 0-9 - . _ ~ is
 *               percent-encoded (%XX, upper case), so the result fits a
 *               userinfo, path segment, query name or value
 *   json        the contents of a JSON string (write the quotes around
 *               the tag): " \ and control characters escaped, DEL as
 *               \u007f, NUL as \u0000; invalid UTF-8 is an error
 *   yaml        the contents of a YAML double-quoted scalar (write the
 *               quotes): " \ escaped, every character YAML does not
 *               print (C0, DEL, C1, U+FEFF, U+FFFE, U+FFFF) and every
 *               line or paragraph separator (LF, CR, NEL, U+2028,
 *               U+2029) and TAB as an escape; invalid UTF-8 is an error
 *   sh          one POSIX shell word, single quotes included:
 *               'it'\''s' ("" gives ''); a NUL byte is an error
 *   xml         XML 1.0 text or attribute value (either quote): & < > "
 *               ' as entities, TAB LF CR as character references (so
 *               attribute normalization keeps them); other control
 *               characters, U+FFFE, U+FFFF and invalid UTF-8 are errors
 *   properties  a java.util.Properties value: \ = : # ! escaped, a
 *               leading space as "\ ", TAB LF CR FF as \t \n \r \f,
 *               other control characters and everything above U+007E
 *               as \uXXXX (UTF-16), so the file reads the same as
 *               ISO 8859-1 or UTF-8; invalid UTF-8 is an error
 *   pgpass      one field of a libpq password file: \ and : escaped
 *               with \; LF, CR and NUL are errors
 *   base64      standard base64 (RFC 4648 section 4), padded
 *   hex         lower-case hexadecimal
 */
#ifndef AKVD_TEMPLATE_H
#define AKVD_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* One tag of an object. */
struct template_tag {
	const char	*name;
	const char	*value;
};

/*
 * What a template sees of one object.  The caller owns every pointer and
 * keeps them valid during template_render.  A NULL string is "unset".
 */
struct template_object {
	const char	*value;		/* ${value_len} bytes, any bytes */
	size_t		 value_len;
	const char	*version;
	const char	*content_type;
	int64_t		 updated;	/* Unix time, s; -1 if unknown */
	const struct template_tag *tags;
	size_t		 ntags;
	const char	*key;		/* certificates: PEM parts */
	const char	*leaf;
	const char	*chain;
};

/*
 * template_lookup_fn(cookie, name): the object called ${name}, or NULL if
 * there is none (absent).  Called during template_render only.
 */
typedef const struct template_object *(*template_lookup_fn)(void *,
	    const char *);

/* An object a template references. */
struct template_ref {
	const char	*name;		/* owned by the template */
	unsigned	 line;		/* of its first use, from 1 */
	unsigned	 col;		/* in bytes, from 1 */
};

struct template;

/* Flags of template_render. */
#define TEMPLATE_STRICT	0x1	/* inserting a missing value is an error */

/*
 * template_parse(text, len, err, errlen): compile the ${len} bytes at
 * ${text} (copied; the caller keeps its own).  Returns the template, to
 * be released with template_free, or NULL with "LINE:COL: message" in
 * ${err} (a syntax error; or "out of memory").
 */
struct template	*template_parse(const char *, size_t, char *, size_t);

/*
 * template_refs(t, n): the objects ${t} references, each once, in the
 * order of first use; *${n} is their number.  The array belongs to ${t}.
 * Names used inside a section over an object that are that object's
 * fields are not listed.
 */
const struct template_ref *template_refs(const struct template *,
	    size_t *);

/*
 * template_render(t, flags, lookup, cookie, out, err, errlen): append the
 * rendering of ${t} to ${out}.  ${lookup} is called with ${cookie} for
 * each object name resolved.  Returns 0, or -1 with "LINE:COL: {{tag}}:
 * message" in ${err} (a value the context cannot hold, a missing value
 * under TEMPLATE_STRICT, or ENOMEM), ${out} then wiped (buf_wipe).  The
 * message never holds a value.
 */
int	template_render(const struct template *, int, template_lookup_fn,
	    void *, struct buf *, char *, size_t);

/* template_free(t): release ${t}; NULL is a no-op. */
void	template_free(struct template *);

#endif /* !AKVD_TEMPLATE_H */
