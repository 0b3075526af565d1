/*
 * fuzz_kv_object: Key Vault responses that carry a value: a SecretBundle
 * (kv_parse_secret, kv_parse_object KV_SECRET), a CertificateBundle and a
 * KeyBundle.  Byte 0 picks the kind, the rest is the body.
 */
#include <stdio.h>

#include "kv.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_secret s;
	char err[256];
	const char *body;
	enum kv_kind kind;

	if (size < 1)
		return (0);
	kind = (enum kv_kind)(data[0] % 3);
	body = (const char *)data + 1;
	size--;

	memset(&s, 0, sizeof(s));
	if (kv_parse_object(body, size, kind, &s, err, sizeof(err)) == 0) {
		fuzz_check(s.value != NULL);
		fuzz_check(strlen(s.value) <= s.len);
		kv_secret_clear(&s);
	} else {
		fuzz_check(err[0] != '\0');
		fuzz_check(memchr(err, '\0', sizeof(err)) != NULL);
	}
	if (kind == KV_SECRET) {
		memset(&s, 0, sizeof(s));
		if (kv_parse_secret(body, size, &s, err, sizeof(err)) == 0)
			kv_secret_clear(&s);
	}
	return (0);
}
