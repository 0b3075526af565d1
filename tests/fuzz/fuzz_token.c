/*
 * fuzz_token: token responses of Entra ID, IMDS and App Service
 * (entra_parse_token).  Byte 0 picks the wall clock the parser is given
 * (now, 0, the far future); the rest is the body.  A token that parses has
 * a positive lifetime.
 */
#include <stdio.h>

#include "entra.h"
#include "fuzz.h"

static const int64_t nows[] = {
	1767225600,		/* 2026-01-01 */
	0,
	INT64_C(253402300799),	/* 9999-12-31 */
	INT64_MAX / 2,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entra_token t;
	char err[256];

	if (size < 1)
		return (0);
	memset(&t, 0, sizeof(t));
	if (entra_parse_token((const char *)data + 1, size - 1,
	    nows[data[0] % (sizeof(nows) / sizeof(nows[0]))], &t, err,
	    sizeof(err)) == 0) {
		fuzz_check(t.access_token != NULL);
		fuzz_check(t.expires_in > 0);
		fuzz_check(t.refresh_in >= 0);
		entra_token_clear(&t);
	}
	return (0);
}
