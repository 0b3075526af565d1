/*
 * fuzz_challenge: the WWW-Authenticate header of a 401 from Key Vault
 * (kv_parse_challenge), and the check that keeps a token from a
 * look-alike resource (kv_resource_matches) on what it found and on the
 * raw input as a URL.
 */
#include <stdio.h>

#include "kv.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_challenge c;
	char *s;

	s = fuzz_strndup(data, size);
	if (kv_parse_challenge(s, &c) == 0) {
		fuzz_check(memchr(c.tenant, '\0', sizeof(c.tenant)));
		fuzz_check(memchr(c.resource, '\0', sizeof(c.resource)));
		(void)kv_resource_matches("https://myvault.vault.azure.net",
		    c.resource);
	}
	(void)kv_resource_matches(s, "https://vault.azure.net");
	(void)kv_resource_matches("https://myvault.vault.azure.net", s);
	free(s);
	return (0);
}
