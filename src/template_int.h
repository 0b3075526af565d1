/*
 * template_int.h - what the files of the template engine share; not part
 * of akvd's interface (that is include/template.h).
 *
 *   template.c         template_parse, template_refs, template_free,
 *                      template_render: the parser and the renderer
 *   template_escape.c  the escaping contexts (raw, url, json, yaml, sh,
 *                      xml, properties, pgpass, base64, hex)
 *
 * Each function is described where it is defined.  The short names below
 * are the code's; the #defines give the linker template_-prefixed ones,
 * as every name a module exports must carry its prefix.
 */
#ifndef AKVD_TEMPLATE_INT_H
#define AKVD_TEMPLATE_INT_H

#include <stddef.h>

#include "util.h"

/* The escaping contexts, in the order of ctx_names. */
enum ctx {
	CTX_RAW, CTX_URL, CTX_JSON, CTX_YAML, CTX_SH, CTX_XML,
	CTX_PROPERTIES, CTX_PGPASS, CTX_BASE64, CTX_HEX
};
#define CTX_COUNT	(CTX_HEX + 1)

#define ctx_names	template_ctx_names
#define escape		template_escape

/* The names of the contexts as written after '|' in a tag. */
extern const char *const ctx_names[CTX_COUNT];

int	escape(enum ctx, const char *, size_t, struct buf *, const char **);

#endif /* !AKVD_TEMPLATE_INT_H */
