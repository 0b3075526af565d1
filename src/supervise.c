/*
 * supervise.c - running the application as akvd's child.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "metrics.h"
#include "supervise.h"
#include "util.h"

struct supervise {
	struct ev_loop	*loop;
	char		**argv;
	struct sync	*sync;
	const struct akvd_config *cfg;
	supervise_exit_fn *fn;
	void		*cookie;

	pid_t		 parent;	/* akvd's pid */
	pid_t		 pid;		/* -1 when not running */
	ev_child	 child;
	ev_timer	 grace;		/* stop_grace, then SIGKILL */
	int		 restarting;	/* stopped on purpose: start again */
	int		 stopping;	/* akvd is stopping: exit with it */
};

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct supervise *s = w->data;
	int st = w->rstatus, status;
	char result[48], pid[16];

	ev_child_stop(loop, w);
	ev_timer_stop(loop, &s->grace);
	snprintf(pid, sizeof(pid), "%ld", (long)s->pid);
	s->pid = -1;
	if (WIFEXITED(st)) {
		status = WEXITSTATUS(st);
		snprintf(result, sizeof(result), "exit %d", status);
	} else {
		status = 128 + WTERMSIG(st);
		snprintf(result, sizeof(result), "killed by signal %d",
		    WTERMSIG(st));
	}
	if (s->restarting) {
		s->restarting = 0;
		log_kv(LOG_INFO, "command stopped for a restart", "pid", pid,
		    "result", result, NULL);
		supervise_start(s);
		return;
	}
	log_kv(status == 0 ? LOG_INFO : LOG_WARN, "command exited", "pid", pid,
	    "result", result, NULL);
	s->fn(status, s->cookie);
}

/* Seconds a stopped command is given before SIGKILL. */
static double
stop_grace(const struct supervise *s)
{

	return ((s->cfg != NULL ? s->cfg->stop_grace_ms :
	    CONFIG_DEFAULT_STOP_GRACE_MS) / 1000.0);
}

static void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervise *s = w->data;

	if (s->pid > 0) {
		log_kv(LOG_WARN, "command ignored the stop signal: killing it",
		    NULL);
		(void)kill(s->pid, SIGKILL);
	}
}

struct supervise *
supervise_new(struct ev_loop *loop, char **argv, struct sync *sync,
    supervise_exit_fn *fn, void *cookie)
{
	struct supervise *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_msg(LOG_ERROR, "supervise: out of memory");
		return (NULL);
	}
	s->loop = loop;
	s->argv = argv;
	s->sync = sync;
	s->fn = fn;
	s->cookie = cookie;
	s->pid = -1;
	s->parent = getpid();
	ev_init(&s->grace, grace_cb);
	s->grace.data = s;
	return (s);
}

void
supervise_configure(struct supervise *s, const struct akvd_config *cfg)
{

	s->cfg = cfg;
}

/*
 * The command's environment: akvd's without its credentials, plus the
 * configured objects.  Built before fork(): akvd is multi-threaded.
 */
static char **
command_env(struct supervise *s)
{
	struct buf missing = BUF_INIT;
	const char *data;
	char **extra = NULL, **env = NULL;
	size_t i, n = 0, len, vlen;

	if (s->cfg != NULL && s->cfg->nenv > 0 &&
	    (extra = calloc(s->cfg->nenv, sizeof(*extra))) == NULL)
		goto out;
	for (i = 0; s->cfg != NULL && i < s->cfg->nenv; i++) {
		if (sync_value(s->sync, s->cfg->env[i].object, &data,
		    &len) == -1) {
			(void)buf_appendf(&missing, "%s%s", missing.len ?
			    "," : "", s->cfg->env[i].var);
			continue;
		}
		/* Exactly sized: no stray copy of the value to wipe.  An
		   environment string ends at a NUL byte. */
		len = strnlen(data, len);
		vlen = strlen(s->cfg->env[i].var);
		if ((extra[n] = malloc(vlen + len + 2)) == NULL)
			goto out;
		memcpy(extra[n], s->cfg->env[i].var, vlen);
		extra[n][vlen] = '=';
		memcpy(extra[n] + vlen + 1, data, len);
		extra[n][vlen + 1 + len] = '\0';
		n++;
	}
	if (missing.len > 0)
		log_kv(LOG_WARN, "command started without some env variables: "
		    "their object has no value", "variables", missing.data,
		    NULL);
	env = child_env_new((const char *const *)extra, n);
	goto done;
out:
	log_msg(LOG_ERROR, "supervise: out of memory");
done:
	for (i = 0; i < n; i++)
		str_wipe_free(extra[i]);
	free(extra);
	buf_wipe(&missing);
	return (env);
}

void
supervise_start(struct supervise *s)
{
	char **env, pid[16];
	sigset_t none;
	pid_t p;

	if (s->pid > 0)
		return;
	if ((env = command_env(s)) == NULL) {
		s->fn(1, s->cookie);
		return;
	}
	if ((p = fork()) == -1) {
		log_kv(LOG_ERROR, "cannot start the command", "command",
		    s->argv[0], "error", strerror(errno), NULL);
		child_env_free(env);
		s->fn(1, s->cookie);
		return;
	}
	if (p == 0) {
		/* Child: never outlive akvd, even if it is SIGKILLed. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != s->parent)
			_exit(127);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		child_close_fds();
		execvpe(s->argv[0], s->argv, env);
		dprintf(STDERR_FILENO, "akvd: cannot run %s: %s\n",
		    s->argv[0], strerror(errno));
		_exit(127);
	}
	child_env_free(env);
	s->pid = p;
	ev_child_init(&s->child, child_cb, p, 0);
	s->child.data = s;
	ev_child_start(s->loop, &s->child);
	snprintf(pid, sizeof(pid), "%ld", (long)p);
	log_kv(LOG_INFO, "command started", "command", s->argv[0], "pid", pid,
	    NULL);
}

void
supervise_changed(struct supervise *s)
{
	char pid[16];

	if (s->pid <= 0 || s->cfg == NULL || s->restarting || s->stopping)
		return;
	snprintf(pid, sizeof(pid), "%ld", (long)s->pid);
	switch (s->cfg->on_change) {
	case ON_CHANGE_NOTHING:
		break;
	case ON_CHANGE_SIGNAL:
		metrics_notify("command",
		    kill(s->pid, s->cfg->on_change_signal) == 0);
		log_kv(LOG_INFO, "command signalled: files changed", "pid", pid,
		    "signal", strsignal(s->cfg->on_change_signal), NULL);
		break;
	case ON_CHANGE_RESTART:
		log_kv(LOG_INFO, "restarting the command: files changed",
		    "pid", pid, NULL);
		metrics_notify("command", 1);
		s->restarting = 1;
		(void)kill(s->pid, s->cfg->stop_signal);
		ev_timer_stop(s->loop, &s->grace);
		ev_timer_set(&s->grace, stop_grace(s), 0.);
		ev_timer_start(s->loop, &s->grace);
		break;
	}
}

int
supervise_forward(struct supervise *s, int signo)
{

	if (s->pid <= 0)
		return (0);
	(void)kill(s->pid, signo);
	if ((signo == SIGTERM || signo == SIGINT) && !s->stopping) {
		/*
		 * Stopping: the same grace as a restart, then SIGKILL.  Armed
		 * once: more signals must not postpone the SIGKILL.
		 */
		s->stopping = 1;
		s->restarting = 0;
		if (!ev_is_active(&s->grace)) {
			ev_timer_set(&s->grace, stop_grace(s), 0.);
			ev_timer_start(s->loop, &s->grace);
		}
	}
	return (1);
}

void
supervise_free(struct supervise *s)
{

	if (s == NULL)
		return;
	if (s->pid > 0) {
		(void)kill(s->pid, SIGKILL);
		ev_child_stop(s->loop, &s->child);
	}
	ev_timer_stop(s->loop, &s->grace);
	free(s);
}
