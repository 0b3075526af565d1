/*
 * test_writer.c - atomic snapshots in the kubelet AtomicWriter layout:
 * contents, symlinks, exact modes, stale object removal, refusal to
 * replace files akvd did not make, leftovers of a killed commit, and a
 * reader racing 200 commits.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "util.h"
#include "writer.h"

static char root[512];	/* per-test temporary directory */
static char out[600];	/* root/out */

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(root, sizeof(root), "%s/akvd-writer-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(root) == NULL)
		return (-1);
	snprintf(out, sizeof(out), "%s/out", root);
	return (0);
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return (system(cmd) == 0 ? 0 : -1);
}

/* What the last failed commit said. */
static char err[256];

/* writer_commit() of ${f} into ${out}, its error in ${err}. */
static int
commit(const struct writer_file *f, size_t n)
{

	err[0] = '\0';
	return (writer_commit(out, f, n, err, sizeof(err)));
}

static char *
path_of(const char *name)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", out, name);
	return (p);
}

static char *
read_file(const char *name, size_t *lenp)
{
	static char buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path_of(name), O_RDONLY)) == -1)
		return (NULL);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return (NULL);
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
	return (buf);
}

static char *
link_of(const char *name)
{
	static char t[PATH_MAX];
	ssize_t n;

	if ((n = readlink(path_of(name), t, sizeof(t) - 1)) == -1)
		return (NULL);
	t[n] = '\0';
	return (t);
}

/* Number of hidden snapshot directories (..<timestamp>). */
static int
count_snapshots(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(out);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "..", 2) == 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "..data") != 0)
			n++;
	closedir(d);
	return (n);
}

static mode_t
mode_of(const char *name)
{
	struct stat st;

	assert_int_equal(stat(path_of(name), &st), 0);
	return (st.st_mode & 07777);
}

#define FILE_(p, s, m)	{ p, s, sizeof(s) - 1, m, 0, 0, 0, NULL }

static void
test_layout(void **state)
{
	struct writer_file f[] = {
		FILE_("password", "hunter2", 0440),
		FILE_("tls/cert.pem", "CERT", 0444),
		FILE_("tls/key.pem", "KEY", 0400),
	};
	char *snap;

	(void)state;
	assert_int_equal(commit(f, 3), 0);
	assert_string_equal(read_file("password", NULL), "hunter2");
	assert_string_equal(read_file("tls/cert.pem", NULL), "CERT");
	assert_string_equal(read_file("tls/key.pem", NULL), "KEY");
	snap = link_of("..data");
	assert_non_null(snap);
	assert_int_equal(strncmp(snap, "..", 2), 0);
	assert_int_equal(strlen(snap), strlen("..2026_11_22_16_07_00.123456789"));
	assert_string_equal(link_of("password"), "..data/password");
	assert_string_equal(link_of("tls"), "..data/tls");
	assert_null(link_of("..data_tmp"));
	assert_int_equal(count_snapshots(), 1);
}

static void
test_modes_ignore_umask(void **state)
{
	struct writer_file f[] = {
		FILE_("a", "1", 0440),
		FILE_("b", "2", 0600),
		FILE_("c", "3", 0644),
	};
	mode_t old;

	(void)state;
	old = umask(0);
	assert_int_equal(commit(f, 3), 0);
	assert_int_equal(mode_of("a"), 0440);
	assert_int_equal(mode_of("b"), 0600);
	assert_int_equal(mode_of("c"), 0644);
	umask(077);
	assert_int_equal(commit(f, 3), 0);
	assert_int_equal(mode_of("a"), 0440);
	assert_int_equal(mode_of("c"), 0644);
	/* The snapshot directory itself is traversable by the app. */
	assert_int_equal(mode_of("..data") & 0777, 0755);
	umask(old);
}

/* stat ${name} of out without following a last symlink. */
static struct stat
lstat_of(const char *name)
{
	struct stat st;

	assert_int_equal(lstat(path_of(name), &st), 0);
	return (st);
}

/*
 * Below a setgid directory (a Kubernetes fsGroup volume), every directory
 * akvd makes keeps the group and the setgid bit, whatever the umask, so
 * every file gets the group; an explicit gid still wins.
 */
static void
test_setgid_inherited(void **state)
{
	struct writer_file f[] = {
		FILE_("top", "1", 0440),
		FILE_("a/b/c/deep", "2", 0440),
		FILE_("hist/0", "3", 0400),
		FILE_("hist/1", "4", 0640),
		{ "mine", "5", 1, 0440, 1, -1, 3000, NULL },
	};
	static const char *dirs[] = { "", "..data", "..data/a",
	    "..data/a/b", "..data/a/b/c", "..data/hist" };
	static const char *files[] = { "top", "a/b/c/deep", "hist/0",
	    "hist/1" };
	char vol[PATH_MAX];
	struct stat st;
	gid_t g = geteuid() == 0 ? 2000 : getegid();
	size_t n = geteuid() == 0 ? 5 : 4, i;
	mode_t old;
	int round;

	(void)state;
	snprintf(vol, sizeof(vol), "%s/vol", root);
	assert_int_equal(mkdir(vol, 0777), 0);
	assert_int_equal(chown(vol, (uid_t)-1, g), 0);
	assert_int_equal(chmod(vol, 02777), 0);
	snprintf(out, sizeof(out), "%s/vol/out", root);
	old = umask(077);
	for (round = 0; round < 2; round++) {
		assert_int_equal(commit(f, n), 0);
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			assert_int_equal(stat(path_of(dirs[i]), &st), 0);
			if ((st.st_mode & 07777) != 02755 || st.st_gid != g)
				fail_msg("%s: mode %04o group %u", dirs[i],
				    (unsigned)(st.st_mode & 07777),
				    (unsigned)st.st_gid);
		}
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			assert_int_equal(stat(path_of(files[i]), &st), 0);
			assert_int_equal(st.st_gid, g);
			assert_int_equal(st.st_mode & 07777, f[i].mode);
		}
		/* The links: made in the volume, so its group too. */
		assert_int_equal(lstat_of("..data").st_gid, g);
		assert_int_equal(lstat_of("a").st_gid, g);
		if (n == 5) {
			assert_int_equal(stat(path_of("mine"), &st), 0);
			assert_int_equal(st.st_gid, 3000);
			assert_int_equal(st.st_mode & 07777, 0440);
		}
	}
	umask(old);
}

static void
test_replace_and_remove(void **state)
{
	struct writer_file one[] = {
		FILE_("user", "u1", 0440),
		FILE_("pass", "p1", 0440),
		FILE_("dir/x", "x1", 0440),
	};
	struct writer_file two[] = {
		FILE_("user", "u2", 0440),
	};
	char first[PATH_MAX];
	struct stat st;

	(void)state;
	assert_int_equal(commit(one, 3), 0);
	snprintf(first, sizeof(first), "%s", link_of("..data"));
	assert_int_equal(commit(two, 1), 0);
	assert_string_equal(read_file("user", NULL), "u2");
	/* Objects removed from the set disappear, links and all. */
	assert_null(read_file("pass", NULL));
	assert_int_equal(lstat(path_of("pass"), &st), -1);
	assert_int_equal(lstat(path_of("dir"), &st), -1);
	/*
	 * The replaced snapshot stays for a reader that opened ..data/
	 * before the swap: until the next change and its grace period.
	 */
	assert_int_equal(lstat(path_of(first), &st), 0);
	strncat(first, "/pass", sizeof(first) - strlen(first) - 1);
	assert_string_equal(read_file(first, NULL), "p1");
	assert_int_equal(count_snapshots(), 2);
}

/* The inode of ${name} in the current snapshot (0 if none). */
static ino_t
inode_of(const char *name)
{
	struct stat st;

	return (stat(path_of(name), &st) == 0 ? st.st_ino : 0);
}

/*
 * A file that did not change is the previous snapshot's file, hard-linked
 * (no write, no fsync); one whose bytes, mode or owner changed, or that
 * was changed in place on disk, is written anew; either way every reader
 * sees exactly the new set.
 */
static void
test_unchanged_linked(void **state)
{
	struct writer_file one[] = {
		FILE_("same", "s1", 0440),
		FILE_("dir/same", "d1", 0440),
		FILE_("moved", "m1", 0440),
		FILE_("mode", "x", 0440),
		FILE_("grows", "g", 0440),
		FILE_("tampered", "t1", 0640),
	};
	struct writer_file two[] = {
		FILE_("same", "s1", 0440),
		FILE_("dir/same", "d1", 0440),
		FILE_("moved", "m2", 0440),
		FILE_("mode", "x", 0400),
		FILE_("grows", "gg", 0440),
		FILE_("tampered", "t1", 0640),
	};
	ino_t same, dsame, moved, mode, grows, tampered;
	char first[PATH_MAX], tp[PATH_MAX + 16];
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(commit(one, 6), 0);
	snprintf(first, sizeof(first), "%s", link_of("..data"));
	same = inode_of("same");
	dsame = inode_of("dir/same");
	moved = inode_of("moved");
	mode = inode_of("mode");
	grows = inode_of("grows");
	tampered = inode_of("tampered");
	/* Changed in place behind akvd's back (same size): not carried on. */
	snprintf(tp, sizeof(tp), "%s/tampered", first);
	assert_int_not_equal(fd = open(path_of(tp), O_WRONLY), -1);
	assert_int_equal(write(fd, "T9", 2), 2);
	close(fd);

	assert_int_equal(commit(two, 6), 0);
	assert_string_not_equal(link_of("..data"), first);
	assert_int_equal(inode_of("same"), same);
	assert_int_equal(inode_of("dir/same"), dsame);
	assert_int_not_equal(inode_of("moved"), moved);
	assert_int_not_equal(inode_of("mode"), mode);
	assert_int_not_equal(inode_of("grows"), grows);
	assert_int_not_equal(inode_of("tampered"), tampered);
	assert_string_equal(read_file("same", NULL), "s1");
	assert_string_equal(read_file("dir/same", NULL), "d1");
	assert_string_equal(read_file("moved", NULL), "m2");
	assert_string_equal(read_file("grows", NULL), "gg");
	assert_string_equal(read_file("tampered", NULL), "t1");
	assert_int_equal(stat(path_of("mode"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(stat(path_of("same"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0440);

	/* The old snapshot going away leaves the linked files whole. */
	assert_int_equal(commit(one, 6), 0);
	assert_int_equal(commit(two, 6), 0);
	assert_string_equal(read_file("same", NULL), "s1");
	assert_string_equal(read_file("dir/same", NULL), "d1");
	assert_int_equal(inode_of("same"), same);
}

/* Replaced snapshots are kept for their grace period, and no more. */
static void
test_grace(void **state)
{
	struct writer_file f[] = { FILE_("a", "1", 0440) };
	static const char *const old[] = { "..2020_01_01_00_00_00.000000001",
	    "..2020_01_01_00_00_01.000000001" };
	char cur[PATH_MAX];
	struct stat st;
	size_t i;
	int gen;

	(void)state;
	/* Replaced long ago (their successors' names say so): removed. */
	assert_int_equal(mkdir(out, 0755), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(mkdir(path_of(old[i]), 0755), 0);
	assert_int_equal(commit(f, 1), 0);
	snprintf(cur, sizeof(cur), "%s", link_of("..data"));
	assert_int_equal(lstat(path_of(old[0]), &st), -1);
	/* The one the new snapshot replaced "now" is in its grace period. */
	assert_int_equal(lstat(path_of(old[1]), &st), 0);
	assert_int_equal(count_snapshots(), 2);
	/* Changes faster than the grace period: bounded. */
	for (gen = 0; gen < 3 * WRITER_KEEP; gen++)
		assert_int_equal(commit(f, 1), 0);
	assert_int_equal(count_snapshots(), 1 + WRITER_KEEP);
	assert_int_equal(lstat(path_of(old[1]), &st), -1);
	assert_int_equal(lstat(path_of(cur), &st), -1);
	/* Cleanup at start-up keeps them too; what it removes is below. */
	assert_int_equal(writer_cleanup(out), 0);
	assert_int_equal(count_snapshots(), 1 + WRITER_KEEP);
}

static void
test_refuses_foreign_file(void **state)
{
	struct writer_file f[] = { FILE_("config", "new", 0440) };
	struct writer_file g[] = { FILE_("other", "o1", 0440) };
	char *snap;
	int fd;

	(void)state;
	assert_int_equal(commit(g, 1), 0);
	snap = strdup(link_of("..data"));
	/* The user put a file of their own where akvd wants to link. */
	fd = open(path_of("config"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mine", 4), 4);
	close(fd);
	assert_int_equal(commit(f, 1), -1);
	assert_string_equal(err, "refusing to replace a file akvd did not "
	    "create: name=config");
	assert_string_equal(read_file("config", NULL), "mine");
	/* The previous snapshot is intact and no partial one is left. */
	assert_string_equal(link_of("..data"), snap);
	assert_string_equal(read_file("other", NULL), "o1");
	assert_int_equal(count_snapshots(), 1);
	free(snap);
	/* A foreign symlink elsewhere is not ours either. */
	assert_int_equal(symlink("/etc/passwd", path_of("evil")), 0);
	{
		struct writer_file e[] = { FILE_("evil", "x", 0440) };

		assert_int_equal(commit(e, 1), -1);
		assert_string_equal(err, "refusing to replace a file akvd did "
		    "not create: name=evil");
		assert_string_equal(link_of("evil"), "/etc/passwd");
	}
}

static void
test_binary_and_empty(void **state)
{
	static const char bin[] = { 'a', 0, 'b', 0, (char)0xff };
	struct writer_file f[] = {
		{ "bin", bin, sizeof(bin), 0440, 0, 0, 0, NULL },
		{ "empty", "", 0, 0440, 0, 0, 0, NULL },
	};
	size_t len;
	char *p;

	(void)state;
	assert_int_equal(commit(f, 2), 0);
	p = read_file("bin", &len);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(p, bin, sizeof(bin));
	read_file("empty", &len);
	assert_int_equal(len, 0);
	/* An empty set is a valid, empty snapshot. */
	assert_int_equal(commit(NULL, 0), 0);
	assert_null(read_file("bin", NULL));
	assert_non_null(link_of("..data"));
}

static void
test_read(void **state)
{
	struct writer_file f[] = { FILE_("db/pass", "s3cr3t", 0400) };
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(writer_read(out, "db/pass", 0, &b), 1); /* no dir */
	assert_int_equal(commit(f, 1), 0);
	assert_int_equal(writer_read(out, "db/pass", 0, &b), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "s3cr3t", 6);
	buf_wipe(&b);
	assert_int_equal(writer_read(out, "db/none", 0, &b), 1);
	assert_int_equal(writer_read(out, "none/x", 0, &b), 1);
	assert_null(b.data);
	/* Over the limit: an error, not "no such file". */
	assert_int_equal(writer_read(out, "db/pass", 5, &b), -1);
	assert_null(b.data);
	assert_int_equal(writer_read(out, "db/pass", 6, &b), 0);
	buf_wipe(&b);
}

static void
test_cleanup(void **state)
{
	struct writer_file f[] = { FILE_("a", "1", 0440) };
	char orphan[PATH_MAX], *cur;
	struct stat st;

	(void)state;
	assert_int_equal(writer_cleanup(out), 0);	/* missing: fine */
	assert_int_equal(commit(f, 1), 0);
	cur = strdup(link_of("..data"));
	/*
	 * What a commit killed half-way leaves behind: a snapshot newer than
	 * the current one, never made current.
	 */
	snprintf(orphan, sizeof(orphan), "%s/..2099_01_01_00_00_00.000000001",
	    out);
	assert_int_equal(mkdir(orphan, 0755), 0);
	snprintf(orphan, sizeof(orphan),
	    "%s/..2099_01_01_00_00_00.000000001/a", out);
	assert_int_equal(close(open(orphan, O_WRONLY | O_CREAT, 0600)), 0);
	assert_int_equal(symlink("..2099_01_01_00_00_00.000000001",
	    path_of("..data_tmp")), 0);
	assert_int_equal(writer_cleanup(out), 0);
	assert_int_equal(lstat(path_of("..data_tmp"), &st), -1);
	assert_int_equal(lstat(path_of("..2099_01_01_00_00_00.000000001"),
	    &st), -1);
	assert_string_equal(link_of("..data"), cur);
	assert_string_equal(read_file("a", NULL), "1");
	free(cur);
}

/* Hidden names akvd did not make survive cleanup and commits. */
static void
test_prune_only_ours(void **state)
{
	struct writer_file f[] = { FILE_("a", "1", 0440) };
	static const char *theirs[] = { "..other-tool",
	    "..2020_01_01_00_00_00", "..2020_01_01_00_00_00.12345678x",
	    "..data_backup" };
	struct stat st;
	size_t i;

	(void)state;
	assert_int_equal(commit(f, 1), 0);
	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		assert_int_equal(mkdir(path_of(theirs[i]), 0755), 0);
	assert_int_equal(mkdir(path_of("..2099_01_01_00_00_00.0000000001"),
	    0755), 0);
	assert_int_equal(writer_cleanup(out), 0);
	assert_int_equal(commit(f, 1), 0);
	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		assert_int_equal(stat(path_of(theirs[i]), &st), 0);
	/* Ours, with the tenth digit of a collision, is gone. */
	assert_int_equal(lstat(path_of("..2099_01_01_00_00_00.0000000001"),
	    &st), -1);
}

static void
test_refuses_symlinked_dir(void **state)
{
	struct writer_file f[] = { FILE_("a", "1", 0440) };
	char real[PATH_MAX];

	(void)state;
	snprintf(real, sizeof(real), "%s/real", root);
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(symlink(real, out), 0);
	assert_int_equal(commit(f, 1), -1);
	assert_string_equal(err, "cannot open the output directory: not a "
	    "directory (symlinks are refused)");
}

/*
 * A reader process reads "user" and "pass" through their links while 200
 * snapshots are committed; each carries its generation, padded to a fixed
 * size.  The reader must never see a missing, short or garbled file, a
 * generation going backwards, or, through one ..data target, a pair from
 * two generations.
 */
#define SZ	8192

static void
fill(char *b, const char *name, int gen)
{
	int n = snprintf(b, SZ, "%s-%d-", name, gen);

	memset(b + n, '#', SZ - (size_t)n);
}

static int
check(const char *b, size_t len, const char *name)
{
	size_t nl = strlen(name), i;
	char *end;
	long g;

	if (len != SZ || strncmp(b, name, nl) != 0 || b[nl] != '-')
		return (-1);
	g = strtol(b + nl + 1, &end, 10);
	if (*end != '-')
		return (-1);
	for (i = (size_t)(end - b) + 1; i < SZ; i++)
		if (b[i] != '#')
			return (-1);
	return ((int)g);
}

static int
slurp_at(const char *path, char *b, size_t *len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	while ((n = read(fd, b + got, SZ + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len = got;
	return (0);
}

static void
reader(const char *stop)
{
	static char b[SZ + 1], c[SZ + 1];
	char p[2 * PATH_MAX], q[2 * PATH_MAX], t[PATH_MAX];
	int last_u = -1, last_p = -1, g, h, bad = 0, pairs = 0;
	long reads = 0;
	size_t len, len2;
	ssize_t n;
	struct stat st;

	while (stat(stop, &st) == -1) {
		snprintf(p, sizeof(p), "%s/user", out);
		if (slurp_at(p, b, &len) == -1 ||
		    (g = check(b, len, "user")) < last_u) {
			fprintf(stderr, "reader: bad user (%zu bytes)\n", len);
			bad++;
		} else
			last_u = g;
		snprintf(p, sizeof(p), "%s/pass", out);
		if (slurp_at(p, b, &len) == -1 ||
		    (g = check(b, len, "pass")) < last_p) {
			fprintf(stderr, "reader: bad pass (%zu bytes)\n", len);
			bad++;
		} else
			last_p = g;
		reads += 2;
		snprintf(p, sizeof(p), "%s/..data", out);
		if ((n = readlink(p, t, sizeof(t) - 1)) < 0) {
			bad++;
			continue;
		}
		t[n] = '\0';
		snprintf(p, sizeof(p), "%s/%s/user", out, t);
		snprintf(q, sizeof(q), "%s/%s/pass", out, t);
		if (slurp_at(p, b, &len) == -1 || slurp_at(q, c, &len2) == -1)
			continue;	/* that snapshot was just retired */
		pairs++;
		g = check(b, len, "user");
		h = check(c, len2, "pass");
		if (g < 0 || g != h) {
			fprintf(stderr, "reader: mixed %d/%d in %s\n", g, h, t);
			bad++;
		}
	}
	fprintf(stderr, "reader: %ld reads, %d pairs, last %d/%d\n", reads,
	    pairs, last_u, last_p);
	_exit(bad == 0 && last_u == 200 && last_p == 200 && pairs > 0 ? 0 :
	    1);
}

static void
test_reader_during_rotations(void **state)
{
	static char u[SZ], pw[SZ];
	struct writer_file f[] = {
		{ "user", u, SZ, 0440, 0, 0, 0, NULL },
		{ "pass", pw, SZ, 0440, 0, 0, 0, NULL },
	};
	char stop[PATH_MAX];
	pid_t pid;
	int gen, status;

	(void)state;
	fill(u, "user", 0);
	fill(pw, "pass", 0);
	assert_int_equal(commit(f, 2), 0);
	snprintf(stop, sizeof(stop), "%s/stop", root);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		reader(stop);
	for (gen = 1; gen <= 200; gen++) {
		fill(u, "user", gen);
		fill(pw, "pass", gen);
		assert_int_equal(commit(f, 2), 0);
	}
	usleep(20000);
	assert_int_equal(close(open(stop, O_WRONLY | O_CREAT, 0600)), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_snapshots(), 1 + WRITER_KEEP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes_ignore_umask, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_setgid_inherited, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_linked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replace_and_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuses_foreign_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_only_ours, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cleanup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_symlinked_dir,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_during_rotations,
		    setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
