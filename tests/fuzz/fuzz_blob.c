/*
 * fuzz_blob: Blob Storage error bodies (the XML <Error><Code>, <Message>
 * that blob_xml_text reads) and what akvd makes of them (blob_error,
 * blob_hint), all pure functions of src/blob.c.  A blob's own body is
 * written as it is, and its headers are fuzz_http's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "util.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fetch_result r;
	struct buf b = BUF_INIT;
	char code[64], msg[256], reason[192];
	long statuses[] = { 401, 403, 404, 409, 500 };

	if (size > 0 && buf_append(&b, data, size) == -1)
		abort();
	blob_xml_text(b.data, b.len, "Code", code, sizeof(code));
	blob_xml_text(b.data, b.len, "Message", msg, sizeof(msg));
	fuzz_check(strlen(code) < sizeof(code));
	fuzz_check(strlen(msg) < sizeof(msg));
	(void)blob_hint(code, statuses[size % 5]);
	blob_error(&r, statuses[size % 5], NULL, b.data, b.len);
	fuzz_check(strlen(r.code) < sizeof(r.code) && r.code[0] != '\0');
	fuzz_check(strlen(fetch_reason(&r, reason, sizeof(reason))) <
	    sizeof(reason));
	buf_wipe(&b);
	return (0);
}
