/*
 * pair_reader OUT SIZE STOPFILE: an application reading two related files
 * of an akvd output directory in a tight loop while akvd rotates them (and
 * is killed); used by tests/integration/torture.test.js.
 *
 * Each value is "<name>-<generation>-" padded with '#' to exactly SIZE
 * bytes; the files are OUT/user and OUT/pass.  Every loop reads both
 * through their top-level links (each must be there, whole, and never go
 * back a generation), then both through one open of OUT/..data/ (the way
 * to read related files from one snapshot): they must hold the same
 * generation.  When STOPFILE exists, prints one line of JSON on stdout:
 *   {"reads":N,"pairs":N,"missing":N,"torn":N,"mixed":N,"regress":N,
 *    "retired":N,"max_gen":N,"errors":["...", ...]}
 * ("retired": the snapshot directory opened was removed before both files
 * were opened in it; counted, not an error here).  Exit 0, or 2 on usage.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXERR	20

static struct {
	unsigned long	reads, pairs, missing, torn, mixed, regress, retired;
	long		max_gen;
	char		errors[MAXERR][160];
	int		nerr;
} s;

static long	size;
static char	*buf;

static void
note(unsigned long *counter, const char *fmt, ...)
{
	va_list ap;
	char *p;

	(*counter)++;
	if (s.nerr >= MAXERR)
		return;
	va_start(ap, fmt);
	vsnprintf(s.errors[s.nerr], sizeof(s.errors[0]), fmt, ap);
	va_end(ap);
	/* Printed inside a JSON string. */
	for (p = s.errors[s.nerr]; *p != '\0'; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p >= 0x7f)
			*p = '?';
	s.nerr++;
}

/* Read ${name} in ${dfd} into buf; its length, or -1 with errno. */
static long
slurp(int dfd, const char *name)
{
	long n = 0;
	ssize_t r;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while (n <= size && (r = read(fd, buf + n, (size_t)(size + 1 - n))) > 0)
		n += r;
	close(fd);
	return (n);
}

/* The generation a value holds, or -1 if it is not whole. */
static long
generation(const char *name, long n)
{
	size_t nl = strlen(name);
	long g = 0, i;

	if (n != size || strncmp(buf, name, nl) != 0 || buf[nl] != '-')
		return (-1);
	for (i = (long)nl + 1; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		g = g * 10 + (buf[i] - '0');
	if (i == (long)nl + 1 || i >= n || buf[i++] != '-')
		return (-1);
	for (; i < n; i++)
		if (buf[i] != '#')
			return (-1);
	return (g);
}

static void
once(int out)
{
	static const char *names[] = { "user", "pass" };
	static long last[2] = { -1, -1 };
	long n, g[2];
	int i, d;

	for (i = 0; i < 2; i++) {
		if ((n = slurp(out, names[i])) == -1) {
			note(&s.missing, "missing: %s: %s", names[i],
			    strerror(errno));
			continue;
		}
		s.reads++;
		if ((g[i] = generation(names[i], n)) == -1) {
			note(&s.torn, "torn: %s: %ld bytes \"%.24s\"",
			    names[i], n, buf);
			continue;
		}
		if (g[i] < last[i])
			note(&s.regress, "regress: %s: %ld after %ld",
			    names[i], g[i], last[i]);
		last[i] = g[i];
		if (g[i] > s.max_gen)
			s.max_gen = g[i];
	}
	if ((d = openat(out, "..data", O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    == -1) {
		note(&s.missing, "missing: ..data: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 2; i++) {
		if ((n = slurp(d, names[i])) == -1) {
			if (errno == ENOENT)
				s.retired++;
			else
				note(&s.missing, "missing: ..data/%s: %s",
				    names[i], strerror(errno));
			close(d);
			return;
		}
		if ((g[i] = generation(names[i], n)) == -1) {
			note(&s.torn, "torn: ..data/%s: %ld bytes", names[i],
			    n);
			close(d);
			return;
		}
	}
	close(d);
	s.pairs++;
	if (g[0] != g[1])
		note(&s.mixed, "mixed: ..data: user %ld, pass %ld", g[0],
		    g[1]);
}

int
main(int argc, char *argv[])
{
	struct stat st;
	int out, i;

	if (argc != 4 || (size = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: pair_reader OUT SIZE STOPFILE\n");
		return (2);
	}
	if ((buf = malloc((size_t)size + 2)) == NULL ||
	    (out = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror("pair_reader");
		return (1);
	}
	for (;;) {
		for (i = 0; i < 100; i++)
			once(out);
		if (stat(argv[3], &st) == 0)
			break;
	}
	printf("{\"reads\":%lu,\"pairs\":%lu,\"missing\":%lu,\"torn\":%lu,"
	    "\"mixed\":%lu,\"regress\":%lu,\"retired\":%lu,\"max_gen\":%ld,"
	    "\"errors\":[", s.reads, s.pairs, s.missing, s.torn, s.mixed,
	    s.regress, s.retired, s.max_gen);
	for (i = 0; i < s.nerr; i++)
		printf("%s\"%s\"", i > 0 ? "," : "", s.errors[i]);
	printf("]}\n");
	return (0);
}
