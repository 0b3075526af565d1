/*
 * test_entra.c - Entra ID token endpoint requests and responses, with
 * bodies in the real shapes (../../shared/PROTOCOLS.md section 2).
 */
#include <stdio.h>
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
		{ "{\"access_token\":7,\"expires_in\":3600}",
		    "response has no \"access_token\"" },
		{ "{\"access_token\":\"SECRETTOKEN\",\"expires_in\":60,"
		    "\"token_type\":\"pop\"}", "unsupported \"token_type\"" },
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

/*
 * "expires_on" in every form seen from managed identity endpoints (App
 * Service 2017-09-01 on Windows and Linux, 2019-08-01, IMDS, Cloud Shell,
 * Arc, Service Fabric) and accepted by MSAL / Azure.Identity, each meaning
 * 2026-11-29 21:58:03 UTC, one hour after NOW.
 */
#define EXP	INT64_C(1795989483)
#define NOW	(EXP - 3600)

static void
test_expires_on_forms(void **state)
{
	static const struct { const char *json; int64_t in; } cases[] = {
		/* Unix seconds: number, string, with a fraction. */
		{ "1795989483", 3600 },
		{ "\"1795989483\"", 3600 },
		{ "1795989483.75", 3600 },
		{ "\"1795989483.0\"", 3600 },
		/* ISO 8601 / RFC 3339, as .NET's "o" format and others. */
		{ "\"2026-11-29T21:58:03.0000000+00:00\"", 3600 },
		{ "\"2026-11-29T21:58:03Z\"", 3600 },
		{ "\"2026-11-29T21:58:03.123Z\"", 3600 },
		{ "\"2026-11-29T21:58:03+00:00\"", 3600 },
		{ "\"2026-11-29T22:58:03+01:00\"", 3600 },
		{ "\"2026-11-29T16:58:03.5-05:00\"", 3600 },
		{ "\"2026-11-30T03:28:03+0530\"", 3600 },
		{ "\"2026-11-29 21:58:03Z\"", 3600 },
		{ "\"2026-11-29t21:58:03z\"", 3600 },
		{ "\"2026-11-29T21:58:03\"", 3600 },	/* no offset: UTC */
		{ "\"2026-11-29T21:58Z\"", 3597 },	/* no seconds */
		/* App Service 2017-09-01 on Windows: .NET "G" with AM/PM. */
		{ "\"11/29/2026 9:58:03 PM +00:00\"", 3600 },
		{ "\"11/29/2026 09:58:03 PM +00:00\"", 3600 },
		{ "\"11/29/2026 10:58:03 PM +01:00\"", 3600 },
		{ "\"11/29/2026 9:58:03 pm +00:00\"", 3600 },
		/* ...and on Linux: 24-hour clock. */
		{ "\"11/29/2026 21:58:03 +00:00\"", 3600 },
		{ "\"11/29/2026 21:58:03\"", 3600 },
		/* RFC 1123, as HTTP dates. */
		{ "\"Sun, 29 Nov 2026 21:58:03 GMT\"", 3600 },
	};
	struct entra_token t;
	char body[256], err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"access_token\":\"x.y.z\","
		    "\"expires_on\":%s,\"resource\":\"https://vault.azure.net\","
		    "\"token_type\":\"Bearer\"}", cases[i].json);
		assert_int_equal(entra_parse_token(body, strlen(body), NOW, &t,
		    err, sizeof(err)), 0);
		if (t.expires_in != cases[i].in || t.warning[0] != '\0')
			fail_msg("%s: expires_in %lld, warning \"%s\"",
			    cases[i].json, (long long)t.expires_in, t.warning);
		assert_int_equal(t.guessed, 0);
		entra_token_clear(&t);
	}
}

static void
test_parse_date(void **state)
{
	static const char *bad[] = {
		"", "soon", "2026-11-29", "2026-13-29T21:58:03Z",
		"2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
		"2026-11-29T24:00:00Z", "2026-11-29T21:60:03Z",
		"2026-11-29T21:58:03+25:00", "2026-11-29T21:58:03 junk",
		"2026-11-29T21:58:03.Z", "29/29/2026 9:58:03 PM",
		"11/29/2026 13:58:03 PM +00:00", "11/29/26 9:58:03 PM",
		"1969-12-31T23:59:59Z", "99999-11-29T21:58:03Z",
		"2026-11-29T21:58:03+00:00:00", "Blursday, 99 Foo 2026",
	};
	int64_t t;
	size_t i;

	(void)state;
	assert_int_equal(entra_parse_date("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, 1709164800);
	assert_int_equal(entra_parse_date("1/16/2020 5:24:12 AM +00:00", &t),
	    0);
	assert_int_equal(t, 1579152252);
	assert_int_equal(entra_parse_date("06/19/2019 23:42:01 +00:00", &t),
	    0);
	assert_int_equal(t, 1560987721);
	/* 12 AM is midnight, 12 PM noon; the docs' "00:00:00 PM" is noon. */
	assert_int_equal(entra_parse_date("11/29/2026 12:58:03 AM", &t), 0);
	assert_int_equal(t, EXP - 21 * 3600);
	assert_int_equal(entra_parse_date("11/29/2026 12:58:03 PM", &t), 0);
	assert_int_equal(t, EXP - 9 * 3600);
	assert_int_equal(entra_parse_date("09/14/2017 00:00:00 PM +00:00", &t),
	    0);
	assert_int_equal(t, 1505390400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (entra_parse_date(bad[i], &t) != -1)
			fail_msg("\"%s\" parsed as %lld", bad[i], (long long)t);
}

/*
 * Hostile or broken lifetimes: a token is still accepted, with a safe
 * fallback lifetime and a warning that names the field and never the
 * token; nothing overflows (UBSan).
 */
static void
test_lifetime_fallback(void **state)
{
	static const struct {
		const char	*fields;
		const char	*warning;	/* substring */
	} cases[] = {
		{ "", "no \"expires_in\" or \"expires_on\"" },
		{ ",\"expires_in\":0", "\"expires_in\" is shorter than 2 s" },
		{ ",\"expires_in\":1.5", "\"expires_in\" is shorter than 2 s" },
		{ ",\"expires_in\":\"1\"", "shorter than 2 s" },
		{ ",\"expires_in\":-5", "shorter than 2 s" },
		{ ",\"expires_in\":\"-3600\"", "shorter than 2 s" },
		{ ",\"expires_in\":\"9223372036854775807\"",
		    "\"expires_in\" is out of range" },
		{ ",\"expires_in\":\"99999999999999999999999999\"",
		    "out of range" },
		{ ",\"expires_in\":9223372036854775807", "out of range" },
		{ ",\"expires_in\":1e300", "out of range" },
		{ ",\"expires_in\":-1e300", "out of range" },
		{ ",\"expires_in\":1e26", "out of range" },
		{ ",\"expires_in\":40000000", "longer than a year" },
		{ ",\"expires_in\":\"soon\"", "not a number of seconds" },
		{ ",\"expires_in\":\"\"", "not a number" },
		{ ",\"expires_in\":\" 3600\"", "not a number" },
		{ ",\"expires_in\":\"0x100\"", "not a number" },
		{ ",\"expires_in\":\"1e3\"", "not a number" },
		{ ",\"expires_in\":\"3600s\"", "not a number" },
		{ ",\"expires_in\":null", "(null)" },
		{ ",\"expires_in\":true", "(a boolean)" },
		{ ",\"expires_in\":[3600]", "not a number" },
		/* expires_in is a duration, never a date. */
		{ ",\"expires_in\":\"2026-11-29T21:58:03Z\"", "not a number" },
		{ ",\"expires_on\":\"1795985883\"", "\"expires_on\" is in the "
		    "past (is the clock right?)" },
		{ ",\"expires_on\":0", "in the past" },
		{ ",\"expires_on\":-1e300", "out of range" },
		{ ",\"expires_on\":\"9223372036854775807\"", "out of range" },
		{ ",\"expires_on\":\"11/29/2099 9:58:03 PM +00:00\"",
		    "longer than a year" },
		{ ",\"expires_on\":\"2025-11-29T21:58:03Z\"", "in the past" },
		{ ",\"expires_on\":\"Tomorrow\"", "not a number of seconds or "
		    "a date (Tomorrow)" },
		{ ",\"expires_on\":\"1795989483\",\"expires_in\":\"x\"",
		    NULL },	/* expires_on saves the day */
		{ ",\"expires_on\":\"x\",\"expires_in\":\"y\"",
		    "\"expires_in\" is not a number" },
	};
	struct entra_token t;
	char body[256], err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"access_token\":\"SECRETTOKEN\""
		    "%s}", cases[i].fields);
		assert_int_equal(entra_parse_token(body, strlen(body), NOW, &t,
		    err, sizeof(err)), 0);
		assert_string_equal(t.access_token, "SECRETTOKEN");
		if (cases[i].warning == NULL) {
			assert_int_equal(t.expires_in, 3600);
			assert_string_equal(t.warning, "");
			assert_int_equal(t.guessed, 0);
		} else {
			if (strstr(t.warning, cases[i].warning) == NULL)
				fail_msg("%s: warning \"%s\"", cases[i].fields,
				    t.warning);
			assert_int_equal(t.expires_in,
			    ENTRA_LIFETIME_FALLBACK_S);
			assert_int_equal(t.guessed, 1);
		}
		assert_null(strstr(t.warning, "SECRETTOKEN"));
		entra_token_clear(&t);
	}
}

static void
test_refresh_in(void **state)
{
	static const struct {
		const char	*json;
		int64_t		 refresh_in;
		const char	*warning;
	} cases[] = {
		{ "1800", 1800, NULL },
		{ "\"1800\"", 1800, NULL },
		{ "1799.9", 1799, NULL },
		{ "0", 0, "\"refresh_in\" is out of range (0): ignored" },
		{ "-60", 0, "out of range" },
		{ "\"x\"", 0, "\"refresh_in\" is not a number (x): ignored" },
		{ "1e300", 0, "out of range" },
		{ "\"9223372036854775807\"", 0, "out of range" },
	};
	struct entra_token t;
	char body[256], err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"access_token\":\"x\","
		    "\"expires_in\":3600,\"refresh_in\":%s}", cases[i].json);
		assert_int_equal(entra_parse_token(body, strlen(body), NOW, &t,
		    err, sizeof(err)), 0);
		assert_int_equal(t.expires_in, 3600);
		assert_int_equal(t.guessed, 0);
		assert_int_equal(t.refresh_in, cases[i].refresh_in);
		if (cases[i].warning == NULL)
			assert_string_equal(t.warning, "");
		else if (strstr(t.warning, cases[i].warning) == NULL)
			fail_msg("%s: warning \"%s\"", cases[i].json,
			    t.warning);
		entra_token_clear(&t);
	}
	/* Both wrong: both said. */
	assert_int_equal(entra_parse_token(B("{\"access_token\":\"x\","
	    "\"expires_in\":\"x\",\"refresh_in\":\"y\"}"), NOW, &t, err,
	    sizeof(err)), 0);
	assert_non_null(strstr(t.warning, "\"expires_in\""));
	assert_non_null(strstr(t.warning, "; \"refresh_in\""));
	entra_token_clear(&t);
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

	/* Hostile numbers: no undefined conversion, the code is dropped. */
	assert_int_equal(entra_parse_error(B("{\"error\":\"x\","
	    "\"error_codes\":[1e26]}"), &e), 0);
	assert_int_equal(e.code, 0);
	assert_int_equal(entra_parse_error(B("{\"error\":\"x\","
	    "\"error_codes\":[-1e300]}"), &e), 0);
	assert_int_equal(e.code, 0);
	assert_int_equal(entra_parse_error(B("{\"error\":\"x\","
	    "\"error_codes\":[\"70021\"]}"), &e), 0);
	assert_int_equal(e.code, 70021);
	assert_int_equal(entra_parse_error(B("{\"error\":\"x\","
	    "\"error_codes\":[1e26],\"error_description\":\"AADSTS700024: "
	    "x\"}"), &e), 0);
	assert_int_equal(e.code, 700024);
	assert_int_equal(entra_parse_error(B("{\"error\":\"x\","
	    "\"error_description\":\"AADSTS99999999999999999999999: x\"}"),
	    &e), 0);
	assert_int_equal(e.code, 0);
	assert_int_equal(entra_parse_error(B("{\"error\":\"x\","
	    "\"error_description\":\"AADSTS: x\"}"), &e), 0);
	assert_int_equal(e.code, 0);
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
		cmocka_unit_test(test_expires_on_forms),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_lifetime_fallback),
		cmocka_unit_test(test_refresh_in),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_hints),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
