/*
 * fuzz_token: token responses of Entra ID, IMDS and App Service
 * (entra_parse_token).  Byte 0 picks the wall clock the parser is given
 * (now, 0, the far future); the rest is the body.  A token that parses has
 * a positive lifetime that the clock can add without overflow (akvd
 * computes now + expires_in: a lifetime of INT64_MAX seconds stalled it).
 */
#include <stdio.h>

#include "entra.h"
#include "fuzz.h"

static const int64_t nows[] = {
	1767225600,		/* 2026-01-01 */
	0,
	INT64_C(253402300799),	/* 9999-12-31 */
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entra_token t;
	char err[256];
	int64_t now;

	if (size < 1)
		return (0);
	memset(&t, 0, sizeof(t));
	now = nows[data[0] % (sizeof(nows) / sizeof(nows[0]))];
	if (entra_parse_token((const char *)data + 1, size - 1, now, &t, err,
	    sizeof(err)) == 0) {
		fuzz_check(t.access_token != NULL);
		fuzz_check(t.expires_in > 0);
		fuzz_check(t.expires_in <= INT64_MAX - now);
		fuzz_check(t.refresh_in >= 0);
		fuzz_check(t.refresh_in <= INT64_MAX - now);
		entra_token_clear(&t);
	}
	return (0);
}
