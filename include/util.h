/*
 * util.h - growable buffers, wiping of sensitive memory, range-checked
 * number conversion, UTF-8 decoding.
 */
#ifndef AKVD_UTIL_H
#define AKVD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * A growable byte buffer, always NUL-terminated when data != NULL (the NUL
 * is not counted in len).  Buffers that may hold secrets are released with
 * buf_wipe(), which zeroes every byte ever written before freeing.
 */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* buf_append(b, p, n): append ${n} bytes; 0 on success, -1 on ENOMEM (the
 * buffer is unchanged).  Growing copies and wipes the old allocation. */
int	buf_append(struct buf *, const void *, size_t);

/* buf_appendf(b, fmt, ...): append formatted text; 0 or -1. */
int	buf_appendf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * buf_read_fd(b, fd, max): append what ${fd} holds, up to its end, to ${b}
 * (data then non-NULL, even for an empty file); read(2) is retried on
 * EINTR and the bounce buffer is wiped.  ${fd} stays open.  Returns 0, or
 * -1 with errno EFBIG (${b} would pass ${max} bytes), ENOMEM, or read's
 * errno; ${b} then holds what was read so far, for the caller to wipe.
 */
int	buf_read_fd(struct buf *, int, size_t);

/* buf_wipe(b): zero the whole allocation, free it, reset ${b}. */
void	buf_wipe(struct buf *);

/* wipe_free(p, n): zero ${n} bytes at ${p} and free ${p}; NULL is a no-op. */
void	wipe_free(void *, size_t);

/* str_wipe_free(s): wipe_free() a NUL-terminated string. */
void	str_wipe_free(char *);

/* str_equal(a, b): nonzero if both are NULL or both hold the same string. */
int	str_equal(const char *, const char *);

/*
 * num_from_double(d, min, max, out): ${d} truncated toward zero into
 * ${out} if it is finite and the result lies in [${min}, ${max}].  Every
 * number read from the network or the configuration goes through this
 * or num_parse(), so that no out-of-range double is ever cast (undefined
 * behaviour).  Returns 0, or -1 with errno EINVAL (NaN, infinity) or
 * ERANGE (out of range; ${out} untouched).
 */
int	num_from_double(double, int64_t, int64_t, int64_t *);

/*
 * num_parse(s, len, min, max, out): the ${len} bytes at ${s}, a decimal
 * number "[+-]digits[.digits]" with nothing before or after it, truncated
 * toward zero into ${out} if it lies in [${min}, ${max}].  Any number of
 * digits is accepted without overflow.  Returns 0, or -1 with errno
 * EINVAL (not such a number) or ERANGE (out of range; ${out} untouched).
 */
int	num_parse(const char *, size_t, int64_t, int64_t, int64_t *);

/*
 * utf8_next(s, n, cp): decode the UTF-8 sequence at the start of the ${n}
 * bytes at ${s} (${n} > 0) into *${cp}.  Returns its length (1 to 4), or
 * 0 if it is not valid UTF-8 (truncated, overlong, a surrogate, above
 * U+10FFFF).  NUL is a valid one-byte sequence.
 */
size_t	utf8_next(const void *, size_t, uint32_t *);

/* utf8_valid(s, n): nonzero if the ${n} bytes at ${s} are all UTF-8
 * (NUL included: callers that cannot hold one check for it). */
int	utf8_valid(const void *, size_t);

/* rand_unit(): a uniformly distributed double in [0, 1) for jitter. */
double	rand_unit(void);

#endif /* !AKVD_UTIL_H */
