/*
 * test_num.c - the range-checked conversions every number from the network
 * or the configuration goes through (num_from_double, num_parse,
 * json_int), with hostile inputs.  Built with clang's
 * -fsanitize=float-cast-overflow, no cast here may be undefined.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "json.h"
#include "util.h"

static void
test_from_double(void **state)
{
	static const struct {
		double	 d;
		int64_t	 min, max;
		int	 err;		/* 0: ok, else errno */
		int64_t	 want;
	} cases[] = {
		{ 0, 0, 10, 0, 0 },
		{ 1.5, 0, 10, 0, 1 },
		{ 9.999, 0, 10, 0, 9 },
		{ -1.5, -10, 10, 0, -1 },
		{ 10, 0, 10, 0, 10 },
		{ 10.5, 0, 10, 0, 10 },	/* truncated, then checked */
		{ 11, 0, 10, ERANGE, 0 },
		{ -0.5, 0, 10, 0, 0 },
		{ -1, 0, 10, ERANGE, 0 },
		{ 1e26, 0, INT64_MAX, ERANGE, 0 },
		{ -1e26, INT64_MIN, 0, ERANGE, 0 },
		{ 1e300, INT64_MIN, INT64_MAX, ERANGE, 0 },
		{ -1e300, INT64_MIN, INT64_MAX, ERANGE, 0 },
		{ 9223372036854775807.0, INT64_MIN, INT64_MAX, ERANGE, 0 },
		{ 9223372036854774784.0, INT64_MIN, INT64_MAX, 0,
		    INT64_C(9223372036854774784) },
		{ -9223372036854775808.0, INT64_MIN, INT64_MAX, 0, INT64_MIN },
		{ 2147483648.0, 0, INT32_MAX, ERANGE, 0 },
	};
	int64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 42;
		errno = 0;
		if (cases[i].err == 0) {
			if (num_from_double(cases[i].d, cases[i].min,
			    cases[i].max, &n) != 0 || n != cases[i].want)
				fail_msg("%.17g: %lld", cases[i].d,
				    (long long)n);
		} else {
			assert_int_equal(num_from_double(cases[i].d,
			    cases[i].min, cases[i].max, &n), -1);
			assert_int_equal(errno, cases[i].err);
			assert_int_equal(n, 42);
		}
	}
	assert_int_equal(num_from_double(NAN, INT64_MIN, INT64_MAX, &n), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(num_from_double(INFINITY, INT64_MIN, INT64_MAX, &n),
	    -1);
	assert_int_equal(num_from_double(-INFINITY, INT64_MIN, INT64_MAX, &n),
	    -1);
}

static void
test_parse(void **state)
{
	static const struct {
		const char	*s;
		int64_t		 min, max;
		int		 err;
		int64_t		 want;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "7", 0, 10, 0, 7 },
		{ "+7", 0, 10, 0, 7 },
		{ "007", 0, 10, 0, 7 },
		{ "7.9", 0, 10, 0, 7 },
		{ "-7.9", -10, 10, 0, -7 },
		{ "-0", 0, 10, 0, 0 },
		{ "11", 0, 10, ERANGE, 0 },
		{ "-1", 0, 10, ERANGE, 0 },
		{ "9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX },
		{ "9223372036854775808", INT64_MIN, INT64_MAX, ERANGE, 0 },
		{ "-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN },
		{ "-9223372036854775809", INT64_MIN, INT64_MAX, ERANGE, 0 },
		{ "9223372036854775807", 0, 86400, ERANGE, 0 },
		{ "99999999999999999999999999999999999999", 0, INT64_MAX,
		    ERANGE, 0 },
		{ "18446744073709551616", 0, INT64_MAX, ERANGE, 0 },
		{ "", 0, 10, EINVAL, 0 },
		{ "-", 0, 10, EINVAL, 0 },
		{ ".5", 0, 10, EINVAL, 0 },
		{ "5.", 0, 10, EINVAL, 0 },
		{ " 5", 0, 10, EINVAL, 0 },
		{ "5 ", 0, 10, EINVAL, 0 },
		{ "0x5", 0, 10, EINVAL, 0 },
		{ "1e3", 0, 10000, EINVAL, 0 },
		{ "inf", 0, 10, EINVAL, 0 },
		{ "nan", 0, 10, EINVAL, 0 },
		{ "5s", 0, 10, EINVAL, 0 },
		{ "--5", -10, 10, EINVAL, 0 },
		{ "1.2.3", 0, 10, EINVAL, 0 },
	};
	int64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 42;
		errno = 0;
		if (cases[i].err == 0) {
			if (num_parse(cases[i].s, strlen(cases[i].s),
			    cases[i].min, cases[i].max, &n) != 0 ||
			    n != cases[i].want)
				fail_msg("\"%s\": %lld", cases[i].s,
				    (long long)n);
		} else {
			if (num_parse(cases[i].s, strlen(cases[i].s),
			    cases[i].min, cases[i].max, &n) != -1 ||
			    errno != cases[i].err || n != 42)
				fail_msg("\"%s\": accepted or errno %d",
				    cases[i].s, errno);
		}
	}
	/* Only ${len} bytes are read. */
	assert_int_equal(num_parse("12345", 2, 0, 100, &n), 0);
	assert_int_equal(n, 12);
}

static void
test_json_int(void **state)
{
	static const struct {
		const char	*json;
		int		 ok;
		int64_t		 want;
	} cases[] = {
		{ "3600", 1, 3600 },
		{ "\"3600\"", 1, 3600 },
		{ "3599.9", 1, 3599 },
		{ "1e26", 0, 0 },
		{ "-1e26", 0, 0 },
		{ "1e308", 0, 0 },
		{ "\"9223372036854775807\"", 0, 0 },
		{ "\"1e26\"", 0, 0 },
		{ "null", 0, 0 },
		{ "true", 0, 0 },
		{ "[1]", 0, 0 },
		{ "{}", 0, 0 },
	};
	cJSON *j;
	int64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = cJSON_Parse(cases[i].json);
		assert_non_null(j);
		n = 42;
		if (cases[i].ok) {
			assert_int_equal(json_int(j, 0, 86400 * 366, &n), 0);
			assert_int_equal(n, cases[i].want);
		} else {
			assert_int_equal(json_int(j, 0, 86400 * 366, &n), -1);
			assert_int_equal(n, 42);
		}
		cJSON_Delete(j);
	}
	assert_int_equal(json_int(NULL, 0, 1, &n), -1);
	assert_int_equal(errno, EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_double),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_json_int),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
