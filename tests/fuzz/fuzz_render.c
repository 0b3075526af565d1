/*
 * fuzz_render: what Key Vault returns turned into files (render_object):
 * a secret's value decoded (utf-8, base64, hex), a certificate-backed
 * secret as PEM or PFX (PKCS#12 and PEM parsing, chain ordering, split),
 * a certificate's "cer", a key's JWK (render_jwk_pem).  Byte 0 picks the
 * type (secret, cert, key), byte 1 the settings (bits 0-1 encoding, 2-3
 * format, 4 split, 5 managed), byte 2 the content type; the rest is the
 * value.
 */
#include <stdio.h>

#include "config.h"
#include "render.h"
#include "util.h"
#include "fuzz.h"

static const char *types[] = {
	NULL, "application/x-pkcs12", "application/x-pem-file", "text/plain"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct akvd_object o;
	struct buf out[CONFIG_SPLIT_FILES];
	char err[256], *value;
	size_t i;

	if (size < 3)
		return (0);
	memset(&o, 0, sizeof(o));
	memset(out, 0, sizeof(out));
	o.name = "fuzz";
	o.alias = "fuzz";
	o.version = "";
	o.mode = 0440;
	o.uid = o.gid = CONFIG_OWNER_KEEP;
	o.type = (enum object_type)(data[0] % 3);
	o.encoding = (enum object_encoding)((data[1] & 3) % 3);
	o.format = (enum object_format)(((data[1] >> 2) & 3) % 3);
	o.split = (data[1] >> 4) & 1;
	value = fuzz_strndup(data + 3, size - 3);
	if (render_object(&o, value, size - 3, types[data[2] % 4],
	    (data[1] >> 5) & 1, out, err, sizeof(err)) == -1)
		fuzz_check(err[0] != '\0');
	for (i = 0; i < CONFIG_SPLIT_FILES; i++)
		buf_wipe(&out[i]);
	if (o.type == OBJ_KEY) {
		struct buf pem = BUF_INIT;

		if (render_jwk_pem(value, size - 3, &pem, err,
		    sizeof(err)) == 0)
			fuzz_check(pem.len > 0 &&
			    strncmp(pem.data, "-----BEGIN PUBLIC KEY-----",
			    26) == 0);
		buf_wipe(&pem);
	}
	free(value);
	return (0);
}
