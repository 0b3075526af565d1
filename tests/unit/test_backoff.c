/*
 * test_backoff.c - retry delays and token renewal arithmetic.
 */
#include <stdint.h>

#include "unit.h"

#include "backoff.h"
#include "http.h"

static void
test_jitter(void **state)
{
	(void)state;
	assert_int_equal(backoff_jitter(1000, 0.0), 900);
	assert_int_equal(backoff_jitter(1000, 0.5), 1000);
	assert_true(backoff_jitter(1000, 0.999999) <= 1100);
	assert_true(backoff_jitter(1000, 0.999999) >= 1099);
	assert_int_equal(backoff_jitter(0, 0.7), 0);
}

static void
test_delay(void **state)
{
	(void)state;
	/* rnd 0.5 = no jitter: 1 s doubling. */
	assert_int_equal(backoff_delay(1, 1000, 60000, 0.5), 1000);
	assert_int_equal(backoff_delay(2, 1000, 60000, 0.5), 2000);
	assert_int_equal(backoff_delay(3, 1000, 60000, 0.5), 4000);
	assert_int_equal(backoff_delay(6, 1000, 60000, 0.5), 32000);
	assert_int_equal(backoff_delay(7, 1000, 60000, 0.5), 60000);
	/* Jitter bounds, and never above the cap. */
	assert_int_equal(backoff_delay(3, 1000, 60000, 0.0), 3600);
	assert_int_equal(backoff_delay(3, 1000, 60000, 0.999999), 4399);
	assert_int_equal(backoff_delay(10, 1000, 60000, 0.999999), 60000);
	assert_int_equal(backoff_delay(10, 1000, 60000, 0.0), 54000);
	/* No overflow for absurd attempts. */
	assert_int_equal(backoff_delay(200, 1000, 60000, 0.5), 60000);
	assert_int_equal(backoff_delay(4000000000u, UINT64_MAX / 3,
	    UINT64_MAX / 2, 0.5) <= UINT64_MAX / 2, 1);
	assert_int_equal(backoff_delay(0, 1000, 60000, 0.5), 1000);
}

static void
test_retry_after(void **state)
{
	(void)state;
	assert_int_equal(backoff_retry_after(-1, 2000), 2000);
	assert_int_equal(backoff_retry_after(4000, 2000), 4000);
	assert_int_equal(backoff_retry_after(1000, 2000), 2000);
	assert_int_equal(backoff_retry_after(3600000, 2000), 600000);
	assert_int_equal(backoff_retry_after(0, 0), 0);
}

static void
test_token_schedule(void **state)
{
	struct token_times t;
	const int64_t now = 1700000000;

	(void)state;
	/* 24 h token, no refresh_in: half-life. */
	backoff_token_schedule(now, 86399, 0, &t);
	assert_int_equal(t.expires_on, now + 86399);
	assert_int_equal(t.renew_at, now + 86399 / 2);
	assert_int_equal(t.usable_until, now + 86399 - 10);
	/* 1 h token: 5 minutes before expiry. */
	backoff_token_schedule(now, 3600, 0, &t);
	assert_int_equal(t.renew_at, now + 3300);
	/* Exactly 2 h is not "over 2 h". */
	backoff_token_schedule(now, 7200, 0, &t);
	assert_int_equal(t.renew_at, now + 6900);
	backoff_token_schedule(now, 7201, 0, &t);
	assert_int_equal(t.renew_at, now + 3600);
	/* refresh_in wins... */
	backoff_token_schedule(now, 86399, 43200, &t);
	assert_int_equal(t.renew_at, now + 43200);
	backoff_token_schedule(now, 3600, 600, &t);
	assert_int_equal(t.renew_at, now + 600);
	/* ...but never later than 5 minutes before expiry. */
	backoff_token_schedule(now, 3600, 3500, &t);
	assert_int_equal(t.renew_at, now + 3300);
	/* Short-lived tokens renew at half-life; usable until exp - 1/4. */
	backoff_token_schedule(now, 60, 0, &t);
	assert_int_equal(t.renew_at, now + 30);
	assert_int_equal(t.usable_until, now + 50);
	backoff_token_schedule(now, 12, 0, &t);
	assert_int_equal(t.renew_at, now + 6);
	assert_int_equal(t.usable_until, now + 9);
	/* Nonsense lifetimes: due and unusable now. */
	backoff_token_schedule(now, 0, 0, &t);
	assert_int_equal(t.renew_at, now);
	assert_int_equal(t.usable_until, now);
	backoff_token_schedule(now, -5, 0, &t);
	assert_int_equal(t.usable_until, now);
	/* Whatever the lifetime, renewal is at least 1 s away. */
	backoff_token_schedule(now, 1, 0, &t);
	assert_int_equal(t.renew_at, now + 1);
	backoff_token_schedule(now, 2, 0, &t);
	assert_int_equal(t.renew_at, now + 1);
	backoff_token_schedule(now, 3600, 0 + 0, &t);
	assert_true(t.renew_at >= now + 1);
	/* Absurd lifetimes are clamped: no overflow, a finite renewal. */
	backoff_token_schedule(now, INT64_MAX, 0, &t);
	assert_true(t.expires_on > now && t.renew_at > now);
	assert_true(t.renew_at < t.expires_on);
	backoff_token_schedule(now, INT64_MAX, INT64_MAX, &t);
	assert_true(t.renew_at > now && t.renew_at < t.expires_on);
	/* Always: renew before usable_until, usable_until before expiry. */
	for (int64_t life = 1; life < 100000; life = life * 3 + 1) {
		backoff_token_schedule(now, life, 0, &t);
		assert_true(t.renew_at > now || life < 2);
		assert_true(t.renew_at <= t.usable_until);
		assert_true(t.usable_until <= t.expires_on);
	}
}

/* Retry-After, as http.c parses it for every response. */
static void
test_retry_after_header(void **state)
{
	const long now = 1795989483;	/* Sun, 29 Nov 2026 21:58:03 GMT */

	(void)state;
	assert_int_equal(http_retry_after("6", now), 6000);
	assert_int_equal(http_retry_after("0", now), 0);
	assert_int_equal(http_retry_after("120", now), 120000);
	/* Huge: a long time (a day), never an overflow or "no header". */
	assert_int_equal(http_retry_after("9223372036854775807", now),
	    86400000L);
	assert_int_equal(http_retry_after("99999999999999999999999", now),
	    86400000L);
	assert_int_equal(http_retry_after("-5", now), -1);
	assert_int_equal(http_retry_after("5s", now), -1);
	assert_int_equal(http_retry_after("soon", now), -1);
	/* HTTP dates. */
	assert_int_equal(http_retry_after("Sun, 29 Nov 2026 21:58:09 GMT",
	    now), 6000);
	assert_int_equal(http_retry_after("Sunday, 29-Nov-26 21:59:03 GMT",
	    now), 60000);
	assert_int_equal(http_retry_after("Sun Nov 29 21:58:13 2026", now),
	    10000);
	assert_int_equal(http_retry_after("Sun, 29 Nov 2026 21:00:00 GMT",
	    now), 0);
	assert_int_equal(http_retry_after("Sun, 29 Nov 2099 21:00:00 GMT",
	    now), 86400000L);
	/* The shared floor: the larger, capped at 10 minutes. */
	assert_int_equal(backoff_retry_after(http_retry_after("6", now),
	    1000), 6000);
	assert_int_equal(backoff_retry_after(http_retry_after("x", now),
	    1000), 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_token_schedule),
		cmocka_unit_test(test_retry_after_header),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
