/*
 * child.h - what akvd's children (the supervised command, exec
 * notifications) get from it: an environment without akvd's credentials,
 * and no file descriptor but 0, 1 and 2.
 *
 * akvd is multi-threaded (libcurl's threaded resolver): everything that
 * allocates is done in the parent, before fork(); the child only calls
 * child_close_fds() and execve()/execvpe().
 */
#ifndef AKVD_CHILD_H
#define AKVD_CHILD_H

#include <stddef.h>

/*
 * child_env_new(extra, n): a NULL-terminated copy of environ without the
 * credentials meant for akvd (AZURE_CLIENT_SECRET,
 * AZURE_CLIENT_CERTIFICATE_PASSWORD, IDENTITY_HEADER, MSI_SECRET) nor
 * sd_notify's variables, with the ${n} "NAME=value" strings of ${extra}
 * added (copied; they replace variables of the same name).  Release with
 * child_env_free().  Returns NULL on ENOMEM (logged).
 */
char	**child_env_new(const char *const *, size_t);

/* child_env_free(env): wipe every string (values may be secrets), free. */
void	 child_env_free(char **);

/*
 * child_close_fds(): close every descriptor >= 3.  For the child, between
 * fork() and exec: async-signal-safe, no allocation.
 */
void	 child_close_fds(void);

#endif /* !AKVD_CHILD_H */
