/*
 * render.c - what Key Vault returns, turned into the bytes of files (see
 * render.h).  OpenSSL 3 APIs only.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "json.h"
#include "render.h"
#include "util.h"

#define CT_PKCS12	"application/x-pkcs12"
#define CT_PEM		"application/x-pem-file"

/* ---------------------------------------------------------------------- */
/* Encodings                                                              */

static int
b64_value(unsigned char c, int url)
{

	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == (url ? '-' : '+'))
		return (62);
	if (c == (url ? '_' : '/'))
		return (63);
	return (-1);
}

/*
 * render_base64(s, len, url, out): decode base64 (with ${url}, the
 * base64url alphabet; padding optional, whitespace skipped) into ${out}.
 * Returns 0, or -1 if ${s} is not base64 or on ENOMEM.
 */
int
render_base64(const char *s, size_t len, int url, struct buf *out)
{
	unsigned char q[3];
	uint32_t acc = 0;
	size_t i, n = 0, pad = 0;
	int v;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c, url)) == -1)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		if (++n % 4 == 0) {
			q[0] = (unsigned char)(acc >> 16);
			q[1] = (unsigned char)(acc >> 8);
			q[2] = (unsigned char)acc;
			if (buf_append(out, q, 3) == -1)
				goto bad;
			acc = 0;
		}
	}
	/* 2 or 3 leftover characters make 1 or 2 bytes; 1 is invalid. */
	switch (n % 4) {
	case 0:
		if (pad != 0)
			goto bad;
		break;
	case 2:
		if ((pad != 0 && pad != 2) || (acc & 0xf) != 0)
			goto bad;
		q[0] = (unsigned char)(acc >> 4);
		if (buf_append(out, q, 1) == -1)
			goto bad;
		break;
	case 3:
		if ((pad != 0 && pad != 1) || (acc & 0x3) != 0)
			goto bad;
		q[0] = (unsigned char)(acc >> 10);
		q[1] = (unsigned char)(acc >> 2);
		if (buf_append(out, q, 2) == -1)
			goto bad;
		break;
	default:
		goto bad;
	}
	if (out->data == NULL && buf_append(out, "", 0) == -1)
		goto bad;
	explicit_bzero(q, sizeof(q));
	return (0);
bad:
	explicit_bzero(q, sizeof(q));
	buf_wipe(out);
	return (-1);
}

static int
hex_value(unsigned char c)
{

	if (c >= '0' && c <= '9')
		return (c - '0');
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/*
 * render_hex(s, len, out): decode hexadecimal (either case, whitespace
 * skipped) into ${out}.  Returns 0, or -1.
 */
int
render_hex(const char *s, size_t len, struct buf *out)
{
	unsigned char b = 0;
	size_t i, n = 0;
	int v;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if ((v = hex_value(c)) == -1)
			goto bad;
		b = (unsigned char)((b << 4) | v);
		if (++n % 2 == 0 && buf_append(out, &b, 1) == -1)
			goto bad;
	}
	if (n % 2 != 0)
		goto bad;
	if (out->data == NULL && buf_append(out, "", 0) == -1)
		goto bad;
	b = 0;
	return (0);
bad:
	b = 0;
	buf_wipe(out);
	return (-1);
}

/* ---------------------------------------------------------------------- */
/* OpenSSL helpers                                                        */

/* Append what ${bio} (a memory BIO) holds to ${out}. */
static int
bio_drain(BIO *bio, struct buf *out)
{
	char *p;
	long n;

	n = BIO_get_mem_data(bio, &p);
	if (n < 0)
		return (-1);
	if (buf_append(out, p, (size_t)n) == -1)
		return (-1);
	return (0);
}

static int
key_pem(EVP_PKEY *pkey, struct buf *out)
{
	BIO *bio;
	int rc = -1;

	/* A secure-heap memory BIO: cleared when freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return (-1);
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) == 1 && bio_drain(bio, out) == 0)
		rc = 0;
	BIO_free(bio);
	return (rc);
}

static int
cert_pem(X509 *x, struct buf *out)
{
	BIO *bio;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return (-1);
	if (PEM_write_bio_X509(bio, x) == 1 && bio_drain(bio, out) == 0)
		rc = 0;
	BIO_free(bio);
	return (rc);
}

static int
self_signed(X509 *x)
{

	return (X509_check_issued(x, x) == X509_V_OK);
}

/* Does ${cand} carry the subject key id that ${cur} names as issuer's? */
static int
skid_matches(X509 *cand, X509 *cur)
{
	const ASN1_OCTET_STRING *akid, *skid;

	akid = X509_get0_authority_key_id(cur);
	skid = X509_get0_subject_key_id(cand);
	return (akid != NULL && skid != NULL &&
	    ASN1_OCTET_STRING_cmp(akid, skid) == 0);
}

/*
 * The chain in order: ${leaf}, then each issuer found among ${others} by
 * key identifiers (AKID of the child = SKID of the parent), falling back to
 * subject/issuer names where the key identifiers do not contradict them;
 * certificates left over (an incomplete chain) follow in Key Vault's
 * order.  The certificates are shared (refcounts up).
 */
static STACK_OF(X509) *
order_chain(X509 *leaf, STACK_OF(X509) *others)
{
	STACK_OF(X509) *chain;
	unsigned char *used;
	X509 *cur = leaf, *c;
	int n = others != NULL ? sk_X509_num(others) : 0, i, found, pass;

	if ((chain = sk_X509_new_null()) == NULL)
		return (NULL);
	if ((used = calloc((size_t)n + 1, 1)) == NULL)
		goto fail;
	if (!X509_up_ref(leaf) || !sk_X509_push(chain, leaf))
		goto fail;
	while (!self_signed(cur)) {
		found = -1;
		for (pass = 0; pass < 2 && found == -1; pass++) {
			for (i = 0; i < n && found == -1; i++) {
				c = sk_X509_value(others, i);
				if (used[i] || X509_cmp(c, cur) == 0)
					continue;
				/*
				 * By key ids first; then by name, unless
				 * the key ids say otherwise.
				 */
				if (pass == 0 ? skid_matches(c, cur) :
				    X509_check_issued(c, cur) == X509_V_OK)
					found = i;
			}
		}
		if (found == -1)
			break;
		used[found] = 1;
		cur = sk_X509_value(others, found);
		if (!X509_up_ref(cur) || !sk_X509_push(chain, cur))
			goto fail;
	}
	for (i = 0; i < n; i++) {
		c = sk_X509_value(others, i);
		/* Key Vault's PEM may repeat the leaf. */
		if (used[i] || X509_cmp(c, leaf) == 0)
			continue;
		if (!X509_up_ref(c) || !sk_X509_push(chain, c))
			goto fail;
	}
	free(used);
	return (chain);
fail:
	free(used);
	sk_X509_pop_free(chain, X509_free);
	return (NULL);
}

/* ---------------------------------------------------------------------- */
/* Certificate-backed secrets                                             */

struct certset {
	EVP_PKEY	*pkey;
	X509		*leaf;
	STACK_OF(X509)	*others;	/* as Key Vault stored them */
};

static void
certset_clear(struct certset *cs)
{

	EVP_PKEY_free(cs->pkey);
	X509_free(cs->leaf);
	sk_X509_pop_free(cs->others, X509_free);
	memset(cs, 0, sizeof(*cs));
}

static int
parse_pkcs12(const struct buf *der, struct certset *cs, char *err,
    size_t errlen)
{
	const unsigned char *p = (const unsigned char *)der->data;
	OSSL_PROVIDER *legacy;
	PKCS12 *p12;
	int ok;

	if ((p12 = d2i_PKCS12(NULL, &p, (long)der->len)) == NULL) {
		snprintf(err, errlen, "the value is not a PKCS#12 file");
		return (-1);
	}
	ok = PKCS12_parse(p12, "", &cs->pkey, &cs->leaf, &cs->others);
	if (!ok) {
		/*
		 * Old PFX files use RC2/RC4, which OpenSSL 3 keeps in its
		 * legacy provider: loaded for this parse only.
		 */
		ERR_clear_error();
		if ((legacy = OSSL_PROVIDER_try_load(NULL, "legacy",
		    1)) != NULL) {
			ok = PKCS12_parse(p12, "", &cs->pkey, &cs->leaf,
			    &cs->others);
			OSSL_PROVIDER_unload(legacy);
		}
	}
	PKCS12_free(p12);
	ERR_clear_error();
	if (!ok) {
		snprintf(err, errlen, "cannot open the PKCS#12 file with an "
		    "empty password");
		return (-1);
	}
	if (cs->pkey == NULL || cs->leaf == NULL) {
		snprintf(err, errlen, "the PKCS#12 file has no private key "
		    "with its certificate");
		return (-1);
	}
	return (0);
}

static int
parse_pem(const char *s, size_t len, struct certset *cs, char *err,
    size_t errlen)
{
	STACK_OF(X509) *all = NULL;
	BIO *bio = NULL;
	X509 *x;
	int i, rc = -1;

	if ((bio = BIO_new_mem_buf(s, (int)len)) == NULL)
		goto oom;
	cs->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	ERR_clear_error();
	if (cs->pkey == NULL) {
		snprintf(err, errlen, "the PEM value has no readable "
		    "private key");
		return (-1);
	}
	if ((bio = BIO_new_mem_buf(s, (int)len)) == NULL ||
	    (all = sk_X509_new_null()) == NULL)
		goto oom;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(all, x)) {
			X509_free(x);
			goto oom;
		}
	ERR_clear_error();
	/* The leaf is the certificate of the private key. */
	for (i = 0; i < sk_X509_num(all); i++) {
		x = sk_X509_value(all, i);
		if (X509_check_private_key(x, cs->pkey) == 1) {
			cs->leaf = sk_X509_delete(all, i);
			break;
		}
	}
	ERR_clear_error();
	if (cs->leaf == NULL) {
		snprintf(err, errlen, "no certificate in the PEM value "
		    "matches its private key");
		goto out;
	}
	cs->others = all;
	all = NULL;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	BIO_free(bio);
	sk_X509_pop_free(all, X509_free);
	return (rc);
}

static int
write_pfx(const struct certset *cs, STACK_OF(X509) *chain, struct buf *out)
{
	STACK_OF(X509) *ca;
	PKCS12 *p12;
	BIO *bio;
	int i, rc = -1;

	if ((ca = sk_X509_new_null()) == NULL)
		return (-1);
	for (i = 1; i < sk_X509_num(chain); i++)
		if (!sk_X509_push(ca, sk_X509_value(chain, i)))
			goto out;
	p12 = PKCS12_create("", NULL, cs->pkey, cs->leaf, ca, 0, 0, 0, 0, 0);
	if (p12 == NULL)
		goto out;
	if ((bio = BIO_new(BIO_s_secmem())) != NULL) {
		if (i2d_PKCS12_bio(bio, p12) == 1 && bio_drain(bio, out) == 0)
			rc = 0;
		BIO_free(bio);
	}
	PKCS12_free(p12);
out:
	sk_X509_free(ca);	/* the certificates are chain's */
	return (rc);
}

/* A certificate-backed secret: PEM (optionally split) or PFX. */
static int
render_certificate(const struct akvd_object *obj, const char *value,
    size_t len, int pkcs12, struct buf *out, char *err, size_t errlen)
{
	struct certset cs;
	struct buf der = BUF_INIT;
	STACK_OF(X509) *chain = NULL;
	X509 *x;
	int i, n, rc = -1;

	memset(&cs, 0, sizeof(cs));
	if (pkcs12) {
		if (render_base64(value, len, 0, &der) == -1) {
			snprintf(err, errlen, "the PKCS#12 value is not "
			    "base64");
			return (-1);
		}
		if (obj->format == FMT_PFX) {
			/* Key Vault's bytes, as they are. */
			out[0] = der;
			return (0);
		}
		if (parse_pkcs12(&der, &cs, err, errlen) == -1)
			goto out;
	} else if (parse_pem(value, len, &cs, err, errlen) == -1)
		goto out;
	if ((chain = order_chain(cs.leaf, cs.others)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	n = sk_X509_num(chain);
	if (obj->format == FMT_PFX) {
		if (write_pfx(&cs, chain, &out[0]) == -1) {
			snprintf(err, errlen, "cannot write PKCS#12");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (key_pem(cs.pkey, &out[0]) == -1)
		goto pem_fail;
	for (i = 0; i < n; i++)
		if (cert_pem(sk_X509_value(chain, i), &out[0]) == -1)
			goto pem_fail;
	if (obj->split) {
		if (key_pem(cs.pkey, &out[1]) == -1)
			goto pem_fail;
		for (i = 0; i < n; i++) {
			x = sk_X509_value(chain, i);
			/* Roots to .ca.crt; a self-signed leaf stays. */
			if (cert_pem(x, i > 0 && self_signed(x) ? &out[3] :
			    &out[2]) == -1)
				goto pem_fail;
		}
		if (out[3].data == NULL && buf_append(&out[3], "", 0) == -1)
			goto pem_fail;
	}
	rc = 0;
	goto out;
pem_fail:
	snprintf(err, errlen, "cannot write PEM");
out:
	ERR_clear_error();
	sk_X509_pop_free(chain, X509_free);
	certset_clear(&cs);
	buf_wipe(&der);
	return (rc);
}

/*
 * render_cert_parts(pem, len, parts, err, errlen): the private key
 * (PKCS#8), the leaf and the certificates after it (leaf -> root; "" when
 * none) of the PEM at ${pem}, in ${parts}[0], [1], [2].  Returns 0, or -1
 * with ${err} (never the value) and ${parts} wiped.
 */
int
render_cert_parts(const char *pem, size_t len, struct buf parts[3],
    char *err, size_t errlen)
{
	struct certset cs;
	STACK_OF(X509) *chain = NULL;
	int i, n, rc = -1;

	memset(&cs, 0, sizeof(cs));
	if (parse_pem(pem, len, &cs, err, errlen) == -1)
		goto out;
	if ((chain = order_chain(cs.leaf, cs.others)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	n = sk_X509_num(chain);
	if (key_pem(cs.pkey, &parts[0]) == -1 ||
	    (n > 0 && cert_pem(sk_X509_value(chain, 0), &parts[1]) == -1)) {
		snprintf(err, errlen, "cannot write PEM");
		goto out;
	}
	for (i = 1; i < n; i++)
		if (cert_pem(sk_X509_value(chain, i), &parts[2]) == -1) {
			snprintf(err, errlen, "cannot write PEM");
			goto out;
		}
	if (parts[2].data == NULL && buf_append(&parts[2], "", 0) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	sk_X509_pop_free(chain, X509_free);
	certset_clear(&cs);
	if (rc == -1)
		for (i = 0; i < 3; i++)
			buf_wipe(&parts[i]);
	return (rc);
}

/* ---------------------------------------------------------------------- */
/* Certificates and keys                                                  */

static int
render_cer(const char *value, size_t len, struct buf *out, char *err,
    size_t errlen)
{
	struct buf der = BUF_INIT;
	const unsigned char *p;
	X509 *x = NULL;
	int rc = -1;

	if (render_base64(value, len, 0, &der) == -1) {
		snprintf(err, errlen, "\"cer\" is not base64");
		return (-1);
	}
	p = (const unsigned char *)der.data;
	if ((x = d2i_X509(NULL, &p, (long)der.len)) == NULL ||
	    p != (const unsigned char *)der.data + der.len)
		snprintf(err, errlen, "\"cer\" is not a DER certificate");
	else if (cert_pem(x, out) == -1)
		snprintf(err, errlen, "cannot write PEM");
	else
		rc = 0;
	ERR_clear_error();
	X509_free(x);
	buf_wipe(&der);
	return (rc);
}

/* A base64url member of ${jwk} as a big number. */
static BIGNUM *
jwk_bn(const cJSON *jwk, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, key);
	struct buf b = BUF_INIT;
	BIGNUM *bn = NULL;

	if (!cJSON_IsString(v) || render_base64(v->valuestring,
	    strlen(v->valuestring), 1, &b) == -1 || b.len == 0)
		goto out;
	bn = BN_bin2bn((const unsigned char *)b.data, (int)b.len, NULL);
out:
	buf_wipe(&b);
	return (bn);
}

static const struct {
	const char	*crv;
	const char	*group;
	size_t		 size;		/* bytes of a coordinate */
} curves[] = {
	{ "P-256", "prime256v1", 32 },
	{ "P-384", "secp384r1", 48 },
	{ "P-521", "secp521r1", 66 },
	{ "P-256K", "secp256k1", 32 },
};

/*
 * render_jwk_pem(jwk, len, out, err, errlen): a JSON Web Key (public
 * part) as a "PUBLIC KEY" (SubjectPublicKeyInfo) PEM.  Returns 0, or -1
 * with a message in ${err}.
 */
int
render_jwk_pem(const char *json, size_t len, struct buf *out, char *err,
    size_t errlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL, *x = NULL, *y = NULL;
	unsigned char pub[1 + 2 * 66];
	const cJSON *kty, *crv;
	cJSON *jwk;
	BIO *bio = NULL;
	size_t i, sz = 0;
	int rc = -1, rsa;

	if ((jwk = cJSON_ParseWithLength(json, len)) == NULL) {
		snprintf(err, errlen, "the key is not JSON");
		return (-1);
	}
	kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	if (!cJSON_IsString(kty)) {
		snprintf(err, errlen, "the key has no \"kty\"");
		goto out;
	}
	rsa = strcmp(kty->valuestring, "RSA") == 0 ||
	    strcmp(kty->valuestring, "RSA-HSM") == 0;
	if (!rsa && strcmp(kty->valuestring, "EC") != 0 &&
	    strcmp(kty->valuestring, "EC-HSM") != 0) {
		snprintf(err, errlen, "unsupported key type (kty) for a "
		    "public key file: only RSA and EC");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto oom;
	if (rsa) {
		if ((n = jwk_bn(jwk, "n")) == NULL ||
		    (e = jwk_bn(jwk, "e")) == NULL) {
			snprintf(err, errlen, "the RSA key has no valid "
			    "\"n\" and \"e\"");
			goto out;
		}
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto oom;
	} else {
		crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
		for (i = 0; cJSON_IsString(crv) &&
		    i < sizeof(curves) / sizeof(curves[0]); i++)
			if (strcmp(crv->valuestring, curves[i].crv) == 0)
				break;
		if (!cJSON_IsString(crv) ||
		    i == sizeof(curves) / sizeof(curves[0])) {
			snprintf(err, errlen, "unsupported curve (crv): "
			    "P-256, P-384, P-521 or P-256K");
			goto out;
		}
		sz = curves[i].size;
		if ((x = jwk_bn(jwk, "x")) == NULL ||
		    (y = jwk_bn(jwk, "y")) == NULL ||
		    (size_t)BN_num_bytes(x) > sz ||
		    (size_t)BN_num_bytes(y) > sz) {
			snprintf(err, errlen, "the EC key has no valid \"x\" "
			    "and \"y\"");
			goto out;
		}
		pub[0] = 0x04;	/* uncompressed point */
		if (BN_bn2binpad(x, pub + 1, (int)sz) < 0 ||
		    BN_bn2binpad(y, pub + 1 + sz, (int)sz) < 0)
			goto oom;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, curves[i].group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * sz))
			goto oom;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC",
	    NULL)) == NULL)
		goto oom;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		snprintf(err, errlen, "the key is not a valid %s public key",
		    rsa ? "RSA" : "EC");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto oom;
	if (PEM_write_bio_PUBKEY(bio, pkey) != 1 ||
	    bio_drain(bio, out) == -1) {
		snprintf(err, errlen, "cannot write the public key");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	ERR_clear_error();
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	BN_free(x);
	BN_free(y);
	cJSON_Delete(jwk);
	return (rc);
}

/* ---------------------------------------------------------------------- */
/* Objects                                                                */

static int
has_prefix_ci(const char *s, const char *p)
{

	return (s != NULL && strncasecmp(s, p, strlen(p)) == 0);
}

/* Nonzero if ${s} (${len} bytes) starts, after white space, as PEM does. */
static int
looks_like_pem(const char *s, size_t len)
{
	static const char begin[] = "-----BEGIN ";

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	return (len >= sizeof(begin) - 1 &&
	    memcmp(s, begin, sizeof(begin) - 1) == 0);
}

/*
 * The setting that asked for a certificate, as the configuration spells
 * it, or NULL when none did.
 */
static const char *
cert_setting(const struct akvd_object *obj)
{

	switch (obj->format) {
	case FMT_PEM:
		return ("\"format\": \"pem\"");
	case FMT_PFX:
		return ("\"format\": \"pfx\"");
	default:
		return (obj->split ? "\"split\": true" : NULL);
	}
}

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
int
render_object(const struct akvd_object *obj, const char *value, size_t len,
    const char *content_type, int managed, struct buf *out, char *err,
    size_t errlen)
{
	const char *setting;
	char why[192];
	int pkcs12, guessed = 0;

	switch (obj->type) {
	case OBJ_CERT:
		return (render_cer(value, len, &out[0], err, errlen));
	case OBJ_KEY:
		return (render_jwk_pem(value, len, &out[0], err, errlen));
	default:
		break;
	}
	setting = cert_setting(obj);
	if (obj->encoding == ENC_UTF8 && (managed || setting != NULL)) {
		if (has_prefix_ci(content_type, CT_PKCS12))
			pkcs12 = 1;
		else if (has_prefix_ci(content_type, CT_PEM))
			pkcs12 = 0;
		else {
			pkcs12 = !looks_like_pem(value, len);
			guessed = pkcs12;
		}
		if (render_certificate(obj, value, len, pkcs12, out, why,
		    sizeof(why)) == 0)
			return (0);
		if (guessed)
			snprintf(why, sizeof(why), "the value is neither PEM "
			    "nor a PKCS#12 file");
		if (setting != NULL)
			snprintf(err, errlen, "%s asks for a certificate, but "
			    "%s", setting, why);
		else
			snprintf(err, errlen, "%s", why);
		return (-1);
	}
	switch (obj->encoding) {
	case ENC_BASE64:
		if (render_base64(value, len, 0, &out[0]) == -1) {
			snprintf(err, errlen, "the value is not valid base64");
			return (-1);
		}
		return (0);
	case ENC_HEX:
		if (render_hex(value, len, &out[0]) == -1) {
			snprintf(err, errlen, "the value is not valid hex");
			return (-1);
		}
		return (0);
	default:
		if (buf_append(&out[0], value, len) == -1) {
			snprintf(err, errlen, "out of memory");
			return (-1);
		}
		return (0);
	}
}
