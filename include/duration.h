/*
 * duration.h - durations as written in the configuration file.
 */
#ifndef AKVD_DURATION_H
#define AKVD_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * duration_parse(s, ms): parse "500ms", "90s", "2m", "1h", "1d" or a
 * sequence of them ("1h30m"), or a bare non-negative integer meaning
 * seconds, into milliseconds.  Returns 0, or -1 if ${s} is empty, has an
 * unknown unit, a negative or fractional number, or overflows.
 */
int	duration_parse(const char *, uint64_t *);

/*
 * duration_format(ms, buf, len): write the shortest exact form of ${ms}
 * ("2m", "1h30m", "1500ms", "0s") into ${buf}.
 */
void	duration_format(uint64_t, char *, size_t);

#endif /* !AKVD_DURATION_H */
