/*
 * blob.h - the Azure Blob Storage data plane, as pure functions: the
 * headers of a GET, what an ETag is, and what an error response means.
 * Nothing here does I/O or logs.
 *
 * A blob is fetched with a Storage-scoped token.  Its ETag plays the part
 * of a secret's version: once one is known, the GET carries If-None-Match
 * and a 304 means unchanged.
 */
#ifndef AKVD_BLOB_H
#define AKVD_BLOB_H

#include <stddef.h>

#include "fetch.h"

#define BLOB_API_VERSION	"2020-04-08"	/* x-ms-version */

/*
 * blob_etag_usable(version): 1 if ${version} (the one held) is an ETag a
 * GET may send as If-None-Match: quoted ("...") or weak (W/"..."); 0 for
 * NULL (adopted from disk) or "(no ETag)".
 */
int	blob_etag_usable(const char *);

/*
 * blob_xml_text(body, len, tag, out, outlen): the text of the first
 * <${tag}>...</${tag}> of an error body, control characters replaced by
 * spaces, cut to fit ${out}; "" if there is none.
 */
void	blob_xml_text(const char *, size_t, const char *, char *, size_t);

/*
 * blob_hint(code, status): what to check for a Storage error ${code} (or
 * status), or NULL.
 */
const char *blob_hint(const char *, long);

/*
 * blob_error(r, status, error_code, body, len): ${r} is the error response
 * ${status}: its code from the x-ms-error-code header (${error_code}, may
 * be NULL) or the body's <Code>, "no error code" without either; its
 * detail the body's <Message> and blob_hint().  Retry-After is left for
 * the caller (r->retry_after_ms -1).
 */
void	blob_error(struct fetch_result *, long, const char *, const char *,
	    size_t);

#endif /* !AKVD_BLOB_H */
