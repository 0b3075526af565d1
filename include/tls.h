/*
 * tls.h - the TLS trust store: one X509_STORE per set of options (the
 * system's anchors, looked up by hash when libcurl's CA directory is hashed,
 * or read from its CA bundle, plus an optional PEM file), shared by every
 * connection through CURLOPT_SSL_CTX_FUNCTION, so no handshake decodes a CA
 * bundle.
 */
#ifndef AKVD_TLS_H
#define AKVD_TLS_H

#include <curl/curl.h>

struct tls;

/*
 * tls_new(): where libcurl would look for the system's trust anchors (its
 * built-in CURLOPT_CAINFO and CURLOPT_CAPATH), remembered in a new struct
 * tls with no store yet (tls_prepare builds it).  The caller owns the
 * result and releases it with tls_free.  Returns NULL on ENOMEM (errno set,
 * not logged).
 */
struct tls *tls_new(void);

struct tls_pending;

/*
 * tls_prepare(t, ca_file, &pending): build a new store of the system's
 * anchors plus those of the PEM file ${ca_file} (or NULL), even for the
 * same file (its contents may have changed), into *${pending}, changing
 * nothing.  ${ca_file} is not kept.  Returns 0, or -1 on error (logged: the
 * file cannot be read or holds no certificate, ENOMEM; *${pending} NULL).
 */
int	tls_prepare(struct tls *, const char *, struct tls_pending **);

/*
 * tls_commit(t, pending): make ${pending}'s store ${t}'s current store and
 * release ${pending}; cannot fail.  TLS contexts set up from now on use
 * it; those already set up keep a reference to theirs.
 */
void	tls_commit(struct tls *, struct tls_pending *);

/* tls_abort(pending): release ${pending} unapplied.  NULL is a no-op. */
void	tls_abort(struct tls_pending *);

/*
 * tls_free(t): drop ${t}'s reference to its store (freed with the last TLS
 * context using it) and release ${t}.  NULL is a no-op.
 */
void	tls_free(struct tls *);

/*
 * tls_ssl_ctx_cb(easy, sslctx, cookie): CURLOPT_SSL_CTX_FUNCTION, with
 * CURLOPT_SSL_CTX_DATA the struct tls: give the TLS context ${sslctx} a
 * reference to the current store (libcurl is to be told to load no CA
 * itself: CURLOPT_CAINFO and CURLOPT_CAPATH NULL).  Returns CURLE_OK.
 */
CURLcode tls_ssl_ctx_cb(CURL *, void *, void *);

#endif /* !AKVD_TLS_H */
