/*
 * config.c - the configuration file, parsed once into typed structures.
 *
 * The parser walks the JSON document once, collecting every error with its
 * JSON path ("objects[2].alias: ...").  This file reads the file and walks
 * the top level; each section has its own file (config_int.h lists them).
 * Nothing downstream validates again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

#define MAX_CONFIG_SIZE		(1024 * 1024)
#define MIN_INTERVAL_MS		1000
#define MIN_TIMEOUT_MS		100
#define MAX_TIMEOUT_MS		(10 * 60 * 1000)
#define MIN_ONCE_TIMEOUT_MS	1000
#define MAX_ONCE_TIMEOUT_MS	(24 * 60 * 60 * 1000)
#define MIN_RESPONSE		1024
#define MAX_RESPONSE		(64 * 1024 * 1024)
#define MAX_CONCURRENCY		64
#define MAX_OBJECTS		4096

static struct akvd_config *
parse(const char *json, size_t len, const char *name,
    const char *base, struct config_errors *errs)
{
	static const char *const keys[] = { "output_dir", "interval",
	    "timeout", "max_response_size", "concurrency", "cloud", "vault",
	    "auth", "tls", "objects", "select", "bundles", "notify",
	    "debounce", "on_change", "stop_signal", "stop_grace", "env",
	    "listen", "ready_max_failed_intervals", "once_timeout", "templates", NULL };
	struct parser p;
	struct akvd_config *c = NULL;
	const cJSON *objs, *o, *bl;
	cJSON *root;
	size_t nobj, nmem;
	const char *s, *end = NULL, *authority;
	char *text, url[URL_MAX];
	long n;
	size_t i, line = 1, col = 1;

	memset(&p, 0, sizeof(p));
	p.errs = errs;
	p.base = base;
	memset(errs, 0, sizeof(*errs));

	/* cJSON must see the end: a NUL there, and no NUL before it. */
	if ((text = malloc(len + 1)) == NULL) {
		perr(&p, name, "out of memory");
		return (NULL);
	}
	memcpy(text, json, len);
	text[len] = '\0';
	root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (root != NULL && strlen(text) != len) {
		cJSON_Delete(root);
		root = NULL;
		end = text + strlen(text);
	}
	if (root == NULL) {
		if (end == NULL)
			end = text;
		for (s = text; s < end; s++) {
			if (*s == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)*s & 0xc0) != 0x80)
				col++;	/* characters, not UTF-8 bytes */
		}
		perr(&p, name, "invalid JSON at line %zu, column %zu", line,
		    col);
		free(text);
		return (NULL);
	}
	free(text);
	p.root = root;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		perr(&p, name, "out of memory");
		goto out;
	}
	c->interval_ms = CONFIG_DEFAULT_INTERVAL_MS;
	c->timeout_ms = CONFIG_DEFAULT_TIMEOUT_MS;
	c->max_response = CONFIG_DEFAULT_MAX_RESPONSE;
	c->concurrency = CONFIG_DEFAULT_CONCURRENCY;
	if (!cJSON_IsObject(root)) {
		perr(&p, name, "must be a JSON object");
		goto out;
	}
	check_keys(&p, "", root, keys);

	if (get_string(&p, "", root, "output_dir", &s) == 0)
		perr(&p, "output_dir", "required");
	else if (s != NULL && (c->output_dir = resolve_path(&p, "output_dir",
	    s)) != NULL && strcmp(c->output_dir, "/") == 0)
		perr(&p, "output_dir", "must not be \"/\"");

	if (get_duration(&p, "interval", root, &c->interval_ms) == 1 &&
	    c->interval_ms < MIN_INTERVAL_MS)
		perr(&p, "interval", "must be at least 1s");
	if (get_duration(&p, "timeout", root, &c->timeout_ms) == 1 &&
	    (c->timeout_ms < MIN_TIMEOUT_MS || c->timeout_ms > MAX_TIMEOUT_MS))
		perr(&p, "timeout", "must be from 100ms to 10m");
	if (get_int(&p, "max_response_size", root, MIN_RESPONSE, MAX_RESPONSE,
	    &n) == 1)
		c->max_response = (size_t)n;
	if (get_int(&p, "concurrency", root, 1, MAX_CONCURRENCY, &n) == 1)
		c->concurrency = (unsigned)n;
	c->once_timeout_ms = CONFIG_DEFAULT_ONCE_TIMEOUT_MS;
	if (get_duration(&p, "once_timeout", root, &c->once_timeout_ms) == 1 &&
	    (c->once_timeout_ms < MIN_ONCE_TIMEOUT_MS ||
	    c->once_timeout_ms > MAX_ONCE_TIMEOUT_MS))
		perr(&p, "once_timeout", "must be from 1s to 24h");

	authority = parse_cloud(&p, root, c);
	switch (get_string(&p, "", root, "vault", &s)) {
	case 1:
		if (vault_url(s, c->vault_suffix, url, sizeof(url)) == -1) {
			vault_err(&p, "vault", s);
			p.vault_bad = 1;
		} else
			c->vault = pdup(&p, "vault", url);
		break;
	case -1:
		p.vault_bad = 1;	/* no "required" for each object */
		break;
	}
	parse_auth(&p, root, c, authority);
	parse_tls(&p, root, c);
	parse_notify(&p, root, c);
	parse_listen(&p, root, c);

	parse_select(&p, root, c);
	objs = cJSON_GetObjectItemCaseSensitive(root, "objects");
	bl = cJSON_GetObjectItemCaseSensitive(root, "bundles");
	nobj = cJSON_IsArray(objs) ? (size_t)cJSON_GetArraySize(objs) : 0;
	nmem = count_members(bl);
	if (objs == NULL && c->nselects == 0 && bl == NULL)
		perr(&p, "objects", "required (or \"select\", \"bundles\")");
	else if (objs != NULL && !cJSON_IsArray(objs))
		perr(&p, "objects", "must be an array");
	else if (nobj == 0 && nmem == 0 && c->nselects == 0)
		perr(&p, "objects", "must list at least one object (or "
		    "\"select\" or \"bundles\" must name some)");
	else if (nobj + nmem > MAX_OBJECTS)
		perr(&p, "objects", "must list at most %d objects, bundles' "
		    "included", MAX_OBJECTS);
	else if ((c->objects = calloc(nobj + nmem + 1,
	    sizeof(*c->objects))) == NULL)
		perr(&p, "objects", "out of memory");
	else {
		i = 0;
		cJSON_ArrayForEach(o, objs) {
			char opath[64];

			snprintf(opath, sizeof(opath), "objects[%zu]", i);
			parse_object(&p, o, opath, 0, c, &c->objects[i]);
			i++;
		}
		c->nobjects = nobj;
		parse_bundles(&p, bl, c);
		check_aliases(&p, c);
		check_bundle_paths(&p, c);
		parse_templates(&p, cJSON_GetObjectItemCaseSensitive(root,
		    "templates"), c);
	}
	parse_supervise(&p, root, c);
out:
	cJSON_Delete(root);
	if (errs->n > 0) {
		config_free(c);
		return (NULL);
	}
	return (c);
}

/* ---------------------------------------------------------------------- */
/* Public interface                                                       */

/*
 * config_parse(json, len, errs): as config_load, from a buffer.
 */
struct akvd_config *
config_parse(const char *json, size_t len, struct config_errors *errs)
{

	return (parse(json, len, "config", NULL, errs));
}

/*
 * config_load(path, errs): read and parse the file at ${path}.  Returns a
 * new configuration owned by the caller (release with config_free), or NULL
 * with at least one message in ${errs}.  A file that cannot be read is
 * reported as "PATH: strerror".
 */
struct akvd_config *
config_load(const char *path, struct config_errors *errs)
{
	struct parser p;
	struct akvd_config *c = NULL;
	struct buf b = BUF_INIT;
	char *base = NULL, *slash, cwd[PATH_MAX];
	int fd;

	memset(&p, 0, sizeof(p));
	p.errs = errs;
	memset(errs, 0, sizeof(*errs));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perr(&p, path, "%s", strerror(errno));
		return (NULL);
	}

	/* Read to the end: a pipe, or a file being replaced, has no size. */
	if (buf_read_fd(&b, fd, MAX_CONFIG_SIZE) == -1) {
		if (errno == EFBIG)
			perr(&p, path, "larger than %d bytes",
			    MAX_CONFIG_SIZE);
		else
			perr(&p, path, "%s", strerror(errno));
		goto out;
	}

	/* Relative paths inside are relative to the file's directory. */
	if ((slash = strrchr(path, '/')) != NULL) {
		if (path[0] == '/')
			base = strndup(path, (size_t)(slash - path));
		else if (getcwd(cwd, sizeof(cwd)) != NULL &&
		    asprintf(&base, "%s/%.*s", cwd, (int)(slash - path),
		    path) == -1)
			base = NULL;
		if (base != NULL && base[0] == '\0') {
			free(base);
			base = strdup("/");
		}
	} else if (getcwd(cwd, sizeof(cwd)) != NULL)
		base = strdup(cwd);
	if (base == NULL) {
		perr(&p, path, "cannot resolve its directory");
		goto out;
	}
	c = parse(b.data, b.len, path, base, errs);
out:
	free(base);
	buf_wipe(&b);
	close(fd);
	return (c);
}

/* config_free(cfg): release ${cfg}; NULL is a no-op. */
void
config_free(struct akvd_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nobjects; i++) {
		free(c->objects[i].name);
		free(c->objects[i].alias);
		free(c->objects[i].version);
		free(c->objects[i].vault);
		free(c->objects[i].url);
	}
	free(c->objects);
	for (i = 0; i < c->nselects; i++) {
		struct akvd_select *sel = &c->selects[i];
		size_t j;

		free(sel->vault);
		free(sel->prefix);
		free(sel->dir);
		for (j = 0; sel->tags != NULL && j < 2 * sel->ntags; j++)
			free(sel->tags[j]);
		free(sel->tags);
	}
	free(c->selects);
	for (i = 0; i < c->nbundles; i++)
		free(c->bundles[i].path);
	free(c->bundles);
	config_templates_free(c);
	for (i = 0; i < c->nnotify; i++) {
		struct akvd_notify *n = &c->notify[i];
		char **a;

		free(n->signame);
		free(n->pid_file);
		free(n->process);
		for (a = n->argv; a != NULL && *a != NULL; a++)
			free(*a);
		free(n->argv);
		free(n->url);
		free(n->method);
	}
	free(c->notify);
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].var);
		free(c->env[i].object);
	}
	free(c->env);
	free(c->listen);
	free(c->output_dir);
	free(c->vault);
	free(c->auth.tenant_id);
	free(c->auth.client_id);
	free(c->auth.token_file);
	free(c->auth.authority_host);
	free(c->auth.client_secret_file);
	free(c->auth.certificate_file);
	free(c->auth.object_id);
	free(c->auth.resource_id);
	free(c->auth.imds_endpoint);
	free(c->auth.identity_endpoint);
	free(c->cloud);
	free(c->vault_suffix);
	free(c->vault_scope);
	free(c->storage_scope);
	free(c->ca_file);
	free(c);
}
