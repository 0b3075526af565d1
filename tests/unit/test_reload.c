/*
 * test_reload.c - a reload as a diff of source keys (plan.h): what is
 * kept with its state, what is rendered again from the value held, what
 * is new.
 */
#include <string.h>

#include "unit.h"

#include "config.h"
#include "plan.h"
#include "../../src/sync_int.h"

#define V1	"https://one.vault.azure.net"
#define V2	"https://two.vault.azure.net"

static struct akvd_object
kv(const char *name, const char *vault, const char *version,
    enum object_encoding enc)
{
	struct akvd_object o;

	memset(&o, 0, sizeof(o));
	o.type = OBJ_SECRET;
	o.name = (char *)name;
	o.alias = (char *)name;
	o.vault = (char *)vault;
	o.version = (char *)version;
	o.encoding = enc;
	return (o);
}

static void
test_objects(void **state)
{
	struct akvd_object a[4], b[6];
	struct akvd_config old, new;
	struct plan_match pm[6];

	(void)state;
	memset(&old, 0, sizeof(old));
	memset(&new, 0, sizeof(new));
	a[0] = kv("db", V1, "", ENC_UTF8);
	a[1] = kv("api", V1, "", ENC_UTF8);
	a[2] = kv("tls", V1, "", ENC_UTF8);
	a[2].type = OBJ_CERT;
	a[3] = kv("hist", V1, "", ENC_UTF8);
	a[3].history = 2;
	old.objects = a;
	old.nobjects = 4;

	b[0] = kv("api", V1, "", ENC_BASE64);	/* rendered otherwise */
	b[1] = kv("db", V1, "", ENC_UTF8);	/* the same, moved */
	b[1].alias = "db-renamed";
	b[1].mode = 0400;
	b[2] = kv("db", V1, "", ENC_UTF8);	/* a second output of db */
	b[3] = kv("tls", V2, "", ENC_UTF8);	/* another vault */
	b[3].type = OBJ_CERT;
	b[4] = kv("hist", V1, "", ENC_HEX);	/* history: no rerender */
	b[4].history = 2;
	b[5] = kv("db", V1, "abc", ENC_UTF8);	/* a pinned version */
	new.objects = b;
	new.nobjects = 6;

	assert_int_equal(plan_objects(&old, &new, pm), 0);
	assert_int_equal(pm[0].how, PLAN_RERENDER);
	assert_int_equal(pm[0].old, 1);
	assert_int_equal(pm[1].how, PLAN_KEEP);
	assert_int_equal(pm[1].old, 0);
	/* db serves one new object only: the other is new. */
	assert_int_equal(pm[2].how, PLAN_NEW);
	assert_int_equal(pm[3].how, PLAN_NEW);
	assert_int_equal(pm[4].how, PLAN_NEW);
	assert_int_equal(pm[5].how, PLAN_NEW);

	/* A change of type is a new source, not a rendering. */
	b[0] = kv("db", V1, "", ENC_UTF8);
	b[0].type = OBJ_KEY;
	new.nobjects = 1;
	assert_int_equal(plan_objects(&old, &new, pm), 0);
	assert_int_equal(pm[0].how, PLAN_NEW);

	/* KEEP wins over RERENDER, whatever the order. */
	b[0] = kv("db", V1, "", ENC_HEX);
	b[1] = kv("db", V1, "", ENC_UTF8);
	new.nobjects = 2;
	assert_int_equal(plan_objects(&old, &new, pm), 0);
	assert_int_equal(pm[0].how, PLAN_NEW);
	assert_int_equal(pm[1].how, PLAN_KEEP);
	assert_int_equal(pm[1].old, 0);

	/* Nothing before: every object is new. */
	old.nobjects = 0;
	assert_int_equal(plan_objects(&old, &new, pm), 0);
	assert_int_equal(pm[0].how, PLAN_NEW);
	assert_int_equal(pm[1].how, PLAN_NEW);
}

static void
test_blobs(void **state)
{
	struct akvd_object a[1], b[2];
	struct akvd_config old, new;
	struct plan_match pm[2];

	(void)state;
	memset(&old, 0, sizeof(old));
	memset(&new, 0, sizeof(new));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	a[0].type = OBJ_BLOB;
	a[0].name = a[0].alias = "conf.txt";
	a[0].url = "https://acct.blob.core.windows.net/c/conf.txt";
	b[0] = a[0];
	b[0].alias = "renamed.txt";
	b[1] = a[0];
	b[1].url = "https://acct.blob.core.windows.net/c/other.txt";
	old.objects = a;
	old.nobjects = 1;
	new.objects = b;
	new.nobjects = 2;
	assert_int_equal(plan_objects(&old, &new, pm), 0);
	assert_int_equal(pm[0].how, PLAN_KEEP);
	assert_int_equal(pm[1].how, PLAN_NEW);
	assert_false(plan_same_value(&a[0], &b[0]));	/* no rerender */
}

static void
test_bundles_selects(void **state)
{
	struct akvd_bundle ba[2], bb[2];
	struct akvd_select sa[1], sb[2];
	struct akvd_config old, new;
	struct plan_match p[2];

	(void)state;
	memset(&old, 0, sizeof(old));
	memset(&new, 0, sizeof(new));
	memset(ba, 0, sizeof(ba));
	memset(bb, 0, sizeof(bb));
	ba[0].path = "app.env";
	ba[1].path = "app.json";
	bb[0].path = "app.json";
	bb[0].format = BUNDLE_DOTENV;	/* remade from the values held */
	bb[1].path = "new.env";
	old.bundles = ba;
	old.nbundles = 2;
	new.bundles = bb;
	new.nbundles = 2;
	assert_int_equal(plan_bundles(&old, &new, p), 0);
	assert_int_equal(p[0].how, PLAN_KEEP);
	assert_int_equal(p[0].old, 1);
	assert_int_equal(p[1].how, PLAN_NEW);

	memset(sa, 0, sizeof(sa));
	memset(sb, 0, sizeof(sb));
	sa[0].vault = V1;
	sa[0].prefix = "app-";
	sa[0].dir = "sel";
	sb[0] = sa[0];
	sb[0].dir = "other";		/* names them otherwise: new */
	sb[1] = sa[0];
	sb[1].mode = 0400;		/* the same secrets: kept */
	old.selects = sa;
	old.nselects = 1;
	new.selects = sb;
	new.nselects = 2;
	assert_int_equal(plan_selects(&old, &new, p), 0);
	assert_int_equal(p[0].how, PLAN_NEW);
	assert_int_equal(p[1].how, PLAN_KEEP);
	assert_int_equal(p[1].old, 0);
}

/*
 * The key of a source (source_same_key()): what is fetched, never how it is
 * rendered, so that two objects reading one secret are two outputs of one
 * source.
 */
static void
test_source_keys(void **state)
{
	struct akvd_object a = kv("db", V1, "", ENC_UTF8), b;
	struct akvd_object blob1, blob2;

	(void)state;
	b = a;
	b.alias = "db.txt";		/* another output: the same source */
	b.encoding = ENC_BASE64;
	b.format = FMT_PFX;
	b.split = 1;
	b.mode = 0640;
	b.optional = 1;
	b.bundle = 1;
	assert_true(source_same_key(&a, &b));
	b = a;
	b.version = "0123abcd";		/* a pinned version is another value */
	assert_false(source_same_key(&a, &b));
	b = a;
	b.vault = V2;
	assert_false(source_same_key(&a, &b));
	b = a;
	b.name = "db2";
	assert_false(source_same_key(&a, &b));
	b = a;
	b.type = OBJ_CERT;
	assert_false(source_same_key(&a, &b));
	b = a;
	b.history = 3;			/* N versions are another value */
	assert_false(source_same_key(&a, &b));
	memset(&blob1, 0, sizeof(blob1));
	blob1.type = OBJ_BLOB;
	blob1.name = blob1.alias = "conf.txt";
	blob1.url = "https://acct.blob.core.windows.net/c/conf.txt";
	blob2 = blob1;
	blob2.alias = "copy.txt";
	assert_true(source_same_key(&blob1, &blob2));
	blob2.url = "https://acct.blob.core.windows.net/c/other.txt";
	assert_false(source_same_key(&blob1, &blob2));
	assert_false(source_same_key(&blob1, &a));
	assert_false(source_same_key(&a, &blob1));
}

/*
 * The sources of a configuration (plan_sources()): one per key, in the
 * order of first reading; at a reload, one goes on when an object reading
 * it continues an old object, whichever old objects read it.
 */
static void
test_sources(void **state)
{
	struct akvd_object a[5], b[6];
	struct akvd_config old, new;
	struct plan_match pm[6], ps[6];
	size_t slot[6], n;

	(void)state;
	memset(&old, 0, sizeof(old));
	memset(&new, 0, sizeof(new));
	a[0] = kv("db", V1, "", ENC_UTF8);
	a[1] = kv("api", V1, "", ENC_UTF8);
	a[2] = kv("db", V1, "", ENC_BASE64);	/* db's second output */
	a[3] = kv("hist", V1, "", ENC_UTF8);
	a[3].history = 2;
	memset(&a[4], 0, sizeof(a[4]));
	a[4].type = OBJ_BLOB;
	a[4].name = a[4].alias = "conf.txt";
	a[4].url = "https://acct.blob.core.windows.net/c/conf.txt";
	old.objects = a;
	old.nobjects = 5;

	/* A start: every source new, grouped by key. */
	assert_int_equal(plan_sources(NULL, &old, NULL, slot, ps, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(slot[0], 0);
	assert_int_equal(slot[1], 1);
	assert_int_equal(slot[2], 0);
	assert_int_equal(slot[3], 2);
	assert_int_equal(slot[4], 3);
	for (n = 0; n < 4; n++)
		assert_int_equal(ps[n].how, PLAN_NEW);

	b[0] = kv("tls", V1, "", ENC_UTF8);	/* new */
	b[0].type = OBJ_CERT;
	b[1] = kv("api", V1, "", ENC_HEX);	/* rendered otherwise */
	b[2] = a[4];				/* the blob, kept */
	b[2].alias = "moved.txt";
	b[3] = kv("db", V1, "", ENC_HEX);	/* db, its first new output */
	b[4] = kv("db", V1, "", ENC_BASE64);	/* kept */
	b[5] = kv("hist", V1, "", ENC_HEX);	/* history: no rerender */
	b[5].history = 2;
	new.objects = b;
	new.nobjects = 6;
	assert_int_equal(plan_objects(&old, &new, pm), 0);
	assert_int_equal(plan_sources(&old, &new, pm, slot, ps, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(slot[0], 0);
	assert_int_equal(ps[0].how, PLAN_NEW);
	assert_int_equal(slot[1], 1);
	assert_int_equal(ps[1].how, PLAN_KEEP);	/* api goes on */
	assert_int_equal(ps[1].old, 1);
	assert_int_equal(slot[2], 2);
	assert_int_equal(ps[2].how, PLAN_KEEP);	/* the blob */
	assert_int_equal(ps[2].old, 3);
	/* Both outputs of db read one source: the old one. */
	assert_int_equal(slot[3], 3);
	assert_int_equal(slot[4], 3);
	assert_int_equal(ps[3].how, PLAN_KEEP);
	assert_int_equal(ps[3].old, 0);
	/* No object continues the old history: it is new. */
	assert_int_equal(slot[5], 4);
	assert_int_equal(ps[4].how, PLAN_NEW);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_blobs),
		cmocka_unit_test(test_bundles_selects),
		cmocka_unit_test(test_source_keys),
		cmocka_unit_test(test_sources),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
