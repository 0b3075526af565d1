/*
 * test_metrics.c - the Prometheus text rendering: label escaping, counters
 * by object and reason, histogram buckets, objects kept across a reload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "config.h"
#include "metrics.h"
#include "util.h"

static struct akvd_object objs[2];
static struct akvd_config cfg;

static void
set_objects(const char *n0, const char *a0, const char *n1, const char *a1)
{

	memset(objs, 0, sizeof(objs));
	memset(&cfg, 0, sizeof(cfg));
	objs[0].name = (char *)n0;
	objs[0].alias = (char *)a0;
	objs[1].name = (char *)n1;
	objs[1].alias = (char *)a1;
	cfg.objects = objs;
	cfg.nobjects = n1 != NULL ? 2 : 1;
	assert_int_equal(metrics_objects(&cfg), 0);
}

/* The rendered text, which the caller frees. */
static char *
render(int ready)
{
	struct buf b = BUF_INIT;

	assert_int_equal(metrics_render(&b, ready), 0);
	assert_non_null(b.data);
	return (b.data);
}

static void
assert_has(const char *text, const char *line)
{

	if (strstr(text, line) == NULL) {
		fprintf(stderr, "missing: %s\n--- in:\n%s\n", line, text);
		fail();
	}
}

static void
test_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(metrics_escape(&b, "a\\b\"c\nd"), 0);
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
	buf_wipe(&b);
	assert_int_equal(metrics_escape(&b, ""), 0);
	assert_null(b.data);
}

static void
test_objects(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	set_objects("db", "we\"ird\\al\nias", "api", "api");
	metrics_fetch("db", "we\"ird\\al\nias", FETCH_OK, 1);
	metrics_fetch("db", "we\"ird\\al\nias", FETCH_THROTTLED, 0);
	metrics_fetch("db", "we\"ird\\al\nias", FETCH_THROTTLED, 0);
	metrics_fetch("api", "api", FETCH_LOCAL, 0);
	metrics_fetch("nope", "nope", FETCH_OK, 0);	/* not labelled: ignored */
	t = render(1);
	assert_has(t, "# HELP akvd_fetches_total ");
	assert_has(t, "# TYPE akvd_fetches_total counter\n");
	assert_has(t, "akvd_fetches_total{object=\"db\","
	    "alias=\"we\\\"ird\\\\al\\nias\"} 3\n");
	assert_has(t, "akvd_fetch_failures_total{object=\"db\","
	    "alias=\"we\\\"ird\\\\al\\nias\",reason=\"throttled\"} 2\n");
	assert_has(t, "akvd_fetch_failures_total{object=\"api\","
	    "alias=\"api\",reason=\"other\"} 1\n");
	assert_has(t, "akvd_object_updates_total{object=\"db\","
	    "alias=\"we\\\"ird\\\\al\\nias\"} 1\n");
	assert_has(t, "akvd_object_consecutive_failures{object=\"db\","
	    "alias=\"we\\\"ird\\\\al\\nias\"} 2\n");
	assert_has(t, "akvd_objects 2\n");
	assert_has(t, "akvd_ready 1\n");
	assert_null(strstr(t, "akvd_object_last_success_timestamp_seconds{"
	    "object=\"api\""));
	free(t);

	/* A reload keeps the counters of the same name and alias only. */
	set_objects("api", "api", "db", "other");
	t = render(0);
	assert_has(t, "akvd_fetches_total{object=\"api\",alias=\"api\"} 1\n");
	assert_has(t, "akvd_fetches_total{object=\"db\",alias=\"other\"} 0\n");
	assert_null(strstr(t, "we\\\"ird"));
	assert_has(t, "akvd_ready 0\n");
	free(t);
	metrics_reset();
}

/* Selected secrets have their own series, kept across a reload. */
static void
test_selected(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	set_objects("db", "db", NULL, NULL);
	assert_int_equal(metrics_select_add("app-key", "app/key"), 0);
	assert_int_equal(metrics_select_add("app-key", "app/key"), 0);
	metrics_fetch("app-key", "app/key", FETCH_OK, 1);
	metrics_fetch("app-key", "app/key", FETCH_FORBIDDEN, 0);
	set_objects("db", "db", "other", "other");
	t = render(1);
	assert_has(t, "akvd_fetches_total{object=\"app-key\","
	    "alias=\"app/key\"} 2\n");
	assert_has(t, "akvd_fetch_failures_total{object=\"app-key\","
	    "alias=\"app/key\",reason=\"forbidden\"} 1\n");
	assert_has(t, "akvd_objects 2\n");	/* the configured ones */
	free(t);
	metrics_select_remove("app-key", "app/key");
	metrics_select_remove("db", "db");	/* configured: stays */
	t = render(1);
	assert_null(strstr(t, "app-key"));
	assert_has(t, "akvd_fetches_total{object=\"db\",alias=\"db\"} 0\n");
	free(t);
	metrics_reset();
}

static void
test_requests(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	metrics_request(METRICS_KEYVAULT, 200, 0, 0.003);
	metrics_request(METRICS_KEYVAULT, 429, 0, 0.2);
	metrics_request(METRICS_KEYVAULT, 0, 1, 100.0);
	metrics_request(METRICS_IDENTITY, 503, 0, 1.0);
	metrics_token(1, 2000000000);
	metrics_notify("exec", 1);
	metrics_notify("http", 0);
	metrics_notify("nonsense", 1);
	t = render(0);
	assert_has(t, "# TYPE akvd_request_duration_seconds histogram\n");
	assert_has(t, "akvd_request_duration_seconds_bucket{"
	    "target=\"keyvault\","
	    "le=\"0.005\"} 1\n");
	assert_has(t, "akvd_request_duration_seconds_bucket{"
	    "target=\"keyvault\","
	    "le=\"0.25\"} 2\n");
	assert_has(t, "akvd_request_duration_seconds_bucket{"
	    "target=\"keyvault\","
	    "le=\"60\"} 2\n");
	assert_has(t, "akvd_request_duration_seconds_bucket{"
	    "target=\"keyvault\","
	    "le=\"+Inf\"} 3\n");
	assert_has(t, "akvd_request_duration_seconds_count{"
	    "target=\"keyvault\"} 3\n");
	assert_has(t, "akvd_request_duration_seconds_bucket{"
	    "target=\"identity\","
	    "le=\"1\"} 1\n");
	assert_has(t, "akvd_requests_total{target=\"keyvault\",code=\"4xx\"} "
	    "1\n");
	assert_has(t, "akvd_requests_total{target=\"keyvault\",code=\"error\"}"
	    " 1\n");
	assert_has(t, "akvd_requests_total{target=\"identity\",code=\"5xx\"} "
	    "1\n");
	assert_has(t, "akvd_throttled_total{target=\"keyvault\"} 1\n");
	assert_has(t, "akvd_throttled_total{target=\"identity\"} 0\n");
	assert_has(t, "akvd_token_expiry_timestamp_seconds 2000000000\n");
	assert_has(t, "akvd_token_requests_total{result=\"ok\"} 1\n");
	assert_has(t, "akvd_notifications_sent_total{kind=\"exec\"} 1\n");
	assert_has(t, "akvd_notifications_failed_total{kind=\"http\"} 1\n");
	assert_has(t, "akvd_notifications_sent_total{kind=\"command\"} 0\n");
	free(t);
	metrics_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_selected),
		cmocka_unit_test(test_requests),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
