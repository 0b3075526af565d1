/*
 * fuzz_assertion: the client certificate file of a service principal
 * (assertion_sign reads a private key and the first certificate from PEM
 * and signs a JWT), and base64url (assertion_b64url).  The input is the
 * file's content, given through a memfd.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <unistd.h>

#include "assertion.h"
#include "util.h"
#include "fuzz.h"

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((fd = memfd_create("fuzz-pem", 0)) == -1)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *jwt, *b;
	size_t i, dots = 0;

	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	jwt = assertion_sign(path, "0d6e1c5a-3f6b-4c7e-9a51-2b8c4f1e7d90",
	    "https://login.microsoftonline.com/t/oauth2/v2.0/token",
	    1767225600, err, sizeof(err));
	if (jwt != NULL) {
		for (i = 0; jwt[i] != '\0'; i++)
			dots += jwt[i] == '.';
		fuzz_check(dots == 2);
		str_wipe_free(jwt);
	} else
		fuzz_check(err[0] != '\0');
	b = assertion_b64url(data, size);
	fuzz_check(b != NULL && strlen(b) == (size * 4 + 2) / 3);
	free(b);
	return (0);
}
