/*
 * util.c - growable buffers and wiping of sensitive memory.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
