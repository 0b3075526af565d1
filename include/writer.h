/*
 * writer.h - atomic snapshots of the output directory.
 *
 * The output directory uses the kubelet AtomicWriter layout:
 *
 *   OUT/..2026_11_22_16_07_00.123456789/password   real files, one snapshot
 *   OUT/..data -> ..2026_11_22_16_07_00.123456789  swapped with rename(2)
 *   OUT/password -> ..data/password                one symlink per top-level
 *                                                  component of each path
 *
 * A commit writes every file of the new snapshot into a fresh hidden
 * directory (each file created with O_CREAT|O_EXCL|O_NOFOLLOW through the
 * directory fd, written, fchmod'ed, fsync'ed), fsyncs it, points
 * "..data_tmp" at it and renames "..data_tmp" over "..data".  Only then are
 * user-visible symlinks added, symlinks of paths that left the set removed,
 * and old snapshot directories deleted.  A reader going through OUT/alias
 * sees either the whole old snapshot or the whole new one, never a missing,
 * empty, torn or mixed file, whatever instant akvd is killed at.
 *
 * A reader that opened "..data/" (the way to read related files from one
 * snapshot) keeps its snapshot while it reads: a replaced snapshot stays
 * until the next change and at least WRITER_GRACE_S seconds after it was
 * replaced (at most WRITER_KEEP of them, should changes come faster);
 * older ones and the leftovers of an interrupted commit are removed at
 * each commit and by writer_cleanup.
 *
 * Directories akvd makes (${dir} and its missing parents, snapshots, the
 * directories of a path "a/b/file") are made as an ordinary mkdir would
 * make them with mode 0755 whatever the umask, and never chmod'ed: below
 * a setgid directory (a Kubernetes fsGroup volume) they keep its group and
 * the setgid bit, below a directory with a default ACL they inherit it.
 * Files, symlinks included, thus get the group an ordinary create there
 * would give, unless writer_file.gid says otherwise; a file's mode is
 * exact (with an ACL, its group bits are the ACL's mask).
 *
 * Errors of a commit are returned to the caller, which logs them (and
 * throttles a failure that repeats); other errors are logged here.
 */
#ifndef AKVD_WRITER_H
#define AKVD_WRITER_H

#include <sys/types.h>

#include <stddef.h>

#include "util.h"

/* Seconds a replaced snapshot is kept after its successor was made. */
#define WRITER_GRACE_S	5
/* Replaced snapshots kept at most, however fast changes come. */
#define WRITER_KEEP	4

struct writer_file {
	const char	*path;	/* relative, validated by config_alias_valid;
				   may contain '/' (subdirectories are made
				   inside the snapshot) */
	const void	*data;	/* borrowed; may hold a secret */
	size_t		 len;
	mode_t		 mode;
	int		 set_owner;	/* 0: akvd's uid and gid */
	long		 uid;	/* with set_owner: owner, or -1 to leave */
	long		 gid;	/* with set_owner: group, or -1 */
	const char	*object;	/* named in errors, or NULL */
};

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
int	writer_commit(const char *, const struct writer_file *, size_t, char *,
	    size_t);

/*
 * writer_read(dir, path, max, out): read ${path} of the current snapshot of
 * ${dir} into ${out} (which the caller releases with buf_wipe); a file of
 * more than ${max} bytes (0: 64 MiB) is an error.  Returns 0, 1 if there is
 * no current snapshot or no such file, -1 on a logged error.  Used at
 * start-up so a restart never loses files that cannot be refetched yet.
 */
int	writer_read(const char *, const char *, size_t, struct buf *);

/*
 * writer_cleanup(dir): remove leftovers of an interrupted commit
 * ("..data_tmp", "..link_tmp", snapshot directories "..YYYY_MM_DD_HH_MM_SS.N"
 * that "..data" never pointed to) and old snapshots past their grace (see
 * above); other hidden names are left alone.  Returns 0, or -1 on error.
 * Safe to call when ${dir} does not exist.
 */
int	writer_cleanup(const char *);

#endif /* !AKVD_WRITER_H */
