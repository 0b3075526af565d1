/*
 * sdnotify.h - telling systemd (or any supervisor speaking its protocol)
 * how akvd is doing: READY=1 after the first snapshot, RELOADING=1 and
 * READY=1 around SIGHUP, STATUS= lines, WATCHDOG=1 pings and STOPPING=1.
 *
 * The socket comes from NOTIFY_SOCKET (a path, or "@name" in the abstract
 * namespace); the variable is removed from the environment so commands
 * akvd starts do not talk to systemd in its name.  Without it, every call
 * is a no-op.
 */
#ifndef AKVD_SDNOTIFY_H
#define AKVD_SDNOTIFY_H

#include <stdint.h>

/*
 * sdnotify_init(): read and unset NOTIFY_SOCKET and WATCHDOG_USEC.
 * Returns 1 if notifications are enabled, 0 if not, -1 if NOTIFY_SOCKET
 * is unusable (logged).
 */
int	sdnotify_init(void);

/*
 * sdnotify(fmt, ...): send one datagram of "KEY=value" lines.  Errors are
 * logged once and otherwise ignored: a supervisor's absence never stops
 * akvd.
 */
void	sdnotify(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * sdnotify_watchdog_usec(): the WATCHDOG_USEC systemd asked for (0 if
 * none); akvd pings at half that period.
 */
uint64_t sdnotify_watchdog_usec(void);

#endif /* !AKVD_SDNOTIFY_H */
