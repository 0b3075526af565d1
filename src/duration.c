/*
 * duration.c - durations as written in the configuration file.
 */
#include <stdio.h>
#include <string.h>

#include "duration.h"

/* The units, in the decreasing order they must appear in. */
static const struct {
	const char	*name;
	uint64_t	 ms;
} units[] = {
	{ "d",	86400000 },
	{ "h",	3600000 },
	{ "m",	60000 },
	{ "s",	1000 },
	{ "ms",	1 },
};
#define NUNITS	(sizeof(units) / sizeof(units[0]))

/*
 * Read the decimal digits at *${pp} into ${n} and advance *${pp} past them.
 * Returns 0, or -1 if there is no digit or the number overflows.
 */
static int
number(const char **pp, uint64_t *n)
{
	const char *p = *pp;
	unsigned d;

	*n = 0;
	if (*p < '0' || *p > '9')
		return (-1);
	for (; *p >= '0' && *p <= '9'; p++) {
		d = (unsigned)(*p - '0');
		if (*n > (UINT64_MAX - d) / 10)
			return (-1);
		*n = *n * 10 + d;
	}
	*pp = p;
	return (0);
}

/*
 * The index of the unit spelled by the ${len} bytes at ${s}, looking only
 * at units from ${from} on; NUNITS if there is none.
 */
static size_t
unit_find(const char *s, size_t len, size_t from)
{
	size_t i;

	for (i = from; i < NUNITS; i++)
		if (strlen(units[i].name) == len &&
		    strncmp(s, units[i].name, len) == 0)
			break;
	return (i);
}

/*
 * duration_parse(s, ms): parse "500ms", "90s", "2m", "1h", "1d" or a
 * sequence of them ("1h30m"), or a bare non-negative integer meaning
 * seconds, into milliseconds.  Returns 0, or -1 if ${s} is empty, has an
 * unknown unit, a negative or fractional number, or overflows.
 */
int
duration_parse(const char *s, uint64_t *ms)
{
	const char *p = s, *u;
	uint64_t total = 0, n;
	size_t next = 0, i;

	if (s == NULL || *s == '\0')
		return (-1);

	/* A bare integer means seconds. */
	if (number(&p, &n) == 0 && *p == '\0') {
		if (n > UINT64_MAX / 1000)
			return (-1);
		*ms = n * 1000;
		return (0);
	}

	/* Otherwise NUMBER UNIT pairs, each unit smaller than the last. */
	for (p = s; *p != '\0'; p = u) {
		if (number(&p, &n) == -1)
			return (-1);
		for (u = p; *u >= 'a' && *u <= 'z'; u++)
			;
		if ((i = unit_find(p, (size_t)(u - p), next)) == NUNITS)
			return (-1);
		if (n > UINT64_MAX / units[i].ms ||
		    total > UINT64_MAX - n * units[i].ms)
			return (-1);
		total += n * units[i].ms;
		next = i + 1;
	}
	*ms = total;
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

	/*
	 * Under a minute, a value with milliseconds is written in
	 * milliseconds alone ("1500ms", not "1s500ms"); anything else is
	 * split greedily into the largest units ("1h30m", "1m30s",
	 * "1m500ms").  A buffer too small gets a truncated string.
	 */
	if (ms == 0 || (ms < units[2].ms && ms % units[3].ms != 0)) {
		snprintf(buf, len, "%llu%s", (unsigned long long)ms,
		    ms == 0 ? "s" : "ms");
		return;
	}
	for (i = 0; i < NUNITS && ms > 0; i++) {
		if (ms < units[i].ms)
			continue;
		n = snprintf(buf + off, len - off, "%llu%s",
		    (unsigned long long)(ms / units[i].ms), units[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
		ms %= units[i].ms;
	}
}
