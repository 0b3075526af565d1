/*
 * fuzz_template: the template parser (template_parse) and renderer
 * (template_render).  Byte 0 holds the render flags (bit 0:
 * TEMPLATE_STRICT); the rest is the template text.  Objects "a" (a value
 * with every hostile byte: NUL, invalid UTF-8, quotes, newlines), "b" (a
 * certificate's PEM parts, tags) and "e" (empty) exist; every other name
 * is absent.  Properties: a syntax or rendering error is "LINE:COL: ..."
 * and never holds a value (unless the template holds its bytes: the
 * message quotes the tag); the references are distinct, with positions.
 */
#include <stdio.h>

#include "template.h"
#include "util.h"
#include "fuzz.h"

#define MARK	"S3CR3T"

static const char aval[] = MARK "\0\xff\xc3(\"'\\\n\r\t:@/$`\x01\x7f"
    "\xe2\x80\xa8\xef\xbf\xbe" MARK;
static const char bkey[] = "-----BEGIN PRIVATE KEY-----\n" MARK "\n";
static const struct template_tag btags[] = {
	{ "env", MARK "prod" }, { "a.b", "" }, { "empty", "" }
};
static const struct template_object objs[] = {
	{ aval, sizeof(aval) - 1, MARK "v", "text/" MARK, 1700000000, NULL,
	    0, NULL, NULL, NULL },
	{ bkey, sizeof(bkey) - 1, "1", NULL, -1, btags, 3, bkey,
	    "-----BEGIN CERTIFICATE-----\n" MARK "\n", "" },
	{ "", 0, "", "", 0, NULL, 0, NULL, NULL, NULL },
};

static const struct template_object *
lookup(void *cookie, const char *name)
{
	int *calls = cookie;

	(*calls)++;
	if (strcmp(name, "a") == 0)
		return (&objs[0]);
	if (strcmp(name, "b") == 0)
		return (&objs[1]);
	if (strcmp(name, "e") == 0)
		return (&objs[2]);
	return (NULL);
}

/* "LINE:COL: " with LINE, COL >= 1. */
static int
positioned(const char *err)
{
	unsigned line, col;
	int n = 0;

	if (strcmp(err, "out of memory") == 0)
		return (1);
	return (sscanf(err, "%u:%u: %n", &line, &col, &n) == 2 && n > 0 &&
	    line >= 1 && col >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct template_ref *refs;
	struct template *t;
	struct buf out = BUF_INIT;
	char err[512];
	size_t i, j, n;
	int calls = 0;

	if (size < 1)
		return (0);
	err[0] = '\0';
	t = template_parse((const char *)data + 1, size - 1, err,
	    sizeof(err));
	if (t == NULL) {
		fuzz_check(positioned(err));
		return (0);
	}
	refs = template_refs(t, &n);
	for (i = 0; i < n; i++) {
		fuzz_check(refs[i].name[0] != '\0' && refs[i].line >= 1 &&
		    refs[i].col >= 1);
		for (j = 0; j < i; j++)
			fuzz_check(strcmp(refs[i].name, refs[j].name) != 0);
	}
	if (template_render(t, data[0] & TEMPLATE_STRICT, lookup, &calls,
	    &out, err, sizeof(err)) == -1) {
		fuzz_check(positioned(err));
		fuzz_check(strstr(err, MARK) == NULL ||
		    memmem(data, size, MARK, strlen(MARK)) != NULL);
		fuzz_check(out.data == NULL);
	} else
		fuzz_check(out.data != NULL);
	buf_wipe(&out);
	template_free(t);
	return (0);
}
