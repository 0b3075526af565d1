/*
 * test_kv.c - Key Vault URLs and responses, with bodies in the real shapes
 * (../../shared/PROTOCOLS.md section 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "kv.h"

#define B(s)	s, sizeof(s) - 1

static void
test_url(void **state)
{
	char *u;

	(void)state;
	u = kv_secret_url("https://myvault.vault.azure.net", "db-password",
	    NULL);
	assert_string_equal(u, "https://myvault.vault.azure.net/secrets/"
	    "db-password?api-version=7.4");
	free(u);
	u = kv_secret_url("https://v", "a", "");
	assert_string_equal(u, "https://v/secrets/a?api-version=7.4");
	free(u);
	u = kv_secret_url("https://v", "a", "4387e9f3d6e14c459867679a90fd0f79");
	assert_string_equal(u, "https://v/secrets/a/"
	    "4387e9f3d6e14c459867679a90fd0f79?api-version=7.4");
	free(u);
}

static void
test_parse_secret(void **state)
{
	struct kv_secret s;
	char err[128];

	(void)state;
	assert_int_equal(kv_parse_secret(B("{\"value\":\"mysecretvalue\","
	    "\"id\":\"https://myvault.vault.azure.net/secrets/mysecretname/"
	    "4387e9f3d6e14c459867679a90fd0f79\",\"attributes\":{\"enabled\":"
	    "true,\"created\":1493938410,\"updated\":1493938410,"
	    "\"recoveryLevel\":\"Recoverable+Purgeable\",\"recoverableDays\":"
	    "90},\"tags\":{\"k\":\"v\"},\"contentType\":\"text/plain\"}"), &s,
	    err, sizeof(err)), 0);
	assert_string_equal(s.value, "mysecretvalue");
	assert_int_equal(s.len, 13);
	assert_string_equal(s.version, "4387e9f3d6e14c459867679a90fd0f79");
	assert_string_equal(s.content_type, "text/plain");
	assert_int_equal(s.enabled, 1);
	kv_secret_clear(&s);
	assert_null(s.value);

	/* Certificate-backed secret: kid, managed, PFX content type. */
	assert_int_equal(kv_parse_secret(B("{\"value\":\"MIIKPAIBAzCCCfwG\","
	    "\"contentType\":\"application/x-pkcs12\",\"id\":\"https://v.vault."
	    "azure.net/secrets/tls/0f8e\",\"managed\":true,\"attributes\":"
	    "{\"enabled\":false},\"kid\":\"https://v.vault.azure.net/keys/tls/"
	    "0f8e\"}"), &s, err, sizeof(err)), 0);
	assert_string_equal(s.version, "0f8e");
	assert_string_equal(s.content_type, "application/x-pkcs12");
	assert_int_equal(s.enabled, 0);
	kv_secret_clear(&s);

	/* Escapes survive. */
	assert_int_equal(kv_parse_secret(B("{\"value\":\"a\\\"b\\n\\u00e9\","
	    "\"id\":\"https://v/secrets/n/1\"}"), &s, err, sizeof(err)), 0);
	assert_string_equal(s.value, "a\"b\n\xc3\xa9");
	kv_secret_clear(&s);
}

static void
test_parse_secret_errors(void **state)
{
	static const struct { const char *body; const char *err; } cases[] = {
		{ "{\"value\":\"SECRETVALUE", "response is not JSON" },
		{ "[\"SECRETVALUE\"]", "response is not a JSON object" },
		{ "{\"id\":\"https://v/secrets/n/1\"}",
		    "response has no \"value\"" },
		{ "{\"value\":5,\"id\":\"https://v/secrets/n/1\"}",
		    "response has no \"value\"" },
		{ "{\"value\":\"SECRETVALUE\"}",
		    "response has no \"id\" of the form .../secrets/NAME/VERSION" },
		{ "{\"value\":\"SECRETVALUE\",\"id\":\"https://v/secrets/n\"}",
		    "response has no \"id\" of the form .../secrets/NAME/VERSION" },
		{ "{\"value\":\"SECRETVALUE\",\"id\":\"https://v/secrets/n/\"}",
		    "response has no \"id\" of the form .../secrets/NAME/VERSION" },
		{ "{\"value\":\"SECRETVALUE\",\"id\":\"https://v/keys/n/1\"}",
		    "response has no \"id\" of the form .../secrets/NAME/VERSION" },
		/* cJSON would cut the value at the NUL. */
		{ "{\"value\":\"SECRET\\u0000VALUE\",\"id\":"
		    "\"https://v/secrets/n/1\"}",
		    "value holds a NUL byte (\\u0000)" },
		/* After other escapes, first, last, after an escaped
		   backslash. */
		{ "{\"value\":\"SECRET\\n\\\"\\u00e9\\u0000VALUE\",\"id\":"
		    "\"https://v/secrets/n/1\"}",
		    "value holds a NUL byte (\\u0000)" },
		{ "{\"value\":\"\\u0000SECRETVALUE\",\"id\":"
		    "\"https://v/secrets/n/1\"}",
		    "value holds a NUL byte (\\u0000)" },
		{ "{\"value\":\"SECRETVALUE\\u0000\",\"id\":"
		    "\"https://v/secrets/n/1\"}",
		    "value holds a NUL byte (\\u0000)" },
		{ "{\"value\":\"SECRET\\\\\\u0000VALUE\",\"id\":"
		    "\"https://v/secrets/n/1\"}",
		    "value holds a NUL byte (\\u0000)" },
	};
	struct kv_secret s;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(kv_parse_secret(cases[i].body,
		    strlen(cases[i].body), &s, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
		assert_null(strstr(err, "SECRETVALUE"));
		assert_null(s.value);
	}
	/* An escaped backslash before "u0000" is text, not a NUL. */
	assert_int_equal(kv_parse_secret(B("{\"value\":\"a\\\\u0000\","
	    "\"id\":\"https://v/secrets/n/1\"}"), &s, err, sizeof(err)), 0);
	assert_int_equal(s.len, 7);
	assert_memory_equal(s.value, "a\\u0000", 7);
	kv_secret_clear(&s);
	/* Nor are "\\u0001" or a backslash pair at the very end. */
	assert_int_equal(kv_parse_secret(B("{\"id\":\"https://v/secrets/n/1\","
	    "\"value\":\"\\u0001\\\\\"}"), &s, err, sizeof(err)), 0);
	assert_int_equal(s.len, 2);
	assert_memory_equal(s.value, "\001\\", 2);
	kv_secret_clear(&s);
}

static void
test_parse_error(void **state)
{
	struct kv_error e;

	(void)state;
	assert_int_equal(kv_parse_error(B("{\"error\":{\"code\":\"Forbidden\","
	    "\"message\":\"Operation get is not allowed on a disabled secret.\","
	    "\"innererror\":{\"code\":\"SecretDisabled\"}}}"), &e), 0);
	assert_string_equal(e.code, "Forbidden");
	assert_string_equal(e.inner, "SecretDisabled");
	assert_string_equal(e.message,
	    "Operation get is not allowed on a disabled secret.");
	assert_int_equal(kv_parse_error(B("{\"error\":{\"code\":\"Forbidden\","
	    "\"message\":\"Caller is not authorized.\\r\\nCaller: appid=x\","
	    "\"innererror\":{\"code\":\"ForbiddenByRbac\"}}}"), &e), 0);
	assert_null(strchr(e.message, '\r'));
	assert_string_equal(e.inner, "ForbiddenByRbac");
	assert_int_equal(kv_parse_error(B("{\"error\":{\"code\":"
	    "\"SecretNotFound\",\"message\":\"A secret with (name/id) x was not "
	    "found in this key vault.\"}}"), &e), 0);
	assert_string_equal(e.code, "SecretNotFound");
	assert_string_equal(e.inner, "");
	assert_int_equal(kv_parse_error(B("<html>bad gateway</html>"), &e), -1);
	assert_int_equal(kv_parse_error(B("{\"error\":\"x\"}"), &e), -1);
	assert_string_equal(e.code, "");
	assert_int_equal(kv_parse_error(NULL, 0, &e), -1);
}

static void
test_challenge(void **state)
{
	struct kv_challenge c;

	(void)state;
	assert_int_equal(kv_parse_challenge("Bearer authorization=\"https://"
	    "login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47\", "
	    "resource=\"https://vault.azure.net\"", &c), 0);
	assert_string_equal(c.tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
	assert_string_equal(c.resource, "https://vault.azure.net");
	assert_int_equal(kv_parse_challenge("Bearer authorization_uri=\"https:"
	    "//login.microsoftonline.com/contoso.com/oauth2/authorize\", "
	    "scope=\"https://vault.azure.net/.default\"", &c), 0);
	assert_string_equal(c.tenant, "contoso.com");
	assert_string_equal(c.resource, "https://vault.azure.net");
	assert_int_equal(kv_parse_challenge("Basic realm=\"x\"", &c), -1);
	assert_int_equal(kv_parse_challenge("Bearer resource=\"https://v\"",
	    &c), -1);
	assert_int_equal(kv_parse_challenge(NULL, &c), -1);
}

static void
test_resource_matches(void **state)
{
	(void)state;
	assert_true(kv_resource_matches("https://myvault.vault.azure.net",
	    "https://vault.azure.net"));
	assert_true(kv_resource_matches("https://MyVault.Vault.Azure.Net:443",
	    "https://vault.azure.net/"));
	assert_false(kv_resource_matches("https://evilvault.azure.net",
	    "https://vault.azure.net"));
	assert_false(kv_resource_matches("https://myvault.vault.azure.net."
	    "evil.com", "https://vault.azure.net"));
	assert_false(kv_resource_matches("https://vault.azure.net",
	    "https://vault.azure.net"));
	assert_false(kv_resource_matches("https://127.0.0.1:8443",
	    "https://vault.azure.net"));
	assert_false(kv_resource_matches("http://myvault.vault.azure.net",
	    "https://vault.azure.net"));
}

static void
test_object_urls(void **state)
{
	char *u;

	(void)state;
	u = kv_object_url("https://v", KV_CERTIFICATE, "web", "abc");
	assert_string_equal(u, "https://v/certificates/web/abc?"
	    "api-version=7.4");
	free(u);
	u = kv_object_url("https://v", KV_KEY, "k", NULL);
	assert_string_equal(u, "https://v/keys/k?api-version=7.4");
	free(u);
	u = kv_versions_url("https://v", KV_SECRET, "a b");
	assert_string_equal(u, "https://v/secrets/a%20b/versions?"
	    "api-version=7.4&maxresults=25");
	free(u);
	u = kv_versions_url("https://v", KV_SECRET, NULL);
	assert_string_equal(u, "https://v/secrets?api-version=7.4&"
	    "maxresults=25");
	free(u);
}

static void
test_parse_cert_and_key(void **state)
{
	struct kv_secret s;
	char err[128];

	(void)state;
	/* CertificateBundle: "cer", version from "id". */
	assert_int_equal(kv_parse_object(B("{\"id\":\"https://v/certificates/"
	    "web/0123\",\"kid\":\"https://v/keys/web/0123\",\"sid\":"
	    "\"https://v/secrets/web/0123\",\"x5t\":\"abc\",\"cer\":"
	    "\"MIIB\",\"attributes\":{\"enabled\":true}}"), KV_CERTIFICATE,
	    &s, err, sizeof(err)), 0);
	assert_string_equal(s.value, "MIIB");
	assert_string_equal(s.version, "0123");
	kv_secret_clear(&s);
	/* KeyBundle: the JWK as JSON, version from key.kid. */
	assert_int_equal(kv_parse_object(B("{\"key\":{\"kid\":\"https://v/"
	    "keys/k/77\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\","
	    "\"y\":\"BB\"},\"attributes\":{\"enabled\":false}}"), KV_KEY,
	    &s, err, sizeof(err)), 0);
	assert_string_equal(s.version, "77");
	assert_non_null(strstr(s.value, "\"crv\":\"P-256\""));
	assert_int_equal(s.enabled, 0);
	kv_secret_clear(&s);
	/* A secret's id is not a certificate's. */
	assert_int_equal(kv_parse_object(B("{\"id\":\"https://v/secrets/"
	    "web/0123\",\"cer\":\"MIIB\"}"), KV_CERTIFICATE, &s, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "response has no \"id\" of the form "
	    ".../certificates/NAME/VERSION");
	assert_int_equal(kv_parse_object(B("{\"key\":\"x\"}"), KV_KEY, &s,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "response has no \"key\"");
}

static void
test_parse_managed(void **state)
{
	static const struct {
		const char	*body;
		int		 managed;
	} cases[] = {
		/* A certificate's secret: "kid" and "managed". */
		{ "{\"value\":\"x\",\"id\":\"https://v/secrets/w/1\","
		  "\"kid\":\"https://v/keys/w/1\",\"managed\":true,"
		  "\"contentType\":\"application/x-pkcs12\"}", 1 },
		{ "{\"value\":\"x\",\"id\":\"https://v/secrets/w/1\","
		  "\"managed\":true}", 1 },
		{ "{\"value\":\"x\",\"id\":\"https://v/secrets/w/1\","
		  "\"kid\":\"https://v/keys/w/1\"}", 1 },
		/* A content type alone is a hint, not a certificate. */
		{ "{\"value\":\"x\",\"id\":\"https://v/secrets/w/1\","
		  "\"contentType\":\"application/x-pem-file\"}", 0 },
		{ "{\"value\":\"x\",\"id\":\"https://v/secrets/w/1\","
		  "\"managed\":false,\"kid\":null}", 0 },
		{ "{\"value\":\"x\",\"id\":\"https://v/secrets/w/1\","
		  "\"managed\":\"true\"}", 0 },
	};
	struct kv_secret s;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(kv_parse_object(cases[i].body,
		    strlen(cases[i].body), KV_SECRET, &s, err, sizeof(err)), 0);
		assert_int_equal(s.managed, cases[i].managed);
		assert_int_equal(s.updated, 0);
		assert_int_equal(s.ntags, 0);
		kv_secret_clear(&s);
	}
	/* The version's updated time and string tags, for templates. */
	assert_int_equal(kv_parse_object(B("{\"value\":\"x\",\"id\":"
	    "\"https://v/secrets/w/1\",\"attributes\":{\"updated\":"
	    "1764454683,\"created\":1},\"tags\":{\"env\":\"prod\","
	    "\"n\":5,\"a.b\":\"\"}}"), KV_SECRET, &s, err, sizeof(err)), 0);
	assert_int_equal(s.updated, 1764454683);
	assert_int_equal(s.ntags, 2);
	assert_string_equal(s.tags[0], "env");
	assert_string_equal(s.tags[1], "prod");
	assert_string_equal(s.tags[2], "a.b");
	assert_string_equal(s.tags[3], "");
	assert_null(s.tags[4]);
	kv_secret_clear(&s);
	assert_int_equal(kv_parse_object(B("{\"value\":\"x\",\"id\":"
	    "\"https://v/secrets/w/1\",\"attributes\":{\"updated\":1e30},"
	    "\"tags\":[\"x\"]}"), KV_SECRET, &s, err, sizeof(err)), 0);
	assert_int_equal(s.updated, 0);
	assert_int_equal(s.ntags, 0);
	kv_secret_clear(&s);
}

static void
test_parse_list(void **state)
{
	struct kv_list l;
	char err[128], *next;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(kv_parse_list(B("{\"value\":[{\"id\":\"https://v/"
	    "secrets/app1-db\",\"attributes\":{\"enabled\":true,"
	    "\"created\":10,\"updated\":20},\"tags\":{\"env\":\"prod\","
	    "\"n\":1},\"contentType\":\"text/plain\"},{\"id\":\"https://v/"
	    "secrets/off\",\"attributes\":{\"enabled\":false},"
	    "\"managed\":true},{\"nothing\":1}],\"nextLink\":\"https://v/"
	    "secrets?api-version=7.4&$skiptoken=25\"}"), KV_SECRET, "https://v",
	    &l, &next, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].name, "app1-db");
	assert_null(l.items[0].version);
	assert_int_equal(l.items[0].updated, 20);
	assert_string_equal(kv_item_tag(&l.items[0], "env"), "prod");
	assert_null(kv_item_tag(&l.items[0], "n"));	/* not a string */
	assert_int_equal(l.items[1].enabled, 0);
	assert_int_equal(l.items[1].managed, 1);
	assert_string_equal(next, "https://v/secrets?api-version=7.4&"
	    "$skiptoken=25");
	free(next);
	/* A versions page appends; the version comes from the id. */
	assert_int_equal(kv_parse_list(B("{\"value\":[{\"id\":\"https://v/"
	    "secrets/a/v1\",\"attributes\":{\"created\":5}}],"
	    "\"nextLink\":null}"), KV_SECRET, "https://v", &l, &next, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[2].version, "v1");
	assert_null(next);
	kv_list_clear(&l);
	/* A nextLink elsewhere would carry our token there. */
	assert_int_equal(kv_parse_list(B("{\"value\":[],\"nextLink\":"
	    "\"https://v.evil.example/secrets?x\"}"), KV_SECRET, "https://v",
	    &l, &next, err, sizeof(err)), -1);
	assert_string_equal(err, "nextLink does not point into the vault");
	assert_null(next);
	assert_int_equal(kv_parse_list(B("{\"nope\":1}"), KV_SECRET,
	    "https://v", &l, &next, err, sizeof(err)), -1);
	kv_list_clear(&l);
}

/* Hostile list pages: tags as an array, a nextLink loop, endless pages. */
static void
test_parse_list_hostile(void **state)
{
	struct kv_list l;
	char err[128], body[256], *next;
	int i, n;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(kv_parse_list(B("{\"value\":[{\"id\":\"https://v/"
	    "secrets/a\",\"tags\":[\"x\",\"y\"]},{\"id\":\"https://v/"
	    "secrets/b\",\"tags\":\"env\"},{\"id\":\"https://v/secrets/c\","
	    "\"tags\":{\"k\":[\"v\"],\"env\":\"prod\"}}]}"), KV_SECRET,
	    "https://v", &l, &next, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_null(kv_item_tag(&l.items[0], "x"));
	assert_null(kv_item_tag(&l.items[1], "env"));
	assert_null(kv_item_tag(&l.items[2], "k"));
	assert_string_equal(kv_item_tag(&l.items[2], "env"), "prod");
	kv_list_clear(&l);

	/* A nextLink that comes back is a loop. */
	assert_int_equal(kv_parse_list(B("{\"value\":[],\"nextLink\":"
	    "\"https://v/secrets?$skiptoken=1\"}"), KV_SECRET, "https://v",
	    &l, &next, err, sizeof(err)), 0);
	free(next);
	assert_int_equal(kv_parse_list(B("{\"value\":[],\"nextLink\":"
	    "\"https://v/secrets?$skiptoken=2\"}"), KV_SECRET, "https://v",
	    &l, &next, err, sizeof(err)), 0);
	free(next);
	assert_int_equal(kv_parse_list(B("{\"value\":[],\"nextLink\":"
	    "\"https://v/secrets?$skiptoken=1\"}"), KV_SECRET, "https://v",
	    &l, &next, err, sizeof(err)), -1);
	assert_string_equal(err, "nextLink repeats a page already listed");
	assert_null(next);
	kv_list_clear(&l);

	/* KV_MAX_PAGES pages and no more. */
	for (i = 1; ; i++) {
		n = snprintf(body, sizeof(body), "{\"value\":[],\"nextLink\":"
		    "\"https://v/secrets?$skiptoken=%d\"}", i);
		if (kv_parse_list(body, (size_t)n, KV_SECRET, "https://v",
		    &l, &next, err, sizeof(err)) == -1)
			break;
		free(next);
	}
	assert_int_equal(i, KV_MAX_PAGES);
	assert_string_equal(err, "listing has more than 1000 pages");
	kv_list_clear(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_parse_secret),
		cmocka_unit_test(test_parse_secret_errors),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_resource_matches),
		cmocka_unit_test(test_object_urls),
		cmocka_unit_test(test_parse_cert_and_key),
		cmocka_unit_test(test_parse_managed),
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_list_hostile),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
