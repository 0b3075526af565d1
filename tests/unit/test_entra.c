/*
 * test_entra.c - Entra ID token endpoint requests and responses, with
 * bodies in the real shapes (../../shared/PROTOCOLS.md section 2).
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "entra.h"
#include "util.h"

#define B(s)	s, sizeof(s) - 1

static void
test_url_and_form(void **state)
{
	char *u, *f;

	(void)state;
	u = entra_token_url("https://login.microsoftonline.com/",
	    "72f988bf-86f1-41af-91ab-2d7cd011db47");
	assert_string_equal(u, "https://login.microsoftonline.com/"
	    "72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token");
	free(u);
	u = entra_token_url("https://127.0.0.1:8443", "a b");
	assert_string_equal(u, "https://127.0.0.1:8443/a%20b/oauth2/v2.0/token");
	free(u);

	f = entra_secret_form("c", "https://vault.azure.net/.default",
	    "a&b=c+d");
	assert_string_equal(f, "grant_type=client_credentials&client_id=c"
	    "&scope=https%3A%2F%2Fvault.azure.net%2F.default"
	    "&client_secret=a%26b%3Dc%2Bd");
	str_wipe_free(f);
	f = entra_assertion_form("0d6e1c5a-3f6b", "https://vault.azure.net/"
	    ".default", "eyJh.eyJi+/=.sig");
	assert_string_equal(f, "grant_type=client_credentials"
	    "&client_id=0d6e1c5a-3f6b"
	    "&scope=https%3A%2F%2Fvault.azure.net%2F.default"
	    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "client-assertion-type%3Ajwt-bearer"
	    "&client_assertion=eyJh.eyJi%2B%2F%3D.sig");
	str_wipe_free(f);
}

static void
test_parse_token(void **state)
{
	struct entra_token t;
	char err[128];

	(void)state;
	/* Numbers, as Entra sends them. */
	assert_int_equal(entra_parse_token(B("{\"token_type\":\"Bearer\","
	    "\"expires_in\":86399,\"ext_expires_in\":86399,"
	    "\"access_token\":\"eyJ0eXAi.payload.sig\"}"), 1700000000, &t, err,
	    sizeof(err)), 0);
	assert_string_equal(t.access_token, "eyJ0eXAi.payload.sig");
	assert_int_equal(t.expires_in, 86399);
	assert_int_equal(t.refresh_in, 0);
	entra_token_clear(&t);
	assert_null(t.access_token);
	/* Strings (IMDS style) and refresh_in. */
	assert_int_equal(entra_parse_token(B("{\"access_token\":\"x.y.z\","
	    "\"expires_in\":\"3600\",\"refresh_in\":\"1800\","
	    "\"token_type\":\"bearer\"}"), 1700000000, &t, err, sizeof(err)), 0);
	assert_int_equal(t.expires_in, 3600);
	assert_int_equal(t.refresh_in, 1800);
	entra_token_clear(&t);
	assert_int_equal(entra_parse_token(B("{\"access_token\":\"x\","
	    "\"expires_in\":3599,\"refresh_in\":1799}"), 1700000000, &t, err,
	    sizeof(err)), 0);
	assert_int_equal(t.refresh_in, 1799);
	entra_token_clear(&t);
	/* IMDS: every value a string, expires_in and expires_on. */
	assert_int_equal(entra_parse_token(B("{\"access_token\":\"eyJ.a.b\","
	    "\"client_id\":\"c\",\"expires_in\":\"86400\",\"expires_on\":"
	    "\"1700086400\",\"ext_expires_in\":\"86399\",\"not_before\":"
	    "\"1699999999\",\"resource\":\"https://vault.azure.net\","
	    "\"token_type\":\"Bearer\"}"), 1700000000, &t, err, sizeof(err)),
	    0);
	assert_int_equal(t.expires_in, 86400);
	entra_token_clear(&t);
	/* App Service: only expires_on. */
	assert_int_equal(entra_parse_token(B("{\"access_token\":\"eyJ.a.b\","
	    "\"expires_on\":\"1700003600\",\"resource\":\"https://vault."
	    "azure.net\",\"token_type\":\"Bearer\",\"client_id\":\"c\"}"),
	    1700000000, &t, err, sizeof(err)), 0);
	assert_int_equal(t.expires_in, 3600);
	entra_token_clear(&t);
}

static void
test_parse_token_errors(void **state)
{
	static const struct { const char *body; const char *err; } cases[] = {
		{ "not json", "response is not a JSON object" },
		{ "[1]", "response is not a JSON object" },
		{ "{\"expires_in\":3600}", "response has no \"access_token\"" },
		{ "{\"access_token\":\"\",\"expires_in\":3600}",
		    "response has no \"access_token\"" },
		{ "{\"access_token\":\"SECRETTOKEN\"}",
		    "response has no valid \"expires_in\" or \"expires_on\"" },
		{ "{\"access_token\":\"SECRETTOKEN\",\"expires_in\":\"soon\"}",
		    "response has no valid \"expires_in\" or \"expires_on\"" },
		{ "{\"access_token\":\"SECRETTOKEN\",\"expires_in\":0}",
		    "response has no valid \"expires_in\" or \"expires_on\"" },
		{ "{\"access_token\":\"SECRETTOKEN\",\"expires_in\":-5}",
		    "response has no valid \"expires_in\" or \"expires_on\"" },
		{ "{\"access_token\":\"SECRETTOKEN\",\"expires_in\":60,"
		    "\"token_type\":\"pop\"}", "unsupported \"token_type\"" },
		{ "{\"access_token\":\"SECRETTOKEN\",\"expires_in\":60,"
		    "\"refresh_in\":\"x\"}", "invalid \"refresh_in\"" },
	};
	struct entra_token t;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(entra_parse_token(cases[i].body,
		    strlen(cases[i].body), 1700000000, &t, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
		assert_null(t.access_token);
		assert_null(strstr(err, "SECRETTOKEN"));
	}
}

static void
test_parse_error(void **state)
{
	static const char body[] = "{\"error\":\"invalid_request\","
	    "\"error_description\":\"AADSTS70021: No matching federated "
	    "identity record found for presented assertion. Assertion Issuer:"
	    " 'https://oidc.example/'. Assertion Subject: 'system:serviceaccount"
	    ":ns:sa'. Assertion Audience: 'api://AzureADTokenExchange'.\\r\\n"
	    "Trace ID: 0c9e8a1b\\r\\nCorrelation ID: 5d1f\\r\\nTimestamp: "
	    "2022-03-02 18:25:26Z\",\"error_codes\":[70021],\"timestamp\":"
	    "\"2022-03-02 18:25:26Z\",\"trace_id\":\"0c9e8a1b\","
	    "\"correlation_id\":\"5d1f\",\"error_uri\":"
	    "\"https://login.microsoftonline.com/error?code=70021\"}";
	struct entra_error e;

	(void)state;
	assert_int_equal(entra_parse_error(body, sizeof(body) - 1, &e), 0);
	assert_string_equal(e.error, "invalid_request");
	assert_int_equal(e.code, 70021);
	assert_non_null(strstr(e.description, "Assertion Subject: "
	    "'system:serviceaccount:ns:sa'"));
	assert_null(strstr(e.description, "Trace ID"));
	assert_null(strchr(e.description, '\r'));
	assert_string_equal(e.correlation_id, "5d1f");
	assert_non_null(entra_hint(e.code));
	assert_non_null(strstr(entra_hint(e.code), "federated"));

	/* No error_codes: the number comes from the description. */
	assert_int_equal(entra_parse_error(B("{\"error\":\"invalid_client\","
	    "\"error_description\":\"AADSTS700024: Client assertion is not "
	    "within its valid time range.\"}"), &e), 0);
	assert_int_equal(e.code, 700024);
	assert_non_null(strstr(entra_hint(700024), "expired"));
	/* Not an Entra error. */
	assert_int_equal(entra_parse_error(B("<html>502</html>"), &e), -1);
	assert_int_equal(entra_parse_error(B("{\"message\":\"x\"}"), &e), -1);
	assert_int_equal(e.code, 0);
	assert_null(entra_hint(12345));
}

static void
test_hints(void **state)
{
	static const long codes[] = { 70021, 700211, 700212, 700213, 700024,
	    50166, 90061, 7000272, 700027, 7000215, 7000222, 700016, 70023 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_non_null(entra_hint(codes[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_and_form),
		cmocka_unit_test(test_parse_token),
		cmocka_unit_test(test_parse_token_errors),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_hints),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
