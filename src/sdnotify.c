/*
 * sdnotify.c - the sd_notify protocol, without libsystemd: one unix
 * datagram per message.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

static struct sockaddr_un addr;
static socklen_t addrlen;	/* 0: disabled */
static uint64_t watchdog_usec;
static int warned;

/*
 * sdnotify_init(): read and unset NOTIFY_SOCKET and WATCHDOG_USEC.
 * Returns 1 if notifications are enabled, 0 if not, -1 if NOTIFY_SOCKET
 * is unusable (logged).
 */
int
sdnotify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET"), *w, *pid;
	size_t n;
	char *end = NULL;

	addrlen = 0;
	watchdog_usec = 0;
	if ((w = getenv("WATCHDOG_USEC")) != NULL) {
		/* Only for us if WATCHDOG_PID is ours or unset. */
		pid = getenv("WATCHDOG_PID");
		if (pid == NULL || strtol(pid, NULL, 10) == (long)getpid())
			watchdog_usec = strtoull(w, &end, 10);
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (path == NULL || path[0] == '\0') {
		unsetenv("NOTIFY_SOCKET");
		return (0);
	}
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    n >= sizeof(addr.sun_path)) {
		log_kv(LOG_ERROR, "NOTIFY_SOCKET is not a usable socket path",
		    "path", path, NULL);
		unsetenv("NOTIFY_SOCKET");
		return (-1);
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';	/* abstract namespace */
	addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	unsetenv("NOTIFY_SOCKET");
	return (1);
}

/*
 * sdnotify(fmt, ...): send one datagram of "KEY=value" lines.  Errors are
 * logged once and otherwise ignored: a supervisor's absence never stops
 * akvd.
 */
void
sdnotify(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int fd, n;

	if (addrlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&addr, addrlen) == -1) {
		if (!warned)
			log_kv(LOG_WARN, "cannot notify the supervisor",
			    "error", strerror(errno), NULL);
		warned = 1;
	}
	if (fd != -1)
		close(fd);
}

/*
 * sdnotify_watchdog_usec(): the WATCHDOG_USEC systemd asked for (0 if
 * none); akvd pings at half that period.
 */
uint64_t
sdnotify_watchdog_usec(void)
{

	return (watchdog_usec);
}
