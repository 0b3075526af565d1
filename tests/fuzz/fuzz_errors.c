/*
 * fuzz_errors: error bodies: Key Vault's (kv_parse_error) and Entra ID's,
 * IMDS's and App Service's (entra_parse_error, then entra_hint of the code
 * it found).  Byte 0 picks the parser; both see the same bytes otherwise.
 */
#include <stdio.h>

#include "entra.h"
#include "kv.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_error ke;
	struct entra_error ee;
	const char *body;

	if (size < 1)
		return (0);
	body = (const char *)data + 1;
	size--;
	if (data[0] % 2 == 0) {
		if (kv_parse_error(body, size, &ke) == 0) {
			fuzz_check(memchr(ke.code, '\0', sizeof(ke.code)));
			fuzz_check(memchr(ke.message, '\0',
			    sizeof(ke.message)));
		}
	} else {
		if (entra_parse_error(body, size, &ee) == 0) {
			fuzz_check(memchr(ee.description, '\0',
			    sizeof(ee.description)));
			(void)entra_hint(ee.code);
		}
	}
	return (0);
}
