/*
 * fuzz_config: the configuration file (config_parse), and the property
 * --check promises: the normalized output (config_print) parses back, and
 * printing that again gives the same bytes.
 */
#include <stdio.h>

#include "config.h"
#include "log.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(LOG_TEXT, LOG_ERROR);
	return (0);
}

static char *
print(const struct akvd_config *cfg, size_t *len)
{
	char *out = NULL;
	FILE *f;

	if ((f = open_memstream(&out, len)) == NULL)
		abort();
	fuzz_check(config_print(f, cfg) == 0);
	fclose(f);
	return (out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs, errs2;
	struct akvd_config *cfg, *again;
	char *out, *out2;
	size_t len, len2, i;

	memset(&errs, 0, sizeof(errs));
	if ((cfg = config_parse((const char *)data, size, &errs)) == NULL) {
		fuzz_check(errs.n > 0);
		return (0);
	}
	out = print(cfg, &len);
	memset(&errs2, 0, sizeof(errs2));
	again = config_parse(out, len, &errs2);
	if (again == NULL) {
		fprintf(stderr, "--check output does not parse back:\n%s\n",
		    out);
		for (i = 0; i < errs2.n && i < CONFIG_MAXERR; i++)
			fprintf(stderr, "  %s\n", errs2.msg[i]);
		abort();
	}
	out2 = print(again, &len2);
	if (len != len2 || memcmp(out, out2, len) != 0) {
		fprintf(stderr, "--check is not stable:\n%s\n---\n%s\n", out,
		    out2);
		abort();
	}
	free(out2);
	free(out);
	config_free(again);
	config_free(cfg);
	return (0);
}
