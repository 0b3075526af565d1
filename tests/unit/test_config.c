/*
 * test_config.c - the configuration parser: golden files in tests/config
 * (NAME.json, optional NAME.env, expected NAME.out: the normalized config
 * or the error lines), and direct tests of the helpers.
 *
 * Every golden config that is valid must also print to something that
 * parses back to an equal config.
 *
 * AKVD_GOLDEN_UPDATE=1 rewrites the .out files (review the diff!).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "config.h"
#include "util.h"

#define GOLDEN_DIR	"../config"

extern char **environ;

/* Unset every AZURE_* variable, and those of App Service. */
static void
clear_env(void)
{
	char name[256], **e;
	size_t n;

again:
	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "AZURE_", 6) != 0 &&
		    strncmp(*e, "IDENTITY_", 9) != 0)
			continue;
		n = strcspn(*e, "=");
		assert_true(n < sizeof(name));
		memcpy(name, *e, n);
		name[n] = '\0';
		unsetenv(name);
		goto again;		/* environ changed */
	}
}

/* Set the KEY=VALUE lines of ${path}, if it exists. */
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

/* ${cfg} as config_print writes it. */
static char *
print(const struct akvd_config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(config_print(f, cfg), 0);
	fclose(f);
	return (out);
}

/*
 * Nonzero if ${a} and ${b} configure the same thing (how the auth method
 * was chosen aside: a printed config names it).
 */
static int
config_equal(const struct akvd_config *a, const struct akvd_config *b)
{
	const struct akvd_auth *x = &a->auth, *y = &b->auth;
	size_t i;
	char **p, **q;

	if (!str_equal(a->output_dir, b->output_dir) ||
	    a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms ||
	    a->max_response != b->max_response ||
	    a->concurrency != b->concurrency ||
	    !str_equal(a->vault, b->vault) || !str_equal(a->cloud, b->cloud) ||
	    !str_equal(a->vault_suffix, b->vault_suffix) ||
	    !str_equal(a->vault_scope, b->vault_scope) ||
	    !str_equal(a->ca_file, b->ca_file) || a->nobjects != b->nobjects ||
	    a->nnotify != b->nnotify || a->debounce_ms != b->debounce_ms)
		return (0);
	if (x->method != y->method || !str_equal(x->tenant_id, y->tenant_id) ||
	    !str_equal(x->client_id, y->client_id) ||
	    !str_equal(x->token_file, y->token_file) ||
	    !str_equal(x->authority_host, y->authority_host) ||
	    !str_equal(x->client_secret_file, y->client_secret_file) ||
	    !str_equal(x->certificate_file, y->certificate_file) ||
	    !str_equal(x->object_id, y->object_id) ||
	    !str_equal(x->resource_id, y->resource_id) ||
	    !str_equal(x->imds_endpoint, y->imds_endpoint) ||
	    !str_equal(x->identity_endpoint, y->identity_endpoint))
		return (0);
	for (i = 0; i < a->nobjects; i++) {
		const struct akvd_object *o = &a->objects[i],
		    *r = &b->objects[i];

		if (!config_object_same_source(o, r) ||
		    !str_equal(o->alias, r->alias) || o->mode != r->mode ||
		    o->optional != r->optional || o->nofile != r->nofile)
			return (0);
	}
	if (a->ntemplates != b->ntemplates)
		return (0);
	for (i = 0; i < a->ntemplates; i++) {
		const struct akvd_template *t = &a->templates[i],
		    *u = &b->templates[i];

		if (!str_equal(t->path, u->path) || t->mode != u->mode ||
		    t->uid != u->uid || t->gid != u->gid ||
		    !str_equal(t->contents, u->contents) ||
		    !str_equal(t->source, u->source) || t->len != u->len ||
		    memcmp(t->text, u->text, t->len) != 0 ||
		    t->nobjs != u->nobjs ||
		    memcmp(t->objs, u->objs, t->nobjs * sizeof(*t->objs)) != 0)
			return (0);
	}
	for (i = 0; i < a->nnotify; i++) {
		const struct akvd_notify *n = &a->notify[i],
		    *m = &b->notify[i];

		if (n->kind != m->kind || n->signo != m->signo ||
		    n->timeout_ms != m->timeout_ms ||
		    !str_equal(n->pid_file, m->pid_file) ||
		    !str_equal(n->process, m->process) ||
		    !str_equal(n->url, m->url) || !str_equal(n->method, m->method) ||
		    (n->argv == NULL) != (m->argv == NULL))
			return (0);
		for (p = n->argv, q = m->argv; p != NULL && *p != NULL; p++,
		    q++)
			if (!str_equal(*p, *q))
				return (0);
	}
	return (1);
}

/* The printed form of ${cfg} parses back to an equal config. */
static void
check_roundtrip(const char *name, const struct akvd_config *cfg)
{
	struct config_errors errs;
	struct akvd_config *back;
	char *o1, *o2;
	size_t i;

	o1 = print(cfg);
	back = config_parse(o1, strlen(o1), &errs);
	if (back == NULL) {
		for (i = 0; i < errs.n && i < CONFIG_MAXERR; i++)
			fprintf(stderr, "%s: %s\n", name, errs.msg[i]);
		fail_msg("%s: the printed config does not parse", name);
	}
	if (!config_equal(cfg, back))
		fail_msg("%s: the printed config parses to another", name);
	o2 = print(back);
	assert_string_equal(o1, o2);
	config_free(back);
	free(o1);
	free(o2);
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
		check_roundtrip(json, cfg);
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

/* Print the lines of ${want} and ${got}, marking those that differ. */
static void
print_diff(const char *want, const char *got)
{
	const char *w = want, *g = got;
	size_t wl, gl;
	int line = 1;

	while (*w != '\0' || *g != '\0') {
		wl = strcspn(w, "\n");
		gl = strcspn(g, "\n");
		if (wl == gl && strncmp(w, g, wl) == 0 && *w != '\0' &&
		    *g != '\0')
			fprintf(stderr, "  %.*s\n", (int)wl, w);
		else {
			if (*w != '\0')
				fprintf(stderr, "-%.*s\t<- line %d\n",
				    (int)wl, w, line);
			if (*g != '\0')
				fprintf(stderr, "+%.*s\n", (int)gl, g);
		}
		w += wl + (w[wl] == '\n');
		g += gl + (g[gl] == '\n');
		line++;
	}
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
			fprintf(stderr, "golden mismatch: %s\n--- %s\n+++ "
			    "got\n", json, want != NULL ? exp :
			    "(missing)");
			print_diff(want != NULL ? want : "", got);
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

/*
 * A property of --check over generated configurations: whatever mix of
 * auth settings and environment variables a configuration is loaded with,
 * what it prints parses back, under the same environment, to an equal
 * configuration (check_roundtrip).  The mixes are drawn by a fixed
 * generator, so a failure names a configuration that can be replayed.
 */
#define AUTH_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_roundtrip_generated(void **state)
{
	static const char *const methods[] = { NULL, "auto",
	    "workload_identity", "managed_identity", "app_service",
	    "client_secret", "client_certificate" };
	static const char *const keys[][2] = {
		{ "client_id", "11111111-2222-3333-4444-555555555555" },
		{ "object_id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" },
		{ "resource_id", "/subscriptions/0/resourceGroups/rg/providers/"
		    "Microsoft.ManagedIdentity/userAssignedIdentities/id" },
		{ "tenant_id", "72f988bf-86f1-41af-91ab-2d7cd011db47" },
		{ "token_file", "/var/run/secrets/azure/tokens/token" },
		{ "client_secret_file", "/etc/akvd/secret" },
		{ "certificate_file", "/etc/akvd/client.pem" },
		{ "identity_endpoint", "http://127.0.0.1:41741/msi/token" },
		{ "imds_endpoint", "http://169.254.169.254" },
		{ "authority_host", "https://login.microsoftonline.us/" },
	};
	static const char *const envs[][2] = {
		{ "AZURE_CLIENT_ID", "99999999-2222-3333-4444-555555555555" },
		{ "AZURE_TENANT_ID", "88888888-2222-3333-4444-555555555555" },
		{ "AZURE_FEDERATED_TOKEN_FILE", "/var/run/token" },
		{ "AZURE_CLIENT_SECRET", "not-printed" },
		{ "AZURE_CLIENT_CERTIFICATE_PATH", "/etc/cert.pem" },
		{ "IDENTITY_ENDPOINT", "http://127.0.0.1:8081/msi/token" },
		{ "IDENTITY_HEADER", "not-printed-either" },
		{ "AZURE_AUTHORITY_HOST", "https://login.chinacloudapi.cn/" },
		{ "AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:8080" },
	};
	struct config_errors errs;
	struct akvd_config *cfg;
	uint32_t x = 2463534242u;
	char json[2048], name[64];
	size_t i, k, len;
	int loaded = 0;

	(void)state;
	for (i = 0; i < 2000; i++) {
		clear_env();
		len = (size_t)snprintf(json, sizeof(json), "{\"output_dir\":"
		    "\"/out\",\"vault\":\"v12\",\"objects\":[{\"name\":"
		    "\"a\"}],\"auth\":{");
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		if (methods[x % AUTH_NELEM(methods)] != NULL)
			len += (size_t)snprintf(json + len, sizeof(json) - len,
			    "\"method\":\"%s\",", methods[x % AUTH_NELEM(methods)]);
		for (k = 0; k < AUTH_NELEM(keys); k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			if (x % 3 == 0)
				len += (size_t)snprintf(json + len,
				    sizeof(json) - len, "\"%s\":\"%s\",",
				    keys[k][0], keys[k][1]);
		}
		for (k = 0; k < AUTH_NELEM(envs); k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			if (x % 2 == 0)
				setenv(envs[k][0], envs[k][1], 1);
		}
		if (json[len - 1] == ',')
			len--;
		assert_true(len + 3 < sizeof(json));
		memcpy(json + len, "}}", 3);
		if ((cfg = config_parse(json, strlen(json), &errs)) == NULL)
			continue;
		snprintf(name, sizeof(name), "generated configuration %zu", i);
		check_roundtrip(name, cfg);
		config_free(cfg);
		loaded++;
	}
	clear_env();
	/* The generator reaches valid configurations of every method. */
	assert_true(loaded > 200);
}

/* Parse ${json}; NULL with the errors in ${errs} if it is invalid. */
static struct akvd_config *
parse(const char *json, struct config_errors *errs)
{

	clear_env();
	return (config_parse(json, strlen(json), errs));
}

/* ${json} is invalid, and its first error is ${first}. */
static void
assert_first_error(const char *json, const char *first)
{
	struct config_errors errs;

	assert_null(parse(json, &errs));
	assert_true(errs.n > 0);
	assert_string_equal(errs.msg[0], first);
}

#define MINIMAL	"\"output_dir\": \"/out\", \"vault\": \"v12\", " \
		"\"objects\": [ { \"name\": \"a\" } ]"

static void
test_parse_buffer(void **state)
{
	struct config_errors errs;
	struct akvd_config *c;
	char buf[256];

	(void)state;
	/* No NUL needed at the end of the buffer; the defaults. */
	snprintf(buf, sizeof(buf), "{ " MINIMAL " }garbage");
	clear_env();
	c = config_parse(buf, strlen(buf) - strlen("garbage"), &errs);
	assert_non_null(c);
	assert_string_equal(c->output_dir, "/out");
	assert_int_equal(c->interval_ms, 120000);
	assert_int_equal(c->timeout_ms, 30000);
	assert_int_equal(c->max_response, 1048576);
	assert_int_equal(c->concurrency, 8);
	assert_string_equal(c->vault, "https://v12.vault.azure.net");
	assert_string_equal(c->objects[0].alias, "a");
	assert_string_equal(c->objects[0].version, "");
	assert_int_equal(c->objects[0].mode, 0440);
	assert_false(c->objects[0].optional);
	assert_int_equal(c->auth.method, AUTH_MANAGED_IDENTITY);
	assert_string_equal(c->auth.authority_host,
	    "https://login.microsoftonline.com/");
	config_free(c);
	config_free(NULL);

	/* Text after the document, or a NUL inside it, is invalid. */
	assert_first_error("{ " MINIMAL " } x",
	    "config: invalid JSON at line 1, column 74");
	memcpy(buf, "{ " MINIMAL " }\0 ", 74);
	assert_null(config_parse(buf, 74, &errs));
	assert_string_equal(errs.msg[0],
	    "config: invalid JSON at line 1, column 73");
	assert_first_error("", "config: invalid JSON at line 1, column 1");
	assert_first_error("\n\n  \xc3\xa9\xc3\xa9 ",
	    "config: invalid JSON at line 3, column 3");
	assert_first_error("[]", "config: must be a JSON object");

	/* Without a file, relative paths cannot be resolved. */
	assert_first_error("{ \"output_dir\": \"out\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\" } ] }",
	    "output_dir: must be an absolute path");
}

static void
test_durations_in_config(void **state)
{
	struct config_errors errs;
	struct akvd_config *c;

	(void)state;
	c = parse("{ \"interval\": 90, \"timeout\": \"1500ms\", " MINIMAL
	    " }", &errs);
	assert_non_null(c);
	assert_int_equal(c->interval_ms, 90000);
	assert_int_equal(c->timeout_ms, 1500);
	config_free(c);
	c = parse("{ \"interval\": \"1s\", \"timeout\": \"10m\", " MINIMAL
	    " }", &errs);
	assert_non_null(c);
	config_free(c);
	c = parse("{ \"timeout\": \"100ms\", " MINIMAL " }", &errs);
	assert_non_null(c);
	config_free(c);

	assert_first_error("{ \"interval\": \"999ms\", " MINIMAL " }",
	    "interval: must be at least 1s");
	assert_first_error("{ \"interval\": 0, " MINIMAL " }",
	    "interval: must be at least 1s");
	assert_first_error("{ \"timeout\": \"99ms\", " MINIMAL " }",
	    "timeout: must be from 100ms to 10m");
	assert_first_error("{ \"timeout\": 601, " MINIMAL " }",
	    "timeout: must be from 100ms to 10m");
	assert_first_error("{ \"timeout\": 1.5, " MINIMAL " }",
	    "timeout: must be a non-negative whole number of seconds");
	assert_first_error("{ \"timeout\": -1, " MINIMAL " }",
	    "timeout: must be a non-negative whole number of seconds");
	assert_first_error("{ \"timeout\": 1e300, " MINIMAL " }",
	    "timeout: must be a non-negative whole number of seconds");
	assert_first_error("{ \"timeout\": \"\", " MINIMAL " }",
	    "timeout: invalid duration \"\" (use e.g. \"90s\", \"2m\", "
	    "\"1h\")");
	assert_first_error("{ \"max_response_size\": 1023, " MINIMAL " }",
	    "max_response_size: must be an integer from 1024 to 67108864");
	assert_first_error("{ \"max_response_size\": 1e300, " MINIMAL " }",
	    "max_response_size: must be an integer from 1024 to 67108864");
	assert_first_error("{ \"concurrency\": 65, " MINIMAL " }",
	    "concurrency: must be an integer from 1 to 64");
	c = parse("{ \"max_response_size\": 67108864, \"concurrency\": 64, "
	    MINIMAL " }", &errs);
	assert_non_null(c);
	assert_int_equal(c->max_response, 67108864);
	assert_int_equal(c->concurrency, 64);
	config_free(c);
}

/* More errors than CONFIG_MAXERR: the first ones in the document stay. */
static void
test_many_errors(void **state)
{
	struct config_errors errs;
	char json[4096], want[64];
	size_t i, off;

	(void)state;
	off = (size_t)snprintf(json, sizeof(json), "{ \"objects\": [");
	for (i = 0; i < 40; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off,
		    "%s{ \"name\": \"bad_%zu\", \"vault\": \"v12\" }",
		    i > 0 ? ", " : "", i);
	snprintf(json + off, sizeof(json) - off, "], \"interval\": \"x\", "
	    "\"output_dir\": \"/out\" }");
	assert_null(parse(json, &errs));
	assert_int_equal(errs.n, 41);
	for (i = 0; i < CONFIG_MAXERR; i++) {
		snprintf(want, sizeof(want), "objects[%zu].name: invalid Key "
		    "Vault name \"bad_%zu\"", i, i);
		assert_int_equal(strncmp(errs.msg[i], want, strlen(want)), 0);
	}
	assert_first_error("{ \"objects\": [ { \"name\": \"a\" } ], "
	    "\"bogus\": 1, \"output_dir\": \"/\" }",
	    "objects[0].vault: required (no top-level \"vault\")");
}

static void
test_paths(void **state)
{
	struct config_errors errs;
	struct akvd_config *c;

	(void)state;
	c = parse("{ \"output_dir\": \"//run/./x/../akvd//\", "
	    "\"tls\": { \"ca_file\": \"/etc/ssl/../ca.pem\" }, "
	    "\"vault\": \"v12\", \"objects\": [ { \"name\": \"a\" } ] }",
	    &errs);
	assert_non_null(c);
	assert_string_equal(c->output_dir, "/run/akvd");
	assert_string_equal(c->ca_file, "/etc/ca.pem");
	config_free(c);
	assert_first_error("{ \"output_dir\": \"//\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\" } ] }",
	    "output_dir: must not be \"/\"");
	assert_first_error("{ \"output_dir\": \"/x/..\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\" } ] }",
	    "output_dir: must not be \"/\"");
	assert_first_error("{ \"output_dir\": \"\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\" } ] }",
	    "output_dir: must not be empty");
}

static void
test_vault_url(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "myvault", "https://myvault.vault.azure.net" },
		{ "My-Vault-1", "https://my-vault-1.vault.azure.net" },
		{ "abc", "https://abc.vault.azure.net" },
		{ "a23456789012345678901234",
		    "https://a23456789012345678901234.vault.azure.net" },
		{ "https://X.vault.azure.net/", "https://x.vault.azure.net" },
		{ "HTTPS://X.Vault.Azure.Net", "https://x.vault.azure.net" },
		{ "https://127.0.0.1:8443", "https://127.0.0.1:8443" },
		{ "https://kv:1", "https://kv:1" },
		{ "https://kv:65535/", "https://kv:65535" },
	};
	static const char *bad[] = {
		"http://v.vault.azure.net", "https://v.vault.azure.net/x",
		"https://v.vault.azure.net//", "https://v.vault.azure.net?a=b",
		"https://v.vault.azure.net#f", "https://u@v.vault.azure.net",
		"https://u:p@v.vault.azure.net", "https://", "https:///",
		"https://v:", "https://v:0", "https://v:65536",
		"https://v:080", "https://v:123456", "https://.v",
		"https://v.", "https://a..b",
		"https://v v", "https://[::1]", "ftp://v", "://v", "",
		"ab", "1vault", "vault-", "my--vault", "my_vault", "-vault",
		"abcdefghijklmnopqrstuvwxy", "my.vault", "myvault/",
		NULL
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (config_vault_url(ok[i].in, out, sizeof(out)) != 0)
			fail_msg("\"%s\" was refused", ok[i].in);
		assert_string_equal(out, ok[i].out);
	}
	for (i = 0; bad[i] != NULL; i++)
		if (config_vault_url(bad[i], out, sizeof(out)) != -1)
			fail_msg("\"%s\" was accepted as \"%s\"", bad[i], out);
	/* Too small an output buffer is a failure, not a truncation. */
	assert_int_equal(config_vault_url("myvault", out, 31), -1);
	assert_int_equal(config_vault_url("myvault", out, 32), 0);

	/*
	 * A custom cloud's vault_suffix is a DNS name: one that would make
	 * "name.suffix" an invalid host is refused where it is written
	 * (found by fuzz_config: --check printed a URL it then refused).
	 */
	{
		static const char *badsfx[] = { "vault..example", ".vault.example",
		    "vault.example.", "vault_x.example", "vault example",
		    "v\xc3\xa9.example", "ab", NULL };
		struct config_errors errs;
		char json[512];
		size_t j;

		for (i = 0; badsfx[i] != NULL; i++) {
			snprintf(json, sizeof(json), "{ \"output_dir\": \"/out\", "
			    "\"vault\": \"myvault\", \"cloud\": { "
			    "\"authority_host\": \"https://login.example/\", "
			    "\"vault_suffix\": \"%s\", \"vault_scope\": "
			    "\"https://vault.example/.default\" }, "
			    "\"objects\": [ { \"name\": \"a\" } ] }", badsfx[i]);
			assert_null(parse(json, &errs));
			for (j = 0; j < errs.n && j < CONFIG_MAXERR; j++)
				if (strcmp(errs.msg[j], "cloud.vault_suffix: "
				    "must be a DNS suffix such as "
				    "\"vault.azure.net\"") == 0)
					break;
			if (j == errs.n || j == CONFIG_MAXERR)
				fail_msg("suffix \"%s\": %s", badsfx[i],
				    errs.msg[0]);
		}
	}
}

static void
test_alias_valid(void **state)
{
	static const char *ok[] = { "password", "db/password",
	    "tls/.hidden", "a.b..c", "a..", ".x", "x.", "caf\xc3\xa9",
	    "with space", "a/b/c/d", NULL };
	static const char *bad[] = { "", "/etc/passwd", "..", "../x",
	    "a/../../x", ".", "./a", "a/.", "a//b", "a/", "/", "..data",
	    "a/..data", "...", "a\\b", "a\nb", "a\tb", "\x7f", NULL };
	char big[4200];
	size_t i;

	(void)state;
	for (i = 0; ok[i] != NULL; i++)
		if (!config_alias_valid(ok[i]))
			fail_msg("\"%s\" was refused", ok[i]);
	for (i = 0; bad[i] != NULL; i++)
		if (config_alias_valid(bad[i]))
			fail_msg("\"%s\" was accepted", bad[i]);
	assert_false(config_alias_valid(NULL));

	memset(big, 'a', 256);
	big[256] = '\0';
	assert_false(config_alias_valid(big));	/* a 256-byte component */
	big[255] = '\0';
	assert_true(config_alias_valid(big));

	/* 4095 bytes in all at most: 16 components of 255, 15 slashes. */
	for (i = 0; i < 16 * 256; i++)
		big[i] = i % 256 == 255 ? '/' : 'a';
	big[16 * 256 - 1] = '\0';		/* 4095 bytes */
	assert_true(config_alias_valid(big));
	big[16 * 256 - 1] = 'b';
	big[16 * 256] = '\0';			/* 4096 bytes */
	assert_false(config_alias_valid(big));
}

static void
test_alias_errors(void **state)
{

	(void)state;
	assert_first_error("{ \"output_dir\": \"/out\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\", \"alias\": \"a\\\\b\" } ] }",
	    "objects[0].alias: must not contain control characters or "
	    "backslashes");
	assert_first_error("{ \"output_dir\": \"/out\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\", \"alias\": \"x/..data\" } ] }",
	    "objects[0].alias: must be a relative file name without \"..\"");
	/* A name that is a prefix is not a directory prefix. */
	assert_first_error("{ \"output_dir\": \"/out\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\", \"alias\": \"db/pass\" }, "
	    "{ \"name\": \"b\", \"alias\": \"db/passwd\" }, "
	    "{ \"name\": \"c\", \"alias\": \"db/pass/x\" } ] }",
	    "objects[2].alias: \"db/pass/x\" conflicts with \"db/pass\" of "
	    "objects[0]");
	/* The default alias (the name) takes part. */
	assert_first_error("{ \"output_dir\": \"/out\", \"vault\": \"v12\", "
	    "\"objects\": [ { \"name\": \"a\", \"alias\": \"b\" }, "
	    "{ \"name\": \"b\" } ] }",
	    "objects[1].alias: \"b\" is already used by objects[0]");
}

static void
test_same_source(void **state)
{
	struct akvd_object a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.name = "n";
	a.alias = "x";
	a.version = "";
	a.vault = "https://v";
	a.mode = 0440;
	a.uid = a.gid = CONFIG_OWNER_KEEP;
	b = a;
	b.alias = "y";
	b.mode = 0400;
	b.optional = 1;
	assert_true(config_object_same_source(&a, &b));
	b.version = "abc";
	assert_false(config_object_same_source(&a, &b));
	b = a;
	b.vault = "https://w";
	assert_false(config_object_same_source(&a, &b));
	b = a;
	b.name = "m";
	assert_false(config_object_same_source(&a, &b));
	/* Rendering differently is another source; owners are not. */
	b = a;
	b.uid = 1000;
	assert_true(config_object_same_source(&a, &b));
	b.encoding = ENC_BASE64;
	assert_false(config_object_same_source(&a, &b));
	b = a;
	b.split = 1;
	assert_false(config_object_same_source(&a, &b));
	b = a;
	b.history = 3;
	assert_false(config_object_same_source(&a, &b));
	b = a;
	b.type = OBJ_CERT;
	assert_false(config_object_same_source(&a, &b));
}

/* A blob is its url: alias, mode and max_size changes keep its state. */
static void
test_same_source_blob(void **state)
{
	struct akvd_object a = { .name = "x", .type = OBJ_BLOB, .alias = "x",
	    .url = "https://a.blob.core.windows.net/c1c/x", .mode = 0440,
	    .max_size = 1024 };
	struct akvd_object b = a, s = { .name = "x", .type = OBJ_SECRET,
	    .alias = "x", .version = "", .vault = "https://v", .mode = 0440 };

	(void)state;
	b.alias = b.name = "y";
	b.max_size = 2048;
	b.mode = 0400;
	assert_true(config_object_same_source(&a, &b));
	b.url = "https://a.blob.core.windows.net/c1c/y";
	assert_false(config_object_same_source(&a, &b));
	assert_false(config_object_same_source(&a, &s));
	assert_false(config_object_same_source(&s, &a));
}

static void
test_load_errors(void **state)
{
	struct config_errors errs;
	struct akvd_config *c;
	char dir[] = "/tmp/akvd-test-XXXXXX", path[PATH_MAX], *big;
	int fds[2];
	FILE *f;

	(void)state;
	assert_null(config_load("/nonexistent/akvd.json", &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0],
	    "/nonexistent/akvd.json: No such file or directory");

	assert_non_null(mkdtemp(dir));
	assert_null(config_load(dir, &errs));
	assert_int_equal(errs.n, 1);
	snprintf(path, sizeof(path), "%s: Is a directory", dir);
	assert_string_equal(errs.msg[0], path);

	/* Over 1 MiB. */
	snprintf(path, sizeof(path), "%s/big.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	big = malloc(1024 * 1024 + 2);
	assert_non_null(big);
	memset(big, ' ', 1024 * 1024 + 1);
	big[0] = '{';
	big[1024 * 1024] = '}';
	assert_int_equal(fwrite(big, 1, 1024 * 1024 + 1, f), 1024 * 1024 + 1);
	fclose(f);
	free(big);
	assert_null(config_load(path, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], ": larger than 1048576 bytes"));
	unlink(path);
	rmdir(dir);

	/* A pipe has no size but is read to its end. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "{ " MINIMAL " }", strlen("{ " MINIMAL
	    " }")), (ssize_t)strlen("{ " MINIMAL " }"));
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	clear_env();
	c = config_load(path, &errs);
	assert_non_null(c);
	assert_string_equal(c->output_dir, "/out");
	config_free(c);
	close(fds[0]);
}

static void
test_print_errors(void **state)
{
	struct config_errors errs;
	struct akvd_config *c;
	FILE *f;

	(void)state;
	c = parse("{ " MINIMAL " }", &errs);
	assert_non_null(c);
	if ((f = fopen("/dev/full", "w")) != NULL) {
		setvbuf(f, NULL, _IONBF, 0);
		assert_int_equal(config_print(f, c), -1);
		fclose(f);
	}
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_roundtrip_generated),
		cmocka_unit_test(test_parse_buffer),
		cmocka_unit_test(test_durations_in_config),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_vault_url),
		cmocka_unit_test(test_alias_valid),
		cmocka_unit_test(test_alias_errors),
		cmocka_unit_test(test_same_source),
		cmocka_unit_test(test_same_source_blob),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_print_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
