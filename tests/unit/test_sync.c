/*
 * test_sync.c - the rules of the sync without a daemon: fetch outcomes as
 * data (fetch.h), next due times, backoff caps, Retry-After floors,
 * --once settling, the health of a vault as a whole and the one
 * definition of "ready" (policy.h).
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "fetch.h"
#include "policy.h"

static void
test_fetch_classes(void **state)
{
	struct fetch_result r;
	char buf[192];

	(void)state;
	fetch_http(&r, 403, "Forbidden/ForbiddenByRbac", "no get permission",
	    -1);
	assert_int_equal(r.cls, FETCH_FORBIDDEN);
	assert_false(fetch_transient(&r));
	assert_string_equal(fetch_reason(&r, buf, sizeof(buf)),
	    "HTTP 403 Forbidden/ForbiddenByRbac");
	assert_string_equal(r.detail, "no get permission");
	assert_string_equal(fetch_class_name(r.cls), "forbidden");

	fetch_http(&r, 429, "Throttled", NULL, 7000);
	assert_int_equal(r.cls, FETCH_THROTTLED);
	assert_true(fetch_transient(&r));
	assert_int_equal(r.retry_after_ms, 7000);
	assert_string_equal(fetch_class_name(r.cls), "throttled");

	assert_int_equal(fetch_status_class(401), FETCH_UNAUTHORIZED);
	assert_int_equal(fetch_status_class(404), FETCH_NOT_FOUND);
	assert_int_equal(fetch_status_class(408), FETCH_SERVER_ERROR);
	assert_int_equal(fetch_status_class(500), FETCH_SERVER_ERROR);
	assert_int_equal(fetch_status_class(503), FETCH_SERVER_ERROR);
	assert_int_equal(fetch_status_class(400), FETCH_CLIENT_ERROR);
	assert_int_equal(fetch_status_class(409), FETCH_CLIENT_ERROR);
	fetch_http(&r, 503, "ServiceUnavailable", NULL, -1);
	assert_true(fetch_transient(&r));
	fetch_http(&r, 404, "SecretNotFound", NULL, -1);
	assert_false(fetch_transient(&r));
	assert_string_equal(fetch_class_name(r.cls), "not_found");

	/* Without a response: the static text, no status. */
	fetch_fail(&r, FETCH_TRANSPORT, "request failed", "Timeout was reached");
	assert_true(fetch_transient(&r));
	assert_int_equal(r.status, 0);
	assert_int_equal(r.retry_after_ms, -1);
	assert_string_equal(fetch_reason(&r, buf, sizeof(buf)),
	    "request failed");
	assert_string_equal(fetch_class_name(r.cls), "connection");
	fetch_fail(&r, FETCH_DISABLED, "version is disabled", NULL);
	assert_false(fetch_transient(&r));
	assert_string_equal(r.detail, "");
	assert_string_equal(fetch_class_name(r.cls), "disabled");
	fetch_fail(&r, FETCH_RENDER, "cannot render the object", "bad PEM");
	assert_false(fetch_transient(&r));
	assert_string_equal(fetch_class_name(r.cls), "render_error");
	fetch_fail(&r, FETCH_BAD_RESPONSE, "bad response", "not JSON");
	assert_true(fetch_transient(&r));
	fetch_fail(&r, FETCH_LOCAL, "out of memory", NULL);
	assert_true(fetch_transient(&r));
	assert_string_equal(fetch_class_name(r.cls), "other");
	fetch_fail(&r, FETCH_CHALLENGE, "refusing Key Vault's challenge",
	    "https://evil.example");
	assert_false(fetch_transient(&r));
	assert_string_equal(fetch_class_name(r.cls), "challenge");
	assert_null(fetch_class_name(FETCH_OK));
	assert_null(fetch_class_name(FETCH_UNCHANGED));
	assert_string_equal(fetch_class_name(FETCH_NCLASSES), "other");
}

static void
test_backoff_caps(void **state)
{
	(void)state;
	/* The cap is the interval, within [30 s, 5 min]. */
	assert_int_equal(policy_retry_cap(1000), 30000);
	assert_int_equal(policy_retry_cap(60000), 60000);
	assert_int_equal(policy_retry_cap(3600000), 300000);
	/* rnd 0.5: no jitter: 1 s doubling up to the cap. */
	assert_int_equal(policy_retry_delay(1, 60000, 0.5, -1), 1000);
	assert_int_equal(policy_retry_delay(3, 60000, 0.5, -1), 4000);
	assert_int_equal(policy_retry_delay(20, 1000, 0.5, -1), 30000);
	assert_int_equal(policy_retry_delay(20, 3600000, 0.5, -1), 300000);
	/* ±25% after the cap, not clamped to it (no herd at the cap). */
	assert_int_equal(policy_retry_delay(20, 3600000, 0.0, -1), 225000);
	assert_true(policy_retry_delay(20, 3600000, 0.999, -1) < 375000);
	assert_true(policy_retry_delay(20, 3600000, 0.999, -1) > 374000);
	assert_int_equal(policy_retry_delay(1, 60000, 0.0, -1), 750);
	/*
	 * Retry-After is the server's word: a floor even above the cap, and
	 * not lengthened by the failures before it (an outage), spread over
	 * a fifth more; never under 1 s, never over 10 min.
	 */
	assert_int_equal(policy_retry_delay(1, 60000, 0.0, 9000), 9000);
	assert_int_equal(policy_retry_delay(1, 60000, 0.5, 9000), 9900);
	assert_true(policy_retry_delay(1, 60000, 0.999, 9000) < 10800);
	assert_int_equal(policy_retry_delay(20, 1000, 0.0, 120000), 120000);
	assert_int_equal(policy_retry_delay(9, 60000, 0.0, 6000), 6000);
	assert_int_equal(policy_retry_delay(5, 60000, 0.0, 100), 1000);
	assert_int_equal(policy_retry_delay(5, 60000, 0.0, 0), 1000);
	assert_int_equal(policy_retry_delay(1, 60000, 0.0, 86400000),
	    600000);
}

static void
test_next_due(void **state)
{
	struct policy_source src = { .next_cycle = 60000, .failures = 0 };
	struct policy_run run = { .once = 0 };
	int64_t due = 0;

	(void)state;
	/* A success: the next cycle, or now if that passed. */
	assert_int_equal(policy_next(&src, &run, 0, 0, 1000, &due), 0);
	assert_int_equal(due, 60000);
	assert_int_equal(policy_next(&src, &run, 0, 0, 70000, &due), 0);
	assert_int_equal(due, 70000);
	/* A transient failure backs off from now. */
	src.failures = 2;
	assert_int_equal(policy_next(&src, &run, 1, 2000, 1000, &due), 0);
	assert_int_equal(due, 3000);
	/* A permanent one waits for the next cycle. */
	assert_int_equal(policy_next(&src, &run, 0, 2000, 1000, &due), 0);
	assert_int_equal(due, 60000);
	/* Retry-After is a floor for both. */
	src.not_before = 90000;
	assert_int_equal(policy_next(&src, &run, 1, 2000, 1000, &due), 0);
	assert_int_equal(due, 90000);
	assert_int_equal(policy_next(&src, &run, 0, 0, 1000, &due), 0);
	assert_int_equal(due, 90000);
	/* A selected secret: on demand after a success or permanent failure. */
	src.not_before = 0;
	src.on_demand = 1;
	src.failures = 0;
	assert_int_equal(policy_next(&src, &run, 0, 0, 1000, &due), 0);
	assert_int_equal(due, INT64_MAX);
	src.failures = 1;
	assert_int_equal(policy_next(&src, &run, 0, 0, 1000, &due), 0);
	assert_int_equal(due, INT64_MAX);
	assert_int_equal(policy_next(&src, &run, 1, 500, 1000, &due), 0);
	assert_int_equal(due, 1500);
}

static void
test_once_settles(void **state)
{
	struct policy_source src = { .next_cycle = 60000 };
	struct policy_run run = { .once = 1, .deadline = 30000 };
	int64_t due = 0;

	(void)state;
	/* A success and a permanent failure settle at once. */
	assert_int_equal(policy_next(&src, &run, 0, 0, 1000, &due), 1);
	src.failures = 1;
	assert_int_equal(policy_next(&src, &run, 0, 0, 1000, &due), 1);
	/* A transient one is retried while the retry is before once_timeout. */
	assert_int_equal(policy_next(&src, &run, 1, 4000, 1000, &due), 0);
	assert_int_equal(due, 5000);
	assert_int_equal(policy_next(&src, &run, 1, 4000, 26000, &due), 1);
	assert_int_equal(policy_next(&src, &run, 1, 4000, 25999, &due), 0);
	/* ... and Retry-After past the deadline settles it too. */
	src.not_before = 31000;
	assert_int_equal(policy_next(&src, &run, 1, 1000, 1000, &due), 1);
}

struct fake {
	const char *name, *reason;
	int counts, complete;
	unsigned failures;
	int64_t failing_since, last_ok;
};

static void
fake_view(size_t i, struct policy_view *v, void *cookie)
{
	const struct fake *f = (const struct fake *)cookie + i;

	v->name = f->name;
	v->reason = f->reason;
	v->waits_for = f->reason[0] != '\0' ? f->reason : "not fetched yet";
	v->counts = f->counts;
	v->complete = f->complete;
	v->failures = f->failures;
	v->failing_since = f->failing_since;
	v->last_ok = f->last_ok;
}

static void
test_complete(void **state)
{
	struct fake f[] = {
		{ "a", "", 1, 1, 0, 0, 0 },
		{ "b", "", 1, 0, 0, 0, 0 },
		{ "c", "HTTP 403 Forbidden", 1, 0, 1, 0, 0 },
		{ "opt", "HTTP 404 SecretNotFound", 0, 0, 1, 0, 0 },
	};
	char why[256];

	(void)state;
	/* The failing one is named first. */
	assert_int_equal(policy_complete(4, fake_view, f, 1, 0, why,
	    sizeof(why)), 0);
	assert_string_equal(why,
	    "waiting for 2 of 3 objects: c: HTTP 403 Forbidden");
	f[2].complete = 1;
	assert_int_equal(policy_complete(4, fake_view, f, 1, 0, why,
	    sizeof(why)), 0);
	assert_string_equal(why,
	    "waiting for 1 of 3 objects: b: not fetched yet");
	/* Optional ones do not count. */
	f[1].complete = 1;
	assert_int_equal(policy_complete(4, fake_view, f, 1, 0, why,
	    sizeof(why)), 1);
	assert_string_equal(why, "complete");
	/* Only optional ones: once a snapshot is written, or --once. */
	assert_int_equal(policy_complete(1, fake_view, f + 3, 0, 0, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "no snapshot written yet");
	assert_int_equal(policy_complete(1, fake_view, f + 3, 1, 0, why,
	    sizeof(why)), 1);
	assert_int_equal(policy_complete(1, fake_view, f + 3, 0, 1, why,
	    sizeof(why)), 1);
	assert_int_equal(policy_complete(0, fake_view, f, 1, 0, why,
	    sizeof(why)), 1);
}

static void
test_fresh(void **state)
{
	struct fake f[] = {
		{ "a", "", 1, 1, 0, 0, 100000 },
		{ "b", "HTTP 503 ServiceUnavailable", 1, 1, 3, 10000, 0 },
		{ "opt", "HTTP 404", 0, 1, 50, 0, 0 },
	};
	struct policy_ready lim = { .interval_ms = 60000, .max_failed = 3,
	    .timeout_ms = 30000 };
	char why[256];

	(void)state;
	/* Failing for 180 s: the limit (3 intervals), not more. */
	assert_int_equal(policy_fresh(3, fake_view, f, &lim, 190000, why,
	    sizeof(why)), 1);
	assert_string_equal(why, "ready");
	assert_int_equal(policy_fresh(3, fake_view, f, &lim, 190001, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "b: failing for 180s: "
	    "HTTP 503 ServiceUnavailable");
	/* Stale: 4 intervals +10% + timeout without a success. */
	f[1].failures = 0;
	f[1].last_ok = 100000;
	assert_int_equal(policy_fresh(3, fake_view, f, &lim,
	    100000 + 264000 + 30000, why, sizeof(why)), 1);
	assert_int_equal(policy_fresh(3, fake_view, f, &lim,
	    100000 + 264000 + 30001, why, sizeof(why)), 0);
	assert_string_equal(why, "a: no successful fetch for 294s: "
	    "not fetched");
	lim.no_token = 1;
	assert_int_equal(policy_fresh(3, fake_view, f, &lim,
	    100000 + 264000 + 30001, why, sizeof(why)), 0);
	assert_string_equal(why, "a: no successful fetch for 294s: "
	    "no access token");
}

/*
 * One vault's health: one source failing alone is its own failure; two
 * make the vault failing, probed once per backoff step until it answers.
 */
static void
test_gate(void **state)
{
	struct policy_gate g;
	uint64_t d1 = policy_retry_delay(1, 20000, 0.5, -1);
	uint64_t d2 = policy_retry_delay(2, 20000, 0.5, -1);

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_true(policy_gate_may_start(&g, 0));
	/* Source 1 fails, again: its own failure, the vault stays open. */
	policy_gate_failed(&g, 1, 20000, 0.5, -1, 1000);
	policy_gate_failed(&g, 1, 20000, 0.5, -1, 2000);
	assert_int_equal(g.failures, 0);
	assert_true(policy_gate_may_start(&g, 2000));
	/* An answer between them: source 2's failure is its own as well. */
	policy_gate_ok(&g);
	policy_gate_failed(&g, 2, 20000, 0.5, -1, 3000);
	assert_int_equal(g.failures, 0);
	/* Source 3 fails too: the vault fails, a round of backoff. */
	policy_gate_failed(&g, 3, 20000, 0.5, -1, 3000);
	assert_int_equal(g.failures, 1);
	assert_int_equal(g.due, 3000 + (int64_t)d1);
	assert_false(policy_gate_may_start(&g, 3000));
	assert_false(policy_gate_may_start(&g, 3000 + (int64_t)d1 - 1));
	/* The rest of the burst that found it out: no new round. */
	policy_gate_failed(&g, 4, 20000, 0.5, -1, 3010);
	policy_gate_failed(&g, 5, 20000, 0.5, -1, 3020);
	assert_int_equal(g.failures, 1);
	assert_int_equal(g.due, 3000 + (int64_t)d1);
	/* Due: one probe at a time. */
	assert_true(policy_gate_may_start(&g, 3000 + (int64_t)d1));
	g.probing = 1;
	assert_false(policy_gate_may_start(&g, 3000 + (int64_t)d1));
	/* The probe fails: the next round, from then. */
	g.probing = 0;
	policy_gate_failed(&g, 4, 20000, 0.5, -1, 5000);
	assert_int_equal(g.failures, 2);
	assert_int_equal(g.due, 5000 + (int64_t)d2);
	/* A later Retry-After moves it; an earlier one does not. */
	policy_gate_failed(&g, 5, 20000, 0.5, 10000, 5100);
	assert_int_equal(g.due, 15100);
	policy_gate_failed(&g, 6, 20000, 0.5, 1000, 5200);
	assert_int_equal(g.due, 15100);
	assert_int_equal(g.failures, 2);
	/* The probe at Retry-After is throttled again: its word, jittered. */
	policy_gate_failed(&g, 1, 20000, 0.0, 8000, 15100);
	assert_int_equal(g.failures, 3);
	assert_int_equal(g.due, 23100);
	/* It answers: open to every source. */
	policy_gate_ok(&g);
	assert_int_equal(g.failures, 0);
	assert_true(policy_gate_may_start(&g, 0));
}

/*
 * A 30 s outage of a vault of 10 sources, on a clock of 10 ms ticks: each
 * source due at its own backoff, queued when due, starting only when the
 * vault's health lets it (every request fails at once; a probe's failure
 * is each waiting source's).  Requests: the ones that found the outage
 * out, then one per backoff step of the vault, not ten.
 */
static void
test_gate_outage(void **state)
{
	struct policy_gate g;
	int64_t due[10], now;
	unsigned fails[10], steps = 0;
	int queued[10];
	size_t i, j, requests = 0;

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(fails, 0, sizeof(fails));
	memset(queued, 0, sizeof(queued));
	for (i = 0; i < 10; i++)
		due[i] = 0;
	for (now = 0; now < 30000; now += 10) {
		for (i = 0; i < 10; i++)
			if (!queued[i] && due[i] <= now)
				queued[i] = 1;
		for (i = 0; i < 10; i++) {
			int probe;

			if (!queued[i] || !policy_gate_may_start(&g, now))
				continue;
			probe = g.failures > 0;
			requests++;
			queued[i] = 0;
			policy_gate_failed(&g, i + 1, 20000, 0.5, -1, now);
			fails[i]++;
			due[i] = now + (int64_t)policy_retry_delay(fails[i],
			    20000, 0.5, -1);
			if (!probe)
				continue;
			steps++;
			for (j = 0; j < 10; j++)
				if (queued[j]) {
					queued[j] = 0;
					fails[j]++;
					due[j] = now + (int64_t)
					    policy_retry_delay(fails[j], 20000,
					    0.5, -1);
				}
		}
	}
	/*
	 * Found out at 0 s by two requests (answers are instant here: in
	 * akvd, by every request then in flight), probed at 1, 3, 7 and
	 * 15 s (the 16 s step ends after the 30 s): 6 requests, not 10 a
	 * step.
	 */
	assert_int_equal(steps, 4);
	assert_int_equal(requests, 2 + steps);
	/* Every source still counts its own failures. */
	for (i = 0; i < 10; i++)
		assert_true(fails[i] >= 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_classes),
		cmocka_unit_test(test_backoff_caps),
		cmocka_unit_test(test_next_due),
		cmocka_unit_test(test_once_settles),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_gate_outage),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
