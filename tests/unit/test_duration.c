/*
 * test_duration.c - durations as written in the configuration file.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "duration.h"

static void
test_parse(void **state)
{
	static const struct { const char *s; uint64_t ms; } ok[] = {
		{ "500ms", 500 }, { "90s", 90000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "1d", 86400000 },
		{ "1h30m", 5400000 }, { "1m500ms", 60500 },
		{ "1d2h3m4s5ms", 93784005 }, { "1d5ms", 86400005 },
		{ "2h1s", 7201000 }, { "1d0h", 86400000 },
		{ "0s", 0 }, { "0ms", 0 }, { "0d0h0m0s0ms", 0 },
		{ "007s", 7000 }, { "90m", 5400000 }, { "1500ms", 1500 },
		/* A bare integer means seconds. */
		{ "120", 120000 }, { "0", 0 }, { "00", 0 },
		/* The largest values that fit. */
		{ "18446744073709551615ms", UINT64_MAX },
		{ "18446744073709551s", 18446744073709551000ULL },
		{ "18446744073709551", 18446744073709551000ULL },
		{ "213503982334d", 18446744073657600000ULL },
		{ "213503982334d51951615ms", UINT64_MAX },
		{ "213503982334d14h25m51s615ms", UINT64_MAX },
	};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = 12345;
		if (duration_parse(ok[i].s, &ms) != 0)
			fail_msg("\"%s\" was refused", ok[i].s);
		if (ms != ok[i].ms)
			fail_msg("\"%s\": got %llu, want %llu", ok[i].s,
			    (unsigned long long)ms,
			    (unsigned long long)ok[i].ms);
	}
}

static void
test_parse_errors(void **state)
{
	static const char *bad[] = {
		/* empty, signs, fractions, exponents, other bases */
		"", "-1s", "-0", "+5s", "1.5s", "1.5", ".5s", "1e3", "0x10",
		/* units: missing, unknown, upper case, misspelt */
		"s", "ms", "5x", "1S", "1H", "1sec", "1min", "1hh", "1msx",
		"1sm", "1us", "1w", "1y",
		/* order: decreasing, each unit at most once, no bare tail */
		"1m1h", "1s1s", "1ms1s", "1s1d", "1h1h", "1h30", "30m1",
		/* whitespace anywhere */
		" 1s", "1s ", "1 s", "1m 30s", "\t1s", "1s\n", " ",
		/* overflow of a number, a product, the sum */
		"18446744073709551616ms", "99999999999999999999s",
		"18446744073709552s", "18446744073709552",
		"213503982335d", "213503982334d51951616ms",
		"213503982334d15h", "213503982334d14h25m51s616ms",
		NULL
	};
	uint64_t ms = 42;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (duration_parse(bad[i], &ms) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
	assert_int_equal(duration_parse(NULL, &ms), -1);
	assert_int_equal(ms, 42);		/* untouched on error */
}

static void
test_format(void **state)
{
	static const struct { uint64_t ms; const char *s; } cases[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 500, "500ms" },
		{ 999, "999ms" }, { 1000, "1s" }, { 1500, "1500ms" },
		{ 4005, "4005ms" }, { 59999, "59999ms" }, { 60000, "1m" },
		{ 60500, "1m500ms" }, { 61500, "1m1s500ms" },
		{ 90000, "1m30s" }, { 120000, "2m" }, { 3600000, "1h" },
		{ 5400000, "1h30m" }, { 86400000, "1d" },
		{ 90000000, "1d1h" }, { 86401000, "1d1s" },
		{ 93784005, "1d2h3m4s5ms" },
		{ UINT64_MAX, "213503982334d14h25m51s615ms" },
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
		assert_true(back == cases[i].ms);
	}
}

/* Formatting then parsing is the identity, for many values. */
static void
test_roundtrip(void **state)
{
	uint64_t x = 88172645463325252ULL, v, back;
	char buf[64];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		/* xorshift64, at every scale */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = x >> (i % 64);
		duration_format(v, buf, sizeof(buf));
		if (duration_parse(buf, &back) != 0 || back != v)
			fail_msg("%llu -> \"%s\" does not parse back",
			    (unsigned long long)v, buf);
	}
}

static void
test_format_small_buffer(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	duration_format(93784005, buf, 4);	/* "1d2h3m4s5ms" */
	assert_true(strlen(buf) < 4);		/* still a string */
	assert_int_equal(buf[4], 'x');		/* nothing written past */
	duration_format(1500, buf, 3);
	assert_true(strlen(buf) < 3);
	buf[0] = 'y';
	duration_format(1000, buf, 0);		/* writes nothing */
	assert_int_equal(buf[0], 'y');
	duration_format(120000, buf, 3);	/* exactly fits */
	assert_string_equal(buf, "2m");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_format_small_buffer),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
