/*
 * fuzz_blob: Blob Storage error bodies (the XML <Error><Code>, <Message>
 * xml_text of src/sync.c reads; static there, so this file includes
 * sync.c) and what akvd makes of them (blob_hint).  A blob's own body is
 * written as it is, and its headers are fuzz_http's.
 */
#include "../../src/sync.c"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;
	char code[64], msg[256];
	long statuses[] = { 401, 403, 404, 409, 500 };

	if (size > 0 && buf_append(&b, data, size) == -1)
		abort();
	xml_text(&b, "Code", code, sizeof(code));
	xml_text(&b, "Message", msg, sizeof(msg));
	fuzz_check(strlen(code) < sizeof(code));
	fuzz_check(strlen(msg) < sizeof(msg));
	(void)blob_hint(code, statuses[size % 5]);
	buf_wipe(&b);
	return (0);
}
