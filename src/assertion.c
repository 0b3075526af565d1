/*
 * assertion.c - client assertions signed with a service principal's
 * certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "assertion.h"
#include "util.h"

#define ASSERTION_LIFETIME	600

/*
 * assertion_b64url(p, n): ${p} encoded base64url without padding, as a
 * new string (free()); NULL on ENOMEM.
 */
char *
assertion_b64url(const void *p, size_t n)
{
	char *out;
	size_t i, len;

	if ((out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return (NULL);
	len = (size_t)EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return (out);
}

static void
ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, path, e != 0 ? buf :
	    strerror(errno));
	ERR_clear_error();
}

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
char *
assertion_sign(const char *pem, const char *client_id, const char *aud,
    int64_t now, char *err, size_t errlen)
{
	unsigned char der_hash[32], rnd[16], *der = NULL, *sig = NULL;
	char *h64 = NULL, *c64 = NULL, *s64 = NULL, *x5t = NULL, *out = NULL;
	char jti[40];
	struct buf hdr = BUF_INIT, claims = BUF_INIT, input = BUF_INIT;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	X509 *cert = NULL;
	BIO *bio = NULL;
	size_t siglen = 0;
	int derlen;

	if ((bio = BIO_new_file(pem, "r")) == NULL) {
		ssl_err(err, errlen, "cannot open", pem);
		goto out;
	}
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "no private key in", pem);
		goto out;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		snprintf(err, errlen, "%s: the key must be RSA (RS256)", pem);
		goto out;
	}
	(void)BIO_reset(bio);
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "no certificate in", pem);
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1) {
		snprintf(err, errlen, "%s: the private key does not match the "
		    "certificate", pem);
		ERR_clear_error();
		goto out;
	}
	if ((derlen = i2d_X509(cert, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)derlen, der_hash, NULL, EVP_sha256(),
	    NULL) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		ssl_err(err, errlen, "cannot hash the certificate in", pem);
		goto out;
	}
	rnd[6] = (rnd[6] & 0x0f) | 0x40;	/* a version 4 UUID */
	rnd[8] = (rnd[8] & 0x3f) | 0x80;
	snprintf(jti, sizeof(jti), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
	    rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10],
	    rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
	if ((x5t = assertion_b64url(der_hash, sizeof(der_hash))) == NULL ||
	    buf_appendf(&hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\","
	    "\"x5t#S256\":\"%s\"}", x5t) == -1 ||
	    buf_appendf(&claims, "{\"aud\":\"%s\",\"iss\":\"%s\",\"sub\":\"%s\","
	    "\"jti\":\"%s\",\"nbf\":%lld,\"iat\":%lld,\"exp\":%lld}", aud,
	    client_id, client_id, jti, (long long)now, (long long)now,
	    (long long)(now + ASSERTION_LIFETIME)) == -1 ||
	    (h64 = assertion_b64url(hdr.data, hdr.len)) == NULL ||
	    (c64 = assertion_b64url(claims.data, claims.len)) == NULL ||
	    buf_appendf(&input, "%s.%s", h64, c64) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input.data,
	    input.len) != 1 || (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)input.data,
	    input.len) != 1 || (s64 = assertion_b64url(sig, siglen)) == NULL ||
	    buf_appendf(&input, ".%s", s64) == -1) {
		ssl_err(err, errlen, "cannot sign with the key in", pem);
		goto out;
	}
	out = input.data;	/* ownership moves */
	input.data = NULL;
out:
	buf_wipe(&input);
	buf_wipe(&hdr);
	buf_wipe(&claims);
	free(h64);
	free(c64);
	free(s64);
	free(x5t);
	free(sig);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return (out);
}
