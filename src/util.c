/*
 * util.c - growable buffers, wiping of sensitive memory, range-checked
 * number conversion, UTF-8 decoding.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int
buf_append(struct buf *b, const void *p, size_t n)
{
	char *nd;
	size_t ncap;

	if (n > SIZE_MAX / 2 - b->len - 1) {
		errno = ENOMEM;
		return (-1);
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		/* Not realloc: the old block may hold a secret. */
		if ((nd = malloc(ncap)) == NULL)
			return (-1);
		if (b->data != NULL) {
			memcpy(nd, b->data, b->len);
			wipe_free(b->data, b->cap);
		}
		b->data = nd;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	char *big;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return (-1);
	if ((size_t)n < sizeof(small))
		return (buf_append(b, small, (size_t)n));
	if ((big = malloc((size_t)n + 1)) == NULL)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	n = buf_append(b, big, (size_t)n);
	wipe_free(big, strlen(big));
	return (n);
}

/*
 * buf_read_fd(b, fd, max): append what ${fd} holds, up to its end, to ${b}
 * (data then non-NULL, even for an empty file); read(2) is retried on
 * EINTR and the bounce buffer is wiped.  ${fd} stays open.  Returns 0, or
 * -1 with errno EFBIG (${b} would pass ${max} bytes), ENOMEM, or read's
 * errno; ${b} then holds what was read so far, for the caller to wipe.
 */
int
buf_read_fd(struct buf *b, int fd, size_t max)
{
	char chunk[8192];
	ssize_t n;
	int rc = -1;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		if ((size_t)n > max || b->len > max - (size_t)n) {
			errno = EFBIG;
			goto out;
		}
		if (buf_append(b, chunk, (size_t)n) == -1) {
			errno = ENOMEM;
			goto out;
		}
	}
	if (b->data == NULL && buf_append(b, "", 0) == -1) {
		errno = ENOMEM;
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(chunk, sizeof(chunk));
	return (rc);
}

void
buf_wipe(struct buf *b)
{

	if (b->data != NULL)
		wipe_free(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
wipe_free(void *p, size_t n)
{

	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

void
str_wipe_free(char *s)
{

	if (s == NULL)
		return;
	wipe_free(s, strlen(s));
}

int
str_equal(const char *a, const char *b)
{

	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

double
rand_unit(void)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)random() << 32 ^ (uint64_t)random();
	return ((double)(r >> 11) / (double)(1ULL << 53));
}

/*
 * num_from_double(d, min, max, out): ${d} truncated toward zero into
 * ${out} if it is finite and the result lies in [${min}, ${max}].  Every
 * number read from the network or the configuration goes through this
 * or num_parse(), so that no out-of-range double is ever cast (undefined
 * behaviour).  Returns 0, or -1 with errno EINVAL (NaN, infinity) or
 * ERANGE (out of range; ${out} untouched).
 */
int
num_from_double(double d, int64_t min, int64_t max, int64_t *out)
{
	int64_t n;

	if (d != d || d - d != 0) {	/* NaN, infinity */
		errno = EINVAL;
		return (-1);
	}
	/* Both bounds are exact powers of two: compare before the cast. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
		errno = ERANGE;
		return (-1);
	}
	n = (int64_t)d;
	if (n < min || n > max) {
		errno = ERANGE;
		return (-1);
	}
	*out = n;
	return (0);
}

/*
 * num_parse(s, len, min, max, out): the ${len} bytes at ${s}, a decimal
 * number "[+-]digits[.digits]" with nothing before or after it, truncated
 * toward zero into ${out} if it lies in [${min}, ${max}].  Any number of
 * digits is accepted without overflow.  Returns 0, or -1 with errno
 * EINVAL (not such a number) or ERANGE (out of range; ${out} untouched).
 */
int
num_parse(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s, *e = s + len;
	uint64_t mag = 0, lim;
	int64_t v;
	int neg = 0, big = 0, digits = 0;

	if (p < e && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	/* The magnitude of INT64_MIN is one more than INT64_MAX's. */
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
		if (big || mag > (lim - (uint64_t)(*p - '0')) / 10)
			big = 1;
		else
			mag = mag * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (p < e && *p == '.') {
		for (p++, digits = 0; p < e && *p >= '0' && *p <= '9'; p++)
			digits++;
		if (digits == 0) {
			errno = EINVAL;
			return (-1);
		}
	}
	if (p != e) {
		errno = EINVAL;
		return (-1);
	}
	if (big) {
		errno = ERANGE;
		return (-1);
	}
	if (neg && mag == (uint64_t)INT64_MAX + 1)
		v = INT64_MIN;
	else
		v = neg ? -(int64_t)mag : (int64_t)mag;
	if (v < min || v > max) {
		errno = ERANGE;
		return (-1);
	}
	*out = v;
	return (0);
}

/*
 * utf8_next(s, n, cp): decode one UTF-8 sequence (see util.h).
 */
size_t
utf8_next(const void *p, size_t n, uint32_t *cp)
{
	const unsigned char *s = p;
	size_t k, need;
	uint32_t c, min;

	if (n == 0)
		return (0);
	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return (0);
	if (need >= n)
		return (0);
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (s[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (need + 1);
}

/*
 * utf8_valid(s, n): nonzero if ${s} is all UTF-8 (see util.h).
 */
int
utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		if ((k = utf8_next(s + i, n - i, &cp)) == 0)
			return (0);
		i += k;
	}
	return (1);
}
