/*
 * render.h - what Key Vault returns, turned into the bytes of files.
 *
 * A secret's value is decoded (encoding utf-8, base64, hex); a
 * certificate-backed secret (Key Vault's "managed" secret of a
 * certificate, or one the configuration asks to read as a certificate;
 * contentType application/x-pkcs12, base64 PFX with an empty password, or
 * application/x-pem-file) becomes PEM (PKCS#8
 * "PRIVATE KEY", then the chain ordered leaf -> intermediates -> root) or
 * PKCS#12; a certificate's "cer" becomes a PEM certificate; a key's JWK
 * (RSA, EC on P-256, P-384, P-521, P-256K) becomes a "PUBLIC KEY" PEM.
 *
 * Every buffer that held private key material is wiped before it is
 * freed.  Error messages never quote the input.
 */
#ifndef AKVD_RENDER_H
#define AKVD_RENDER_H

#include <stddef.h>

#include "config.h"
#include "util.h"

/*
 * render_object(obj, value, len, content_type, managed, out, err, errlen):
 * the files of ${obj} from the value Key Vault returned (a secret's value,
 * a certificate's "cer", a key's JWK as JSON): ${out}[0] is the alias;
 * with "split", ${out}[1], [2], [3] are the .key, .crt (leaf and
 * intermediates) and .ca.crt (the self-signed roots, possibly none)
 * files.  A secret is read as a certificate (PKCS#12 when ${content_type}
 * says application/x-pkcs12, else PEM) only when ${managed} (Key Vault
 * says it backs a certificate) or the configuration asks for one
 * ("format" pem or pfx, "split"); otherwise its bytes are written after
 * "encoding", whatever ${content_type} (a free-form hint) says.  Without a
 * content type a value asked for as a certificate is PEM if it starts
 * as PEM, else base64 PKCS#12.  ${out} has room for CONFIG_SPLIT_FILES
 * empty buffers, which the caller releases with buf_wipe whatever the
 * result.  Returns 0, or -1 with a message in ${err}, which names the
 * setting that asked for a certificate when one did.
 */
int	render_object(const struct akvd_object *, const char *, size_t,
	    const char *, int, struct buf *, char *, size_t);

/*
 * render_base64(s, len, url, out): decode base64 (with ${url}, the
 * base64url alphabet; padding optional, whitespace skipped) into ${out}.
 * Returns 0, or -1 if ${s} is not base64 or on ENOMEM.
 */
int	render_base64(const char *, size_t, int, struct buf *);

/*
 * render_hex(s, len, out): decode hexadecimal (either case, whitespace
 * skipped) into ${out}.  Returns 0, or -1.
 */
int	render_hex(const char *, size_t, struct buf *);

/*
 * render_jwk_pem(jwk, len, out, err, errlen): a JSON Web Key (public
 * part) as a "PUBLIC KEY" (SubjectPublicKeyInfo) PEM.  Returns 0, or -1
 * with a message in ${err}.
 */
int	render_jwk_pem(const char *, size_t, struct buf *, char *, size_t);

/*
 * render_cert_parts(pem, len, parts, err, errlen): the private key
 * (PKCS#8), the leaf and the certificates after it (leaf -> root; "" when
 * none) of a PEM holding a key and its certificate, in ${parts}[0], [1],
 * [2] (zeroed on entry; wiped by the caller).  Returns 0, or -1 with
 * ${err} (never the value) and ${parts} wiped.
 */
int	render_cert_parts(const char *, size_t, struct buf [3], char *,
	    size_t);

/* One value of a bundle. */
struct render_entry {
	const char	*key;		/* the member's alias */
	const char	*value;		/* a secret */
	size_t		 len;
};

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
int	render_bundle(enum bundle_format, const struct render_entry *, size_t,
	    struct buf *, char *, size_t);

#endif /* !AKVD_RENDER_H */
