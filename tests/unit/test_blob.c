/*
 * test_blob.c - Blob Storage's wire protocol: ETags, error bodies, hints.
 */
#include <string.h>

#include "unit.h"

#include "blob.h"

#define XML(s)	s, sizeof(s) - 1

static void
test_etag(void **state)
{
	(void)state;
	assert_true(blob_etag_usable("\"0x8DC1234\""));
	assert_true(blob_etag_usable("W/\"weak\""));
	assert_false(blob_etag_usable("(no ETag)"));
	assert_false(blob_etag_usable(""));
	assert_false(blob_etag_usable(NULL));
	assert_false(blob_etag_usable("0x8DC1234"));
}

static void
test_xml_text(void **state)
{
	char out[16];

	(void)state;
	blob_xml_text(XML("<?xml version=\"1.0\"?><Error><Code>BlobNotFound"
	    "</Code></Error>"), "Code", out, sizeof(out));
	assert_string_equal(out, "BlobNotFound");
	/* Control characters become spaces; too long is cut. */
	blob_xml_text(XML("<Message>a\nb\tc</Message>"), "Message", out,
	    sizeof(out));
	assert_string_equal(out, "a b c");
	blob_xml_text(XML("<Code>0123456789abcdefXYZ</Code>"), "Code", out,
	    sizeof(out));
	assert_string_equal(out, "0123456789abcde");
	/* Unclosed, absent, empty body. */
	blob_xml_text(XML("<Code>open"), "Code", out, sizeof(out));
	assert_string_equal(out, "");
	blob_xml_text(XML("<Other>x</Other>"), "Code", out, sizeof(out));
	assert_string_equal(out, "");
	blob_xml_text(NULL, 0, "Code", out, sizeof(out));
	assert_string_equal(out, "");
	/* A tag cut by the end of the body. */
	blob_xml_text(XML("<Code>x</Co"), "Code", out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_error(void **state)
{
	struct fetch_result r;
	char reason[192];

	(void)state;
	blob_error(&r, 404, NULL, XML("<Error><Code>BlobNotFound</Code>"
	    "<Message>The specified blob does not exist.</Message></Error>"));
	assert_int_equal(r.cls, FETCH_NOT_FOUND);
	assert_string_equal(fetch_reason(&r, reason, sizeof(reason)),
	    "HTTP 404 BlobNotFound");
	assert_string_equal(r.detail, "The specified blob does not exist.; "
	    "hint: no blob of that name in the container: check the url");

	/* The header wins over the body. */
	blob_error(&r, 404, "ContainerNotFound", XML("<Code>Other</Code>"));
	assert_string_equal(r.code, "ContainerNotFound");
	assert_string_equal(r.detail, "hint: no such container in the "
	    "storage account: check the url");

	/* 403 of any code: the role; 401: the token. */
	blob_error(&r, 403, NULL, XML(""));
	assert_int_equal(r.cls, FETCH_FORBIDDEN);
	assert_string_equal(r.code, "no error code");
	assert_non_null(strstr(r.detail, "Storage Blob Data Reader"));
	blob_error(&r, 401, "InvalidAuthenticationInfo", NULL, 0);
	assert_int_equal(r.cls, FETCH_UNAUTHORIZED);
	assert_non_null(strstr(r.detail, "storage token was refused"));

	/* 503: transient, no hint; Retry-After is the caller's. */
	blob_error(&r, 503, NULL, XML("<Error><Code>ServerBusy</Code>"
	    "<Message>busy</Message></Error>"));
	assert_int_equal(r.cls, FETCH_SERVER_ERROR);
	assert_true(fetch_transient(&r));
	assert_string_equal(r.detail, "busy");
	assert_int_equal(r.retry_after_ms, -1);
	blob_error(&r, 409, NULL, XML("<Code>LeaseIdMissing</Code>"));
	assert_int_equal(r.cls, FETCH_CLIENT_ERROR);
	assert_null(blob_hint("LeaseIdMissing", 409));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_xml_text),
		cmocka_unit_test(test_error),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
