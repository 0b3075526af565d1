/*
 * assertion.h - client assertions signed with a service principal's
 * certificate (RFC 7523 JWT bearer, as Entra ID expects them).
 */
#ifndef AKVD_ASSERTION_H
#define AKVD_ASSERTION_H

#include <stddef.h>
#include <stdint.h>

/*
 * assertion_sign(pem_file, client_id, audience, now, err, errlen): read
 * the private key and the first certificate from ${pem_file} (read again
 * at every call, so a renewed certificate needs no restart) and return a
 * JWT signed RS256 with header {"alg","typ","x5t#S256"} and claims aud =
 * ${audience} (the token endpoint), iss = sub = ${client_id}, a random
 * jti, nbf = iat = ${now}, exp = ${now} + 10 minutes.  Returns a new
 * string to release with str_wipe_free(), or NULL with a message in
 * ${err}.  The key is never copied outside OpenSSL.
 */
char	*assertion_sign(const char *, const char *, const char *, int64_t,
	    char *, size_t);

/*
 * assertion_b64url(p, n): ${p} encoded base64url without padding, as a
 * new string (free()); NULL on ENOMEM.
 */
char	*assertion_b64url(const void *, size_t);

#endif /* !AKVD_ASSERTION_H */
