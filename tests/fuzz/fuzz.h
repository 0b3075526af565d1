/*
 * fuzz.h - what every libFuzzer harness of tests/fuzz/ shares.
 *
 * A harness defines LLVMFuzzerTestOneInput(data, size): it feeds one input
 * to a parser of untrusted input and returns 0.  A crash, a sanitizer
 * report or abort() (a broken property) is a finding; see README.md.
 */
#ifndef AKVD_FUZZ_H
#define AKVD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/*
 * fuzz_strndup(p, n): ${p}[0..n) as a new NUL-terminated string (a parser
 * that takes a C string sees exactly these bytes, up to a first NUL).
 * Aborts on ENOMEM: the harness cannot go on.
 */
static inline char *
fuzz_strndup(const uint8_t *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return (s);
}

/* fuzz_check(cond): a property of the code under test; abort if false. */
#define fuzz_check(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif /* !AKVD_FUZZ_H */
