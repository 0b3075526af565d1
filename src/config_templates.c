/*
 * config_templates.c - "templates": files rendered from the objects akvd
 * holds (template.h), each read (inline "contents" or a "source" file),
 * compiled and its names resolved once per load, never per rendering.
 *
 * A name in a template is the alias of a top-level object ("objects[]",
 * defaulting to its name); an object with "file": false is fetched and
 * held for templates without a file of its own.
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
#include "template.h"
#include "util.h"

/*
 * Read the file at ${file} into ${t} (text, len).  Returns 0, or -1 with
 * the error recorded at ${sub}.
 */
static int
read_source(struct parser *p, const char *sub, const char *file,
    struct akvd_template *t)
{
	struct buf b = BUF_INIT;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		perr(p, sub, "%s: %s", file, strerror(errno));
		return (-1);
	}
	if (buf_read_fd(&b, fd, CONFIG_MAX_TEMPLATE_SIZE) == -1) {
		if (errno == EFBIG)
			perr(p, sub, "%s: larger than %d bytes", file,
			    CONFIG_MAX_TEMPLATE_SIZE);
		else
			perr(p, sub, "%s: %s", file, strerror(errno));
		close(fd);
		buf_wipe(&b);
		return (-1);
	}
	close(fd);
	t->len = b.len;
	if ((t->text = malloc(b.len + 1)) == NULL) {
		buf_wipe(&b);
		perr(p, sub, "out of memory");
		return (-1);
	}
	memcpy(t->text, b.data, b.len);
	t->text[b.len] = '\0';
	buf_wipe(&b);
	return (0);
}

/* The index of the top-level object whose alias is ${name}, or -1. */
static long
find_alias(const struct akvd_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nobjects; i++)
		if (c->objects[i].bundle == 0 && c->objects[i].alias != NULL &&
		    strcmp(c->objects[i].alias, name) == 0)
			return ((long)i);
	return (-1);
}

/*
 * "objects" given (as --check prints it): it must list exactly the
 * objects the template uses.
 */
static void
check_listed(struct parser *p, const char *path, const cJSON *e,
    const struct akvd_config *c, const struct akvd_template *t)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "objects"), *v;
	char sub[96], sv[SHOW_LEN];
	size_t i;

	if (l == NULL)
		return;
	snprintf(sub, sizeof(sub), "%s.objects", path);
	if (!cJSON_IsArray(l)) {
		perr(p, sub, "must be an array of the aliases the template "
		    "uses");
		return;
	}
	cJSON_ArrayForEach(v, l) {
		if (!cJSON_IsString(v)) {
			perr(p, sub, "must be an array of strings");
			return;
		}
		for (i = 0; i < t->nobjs; i++)
			if (strcmp(c->objects[t->objs[i]].alias,
			    v->valuestring) == 0)
				break;
		if (i == t->nobjs) {
			perr(p, sub, "\"%s\" is not used by the template",
			    show(sv, v->valuestring));
			return;
		}
	}
	if ((size_t)cJSON_GetArraySize(l) != t->nobjs)
		perr(p, sub, "must list each object the template uses once "
		    "(%zu)", t->nobjs);
}

static void
parse_template(struct parser *p, const cJSON *e, size_t ti,
    struct akvd_config *c, struct akvd_template *t)
{
	static const char *const keys[] = { "path", "mode", "uid", "gid",
	    "contents", "source", "objects", NULL };
	const struct template_ref *refs;
	const cJSON *cv, *sv;
	const char *s, *why;
	char path[64], sub[96], at[128], err[512], show_buf[SHOW_LEN];
	char show_alias[SHOW_LEN], hint[256];
	size_t i, j, n;
	long k;
	int r;

	snprintf(path, sizeof(path), "templates[%zu]", ti);
	t->mode = CONFIG_DEFAULT_MODE;
	t->uid = t->gid = CONFIG_OWNER_KEEP;
	if (!cJSON_IsObject(e)) {
		perr(p, path, "must be an object");
		return;
	}
	check_keys(p, path, e, keys);
	snprintf(sub, sizeof(sub), "%s.path", path);
	r = get_string(p, path, e, "path", &s);
	if (r == 0)
		perr(p, sub, "required");
	else if (r == 1 && (why = alias_problem(s)) != NULL)
		perr(p, sub, "%s", why);
	else if (r == 1)
		t->path = pdup(p, sub, s);
	get_mode(p, path, e, &t->mode);
	get_owner(p, path, e, "uid", &t->uid);
	get_owner(p, path, e, "gid", &t->gid);

	cv = cJSON_GetObjectItemCaseSensitive(e, "contents");
	sv = cJSON_GetObjectItemCaseSensitive(e, "source");
	if ((cv == NULL) == (sv == NULL)) {
		perr(p, path, "needs exactly one of \"contents\" and "
		    "\"source\"");
		return;
	}
	if (cv != NULL) {
		snprintf(sub, sizeof(sub), "%s.contents", path);
		if (get_string(p, path, e, "contents", &s) != 1)
			return;
		if (strlen(s) > CONFIG_MAX_TEMPLATE_SIZE) {
			perr(p, sub, "larger than %d bytes",
			    CONFIG_MAX_TEMPLATE_SIZE);
			return;
		}
		if ((t->contents = pdup(p, sub, s)) == NULL ||
		    (t->text = pdup(p, sub, s)) == NULL)
			return;
		t->len = strlen(s);
	} else {
		snprintf(sub, sizeof(sub), "%s.source", path);
		if (get_string(p, path, e, "source", &s) != 1 ||
		    (t->source = resolve_path(p, sub, s)) == NULL ||
		    read_source(p, sub, t->source, t) == -1)
			return;
	}

	/* Errors point into the template: "where:LINE:COL: message". */
	if ((t->t = template_parse(t->text, t->len, err,
	    sizeof(err))) == NULL) {
		if (t->source != NULL)
			perr(p, sub, "%s:%s", t->source, err);
		else {
			/* "LINE:COL: message" after the JSON path. */
			size_t pre = strcspn(err, " ");

			snprintf(at, sizeof(at), "%s:%.*s", sub,
			    pre > 0 ? (int)pre - 1 : 0, err);
			perr(p, at, "%s", err[pre] != '\0' ? err + pre + 1 :
			    err);
		}
		return;
	}
	refs = template_refs(t->t, &n);
	if ((t->objs = calloc(n + 1, sizeof(*t->objs))) == NULL) {
		perr(p, sub, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		if ((k = find_alias(c, refs[i].name)) != -1) {
			t->objs[t->nobjs++] = (size_t)k;
			continue;
		}
		/* The first mistake: naming an object by its Key Vault name. */
		for (j = 0; j < c->nobjects; j++)
			if (c->objects[j].name != NULL &&
			    c->objects[j].alias != NULL &&
			    strcmp(c->objects[j].name, refs[i].name) == 0 &&
			    strcmp(c->objects[j].alias, refs[i].name) != 0 &&
			    find_alias(c, c->objects[j].alias) == (long)j)
				break;
		if (j < c->nobjects)
			snprintf(hint, sizeof(hint), "objects[%zu] reads it, "
			    "under the alias \"%s\": templates name objects "
			    "by alias", j, show(show_alias, c->objects[j].alias));
		else
			snprintf(hint, sizeof(hint), "no alias in \"objects\"");
		snprintf(err, sizeof(err), "%u:%u: unknown object \"%s\" (%s)",
		    refs[i].line, refs[i].col, show(show_buf, refs[i].name),
		    hint);
		if (t->source != NULL)
			perr(p, sub, "%s:%s", t->source, err);
		else {
			snprintf(at, sizeof(at), "%s:%u:%u", sub, refs[i].line,
			    refs[i].col);
			perr(p, at, "unknown object \"%s\" (%s)",
			    show(show_buf, refs[i].name), hint);
		}
	}
	check_listed(p, path, e, c, t);
}

/* A template's path clashes with no file, bundle or other template. */
static void
check_template_paths(struct parser *p, const struct akvd_config *c)
{
	char path[64];
	size_t i;

	for (i = 0; i < c->ntemplates; i++) {
		if (c->templates[i].path == NULL)
			continue;
		snprintf(path, sizeof(path), "templates[%zu].path", i);
		(void)check_path_clash(p, c, path, c->templates[i].path,
		    c->nbundles, i);
	}
}

void
parse_templates(struct parser *p, const cJSON *tl, struct akvd_config *c)
{
	const cJSON *e;
	size_t i = 0;

	if ((c->templates = list_new(p, tl, "templates",
	    CONFIG_MAX_TEMPLATES, "templates", sizeof(*c->templates),
	    &c->ntemplates)) == NULL)
		return;
	cJSON_ArrayForEach(e, tl) {
		parse_template(p, e, i, c, &c->templates[i]);
		i++;
	}
	check_template_paths(p, c);
}

/* config_templates_free(c): release c->templates. */
void
config_templates_free(struct akvd_config *c)
{
	size_t i;

	for (i = 0; i < c->ntemplates; i++) {
		struct akvd_template *t = &c->templates[i];

		free(t->path);
		free(t->contents);
		free(t->source);
		free(t->text);
		template_free(t->t);
		free(t->objs);
	}
	free(c->templates);
	c->templates = NULL;
	c->ntemplates = 0;
}
