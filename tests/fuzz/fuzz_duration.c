/*
 * fuzz_duration: durations of the configuration (duration_parse), and the
 * property that duration_format's output parses back to the same value.
 */
#include <stdio.h>

#include "duration.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, out[64];
	uint64_t ms, again;

	s = fuzz_strndup(data, size);
	if (duration_parse(s, &ms) == 0) {
		duration_format(ms, out, sizeof(out));
		fuzz_check(duration_parse(out, &again) == 0);
		fuzz_check(again == ms);
	}
	free(s);
	return (0);
}
