/*
 * child.c - the environment and descriptors akvd's children get.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "util.h"

extern char **environ;

/* akvd's own: never for the application. */
static const char *const private_vars[] = {
	"AZURE_CLIENT_SECRET",
	"AZURE_CLIENT_CERTIFICATE_PASSWORD",
	"IDENTITY_HEADER",
	"MSI_SECRET",
	"NOTIFY_SOCKET",
	"WATCHDOG_USEC",
	"WATCHDOG_PID",
	NULL
};

/* Does "NAME=value" ${s} name ${name} ("NAME" or "NAME=...")? */
static int
same_name(const char *s, const char *name)
{
	size_t n = strcspn(name, "=");

	return (strncmp(s, name, n) == 0 && s[n] == '=');
}

static int
dropped(const char *s, const char *const *extra, size_t n)
{
	size_t i;

	for (i = 0; private_vars[i] != NULL; i++)
		if (same_name(s, private_vars[i]))
			return (1);
	for (i = 0; i < n; i++)
		if (same_name(s, extra[i]))
			return (1);
	return (0);
}

char **
child_env_new(const char *const *extra, size_t n)
{
	char **env;
	size_t i, k = 0, count = 0;

	while (environ != NULL && environ[count] != NULL)
		count++;
	if ((env = calloc(count + n + 1, sizeof(*env))) == NULL)
		goto fail;
	for (i = 0; i < count; i++) {
		if (dropped(environ[i], extra, n))
			continue;
		if ((env[k++] = strdup(environ[i])) == NULL)
			goto fail;
	}
	for (i = 0; i < n; i++)
		if ((env[k++] = strdup(extra[i])) == NULL)
			goto fail;
	return (env);
fail:
	log_msg(LOG_ERROR, "cannot build a child's environment: out of "
	    "memory");
	child_env_free(env);
	return (NULL);
}

void
child_env_free(char **env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++)
		str_wipe_free(env[i]);
	free(env);
}

void
child_close_fds(void)
{
	long fd, max;

	if (close_range(3, ~0U, 0) == 0)
		return;
	/* Before Linux 5.9: one by one, as far as the limit goes. */
	if ((max = sysconf(_SC_OPEN_MAX)) == -1 || max > 1024 * 1024)
		max = 1024 * 1024;
	for (fd = 3; fd < max; fd++)
		(void)close((int)fd);
}
