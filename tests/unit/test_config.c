/*
 * test_config.c - the configuration parser: golden files in tests/config
 * (NAME.json, optional NAME.env, expected NAME.out: the normalized config
 * or the error lines), and direct tests of the helpers.
 *
 * AKVD_GOLDEN_UPDATE=1 rewrites the .out files (review the diff!).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "config.h"

#define GOLDEN_DIR	"../config"

static void
clear_env(void)
{
	unsetenv("AZURE_TENANT_ID");
	unsetenv("AZURE_CLIENT_ID");
	unsetenv("AZURE_FEDERATED_TOKEN_FILE");
	unsetenv("AZURE_AUTHORITY_HOST");
	unsetenv("AZURE_CLIENT_SECRET");
	unsetenv("AZURE_CLIENT_CERTIFICATE_PATH");
	unsetenv("AZURE_POD_IDENTITY_AUTHORITY_HOST");
	unsetenv("IDENTITY_ENDPOINT");
	unsetenv("IDENTITY_HEADER");
}

static void
load_env(const char *path)
{
	char line[1024], *eq;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		setenv(line, eq + 1, 1);
	}
	fclose(f);
}

static char *
slurp(const char *path)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (buf);
}

/* Replace every occurrence of ${from} in ${s} by ${to}; new string. */
static char *
replace(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	for (o = out, p = s; *p != '\0';) {
		if (strncmp(p, from, fl) == 0) {
			memcpy(o, to, tl);
			o += tl;
			p += fl;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return (out);
}

/* What akvd --check would print for ${json}: config or error lines. */
static char *
render(const char *json)
{
	struct config_errors errs;
	struct akvd_config *cfg;
	char *out = NULL, *r, dir[PATH_MAX];
	size_t len = 0, i;
	FILE *f;

	f = open_memstream(&out, &len);
	assert_non_null(f);
	if ((cfg = config_load(json, &errs)) != NULL) {
		assert_int_equal(errs.n, 0);
		assert_int_equal(config_print(f, cfg), 0);
		config_free(cfg);
	} else {
		assert_true(errs.n > 0);
		for (i = 0; i < errs.n && i < CONFIG_MAXERR; i++)
			fprintf(f, "%s\n", errs.msg[i]);
	}
	fclose(f);
	assert_non_null(realpath(GOLDEN_DIR, dir));
	r = replace(out, dir, "@DIR@");
	free(out);
	return (r);
}

static void
test_golden(void **state)
{
	char json[PATH_MAX], env[PATH_MAX], exp[PATH_MAX], *got, *want, *p;
	struct dirent *de;
	int n = 0, bad = 0;
	DIR *d;
	FILE *f;

	(void)state;
	d = opendir(GOLDEN_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if ((p = strstr(de->d_name, ".json")) == NULL || p[5] != '\0')
			continue;
		snprintf(json, sizeof(json), GOLDEN_DIR "/%s", de->d_name);
		snprintf(env, sizeof(env), GOLDEN_DIR "/%.*s.env",
		    (int)(p - de->d_name), de->d_name);
		snprintf(exp, sizeof(exp), GOLDEN_DIR "/%.*s.out",
		    (int)(p - de->d_name), de->d_name);
		clear_env();
		load_env(env);
		got = render(json);
		if (getenv("AKVD_GOLDEN_UPDATE") != NULL) {
			f = fopen(exp, "w");
			assert_non_null(f);
			fputs(got, f);
			fclose(f);
		}
		want = slurp(exp);
		if (want == NULL || strcmp(got, want) != 0) {
			fprintf(stderr, "golden mismatch for %s\n--- expected"
			    " (%s)\n%s--- got\n%s", json, exp,
			    want ? want : "(missing)\n", got);
			bad++;
		}
		free(got);
		free(want);
		n++;
	}
	closedir(d);
	clear_env();
	assert_true(n >= 15);
	assert_int_equal(bad, 0);
}

/* The normalized output parses back to the same normalized output. */
static void
test_print_roundtrip(void **state)
{
	struct config_errors errs;
	struct akvd_config *a, *b;
	char *o1 = NULL, *o2 = NULL;
	size_t l1 = 0, l2 = 0, i;
	FILE *f;

	(void)state;
	clear_env();
	a = config_load(GOLDEN_DIR "/full.json", &errs);
	assert_non_null(a);
	f = open_memstream(&o1, &l1);
	config_print(f, a);
	fclose(f);
	b = config_parse(o1, l1, &errs);
	assert_non_null(b);
	f = open_memstream(&o2, &l2);
	config_print(f, b);
	fclose(f);
	assert_string_equal(o1, o2);
	assert_int_equal(a->nobjects, b->nobjects);
	for (i = 0; i < a->nobjects; i++)
		assert_true(config_object_same_source(&a->objects[i],
		    &b->objects[i]));
	config_free(a);
	config_free(b);
	free(o1);
	free(o2);
}

static void
test_vault_url(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(config_vault_url("myvault", out, sizeof(out)), 0);
	assert_string_equal(out, "https://myvault.vault.azure.net");
	assert_int_equal(config_vault_url("My-Vault-1", out, sizeof(out)), 0);
	assert_string_equal(out, "https://my-vault-1.vault.azure.net");
	assert_int_equal(config_vault_url("https://X.vault.azure.net/", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "https://x.vault.azure.net");
	assert_int_equal(config_vault_url("https://127.0.0.1:8443", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "https://127.0.0.1:8443");
	/* Refused: http, paths, queries, userinfo, bad names. */
	assert_int_equal(config_vault_url("http://v.vault.azure.net", out,
	    sizeof(out)), -1);
	assert_int_equal(config_vault_url("https://v.vault.azure.net/x", out,
	    sizeof(out)), -1);
	assert_int_equal(config_vault_url("https://v.vault.azure.net?a=b",
	    out, sizeof(out)), -1);
	assert_int_equal(config_vault_url("https://u@v.vault.azure.net", out,
	    sizeof(out)), -1);
	assert_int_equal(config_vault_url("https://", out, sizeof(out)), -1);
	assert_int_equal(config_vault_url("ab", out, sizeof(out)), -1);
	assert_int_equal(config_vault_url("1vault", out, sizeof(out)), -1);
	assert_int_equal(config_vault_url("vault-", out, sizeof(out)), -1);
	assert_int_equal(config_vault_url("my--vault", out, sizeof(out)), -1);
	assert_int_equal(config_vault_url("abcdefghijklmnopqrstuvwxy", out,
	    sizeof(out)), -1);	/* 25 characters */
	assert_int_equal(config_vault_url("my_vault", out, sizeof(out)), -1);
}

static void
test_alias_valid(void **state)
{
	char big[300];

	(void)state;
	assert_true(config_alias_valid("password"));
	assert_true(config_alias_valid("db/password"));
	assert_true(config_alias_valid("tls/.hidden"));
	assert_true(config_alias_valid("a.b..c"));
	assert_false(config_alias_valid(""));
	assert_false(config_alias_valid("/etc/passwd"));
	assert_false(config_alias_valid(".."));
	assert_false(config_alias_valid("../x"));
	assert_false(config_alias_valid("a/../../x"));
	assert_false(config_alias_valid("."));
	assert_false(config_alias_valid("./a"));
	assert_false(config_alias_valid("a//b"));
	assert_false(config_alias_valid("a/"));
	assert_false(config_alias_valid("..data"));
	assert_false(config_alias_valid("a/..data"));
	assert_false(config_alias_valid("a\\b"));
	assert_false(config_alias_valid("a\nb"));
	memset(big, 'a', 256);
	big[256] = '\0';
	assert_false(config_alias_valid(big));
	big[255] = '\0';
	assert_true(config_alias_valid(big));
}

static void
test_same_source(void **state)
{
	struct akvd_object a = { "n", OBJ_SECRET, "x", "", "https://v", 0440,
	    0 };
	struct akvd_object b = a;

	(void)state;
	b.alias = "y";
	b.mode = 0400;
	assert_true(config_object_same_source(&a, &b));
	b.version = "abc";
	assert_false(config_object_same_source(&a, &b));
	b = a;
	b.vault = "https://w";
	assert_false(config_object_same_source(&a, &b));
}

static void
test_unreadable(void **state)
{
	struct config_errors errs;

	(void)state;
	assert_null(config_load("/nonexistent/akvd.json", &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0],
	    "/nonexistent/akvd.json: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_vault_url),
		cmocka_unit_test(test_alias_valid),
		cmocka_unit_test(test_same_source),
		cmocka_unit_test(test_unreadable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
