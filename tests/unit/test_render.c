/*
 * test_render.c - decoding, JWK -> SubjectPublicKeyInfo and bundle files.
 * Certificates are covered end to end with the openssl CLI in
 * tests/integration/objects.test.js.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "render.h"

#include "pem_fixtures.h"

#define S(s)	s, sizeof(s) - 1

static void
test_base64(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(render_base64(S("aGVsbG8="), 0, &b), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	buf_wipe(&b);
	/* Padding optional; line breaks skipped. */
	assert_int_equal(render_base64(S("aGVs\r\nbG8"), 0, &b), 0);
	assert_memory_equal(b.data, "hello", 5);
	buf_wipe(&b);
	assert_int_equal(render_base64(S(""), 0, &b), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	buf_wipe(&b);
	/* base64url vs standard alphabets. */
	assert_int_equal(render_base64(S("-_8"), 1, &b), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal((unsigned char)b.data[0], 0xfb);
	assert_int_equal((unsigned char)b.data[1], 0xff);
	buf_wipe(&b);
	assert_int_equal(render_base64(S("-_8"), 0, &b), -1);
	assert_int_equal(render_base64(S("+/8="), 0, &b), 0);
	buf_wipe(&b);
	/* Not base64: stray character, lone character, data after '='. */
	assert_int_equal(render_base64(S("aGVs*bG8"), 0, &b), -1);
	assert_int_equal(render_base64(S("aGVsb"), 0, &b), -1);
	assert_int_equal(render_base64(S("aG=Vs"), 0, &b), -1);
	assert_int_equal(render_base64(S("aGVsbG8=="), 0, &b), -1);
	assert_null(b.data);
}

static void
test_hex(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(render_hex(S("00fFa1\n"), &b), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "\x00\xff\xa1", 3);
	buf_wipe(&b);
	assert_int_equal(render_hex(S("abc"), &b), -1);
	assert_int_equal(render_hex(S("zz"), &b), -1);
	assert_int_equal(render_hex(S("0x00"), &b), -1);
}

static void
test_jwk(void **state)
{
	struct buf b = BUF_INIT;
	char err[256];

	(void)state;
	assert_int_equal(render_jwk_pem(S("{\"kty\":\"EC\",\"crv\":\"P-384\","
	    "\"x\":\"3gOIm9yTeAa7c1frQFPd9dzygWpcaX5xeTysUQr60iK-IvdIh7hFEEfxYx"
	    "8D61U2\",\"y\":\"Xxo9cggIRHkPYq2Y0kqUz5l3apPvfZlLq_C1m4EGZzJoLg555y"
	    "0cp1weZPEj14OS\"}"), &b, err, sizeof(err)), 0);
	assert_string_equal(b.data, "-----BEGIN PUBLIC KEY-----\n"
	    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE3gOIm9yTeAa7c1frQFPd9dzygWpcaX5x\n"
	    "eTysUQr60iK+IvdIh7hFEEfxYx8D61U2Xxo9cggIRHkPYq2Y0kqUz5l3apPvfZlL\n"
	    "q/C1m4EGZzJoLg555y0cp1weZPEj14OS\n"
	    "-----END PUBLIC KEY-----\n");
	buf_wipe(&b);
	assert_int_equal(render_jwk_pem(S("{\"kty\":\"RSA-HSM\",\"n\":\"2_Y-l14Z"
	    "U3DuzQwHi1osKneCQL3oPIuu7C7uRQDR_c6LsQ_BjK3LHC2TpBZHQYFpV5mnZhcPf4r"
	    "ekyUI67iFzzfMJIF0ZBaSeXc2yJ0SNKb6OdA2NJoUFmkyJYMu14UNJD4-ix-M8GzGX-"
	    "iq4IA_Qexlsl5E19ho9Jy7xj9xH40\",\"e\":\"AQAB\",\"key_ops\":["
	    "\"verify\"]}"), &b, err, sizeof(err)), 0);
	assert_string_equal(b.data, "-----BEGIN PUBLIC KEY-----\n"
	    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDb9j6XXhlTcO7NDAeLWiwqd4JA\n"
	    "veg8i67sLu5FANH9zouxD8GMrcscLZOkFkdBgWlXmadmFw9/it6TJQjruIXPN8wk\n"
	    "gXRkFpJ5dzbInRI0pvo50DY0mhQWaTIlgy7XhQ0kPj6LH4zwbMZf6KrggD9B7GWy\n"
	    "XkTX2Gj0nLvGP3EfjQIDAQAB\n"
	    "-----END PUBLIC KEY-----\n");
	buf_wipe(&b);
	/* A point that is not on the curve. */
	assert_int_equal(render_jwk_pem(S("{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"AQ\",\"y\":\"AQ\"}"), &b, err, sizeof(err)), -1);
	assert_string_equal(err, "the key is not a valid EC public key");
	assert_int_equal(render_jwk_pem(S("{\"kty\":\"EC\",\"crv\":\"P-192\","
	    "\"x\":\"AQ\",\"y\":\"AQ\"}"), &b, err, sizeof(err)), -1);
	assert_string_equal(err, "unsupported curve (crv): P-256, P-384, "
	    "P-521 or P-256K");
	assert_int_equal(render_jwk_pem(S("{\"kty\":\"oct\",\"k\":\"AQ\"}"),
	    &b, err, sizeof(err)), -1);
	assert_int_equal(render_jwk_pem(S("{\"kty\":\"RSA\",\"e\":\"AQAB\"}"),
	    &b, err, sizeof(err)), -1);
	assert_string_equal(err, "the RSA key has no valid \"n\" and \"e\"");
	assert_null(b.data);
}

static void
out_wipe(struct buf *out)
{
	size_t i;

	for (i = 0; i < CONFIG_SPLIT_FILES; i++)
		buf_wipe(&out[i]);
}

/* render_object(o, value, content type, managed): 0 or -1, ${err} set. */
static int
render(const struct akvd_object *o, const char *v, const char *ct,
    int managed, struct buf *out, char *err)
{

	out_wipe(out);
	err[0] = '\0';
	return (render_object(o, v, strlen(v), ct, managed, out, err, 256));
}

static void
test_object(void **state)
{
	static const char two_cas[] = PEM_CA1 PEM_CA2;
	static const char *const hints[] = { "application/x-pem-file",
	    "Application/X-PEM-File; charset=utf-8", "application/x-pkcs12",
	    "text/plain", NULL };
	struct akvd_object o;
	struct buf out[CONFIG_SPLIT_FILES];
	char err[256];
	size_t i;

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(out, 0, sizeof(out));
	o.encoding = ENC_HEX;
	assert_int_equal(render(&o, "414243", NULL, 0, out, err), 0);
	assert_string_equal(out[0].data, "ABC");

	/*
	 * A content type is a hint: a secret that does not back a
	 * certificate is written as it is, whatever the hint says (two CA
	 * certificates and no key; not base64; a key alone).
	 */
	o.encoding = ENC_UTF8;
	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		assert_int_equal(render(&o, two_cas, hints[i], 0, out, err),
		    0);
		assert_int_equal(out[0].len, strlen(two_cas));
		assert_memory_equal(out[0].data, two_cas, out[0].len);
		assert_int_equal(render(&o, "not base64 !", hints[i], 0, out,
		    err), 0);
		assert_string_equal(out[0].data, "not base64 !");
		assert_int_equal(render(&o, PEM_LEAF_KEY, hints[i], 0, out,
		    err), 0);
		assert_string_equal(out[0].data, PEM_LEAF_KEY);
		assert_null(out[1].data);
	}

	/* Key Vault says it backs a certificate: rendered, or an error. */
	assert_int_equal(render(&o, "bm90IGEgcGZ4", "application/x-pkcs12", 1,
	    out, err), -1);
	assert_string_equal(err, "the value is not a PKCS#12 file");
	assert_int_equal(render(&o, two_cas, "application/x-pem-file", 1, out,
	    err), -1);
	assert_string_equal(err, "the PEM value has no readable private key");
	assert_int_equal(render(&o, PEM_LEAF PEM_LEAF_KEY,
	    "application/x-pem-file", 1, out, err), 0);
	/* PKCS#8 key first, then the certificate. */
	assert_non_null(strstr(out[0].data, "-----BEGIN PRIVATE KEY-----"));
	assert_true(strstr(out[0].data, "PRIVATE KEY") <
	    strstr(out[0].data, "BEGIN CERTIFICATE"));

	/*
	 * The configuration asks for a certificate: the error names the
	 * setting; without a content type, PEM is told from PKCS#12 by its
	 * first line.
	 */
	o.format = FMT_PEM;
	assert_int_equal(render(&o, "plain", "text/plain", 0, out, err), -1);
	assert_string_equal(err, "\"format\": \"pem\" asks for a "
	    "certificate, but the value is neither PEM nor a PKCS#12 file");
	assert_int_equal(render(&o, "bm90IGEgcGZ4", NULL, 0, out, err), -1);
	assert_string_equal(err, "\"format\": \"pem\" asks for a "
	    "certificate, but the value is neither PEM nor a PKCS#12 file");
	assert_int_equal(render(&o, "bm90IGEgcGZ4", "application/x-pkcs12", 0,
	    out, err), -1);
	assert_string_equal(err, "\"format\": \"pem\" asks for a "
	    "certificate, but the value is not a PKCS#12 file");
	assert_int_equal(render(&o, two_cas, "application/x-pem-file", 0, out,
	    err), -1);
	assert_string_equal(err, "\"format\": \"pem\" asks for a "
	    "certificate, but the PEM value has no readable private key");
	assert_int_equal(render(&o, "\r\n\n" PEM_LEAF_KEY PEM_LEAF, NULL, 0, out,
	    err), 0);
	assert_non_null(strstr(out[0].data, "-----BEGIN CERTIFICATE-----"));
	o.format = FMT_PFX;
	assert_int_equal(render(&o, two_cas, NULL, 0, out, err), -1);
	assert_string_equal(err, "\"format\": \"pfx\" asks for a "
	    "certificate, but the PEM value has no readable private key");
	assert_int_equal(render(&o, PEM_LEAF_KEY PEM_LEAF, "text/plain", 0,
	    out, err), 0);
	/* A DER PKCS#12 file: a SEQUENCE. */
	assert_true(out[0].len > 100);
	assert_int_equal((unsigned char)out[0].data[0], 0x30);
	o.format = FMT_AUTO;
	o.split = 1;
	assert_int_equal(render(&o, two_cas, NULL, 0, out, err), -1);
	assert_string_equal(err, "\"split\": true asks for a certificate, "
	    "but the PEM value has no readable private key");
	assert_int_equal(render(&o, PEM_LEAF_KEY PEM_LEAF, NULL, 0, out, err),
	    0);
	assert_non_null(strstr(out[1].data, "PRIVATE KEY"));
	assert_string_equal(out[2].data, PEM_LEAF);
	out_wipe(out);
}

static void
test_bundle(void **state)
{
	static const struct render_entry e[] = {
		{ "Identity--Secret", "s\"1\n", 4 },
		{ "Db", "p\\w", 3 },
		{ "Identity--Authority--Url", "https://x/", 10 },
		{ "Empty", "", 0 },
	};
	static const struct render_entry env[] = {
		{ "db-password", "it's $x `y`\n\\", 13 },
		{ "Empty", "", 0 },
	};
	struct render_entry bad = { "bin", "a\0b", 3 };
	struct render_entry latin1 = { "l", "caf\xe9", 4 };
	struct render_entry surrogate = { "s", "\xed\xa0\x80", 3 };
	struct buf b = BUF_INIT;
	char err[256];

	(void)state;
	assert_int_equal(render_bundle(BUNDLE_JSON, e, 4, &b, err,
	    sizeof(err)), 0);
	assert_string_equal(b.data, "{\n"
	    "  \"Db\": \"p\\\\w\",\n"
	    "  \"Empty\": \"\",\n"
	    "  \"Identity\": {\n"
	    "    \"Authority\": {\n"
	    "      \"Url\": \"https://x/\"\n"
	    "    },\n"
	    "    \"Secret\": \"s\\\"1\\n\"\n"
	    "  }\n"
	    "}\n");
	buf_wipe(&b);
	assert_int_equal(render_bundle(BUNDLE_DOTENV, env, 2, &b, err,
	    sizeof(err)), 0);
	assert_string_equal(b.data, "DB_PASSWORD='it'\\''s $x `y`\n\\'\n"
	    "EMPTY=''\n");
	buf_wipe(&b);
	assert_int_equal(render_bundle(BUNDLE_DOTENV, &bad, 1, &b, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the value of \"bin\" holds a NUL byte: a "
	    "shell variable cannot");
	assert_int_equal(render_bundle(BUNDLE_JSON, &latin1, 1, &b, err,
	    sizeof(err)), -1);
	assert_int_equal(render_bundle(BUNDLE_JSON, &surrogate, 1, &b, err,
	    sizeof(err)), -1);
	assert_int_equal(render_bundle(BUNDLE_JSON, &bad, 1, &b, err,
	    sizeof(err)), -1);
	assert_null(b.data);
	/* "A" and "AB--C" share a prefix, not a segment. */
	{
		static const struct render_entry p[] = {
			{ "AB--C", "2", 1 }, { "A", "1", 1 },
		};

		assert_int_equal(render_bundle(BUNDLE_JSON, p, 2, &b, err,
		    sizeof(err)), 0);
		assert_string_equal(b.data, "{\n  \"A\": \"1\",\n"
		    "  \"AB\": {\n    \"C\": \"2\"\n  }\n}\n");
		buf_wipe(&b);
	}
	/* An empty bundle is a valid file. */
	assert_int_equal(render_bundle(BUNDLE_JSON, e, 0, &b, err,
	    sizeof(err)), 0);
	assert_string_equal(b.data, "{\n}\n");
	buf_wipe(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_jwk),
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_bundle),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
