/*
 * test_duration.c - durations as written in the configuration file.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "duration.h"

static uint64_t
parse_ok(const char *s)
{
	uint64_t ms = 12345;

	assert_int_equal(duration_parse(s, &ms), 0);
	return (ms);
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("500ms"), 500);
	assert_int_equal(parse_ok("90s"), 90000);
	assert_int_equal(parse_ok("2m"), 120000);
	assert_int_equal(parse_ok("1h"), 3600000);
	assert_int_equal(parse_ok("1d"), 86400000);
	assert_int_equal(parse_ok("1h30m"), 5400000);
	assert_int_equal(parse_ok("1m500ms"), 60500);
	assert_int_equal(parse_ok("1d2h3m4s5ms"), 93784005);
	assert_int_equal(parse_ok("0s"), 0);
	assert_int_equal(parse_ok("120"), 120000);	/* bare: seconds */
	assert_int_equal(parse_ok("0"), 0);
}

static void
test_parse_errors(void **state)
{
	static const char *bad[] = { "", "5x", "-1s", "1.5s", " 1s", "1s ",
	    "s", "1m1h", "1s1s", "1ms1s", "10 s", "1S", "1h30",
	    "99999999999999999999s", "18446744073709551615s", "1e3",
	    "+5s", "ms", NULL };
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (duration_parse(bad[i], &ms) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
	assert_int_equal(duration_parse(NULL, &ms), -1);
}

static void
test_format(void **state)
{
	static const struct { uint64_t ms; const char *s; } cases[] = {
		{ 0, "0s" }, { 500, "500ms" }, { 1500, "1500ms" },
		{ 1000, "1s" }, { 90000, "1m30s" }, { 120000, "2m" },
		{ 5400000, "1h30m" }, { 86400000, "1d" }, { 60500, "1m500ms" },
		{ 93784005, "1d2h3m4s5ms" },
	};
	char buf[64];
	uint64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		duration_format(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
		/* Every formatted duration parses back to itself. */
		assert_int_equal(duration_parse(buf, &back), 0);
		assert_int_equal(back, cases[i].ms);
	}
	duration_format(93784005, buf, 4);	/* truncation stays a string */
	assert_true(strlen(buf) < 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
