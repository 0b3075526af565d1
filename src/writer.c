/*
 * writer.c - atomic snapshots of the output directory (the kubelet
 * AtomicWriter layout; see writer.h).
 *
 * Every file operation goes through a descriptor of the output directory
 * with O_NOFOLLOW where a name is opened, so a symlink planted in the
 * directory can never redirect a write.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "writer.h"

#define DATA		"..data"
#define DATA_TMP	"..data_tmp"
#define MAX_READ	(64 * 1024 * 1024)

/*
 * Make directory ${path} in ${fd} as an ordinary mkdir would, with mode
 * 0755 whatever the umask (a systemd unit's UMask=0077 must not hide the
 * files from the app's group).  The kernel then gives it what the parent
 * gives every new entry: the parent's group and the setgid bit when the
 * parent has the setgid bit (a Kubernetes fsGroup volume), the parent's
 * default ACL (whose entries replace the umask, the 0755 only capping
 * them).  No chmod afterwards: an explicit mode would clear the setgid bit
 * (and, for a caller outside the directory's group without CAP_FSETID,
 * could never set it back) and would override the default ACL.
 *
 * The umask is process-wide: it is 0 only around the mkdirat(2) call, and
 * akvd's other threads (libcurl's resolver) create no files.  Returns 0,
 * or -1 with errno set (EEXIST if ${path} exists).
 */
static int
make_dir(int fd, const char *path)
{
	mode_t old;
	int rc, saved;

	old = umask(0);
	rc = mkdirat(fd, path, 0755);
	saved = errno;
	(void)umask(old);
	errno = saved;
	return (rc);
}

/* make_dir(), leaving an existing directory as it is. */
static int
mkdir_exact(int fd, const char *path)
{

	if (make_dir(fd, path) == -1)
		return (errno == EEXIST ? 0 : -1);
	return (0);
}

/* mkdir -p for an absolute or relative directory path (make_dir). */
static int
mkdir_p(const char *dir)
{
	char tmp[PATH_MAX], *p;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(tmp, dir, n + 1);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_exact(AT_FDCWD, tmp) == -1)
			return (-1);
		*p = '/';
	}
	return (mkdir_exact(AT_FDCWD, tmp));
}

/*
 * Open ${dir} as a directory, refusing a symlink as its last component;
 * with ${create}, make it (and its parents) first.  Returns the
 * descriptor, or -1 with errno set and, with ${err}, what failed there.
 */
static int
open_dir(const char *dir, int create, char *err, size_t errlen)
{
	int fd, saved;

	if (create && mkdir_p(dir) == -1) {
		saved = errno;
		if (err != NULL)
			snprintf(err, errlen, "cannot create the output "
			    "directory: %s", strerror(saved));
		errno = saved;
		return (-1);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && err != NULL) {
		saved = errno;
		snprintf(err, errlen, "cannot open the output directory: %s",
		    saved == ELOOP || saved == ENOTDIR ? "not a directory "
		    "(symlinks are refused)" : strerror(saved));
		errno = saved;
	}
	return (fd);
}

/* open_dir() of an existing ${dir}, logging an error other than ENOENT. */
static int
open_existing_dir(const char *dir)
{
	int fd, saved;

	if ((fd = open_dir(dir, 0, NULL, 0)) == -1 && errno != ENOENT) {
		saved = errno;
		log_kv(LOG_ERROR, "cannot open the output directory", "dir",
		    dir, "error", saved == ELOOP || saved == ENOTDIR ?
		    "not a directory (symlinks are refused)" :
		    strerror(saved), NULL);
		errno = saved;
	}
	return (fd);
}

/* Remove ${name} in ${dfd} recursively, never following a symlink. */
static int
remove_tree(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0, saved;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return (0);
	if (errno != EISDIR && errno != EPERM)
		return (-1);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return (-1);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_tree(dirfd(d), de->d_name) == -1)
			rc = -1;
	}
	saved = errno;
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1)
		return (-1);
	errno = saved;
	return (rc);
}

/* Write all of ${p} to ${fd}. */
static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return (-1);
		c += w;
		n -= (size_t)w;
	}
	return (0);
}

/* Make the parent directories of ${path} inside ${sfd}. */
static int
make_parents(int sfd, const char *path)
{
	char tmp[PATH_MAX], *p;

	if (strlen(path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(tmp, path);
	for (p = tmp; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir_exact(sfd, tmp) == -1)
			return (-1);
		*p = '/';
	}
	return (0);
}

/*
 * Create one file of the snapshot: exclusive, no symlink, exact owner and
 * mode.  *${chown_failed} is set when the owner could not be set.
 */
static int
write_file(int sfd, const struct writer_file *f, int *chown_failed)
{
	int fd, saved;

	*chown_failed = 0;
	if (make_parents(sfd, f->path) == -1)
		return (-1);
	fd = openat(sfd, f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return (-1);
	if (f->set_owner && (f->uid != -1 || f->gid != -1) &&
	    fchown(fd, (uid_t)f->uid, (gid_t)f->gid) == -1) {
		saved = errno;
		*chown_failed = 1;
		close(fd);
		errno = saved;
		return (-1);
	}
	if (write_all(fd, f->data, f->len) == -1 ||
	    fchmod(fd, f->mode) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (close(fd));
}

/*
 * The group a file created at ${path} in ${sfd} gets: its directory's when
 * that directory has the setgid bit, else akvd's.  -1 on error.
 */
static long
new_file_gid(int sfd, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;
	int rc;

	if (strlen(path) >= sizeof(dir))
		return (-1);
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		rc = fstatat(sfd, dir, &st, AT_SYMLINK_NOFOLLOW);
	} else
		rc = fstat(sfd, &st);
	if (rc == -1)
		return (-1);
	return ((st.st_mode & S_ISGID) ? (long)st.st_gid : (long)getegid());
}

/*
 * Give the new snapshot (${sfd}) the previous snapshot's (${pfd}) file
 * ${f} by a hard link when that file is exactly what write_file() would
 * make: a regular file of the same bytes (compared on disk, so a file
 * changed in place is never carried on), mode, owner and group.  A
 * snapshot's files are never written after the swap, so sharing the inode
 * is safe, and an unchanged file costs neither a write nor an fsync.
 * Returns 0 if linked, -1 if the file must be written (any error).
 */
static int
link_unchanged(int pfd, int sfd, const struct writer_file *f)
{
	char chunk[4096];
	const unsigned char *want = f->data;
	struct stat st;
	size_t off = 0;
	ssize_t r;
	long uid, gid;
	int fd, same = 1;

	if (pfd == -1)
		return (-1);
	fd = openat(pfd, f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return (-1);
	uid = f->set_owner && f->uid != -1 ? f->uid : (long)geteuid();
	gid = f->set_owner && f->gid != -1 ? f->gid : -2;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (off_t)f->len != st.st_size || (st.st_mode & 07777) != f->mode ||
	    (long)st.st_uid != uid) {
		close(fd);
		return (-1);
	}
	while (same && off < f->len) {
		r = read(fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || (size_t)r > f->len - off ||
		    memcmp(chunk, want + off, (size_t)r) != 0)
			same = 0;
		else
			off += (size_t)r;
	}
	close(fd);
	if (!same || make_parents(sfd, f->path) == -1)
		return (-1);
	if (gid == -2 && (gid = new_file_gid(sfd, f->path)) == -1)
		return (-1);
	if ((long)st.st_gid != gid)
		return (-1);
	return (linkat(pfd, f->path, sfd, f->path, 0));
}

/* Is ${dir} a directory of a path of files[0..n-1]? */
static int
dir_of_any(const struct writer_file *files, size_t n, const char *dir)
{
	size_t i, len = strlen(dir);

	for (i = 0; i < n; i++)
		if (strncmp(files[i].path, dir, len) == 0 &&
		    files[i].path[len] == '/')
			return (1);
	return (0);
}

/*
 * fsync every directory of the snapshot that holds files or directories,
 * deepest first, each once, then the snapshot itself.
 */
static int
sync_dirs(int sfd, const struct writer_file *files, size_t n)
{
	char tmp[PATH_MAX], *slash;
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		if (strlen(files[i].path) >= sizeof(tmp))
			continue;
		strcpy(tmp, files[i].path);
		while ((slash = strrchr(tmp, '/')) != NULL) {
			*slash = '\0';
			if (dir_of_any(files, i, tmp))
				break;	/* done with an earlier file */
			fd = openat(sfd, tmp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1)
				return (-1);
			if (fsync(fd) == -1) {
				close(fd);
				return (-1);
			}
			close(fd);
		}
	}
	return (fsync(sfd));
}

/* The first component of ${path} into ${out}. */
static void
top_component(const char *path, char *out, size_t len)
{
	size_t n = strcspn(path, "/");

	if (n >= len)
		n = len - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

/* Is ${name} in ${dfd} a symlink "..data/<name>" (one of ours)? */
static int
is_our_link(int dfd, const char *name)
{
	char target[NAME_MAX + 16], want[NAME_MAX + 16];
	ssize_t n;

	n = readlinkat(dfd, name, target, sizeof(target) - 1);
	if (n == -1)
		return (0);
	target[n] = '\0';
	snprintf(want, sizeof(want), DATA "/%s", name);
	return (strcmp(target, want) == 0);
}

static int
in_set(const char *name, const struct writer_file *files, size_t n)
{
	char top[NAME_MAX + 1];
	size_t i;

	for (i = 0; i < n; i++) {
		top_component(files[i].path, top, sizeof(top));
		if (strcmp(top, name) == 0)
			return (1);
	}
	return (0);
}

/*
 * Before the swap: every user-visible name must be free or one of our
 * symlinks.  akvd never replaces what it did not make.
 */
static int
check_names(int dfd, const struct writer_file *files, size_t n, char *err,
    size_t errlen)
{
	char top[NAME_MAX + 1];
	struct stat st;
	size_t i;

	for (i = 0; i < n; i++) {
		top_component(files[i].path, top, sizeof(top));
		if (fstatat(dfd, top, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "cannot check a file name: "
			    "name=%s: %s", top, strerror(errno));
			return (-1);
		}
		if (!S_ISLNK(st.st_mode) || !is_our_link(dfd, top)) {
			snprintf(err, errlen, "refusing to replace a file akvd "
			    "did not create: name=%s", top);
			return (-1);
		}
	}
	return (0);
}

/* Point ${name} at ..data/${name}, atomically. */
static int
link_name(int dfd, const char *name)
{
	char target[NAME_MAX + 16], tmp[NAME_MAX + 32];

	if (is_our_link(dfd, name))
		return (0);
	snprintf(target, sizeof(target), DATA "/%s", name);
	snprintf(tmp, sizeof(tmp), "..link_tmp");
	(void)unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) == -1)
		return (-1);
	if (renameat(dfd, tmp, dfd, name) == -1) {
		(void)unlinkat(dfd, tmp, 0);
		return (-1);
	}
	return (0);
}

/* Current target of ..data, or "" if none. */
static void
current_snapshot(int dfd, char *out, size_t len)
{
	ssize_t n;

	n = readlinkat(dfd, DATA, out, len - 1);
	if (n < 0)
		n = 0;
	out[n] = '\0';
}

/*
 * Is ${name} one of ours: a snapshot directory
 * "..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN" (a tenth digit after a collision) or
 * the temporary link of a new user-visible name?
 */
static int
our_hidden(const char *name)
{
	static const char pat[] = "..dddd_dd_dd_dd_dd_dd.ddddddddd";
	size_t i;

	if (strcmp(name, "..link_tmp") == 0)
		return (1);
	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == 'd' ? name[i] < '0' || name[i] > '9' :
		    name[i] != pat[i])
			return (0);
	}
	if (name[i] >= '0' && name[i] <= '9')
		i++;
	return (name[i] == '\0');
}

/*
 * Seconds since the epoch at which snapshot directory ${name} was made,
 * read from its name (UTC, as writer_commit names it), or -1.
 */
static time_t
snapshot_time(const char *name)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(name, "..%4d_%2d_%2d_%2d_%2d_%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return (-1);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (timegm(&tm));
}

static int
name_cmp(const void *a, const void *b)
{

	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Which of our snapshot directories ${snaps} (${n} names, sorted oldest
 * first) to remove now, ${cur} being the current one: all when there is
 * no current one; those newer than it (never made current: an interrupted
 * or failed commit); of the older ones, those replaced WRITER_GRACE_S
 * seconds or more before ${now} (a snapshot is replaced when the next one
 * is made) and those beyond the WRITER_KEEP newest.  Marks them by
 * setting ${rm}[i].
 */
static void
prune_choose(char *const *snaps, size_t n, const char *cur, time_t now,
    int *rm)
{
	size_t i, c;
	time_t replaced;

	for (c = 0; c < n && strcmp(snaps[c], cur) != 0; c++)
		;
	for (i = 0; i < n; i++) {
		if (c == n || i > c)
			rm[i] = 1;
		else if (i == c)
			rm[i] = 0;
		else {
			replaced = snapshot_time(snaps[i + 1]);
			rm[i] = c - i > WRITER_KEEP || replaced == -1 ||
			    now - replaced >= WRITER_GRACE_S;
		}
	}
}

/*
 * Remove the snapshot directories prune_choose() picks and, with
 * ${links}, user-visible links of ours whose name left ${files}.
 */
static void
prune(const char *dir, int dfd, const struct writer_file *files, size_t n,
    int links)
{
	char cur[NAME_MAX + 1], **snaps = NULL, **grown;
	struct dirent *de;
	size_t nsnaps = 0, cap = 0, i;
	int fd, *rm = NULL;
	DIR *d;

	current_snapshot(dfd, cur, sizeof(cur));
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strcmp(name, DATA) == 0)
			continue;
		if (strncmp(name, "..", 2) == 0) {
			/* Another tool's hidden names are not ours. */
			if (!our_hidden(name))
				continue;
			if (strcmp(name, "..link_tmp") == 0) {
				(void)unlinkat(dfd, name, 0);
				continue;
			}
			if (nsnaps == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				if ((grown = reallocarray(snaps, cap,
				    sizeof(*snaps))) == NULL)
					goto oom;
				snaps = grown;
			}
			if ((snaps[nsnaps] = strdup(name)) == NULL)
				goto oom;
			nsnaps++;
			continue;
		}
		if (links && !in_set(name, files, n) &&
		    is_our_link(dfd, name))
			(void)unlinkat(dfd, name, 0);
	}
	if (nsnaps == 0)
		goto out;
	if ((rm = calloc(nsnaps, sizeof(*rm))) == NULL)
		goto oom;
	qsort(snaps, nsnaps, sizeof(*snaps), name_cmp);
	prune_choose(snaps, nsnaps, cur, time(NULL), rm);
	for (i = 0; i < nsnaps; i++)
		if (rm[i] && remove_tree(dfd, snaps[i]) == -1)
			log_kv(LOG_WARN, "cannot remove an old snapshot", "dir",
			    dir, "name", snaps[i], "error", strerror(errno),
			    NULL);
	goto out;
oom:
	/* Nothing lost: the next commit prunes again. */
	log_kv(LOG_WARN, "cannot remove old snapshots", "dir", dir, "error",
	    strerror(ENOMEM), NULL);
out:
	closedir(d);
	for (i = 0; i < nsnaps; i++)
		free(snaps[i]);
	free(snaps);
	free(rm);
}

/*
 * writer_commit(dir, files, n, err, errlen): make ${files} the new
 * snapshot of ${dir}, creating ${dir} (mode 0755, see writer.h) if
 * missing.  ${files} must not contain the same path twice nor a path that
 * is a prefix directory of another.  Returns 0, or -1 with the previous
 * snapshot left intact, errno set and ${err} saying what failed (the
 * file, the object, the error; never data): a full disk, a file whose
 * owner cannot be set (EPERM without CAP_CHOWN), a user-visible name
 * taken by something that is not a symlink into "..data" (akvd never
 * deletes files it did not make).  The caller logs it: a failure that
 * repeats every cycle is its to throttle.
 */
int
writer_commit(const char *dir, const struct writer_file *files, size_t n,
    char *err, size_t errlen)
{
	char snap[NAME_MAX + 1], top[NAME_MAX + 1], prev[NAME_MAX + 1];
	struct timespec ts;
	struct tm tm;
	size_t i, linked = 0;
	int dfd, sfd = -1, pfd = -1, made = 0, attempt, saved, chown_failed;

	if ((dfd = open_dir(dir, 1, err, errlen)) == -1)
		return (-1);
	if (check_names(dfd, files, n, err, errlen) == -1) {
		saved = EEXIST;
		goto fail;
	}

	/* A fresh, uniquely named snapshot directory. */
	for (attempt = 0; attempt < 100 && !made; attempt++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(snap, sizeof(snap),
		    "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec + attempt);
		if (make_dir(dfd, snap) == 0)
			made = 1;
		else if (errno != EEXIST)
			break;
	}
	if (!made) {
		saved = errno;
		snprintf(err, errlen, "cannot create a snapshot directory: %s",
		    strerror(saved));
		goto fail;
	}
	sfd = openat(dfd, snap, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (sfd == -1)
		goto fail_snap;
	/* The files that did not change are the previous snapshot's. */
	current_snapshot(dfd, prev, sizeof(prev));
	pfd = prev[0] != '\0' && our_hidden(prev) && strchr(prev, '/') ==
	    NULL ? openat(dfd, prev, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC) : -1;
	for (i = 0; i < n; i++) {
		if (link_unchanged(pfd, sfd, &files[i]) == 0) {
			linked++;
			continue;
		}
		if (write_file(sfd, &files[i], &chown_failed) == -1) {
			saved = errno;
			if (chown_failed)
				snprintf(err, errlen, "cannot set the owner of "
				    "a file: object=%s file=%s owner=%ld:%ld: "
				    "%s%s", files[i].object != NULL ?
				    files[i].object : "", files[i].path,
				    files[i].uid, files[i].gid,
				    strerror(saved), saved == EPERM ?
				    " (uid/gid need root or CAP_CHOWN)" : "");
			else
				snprintf(err, errlen, "cannot write a file: "
				    "file=%s: %s", files[i].path,
				    strerror(saved));
			goto fail_remove;
		}
	}
	if (pfd != -1)
		close(pfd);
	pfd = -1;
	if (sync_dirs(sfd, files, n) == -1)
		goto fail_snap;
	close(sfd);
	sfd = -1;
	if (linked > 0) {
		char nl[32];

		snprintf(nl, sizeof(nl), "%zu", linked);
		log_kv(LOG_DEBUG, "unchanged files linked from the previous "
		    "snapshot", "dir", dir, "files", nl, NULL);
	}

	/* The swap: readers see the old snapshot or the new one. */
	(void)unlinkat(dfd, DATA_TMP, 0);
	if (symlinkat(snap, dfd, DATA_TMP) == -1 ||
	    renameat(dfd, DATA_TMP, dfd, DATA) == -1)
		goto fail_snap;
	(void)fsync(dfd);

	/* Committed: what fails from here on is logged, not returned. */
	for (i = 0; i < n; i++) {
		top_component(files[i].path, top, sizeof(top));
		if (link_name(dfd, top) == -1)
			log_kv(LOG_ERROR, "cannot link a file name", "dir",
			    dir, "name", top, "error", strerror(errno), NULL);
	}
	prune(dir, dfd, files, n, 1);
	(void)fsync(dfd);
	close(dfd);
	return (0);

fail_snap:
	saved = errno;
	snprintf(err, errlen, "cannot write the snapshot: %s",
	    strerror(saved));
fail_remove:
	if (pfd != -1)
		close(pfd);
	if (sfd != -1)
		close(sfd);
	(void)remove_tree(dfd, snap);
fail:
	close(dfd);
	errno = saved;
	return (-1);
}

/*
 * writer_read(dir, path, max, out): read ${path} of the current snapshot of
 * ${dir} into ${out} (which the caller releases with buf_wipe); a file of
 * more than ${max} bytes (0: 64 MiB) is an error.  Returns 0, 1 if there is
 * no current snapshot or no such file, -1 on a logged error.  Used at
 * start-up so a restart never loses files that cannot be refetched yet.
 */
int
writer_read(const char *dir, const char *path, size_t max, struct buf *out)
{
	const char *why = NULL;
	struct stat st;
	int dfd, ddfd, fd, rc = -1;

	if (max == 0)
		max = MAX_READ;
	if ((dfd = open_existing_dir(dir)) == -1)
		return (errno == ENOENT ? 1 : -1);	/* logged */
	ddfd = openat(dfd, DATA, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (ddfd == -1) {
		if (errno == ENOENT)
			return (1);
		log_kv(LOG_WARN, "cannot read the existing snapshot", "dir",
		    dir, "error", strerror(errno), NULL);
		return (-1);
	}
	fd = openat(ddfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(ddfd);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (1);
		log_kv(LOG_WARN, "cannot read an existing file", "dir", dir,
		    "file", path, "error", strerror(errno), NULL);
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto out;
	}
	if (st.st_size > (off_t)max) {
		why = "larger than the size limit";
		goto out;
	}
	if (buf_read_fd(out, fd, max) == -1) {
		why = errno == EFBIG ? "larger than the size limit" :
		    errno == ENOMEM ? "out of memory" : strerror(errno);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		buf_wipe(out);
		log_kv(LOG_WARN, "cannot read an existing file", "dir", dir,
		    "file", path, "error", why, NULL);
	}
	close(fd);
	return (rc);
}

/*
 * writer_cleanup(dir): remove leftovers of an interrupted commit
 * ("..data_tmp", "..link_tmp", snapshot directories "..YYYY_MM_DD_HH_MM_SS.N"
 * that "..data" never pointed to) and old snapshots past their grace (see
 * above); other hidden names are left alone.  Returns 0, or -1 on error.
 * Safe to call when ${dir} does not exist.
 */
int
writer_cleanup(const char *dir)
{
	int dfd;

	if ((dfd = open_existing_dir(dir)) == -1)
		return (errno == ENOENT ? 0 : -1);
	(void)unlinkat(dfd, DATA_TMP, 0);
	(void)unlinkat(dfd, "..link_tmp", 0);
	prune(dir, dfd, NULL, 0, 0);
	close(dfd);
	return (0);
}
