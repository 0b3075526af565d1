/*
 * duration.c - durations as written in the configuration file.
 */
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char	*unit;
	uint64_t	 ms;
} units[] = {		/* decreasing, as they must appear */
	{ "d",	86400000ULL },
	{ "h",	3600000ULL },
	{ "m",	60000ULL },
	{ "s",	1000ULL },
	{ "ms",	1ULL },
};
#define NUNITS	(sizeof(units) / sizeof(units[0]))

/*
 * duration_parse(s, ms): parse "500ms", "90s", "2m", "1h", "1d" or a
 * sequence of them ("1h30m"), or a bare non-negative integer meaning
 * seconds, into milliseconds.  Returns 0, or -1 if ${s} is empty, has an
 * unknown unit, a negative or fractional number, or overflows.
 */
int
duration_parse(const char *s, uint64_t *out)
{
	uint64_t total = 0, n, add;
	size_t next = 0, i, ulen;
	const char *p = s;
	int digits;

	if (s == NULL || *s == '\0')
		return (-1);
	for (;;) {
		n = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (n > (UINT64_MAX - 9) / 10)
				return (-1);
			n = n * 10 + (uint64_t)(*p - '0');
			p++;
			digits++;
		}
		if (digits == 0)
			return (-1);
		if (*p == '\0') {
			/* A bare integer: seconds; only on its own. */
			if (p - digits != s)
				return (-1);
			if (n > UINT64_MAX / 1000)
				return (-1);
			*out = n * 1000;
			return (0);
		}
		/* Longest unit first so "ms" is not read as "m". */
		for (i = next; i < NUNITS; i++) {
			ulen = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, ulen) == 0 &&
			    !(i == 2 && p[1] == 's'))
				break;
		}
		if (i == NUNITS)
			return (-1);
		if (n > UINT64_MAX / units[i].ms)
			return (-1);
		add = n * units[i].ms;
		if (total > UINT64_MAX - add)
			return (-1);
		total += add;
		p += ulen;
		next = i + 1;
		if (*p == '\0')
			break;
	}
	*out = total;
	return (0);
}

/*
 * duration_format(ms, buf, len): write the shortest exact form of ${ms}
 * ("2m", "1h30m", "1500ms", "0s") into ${buf}.
 */
void
duration_format(uint64_t ms, char *buf, size_t len)
{
	size_t i, off = 0;
	int n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (ms % 1000 != 0 && ms < 60000) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return;
	}
	for (i = 0; i < NUNITS && ms > 0; i++) {
		if (ms < units[i].ms)
			continue;
		n = snprintf(buf + off, len - off, "%llu%s",
		    (unsigned long long)(ms / units[i].ms), units[i].unit);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
		ms %= units[i].ms;
	}
}
