/*
 * fuzz_bundle: bundle files (render_bundle): JSON with "--" nesting and
 * dotenv for POSIX sh.  Byte 0 picks the format; the rest is
 * "key\0value\0key\0value..." (at most 16 entries).  Keys the
 * configuration parser refuses (check_bundle_keys of src/config.c: an
 * invalid alias or variable name, an empty "--" section, two keys for one
 * place, "A" beside "A--B") are dropped, so the renderer sees what it can
 * see in akvd.
 */
#include <stdio.h>

#include "config.h"
#include "render.h"
#include "util.h"
#include "fuzz.h"

#define MAXENT	16

static int
acceptable(enum bundle_format fmt, const struct render_entry *e, size_t n,
    const char *k)
{
	char na[256], nb[256];
	size_t i;

	if (!config_alias_valid(k))
		return (0);
	if (fmt == BUNDLE_JSON) {
		if (!config_json_key_valid(k))
			return (0);
		for (i = 0; i < n; i++)
			if (config_json_keys_clash(k, e[i].key))
				return (0);
		return (1);
	}
	if (config_dotenv_name(k, na, sizeof(na)) == -1)
		return (0);
	for (i = 0; i < n; i++)
		if (config_dotenv_name(e[i].key, nb, sizeof(nb)) == 0 &&
		    strcmp(na, nb) == 0)
			return (0);
	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct render_entry e[MAXENT];
	struct buf out = BUF_INIT;
	char err[256], *copy, *p, *end, *k;
	enum bundle_format fmt;
	size_t n = 0, vlen;

	if (size < 1)
		return (0);
	fmt = (enum bundle_format)(data[0] % 2);
	copy = fuzz_strndup(data + 1, size - 1);
	p = copy;
	end = copy + size - 1;
	while (p < end && n < MAXENT) {
		k = p;
		p += strlen(p) + 1;
		if (p > end)
			break;
		vlen = strnlen(p, (size_t)(end - p));
		if (acceptable(fmt, e, n, k)) {
			e[n].key = k;
			e[n].value = p;
			e[n].len = vlen;
			n++;
		}
		p += vlen + 1;
	}
	if (render_bundle(fmt, e, n, &out, err, sizeof(err)) == -1)
		fuzz_check(err[0] != '\0');
	buf_wipe(&out);
	free(copy);
	return (0);
}
