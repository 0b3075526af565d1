/*
 * test_template.c - the template engine: syntax, errors with positions,
 * references, every escaping context with hostile values.  The syntax is
 * also compared byte for byte with mustache.js, and each context's output
 * read back by its consumer, in tests/integration/template.test.js.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "template.h"

#define S(s)	s, sizeof(s) - 1

static const struct template_tag tags[] = {
	{ "env", "prod" }, { "app.kubernetes.io/name", "web" }
};

/* The objects every test sees: "x" holds whatever the test puts there. */
static struct template_object objs[3];

static const struct template_object *
lookup(void *cookie, const char *name)
{
	int *calls = cookie;

	if (calls != NULL)
		(*calls)++;
	if (strcmp(name, "x") == 0)
		return (&objs[0]);
	if (strcmp(name, "db-password") == 0)
		return (&objs[1]);
	if (strcmp(name, "tls") == 0)
		return (&objs[2]);
	return (NULL);
}

static int
setup(void **state)
{

	(void)state;
	memset(objs, 0, sizeof(objs));
	objs[0].updated = -1;
	objs[1].value = "p@ss:w/rd";
	objs[1].value_len = 9;
	objs[1].version = "0123abcd";
	objs[1].content_type = "text/plain";
	objs[1].updated = 1714564800;	/* 2024-05-01T12:00:00Z */
	objs[1].tags = tags;
	objs[1].ntags = 2;
	objs[2].value = "KEY\nLEAF\nCA\n";
	objs[2].value_len = 12;
	objs[2].version = "v";
	objs[2].updated = -1;
	objs[2].key = "KEY\n";
	objs[2].leaf = "LEAF\n";
	objs[2].chain = "CA\n";
	return (0);
}

/* Render ${tmpl} with x's value set to ${v} (${n} bytes); 0 or -1. */
static int
run(const char *tmpl, const char *v, size_t n, int flags, struct buf *out,
    char *err, size_t errlen)
{
	struct template *t;
	int rc;

	objs[0].value = v;
	objs[0].value_len = n;
	t = template_parse(tmpl, strlen(tmpl), err, errlen);
	assert_non_null(t);
	rc = template_render(t, flags, lookup, NULL, out, err, errlen);
	template_free(t);
	return (rc);
}

/* Assert that ${tmpl} renders x = ${v} as ${want} (${wn} bytes). */
static void
expect(const char *tmpl, const char *v, size_t n, const char *want,
    size_t wn)
{
	struct buf out = BUF_INIT;
	char err[256];

	if (run(tmpl, v, n, TEMPLATE_STRICT, &out, err, sizeof(err)) != 0)
		fail_msg("%s: %s", tmpl, err);
	if (out.len != wn || memcmp(out.data, want, wn) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", tmpl, out.data, want);
	buf_wipe(&out);
}

#define EXPECT(tmpl, v, want)	expect(tmpl, S(v), S(want))

/* Assert that rendering fails with a message starting with ${want}. */
static void
expect_err(const char *tmpl, const char *v, size_t n, const char *want)
{
	struct buf out = BUF_INIT;
	char err[256];

	assert_int_equal(run(tmpl, v, n, TEMPLATE_STRICT, &out, err,
	    sizeof(err)), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", tmpl, err, want);
	assert_null(strstr(err, "SECRET"));
	assert_null(out.data);
}

static void
expect_syntax(const char *tmpl, const char *want)
{
	char err[256];

	assert_null(template_parse(tmpl, strlen(tmpl), err, sizeof(err)));
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", tmpl, err, want);
}

static void
test_names(void **state)
{

	(void)state;
	EXPECT("{{db-password}} {{db-password.value}}", "", "p@ss:w/rd "
	    "p@ss:w/rd");
	EXPECT("{{db-password.version}} {{ db-password.content_type }}", "",
	    "0123abcd text/plain");
	EXPECT("{{db-password.updated}}", "", "2024-05-01T12:00:00Z");
	EXPECT("{{db-password.tags.env}} {{db-password.tags.app.kubernetes"
	    ".io/name}}", "", "prod web");
	EXPECT("{{tls.key}}{{tls.leaf}}{{tls.chain}}", "", "KEY\nLEAF\nCA\n");
	EXPECT("{{#tls}}{{key}}{{leaf}}{{chain}}v={{version}}{{/tls}}", "",
	    "KEY\nLEAF\nCA\nv=v");
	/* Fields shadow objects of the same name; others pass through. */
	EXPECT("{{#tls}}{{value}}|{{x.value}}{{/tls}}", "X", "KEY\nLEAF\nCA\n|X");
	EXPECT("{{#db-password}}{{#tls}}{{version}}{{/tls}}{{version}}"
	    "{{/db-password}}", "", "v0123abcd");
	EXPECT("{{#db-password.tags.env}}[{{.}}]{{/db-password.tags.env}}",
	    "", "[prod]");
	EXPECT("{{#x}}[{{.}}]{{/x}}", "val", "[val]");
}

static void
test_sections(void **state)
{

	(void)state;
	EXPECT("{{#x}}present{{/x}}{{^x}}absent{{/x}}", "", "present");
	EXPECT("{{#nope}}present{{/nope}}{{^nope}}absent{{/nope}}", "",
	    "absent");
	/* A field is present when set and not empty. */
	EXPECT("{{#x.value}}v{{/x.value}}{{^x.value}}empty{{/x.value}}", "",
	    "empty");
	EXPECT("{{#x.value}}v{{/x.value}}{{^x.value}}empty{{/x.value}}", "0",
	    "v");
	EXPECT("{{^x.content_type}}no type{{/x.content_type}}", "", "no type");
	EXPECT("{{^x.updated}}never{{/x.updated}}{{#db-password.updated}}"
	    "{{.}}{{/db-password.updated}}", "", "never2024-05-01T12:00:00Z");
	EXPECT("{{^tls.tags.env}}untagged{{/tls.tags.env}}", "", "untagged");
	/* A guarded optional object renders nothing without error. */
	EXPECT("a{{#nope}}{{nope.value}}{{/nope}}b", "", "ab");
}

static void
test_whitespace(void **state)
{

	(void)state;
	EXPECT("a\n  {{#x}}  \nb\n  {{/x}}\nc\n", "", "a\nb\nc\n");
	EXPECT("a\r\n{{#x}}\r\nb\r\n{{/x}}\r\n", "", "a\r\nb\r\n");
	EXPECT("a\n{{! comment\nover lines }}\nb", "", "a\nb");
	EXPECT("  {{#nope}}\nx\n  {{/nope}}", "", "");
	EXPECT("a {{#x}}\nb{{/x}}", "", "a \nb");
	EXPECT("  {{x.value}}\n", "v", "  v\n");
	EXPECT("[{{ x.value }}] [{{{x.value}}}] [{{& x.value}}]", "<&>",
	    "[<&>] [<&>] [<&>]");
	EXPECT("{{=<% %>=}}<% x.value %>{{x.value}}<%={{ }}=%>{{x.value}}",
	    "v", "v{{x.value}}v");
	EXPECT("a\n {{=| |=}} \n|x.value|", "v", "a\nv");
	/* A value is never parsed as a template. */
	EXPECT("{{x.value}}", "{{x.value}}", "{{x.value}}");
	EXPECT("", "", "");
}

static void
test_syntax_errors(void **state)
{

	(void)state;
	expect_syntax("a\n{{#x}}", "2:1: section \"x\" is not closed");
	expect_syntax("{{#x}}{{#y}}\n {{/x}}", "2:2: {{/x}} closes section "
	    "\"y\" opened at 1:7");
	expect_syntax("\n\n    {{/x}}", "3:5: {{/x}} closes no section");
	expect_syntax("ab{{x.value", "1:3: unclosed tag");
	expect_syntax("{{{x.value}}", "1:1: unclosed tag");
	expect_syntax("{{> part}}", "1:1: partials");
	expect_syntax("{{x.secret}}", "1:1: unknown field in \"x.secret\"");
	expect_syntax("{{x.}}", "1:1: \"x.\" is not a name");
	expect_syntax("{{x value}}", "1:1: \"x value\" is not a name");
	expect_syntax("{{}}", "1:1: a tag names nothing");
	expect_syntax("{{x|}}", "1:1: unknown context \"\"");
	expect_syntax("{{x | json sh}}", "1:1: expected '|'");
	expect_syntax("{{x|raw|raw|raw|raw|raw}}", "1:1: more than 4");
	expect_syntax("{{#x|url}}{{/x}}", "1:1: a section takes no context");
	expect_syntax("{{=<%>=}}", "1:1: a delimiter tag holds two");
	expect_syntax("{{=a b c=}}", "1:1: a delimiter tag holds two");
	expect_syntax("{{=<% %>}}", "1:1: a delimiter tag ends with '='");
	expect_syntax("x\n{{.}}", "2:1: {{.}} outside a section");
	expect_syntax("{{=<% %>=}}\n<%#x%>", "2:1: section \"x\" is not");
}

static void
test_refs(void **state)
{
	const char *tmpl = "{{b.value}}\n {{#a}}{{value}}{{tags.x}}{{c}}"
	    "{{/a}}{{^d}}{{/d}}{{b.version}}{{#a}}{{#e.key}}{{.}}{{/e.key}}"
	    "{{/a}}";
	const struct template_ref *r;
	struct template *t;
	char err[128];
	size_t n;

	(void)state;
	t = template_parse(tmpl, strlen(tmpl), err, sizeof(err));
	assert_non_null(t);
	r = template_refs(t, &n);
	assert_int_equal(n, 5);
	assert_string_equal(r[0].name, "b");
	assert_int_equal(r[0].line, 1);
	assert_int_equal(r[0].col, 1);
	assert_string_equal(r[1].name, "a");
	assert_int_equal(r[1].line, 2);
	assert_int_equal(r[1].col, 2);
	assert_string_equal(r[2].name, "c");
	assert_string_equal(r[3].name, "d");
	assert_string_equal(r[4].name, "e");
	template_free(t);
	t = template_parse(S("no tags"), err, sizeof(err));
	r = template_refs(t, &n);
	assert_int_equal(n, 0);
	template_free(t);
	template_free(NULL);
}

/* Parsed once, rendered many times, values looked up each time. */
static void
test_render_twice(void **state)
{
	struct template *t;
	struct buf out = BUF_INIT;
	char err[128];
	int calls = 0;

	(void)state;
	t = template_parse(S("{{x.value}}{{x.value}}"), err, sizeof(err));
	objs[0].value = "1";
	objs[0].value_len = 1;
	assert_int_equal(template_render(t, 0, lookup, &calls, &out, err,
	    sizeof(err)), 0);
	objs[0].value = "22";
	objs[0].value_len = 2;
	assert_int_equal(template_render(t, 0, lookup, &calls, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.data, "112222");
	assert_int_equal(calls, 4);
	buf_wipe(&out);
	template_free(t);
}

static void
test_missing(void **state)
{
	struct buf out = BUF_INIT;
	char err[128];

	(void)state;
	expect_err("a\n  {{nope.value}}", "", 0, "2:3: {{nope.value}}: no "
	    "such object");
	expect_err("{{x.version}}", "", 0, "1:1: {{x.version}}: the field is "
	    "not set");
	expect_err("{{db-password.tags.nope}}", "", 0, "1:1: "
	    "{{db-password.tags.nope}}: the object has no such tag");
	expect_err("{{x.key | base64}}", "", 0, "1:1: {{x.key | base64}}: "
	    "the field is not set");
	/* Without TEMPLATE_STRICT: nothing, as Mustache. */
	assert_int_equal(run("[{{nope.value}}{{x.key}}]", "", 0, 0, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.data, "[]");
	buf_wipe(&out);
}

/* The hostile characters of issue 15, in every context. */
#define HOSTILE	"@:/'\"$\\\n`é"

static void
test_contexts(void **state)
{

	(void)state;
	EXPECT("{{x.value|raw}}", HOSTILE, HOSTILE);
	EXPECT("{{x.value|url}}", HOSTILE "~-._ a+",
	    "%40%3A%2F%27%22%24%5C%0A%60%C3%A9~-._%20a%2B");
	EXPECT("{{x.value|json}}", HOSTILE "\t\r\x01\x7f/",
	    "@:/'\\\"$\\\\\\n`é\\t\\r\\u0001\\u007f/");
	EXPECT("{{x.value|yaml}}", HOSTILE "\t\r\x01\x7f\xc2\x85\xc2\x9f"
	    "\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\xc2\xa0",
	    "@:/'\\\"$\\\\\\n`é\\t\\r\\x01\\x7f\\N\\x9f\\L\\P\\ufeff\xc2\xa0");
	EXPECT("{{x.value|sh}}", HOSTILE, "'@:/'\\''\"$\\\n`é'");
	EXPECT("{{x.value|sh}}", "", "''");
	EXPECT("{{x.value|sh}}", "'", "''\\'''");
	EXPECT("{{x.value|xml}}", HOSTILE "<&>\t\r",
	    "@:/&apos;&quot;$\\&#10;`é&lt;&amp;&gt;&#9;&#13;");
	EXPECT("{{x.value|properties}}", " " HOSTILE "=#! \t\r\f\x01" "😀",
	    "\\ @\\:/'\"$\\\\\\n`\\u00e9\\=\\#\\! \\t\\r\\f\\u0001"
	    "\\ud83d\\ude00");
	EXPECT("{{x.value|properties}}", "a b", "a b");
	EXPECT("{{x.value|pgpass}}", "a:b\\c'd\"e@f", "a\\:b\\\\c'd\"e@f");
	EXPECT("{{x.value|base64}}", HOSTILE, "QDovJyIkXApgw6k=");
	EXPECT("{{x.value|base64}}", "ab", "YWI=");
	EXPECT("{{x.value|hex}}", "\x00\xff" "A", "00ff41");
	/* Chained left to right. */
	EXPECT("{{x.value|base64|url}}", "\xfb\xff", "%2B%2F8%3D");
	EXPECT("{{x.value|json|sh}}", "\"'", "'\\\"'\\'''");
	/* Empty is empty everywhere (sh: the empty word). */
	EXPECT("{{x.value|url}}{{x.value|json}}{{x.value|yaml}}"
	    "{{x.value|xml}}{{x.value|properties}}{{x.value|pgpass}}"
	    "{{x.value|base64}}{{x.value|hex}}", "", "");
	/* NUL where the format can hold it. */
	expect("{{x.value|json}}|{{x.value|yaml}}|{{x.value|url}}|"
	    "{{x.value|properties}}", "a\0b", 3,
	    S("a\\u0000b|a\\x00b|a%00b|a\\u0000b"));
}

static void
test_unrepresentable(void **state)
{

	(void)state;
	expect_err("ok\n{{x.value|json}}", S("SECRET\xff"), "2:1: "
	    "{{x.value|json}}: the value is not UTF-8 text");
	expect_err("{{x.value|yaml}}", S("SECRET\xed\xa0\x80"), "1:1: "
	    "{{x.value|yaml}}: the value is not UTF-8");
	expect_err("{{x.value|properties}}", S("SECRET\xc0\xaf"), "1:1: "
	    "{{x.value|properties}}: the value is not UTF-8");
	expect_err("{{x.value|xml}}", S("SECRET\xf4\x90\x80\x80"), "1:1: "
	    "{{x.value|xml}}: the value is not UTF-8");
	expect_err(" {{ x.value | sh }}", S("SECRET\0"), "1:2: "
	    "{{ x.value | sh }}: a shell word cannot hold a NUL byte");
	expect_err("{{x.value|xml}}", S("SECRET\x01"), "1:1: "
	    "{{x.value|xml}}: XML 1.0 cannot hold");
	expect_err("{{x.value|xml}}", S("SECRET\x1b"), "1:1: {{x.value|xml}}");
	expect_err("{{x.value|xml}}", S("SECRET\xef\xbf\xbf"), "1:1: "
	    "{{x.value|xml}}");
	expect_err("{{x.value|xml}}", S("SECRET\0"), "1:1: {{x.value|xml}}");
	expect_err("{{x.value|pgpass}}", S("SECRET\n"), "1:1: "
	    "{{x.value|pgpass}}: a .pgpass field cannot hold");
	expect_err("{{x.value|pgpass}}", S("SECRET\r"), "1:1: ");
	expect_err("{{x.value|pgpass}}", S("SECRET\0"), "1:1: ");
	/* The hex of invalid UTF-8 is fine; JSON of it is not. */
	expect_err("{{x.value|hex|json}}{{x.value|json|hex}}", S("SECRET\xff"),
	    "1:21: {{x.value|json|hex}}: the value is not UTF-8");
}

static void
test_large(void **state)
{
	struct buf out = BUF_INIT, w = BUF_INIT;
	char err[128], *v;
	size_t i, n = 10240;

	(void)state;
	assert_non_null(v = malloc(n));
	for (i = 0; i < n; i++) {
		v[i] = "a'@:\\"[i % 5];
		if (v[i] == 'a')
			assert_int_equal(buf_append(&w, "a", 1), 0);
		else
			assert_int_equal(buf_appendf(&w, "%%%02X",
			    (unsigned char)v[i]), 0);
	}
	/* Raw: the same 10 KiB; url: percent-encoded apart from 'a'. */
	expect("{{x.value}}", v, n, v, n);
	assert_int_equal(run("{{x.value|url}}", v, n, TEMPLATE_STRICT, &out,
	    err, sizeof(err)), 0);
	assert_int_equal(out.len, w.len);
	assert_memory_equal(out.data, w.data, w.len);
	buf_wipe(&out);
	buf_wipe(&w);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_names, setup),
		cmocka_unit_test_setup(test_sections, setup),
		cmocka_unit_test_setup(test_whitespace, setup),
		cmocka_unit_test_setup(test_syntax_errors, setup),
		cmocka_unit_test_setup(test_refs, setup),
		cmocka_unit_test_setup(test_render_twice, setup),
		cmocka_unit_test_setup(test_missing, setup),
		cmocka_unit_test_setup(test_contexts, setup),
		cmocka_unit_test_setup(test_unrepresentable, setup),
		cmocka_unit_test_setup(test_large, setup),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
