/*
 * test_util.c - buf_read_fd, the one way akvd reads a small file (the
 * configuration, a token or client secret file, a file of the snapshot
 * kept across a restart): to its end, within a size limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "util.h"

/* A file of ${n} bytes 'a'..'z' repeating, open for reading. */
static int
file_of(size_t n)
{
	char path[] = "/tmp/akvd-test-util-XXXXXX";
	char *data;
	size_t i;
	int fd;

	assert_non_null(data = malloc(n + 1));
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	free(data);
	return (fd);
}

static void
test_read_sizes(void **state)
{
	/* Around the 8 KiB bounce buffer and the limit. */
	static const size_t sizes[] = { 1, 100, 8191, 8192, 8193, 20000,
	    65536 };
	struct buf b = BUF_INIT;
	size_t i, j;
	int fd;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fd = file_of(sizes[i]);
		assert_int_equal(buf_read_fd(&b, fd, 65536), 0);
		assert_int_equal(b.len, sizes[i]);
		for (j = 0; j < b.len; j++)
			assert_int_equal(b.data[j], 'a' + j % 26);
		assert_int_equal(b.data[b.len], '\0');
		buf_wipe(&b);
		close(fd);
	}
}

static void
test_read_empty(void **state)
{
	struct buf b = BUF_INIT;
	int fd = file_of(0);

	/* Data is non-NULL, so a caller may hand it to memcpy. */
	assert_int_equal(buf_read_fd(&b, fd, 10), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_wipe(&b);
	close(fd);
}

static void
test_read_limit(void **state)
{
	static const struct {
		size_t	 size, max;
		int	 err;		/* 0: ok, else errno */
	} cases[] = {
		{ 10, 10, 0 }, { 11, 10, EFBIG }, { 0, 0, 0 }, { 1, 0, EFBIG },
		{ 8192, 8191, EFBIG }, { 8193, 8192, EFBIG },
		{ 100000, 65536, EFBIG }, { 100000, 100000, 0 },
	};
	struct buf b = BUF_INIT;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = file_of(cases[i].size);
		errno = 0;
		if (cases[i].err == 0)
			assert_int_equal(buf_read_fd(&b, fd, cases[i].max), 0);
		else {
			assert_int_equal(buf_read_fd(&b, fd, cases[i].max),
			    -1);
			assert_int_equal(errno, cases[i].err);
			assert_true(b.len <= cases[i].max);
		}
		buf_wipe(&b);
		close(fd);
	}
}

static void
test_read_appends(void **state)
{
	struct buf b = BUF_INIT;
	int fd = file_of(5);

	/* The limit counts what ${b} already holds. */
	assert_int_equal(buf_append(&b, "0123", 4), 0);
	assert_int_equal(buf_read_fd(&b, fd, 8), -1);
	assert_int_equal(errno, EFBIG);
	buf_wipe(&b);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(buf_append(&b, "0123", 4), 0);
	assert_int_equal(buf_read_fd(&b, fd, 9), 0);
	assert_string_equal(b.data, "0123abcde");
	buf_wipe(&b);
	close(fd);
}

static void
test_read_pipe_and_errors(void **state)
{
	struct buf b = BUF_INIT;
	int fds[2];

	/* A pipe has no size: read to its end. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "hello\n", 6), 6);
	close(fds[1]);
	assert_int_equal(buf_read_fd(&b, fds[0], 100), 0);
	assert_string_equal(b.data, "hello\n");
	buf_wipe(&b);
	close(fds[0]);

	/* read(2)'s own errors come back in errno. */
	assert_int_equal(buf_read_fd(&b, -1, 100), -1);
	assert_int_equal(errno, EBADF);
	buf_wipe(&b);
	assert_true((fds[0] = open("/tmp", O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(buf_read_fd(&b, fds[0], 100), -1);
	assert_int_equal(errno, EISDIR);
	buf_wipe(&b);
	close(fds[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_sizes),
		cmocka_unit_test(test_read_empty),
		cmocka_unit_test(test_read_limit),
		cmocka_unit_test(test_read_appends),
		cmocka_unit_test(test_read_pipe_and_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
