/*
 * supervise.h - running the application as akvd's child
 * (akvd [options] -- command args...).
 *
 * The command starts after the first complete snapshot, with the
 * configured objects in its environment ("env"; one whose object has no
 * value is left out, with a warning), akvd's credentials taken out of it
 * and no descriptor but 0-2 (child.h).  SIGTERM, SIGINT, SIGQUIT
 * and SIGUSR2 sent to akvd are forwarded to it.  When the files change it
 * is sent "on_change.signal", or restarted ("on_change": "restart", implied
 * by "env"): stop_signal, stop_grace, SIGKILL, start again.  When it exits
 * on its own, akvd exits with its status (128 + signal when killed).
 */
#ifndef AKVD_SUPERVISE_H
#define AKVD_SUPERVISE_H

#include <stddef.h>

#include <ev.h>

#include "config.h"
#include "sync.h"

struct supervise;

/* Exit callback: the child is gone for good; ${status} is akvd's to use. */
typedef void supervise_exit_fn(int, void *);

/*
 * supervise_new(loop, argv, sync, fn, cookie): a supervisor for ${argv}
 * (borrowed; argv[0] is looked up in PATH), taking "env" values from
 * ${sync}.  Nothing runs until supervise_start().  The loop must be libev's
 * default loop.  Returns NULL on ENOMEM (logged).
 */
struct supervise *supervise_new(struct ev_loop *, char **, struct sync *,
    supervise_exit_fn *, void *);

/* supervise_configure(s, cfg): on_change, stop signal and grace, env. */
void	supervise_configure(struct supervise *, const struct akvd_config *);

/* supervise_start(s): start the command (once the first snapshot is in). */
void	supervise_start(struct supervise *);

/* supervise_changed(s): the files changed: signal or restart the child. */
void	supervise_changed(struct supervise *);

/*
 * supervise_forward(s, signo): pass ${signo} to the child.  Returns 1 if
 * a child was running to receive it, 0 if not.
 */
int	supervise_forward(struct supervise *, int);

/* supervise_free(s): SIGKILL a child still running, release ${s}. */
void	supervise_free(struct supervise *);

#endif /* !AKVD_SUPERVISE_H */
