/*
 * test_watch.c - change detection per vault without a daemon: when a
 * listing of the vault (pages of 25) is cheaper than one GET per object
 * (source_watch_budget()), and the attributes.updated a GET brings back
 * (kv_parse_object()), which a listing is compared with.
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "kv.h"
#include "../../src/sync_int.h"

static void
test_budget(void **state)
{
	size_t n;

	(void)state;
	/* One object, or none: a GET is never dearer than a list. */
	assert_int_equal(source_watch_budget(0, 0), 0);
	assert_int_equal(source_watch_budget(1, 0), 0);
	assert_int_equal(source_watch_budget(1, 1), 0);

	/* Never listed: try, stopping before it costs the n GETs. */
	assert_int_equal(source_watch_budget(2, 0), 1);
	assert_int_equal(source_watch_budget(20, 0), 19);

	/* 20 objects in a vault of 30 (2 pages): list, up to 19 pages. */
	assert_int_equal(source_watch_budget(20, 2), 19);
	/* 3 objects in a vault of 30: 2 pages < 3 GETs. */
	assert_int_equal(source_watch_budget(3, 2), 2);
	/* As many pages as GETs: GET (the list would add GETs of changes). */
	assert_int_equal(source_watch_budget(2, 2), 0);
	assert_int_equal(source_watch_budget(4, 4), 0);
	/* A huge vault (10,000 = 400 pages) with 2, or 399, objects. */
	assert_int_equal(source_watch_budget(2, 400), 0);
	assert_int_equal(source_watch_budget(399, 400), 0);
	assert_int_equal(source_watch_budget(401, 400), 400);
	/* A listing stopped after page 1 (pages 2, a bound): GET 2. */
	assert_int_equal(source_watch_budget(2, 2), 0);

	/* The list is chosen exactly when ceil(M/25) < N. */
	for (n = 1; n < 200; n++) {
		size_t m;

		for (m = 1; m < 2000; m += 7) {
			size_t pages = (m + KV_PAGE - 1) / KV_PAGE;

			assert_int_equal(source_watch_budget(n, pages) != 0,
			    pages < n);
			if (pages < n)
				assert_true(source_watch_budget(n, pages) >=
				    pages);
		}
	}
}

static void
test_updated(void **state)
{
	struct kv_secret s;
	char err[256];
	const char *sec = "{\"value\":\"v\",\"id\":\"https://x.vault.azure.net/"
	    "secrets/a/0123\",\"attributes\":{\"enabled\":true,\"created\":"
	    "1700000000,\"updated\":1700000042}}";
	const char *none = "{\"value\":\"v\",\"id\":\"https://x.vault.azure."
	    "net/secrets/a/0123\"}";
	const char *cert = "{\"cer\":\"AAAA\",\"id\":\"https://x.vault.azure."
	    "net/certificates/c/77\",\"attributes\":{\"updated\":1700000099}}";
	const char *key = "{\"key\":{\"kid\":\"https://x.vault.azure.net/keys/"
	    "k/88\",\"kty\":\"EC\"},\"attributes\":{\"updated\":1700000123}}";

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(kv_parse_object(sec, strlen(sec), KV_SECRET, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.updated, 1700000042);
	kv_secret_clear(&s);
	assert_int_equal(kv_parse_object(none, strlen(none), KV_SECRET, &s,
	    err, sizeof(err)), 0);
	assert_int_equal(s.updated, 0);
	kv_secret_clear(&s);
	assert_int_equal(kv_parse_object(cert, strlen(cert), KV_CERTIFICATE,
	    &s, err, sizeof(err)), 0);
	assert_int_equal(s.updated, 1700000099);
	kv_secret_clear(&s);
	assert_int_equal(kv_parse_object(key, strlen(key), KV_KEY, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.updated, 1700000123);
	kv_secret_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_updated),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
