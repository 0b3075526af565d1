/*
 * config_print.c - the normalized configuration that --check prints,
 * every default filled in; it parses back to an equal configuration.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"
#include "duration.h"

/*
 * Write ${item} to ${f} as JSON indented by two spaces per level, its
 * closing line at ${depth}.  Returns 0, or -1 on a write error.
 */
static int
print_json(FILE *f, const cJSON *item, int depth)
{
	const cJSON *c;
	char *s;
	int obj, rc;

	obj = cJSON_IsObject(item);
	if (!obj && !cJSON_IsArray(item)) {
		/* A scalar: cJSON writes it, escaping strings. */
		if ((s = cJSON_PrintUnformatted(item)) == NULL)
			return (-1);
		rc = fputs(s, f) == EOF ? -1 : 0;
		cJSON_free(s);
		return (rc);
	}
	if (item->child == NULL)
		return (fputs(obj ? "{}" : "[]", f) == EOF ? -1 : 0);
	if (fputs(obj ? "{\n" : "[\n", f) == EOF)
		return (-1);
	cJSON_ArrayForEach(c, item) {
		/* Keys are akvd's own: plain ASCII, nothing to escape. */
		if (fprintf(f, "%*s", 2 * (depth + 1), "") < 0 ||
		    (obj && fprintf(f, "\"%s\": ", c->string) < 0) ||
		    print_json(f, c, depth + 1) == -1 ||
		    fputs(c->next != NULL ? ",\n" : "\n", f) == EOF)
			return (-1);
	}
	return (fprintf(f, "%*s%c", 2 * depth, "", obj ? '}' : ']') < 0 ?
	    -1 : 0);
}

/* "mode" as four octal digits, then "uid" and "gid" when set. */
static void
print_owner(cJSON *o, mode_t mode, long uid, long gid)
{
	char m[16];

	snprintf(m, sizeof(m), "%04o", (unsigned)mode);
	cJSON_AddStringToObject(o, "mode", m);
	if (uid != CONFIG_OWNER_KEEP)
		cJSON_AddNumberToObject(o, "uid", (double)uid);
	if (gid != CONFIG_OWNER_KEEP)
		cJSON_AddNumberToObject(o, "gid", (double)gid);
}

/* The normalized form of a blob object. */
static void
print_blob(cJSON *o, const struct akvd_object *ob)
{

	cJSON_AddStringToObject(o, "type", "blob");
	cJSON_AddStringToObject(o, "url", ob->url);
	cJSON_AddStringToObject(o, "alias", ob->alias);
	print_owner(o, ob->mode, ob->uid, ob->gid);
	cJSON_AddBoolToObject(o, "optional", ob->optional);
	cJSON_AddNumberToObject(o, "max_size", (double)ob->max_size);
}

static void
add_opt(cJSON *o, const char *key, const char *v)
{

	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
}

/* One object as --check prints it; a bundle member has fewer keys. */
static cJSON *
print_object(const struct akvd_object *ob)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	if (ob->type == OBJ_BLOB) {
		print_blob(o, ob);
		return (o);
	}
	cJSON_AddStringToObject(o, "name", ob->name);
	cJSON_AddStringToObject(o, "type", config_type_name(ob->type));
	cJSON_AddStringToObject(o, "alias", ob->alias);
	cJSON_AddStringToObject(o, "version", ob->version);
	cJSON_AddStringToObject(o, "vault", ob->vault);
	if (ob->bundle == 0)
		print_owner(o, ob->mode, ob->uid, ob->gid);
	cJSON_AddBoolToObject(o, "optional", ob->optional);
	if (ob->type == OBJ_SECRET) {
		cJSON_AddStringToObject(o, "encoding",
		    encoding_names[ob->encoding]);
		if (ob->bundle == 0) {
			cJSON_AddStringToObject(o, "format",
			    format_names[ob->format]);
			cJSON_AddBoolToObject(o, "split", ob->split);
		}
	}
	if (ob->history > 0)
		cJSON_AddNumberToObject(o, "history", ob->history);
	if (ob->nofile)
		cJSON_AddBoolToObject(o, "file", 0);
	return (o);
}

/*
 * config_print(f, cfg): write ${cfg} to ${f} as normalized, indented JSON
 * with every default filled in (the output of --check).  It parses back to
 * an equal configuration.  Returns 0, or -1 on a write error.
 */
int
config_print(FILE *f, const struct akvd_config *c)
{
	cJSON *root, *auth, *tls, *objs, *o, *cloud;
	char d[64];
	size_t i;
	int rc = -1;

	if ((root = cJSON_CreateObject()) == NULL)
		return (-1);
	cJSON_AddStringToObject(root, "output_dir", c->output_dir);
	duration_format(c->interval_ms, d, sizeof(d));
	cJSON_AddStringToObject(root, "interval", d);
	duration_format(c->timeout_ms, d, sizeof(d));
	cJSON_AddStringToObject(root, "timeout", d);
	cJSON_AddNumberToObject(root, "max_response_size",
	    (double)c->max_response);
	cJSON_AddNumberToObject(root, "concurrency", c->concurrency);
	if (c->vault != NULL)
		cJSON_AddStringToObject(root, "vault", c->vault);
	if (c->cloud != NULL && strcmp(c->cloud, "custom") == 0) {
		cloud = cJSON_AddObjectToObject(root, "cloud");
		cJSON_AddStringToObject(cloud, "authority_host",
		    c->auth.authority_host);
		cJSON_AddStringToObject(cloud, "vault_suffix",
		    c->vault_suffix);
		cJSON_AddStringToObject(cloud, "vault_scope", c->vault_scope);
		cJSON_AddStringToObject(cloud, "storage_scope",
		    c->storage_scope);
	} else
		cJSON_AddStringToObject(root, "cloud", c->cloud);
	auth = cJSON_AddObjectToObject(root, "auth");
	cJSON_AddStringToObject(auth, "method",
	    config_auth_method_name(c->auth.method));
	add_opt(auth, "tenant_id", c->auth.tenant_id);
	add_opt(auth, "client_id", c->auth.client_id);
	add_opt(auth, "token_file", c->auth.token_file);
	add_opt(auth, "client_secret_file", c->auth.client_secret_file);
	add_opt(auth, "certificate_file", c->auth.certificate_file);
	add_opt(auth, "object_id", c->auth.object_id);
	add_opt(auth, "resource_id", c->auth.resource_id);
	add_opt(auth, "imds_endpoint", c->auth.imds_endpoint);
	add_opt(auth, "identity_endpoint", c->auth.identity_endpoint);
	cJSON_AddStringToObject(auth, "authority_host",
	    c->auth.authority_host);
	if (c->ca_file != NULL) {
		tls = cJSON_AddObjectToObject(root, "tls");
		cJSON_AddStringToObject(tls, "ca_file", c->ca_file);
	}
	objs = cJSON_AddArrayToObject(root, "objects");
	for (i = 0; i < c->nobjects; i++) {
		const struct akvd_object *ob = &c->objects[i];

		if (ob->bundle != 0)
			continue;
		if ((o = print_object(ob)) == NULL)
			goto out;
		cJSON_AddItemToArray(objs, o);
	}
	if (c->nbundles > 0) {
		cJSON *bl = cJSON_AddArrayToObject(root, "bundles"), *be, *bo;
		size_t j;

		for (i = 0; i < c->nbundles; i++) {
			const struct akvd_bundle *b = &c->bundles[i];

			if ((be = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(bl, be);
			cJSON_AddStringToObject(be, "path", b->path);
			cJSON_AddStringToObject(be, "format",
			    bundle_formats[b->format]);
			print_owner(be, b->mode, b->uid, b->gid);
			bo = cJSON_AddArrayToObject(be, "objects");
			for (j = 0; j < b->n; j++) {
				if ((o = print_object(&c->objects[b->first +
				    j])) == NULL)
					goto out;
				cJSON_AddItemToArray(bo, o);
			}
		}
	}
	if (c->ntemplates > 0) {
		cJSON *tl = cJSON_AddArrayToObject(root, "templates"), *te, *to;
		size_t j;

		for (i = 0; i < c->ntemplates; i++) {
			const struct akvd_template *t = &c->templates[i];

			if ((te = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(tl, te);
			cJSON_AddStringToObject(te, "path", t->path);
			print_owner(te, t->mode, t->uid, t->gid);
			if (t->source != NULL)
				cJSON_AddStringToObject(te, "source",
				    t->source);
			else
				cJSON_AddStringToObject(te, "contents",
				    t->contents);
			/* The objects it uses, by alias, first use first. */
			to = cJSON_AddArrayToObject(te, "objects");
			for (j = 0; j < t->nobjs; j++)
				cJSON_AddItemToArray(to, cJSON_CreateString(
				    c->objects[t->objs[j]].alias));
		}
	}
	if (c->nselects > 0) {
		cJSON *sl = cJSON_AddArrayToObject(root, "select"), *se, *tg;

		for (i = 0; i < c->nselects; i++) {
			const struct akvd_select *sel = &c->selects[i];
			size_t j;

			if ((se = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(sl, se);
			cJSON_AddStringToObject(se, "vault", sel->vault);
			cJSON_AddStringToObject(se, "prefix", sel->prefix);
			tg = cJSON_AddObjectToObject(se, "tags");
			for (j = 0; j < sel->ntags; j++)
				cJSON_AddStringToObject(tg, sel->tags[2 * j],
				    sel->tags[2 * j + 1]);
			cJSON_AddBoolToObject(se, "strip_prefix",
			    sel->strip_prefix);
			cJSON_AddStringToObject(se, "dir", sel->dir);
			print_owner(se, sel->mode, sel->uid, sel->gid);
		}
	}
	if (c->nnotify > 0) {
		cJSON *nl = cJSON_AddArrayToObject(root, "notify"), *ne;
		char **a;

		duration_format(c->debounce_ms, d, sizeof(d));
		cJSON_AddStringToObject(root, "debounce", d);
		for (i = 0; i < c->nnotify; i++) {
			const struct akvd_notify *n = &c->notify[i];

			if ((ne = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(nl, ne);
			add_opt(ne, "signal", n->signame);
			add_opt(ne, "pid_file", n->pid_file);
			add_opt(ne, "process", n->process);
			if (n->argv != NULL) {
				cJSON *arr = cJSON_AddArrayToObject(ne, "exec");

				for (a = n->argv; *a != NULL; a++)
					cJSON_AddItemToArray(arr,
					    cJSON_CreateString(*a));
			}
			add_opt(ne, "http", n->url);
			add_opt(ne, "method", n->method);
			if (n->kind == NOTIFY_EXEC || n->kind == NOTIFY_HTTP) {
				duration_format(n->timeout_ms, d, sizeof(d));
				cJSON_AddStringToObject(ne, "timeout", d);
			}
		}
	}
	if (c->on_change != ON_CHANGE_NOTHING || c->nenv > 0 ||
	    c->stop_signal != SIGTERM ||
	    c->stop_grace_ms != CONFIG_DEFAULT_STOP_GRACE_MS) {
		if (c->on_change == ON_CHANGE_RESTART)
			cJSON_AddStringToObject(root, "on_change", "restart");
		else if (c->on_change == ON_CHANGE_SIGNAL) {
			o = cJSON_AddObjectToObject(root, "on_change");
			cJSON_AddStringToObject(o, "signal",
			    signal_name(c->on_change_signal));
		}
		cJSON_AddStringToObject(root, "stop_signal",
		    signal_name(c->stop_signal));
		duration_format(c->stop_grace_ms, d, sizeof(d));
		cJSON_AddStringToObject(root, "stop_grace", d);
		if (c->nenv > 0) {
			o = cJSON_AddObjectToObject(root, "env");
			for (i = 0; i < c->nenv; i++)
				cJSON_AddStringToObject(o, c->env[i].var,
				    c->env[i].object);
		}
	}
	if (c->listen != NULL)
		cJSON_AddStringToObject(root, "listen", c->listen);
	if (c->listen != NULL ||
	    c->ready_max_failed != CONFIG_DEFAULT_READY_MAX_FAILED)
		cJSON_AddNumberToObject(root, "ready_max_failed_intervals",
		    c->ready_max_failed);
	if (c->once_timeout_ms != CONFIG_DEFAULT_ONCE_TIMEOUT_MS) {
		duration_format(c->once_timeout_ms, d, sizeof(d));
		cJSON_AddStringToObject(root, "once_timeout", d);
	}
	rc = print_json(f, root, 0) == -1 || fputc('\n', f) == EOF ?
	    -1 : 0;
out:
	cJSON_Delete(root);
	return (rc);
}
