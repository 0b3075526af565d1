/*
 * tmpl_render: renders templates with akvd's engine (src/template.c) for
 * the integration tests (tests/integration/template.test.js).
 *
 * Reads from stdin a JSON array of cases:
 *   { "template": "...", "strict": false,
 *     "data": { "NAME": { "value": "...", "value_b64": "...",
 *       "version": "...", "content_type": "...", "updated": 1700000000,
 *       "tags": { "k": "v" }, "key": "...", "leaf": "...",
 *       "chain": "..." } } }
 * ("value_b64", base64, wins over "value", for bytes JSON cannot hold;
 * a missing or null string field is unset) and writes to stdout a JSON
 * array of results, one per case:
 *   { "ok": true, "out_b64": "...", "refs": ["NAME", ...] }
 *   { "ok": false, "error": "LINE:COL: ..." }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "render.h"
#include "template.h"
#include "util.h"

#define MAX_OBJ		32
#define MAX_TAGS	16

struct obj {
	const char		*name;
	struct template_object	 o;
	struct template_tag	 tags[MAX_TAGS];
	struct buf		 value;
};

struct data {
	struct obj	objs[MAX_OBJ];
	size_t		nobjs;
};

static const struct template_object *
lookup(void *cookie, const char *name)
{
	struct data *d = cookie;
	size_t i;

	for (i = 0; i < d->nobjs; i++)
		if (strcmp(d->objs[i].name, name) == 0)
			return (&d->objs[i].o);
	return (NULL);
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

static int
load(const cJSON *data, struct data *d)
{
	const cJSON *e, *v, *tag;
	struct obj *ob;
	const char *s;

	cJSON_ArrayForEach(e, data) {
		if (d->nobjs == MAX_OBJ)
			return (-1);
		ob = &d->objs[d->nobjs++];
		ob->name = e->string;
		ob->o.updated = -1;
		if ((s = str(e, "value_b64")) != NULL) {
			if (render_base64(s, strlen(s), 0, &ob->value) == -1)
				return (-1);
		} else if ((s = str(e, "value")) != NULL) {
			if (buf_append(&ob->value, s, strlen(s)) == -1)
				return (-1);
		}
		ob->o.value = ob->value.data;
		ob->o.value_len = ob->value.len;
		ob->o.version = str(e, "version");
		ob->o.content_type = str(e, "content_type");
		ob->o.key = str(e, "key");
		ob->o.leaf = str(e, "leaf");
		ob->o.chain = str(e, "chain");
		v = cJSON_GetObjectItemCaseSensitive(e, "updated");
		if (cJSON_IsNumber(v))
			ob->o.updated = (int64_t)v->valuedouble;
		ob->o.tags = ob->tags;
		cJSON_ArrayForEach(tag, cJSON_GetObjectItemCaseSensitive(e,
		    "tags")) {
			if (ob->o.ntags == MAX_TAGS || !cJSON_IsString(tag))
				return (-1);
			ob->tags[ob->o.ntags].name = tag->string;
			ob->tags[ob->o.ntags++].value = tag->valuestring;
		}
	}
	return (0);
}

static cJSON *
run(const cJSON *c)
{
	struct data d;
	struct template *t = NULL;
	const struct template_ref *refs;
	struct buf out = BUF_INIT;
	cJSON *r, *a;
	const char *text = str(c, "template");
	char err[512], *b64 = NULL;
	size_t i, n;
	int flags;

	memset(&d, 0, sizeof(d));
	r = cJSON_CreateObject();
	flags = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "strict")) ?
	    TEMPLATE_STRICT : 0;
	if (text == NULL || load(cJSON_GetObjectItemCaseSensitive(c, "data"),
	    &d) == -1) {
		cJSON_AddBoolToObject(r, "ok", 0);
		cJSON_AddStringToObject(r, "error", "bad case");
		goto done;
	}
	if ((t = template_parse(text, strlen(text), err, sizeof(err))) ==
	    NULL || template_render(t, flags, lookup, &d, &out, err,
	    sizeof(err)) == -1) {
		cJSON_AddBoolToObject(r, "ok", 0);
		cJSON_AddStringToObject(r, "error", err);
		goto done;
	}
	if ((b64 = malloc(out.len / 3 * 4 + 8)) == NULL)
		abort();
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)out.data,
	    (int)out.len);
	cJSON_AddBoolToObject(r, "ok", 1);
	cJSON_AddStringToObject(r, "out_b64", b64);
	a = cJSON_AddArrayToObject(r, "refs");
	refs = template_refs(t, &n);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(refs[i].name));
done:
	free(b64);
	buf_wipe(&out);
	for (i = 0; i < d.nobjs; i++)
		buf_wipe(&d.objs[i].value);
	template_free(t);
	return (r);
}

int
main(void)
{
	struct buf in = BUF_INIT;
	cJSON *cases, *c, *res;
	char chunk[65536], *s;
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&in, chunk, n) == -1)
			return (2);
	if (in.data == NULL || (cases = cJSON_Parse(in.data)) == NULL) {
		fprintf(stderr, "tmpl_render: stdin is not JSON\n");
		return (2);
	}
	res = cJSON_CreateArray();
	cJSON_ArrayForEach(c, cases)
		cJSON_AddItemToArray(res, run(c));
	s = cJSON_PrintUnformatted(res);
	fputs(s, stdout);
	putchar('\n');
	free(s);
	cJSON_Delete(res);
	cJSON_Delete(cases);
	buf_wipe(&in);
	return (0);
}
