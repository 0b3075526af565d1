/*
 * hooks.c - telling the application that its files changed.
 *
 * One struct run per notification in progress: a retry timer for pid_file
 * and http, or a child process (ev_child, its output pipe and a timeout)
 * for exec.  Runs are linked in the hooks so they can be cancelled.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "child.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define RETRY_ATTEMPTS	6		/* pid_file and http */
#define RETRY_BASE_MS	500
#define RETRY_CAP_MS	(8 * 1000)
#define MAX_LINE	1024

struct run {
	struct hooks	*h;
	const struct akvd_notify *n;	/* NULL once reconfigured away */
	char		*key;		/* notify_key(n): the entry after n is
					   freed by a reload */
	char		*what;		/* for logs: "pid_file /run/app.pid" */
	const char	*kind;		/* for metrics: "pid_file" */
	char		*changed;	/* AKVD_CHANGED */
	unsigned	 attempt;
	ev_timer	 retry;
	/* exec */
	pid_t		 pid;		/* -1 once reaped */
	pid_t		 pgid;		/* its process group, kept after */
	ev_child	 child;
	ev_io		 out;
	int		 outfd;
	ev_timer	 timeout;
	int		 timed_out;
	struct buf	 line;
	/* http */
	struct http_req	*req;
	struct run	*prev, *next;
};

struct hooks {
	struct ev_loop	*loop;
	struct http	*http;
	const struct akvd_config *cfg;
	char		**changed;	/* aliases since the last run */
	size_t		 nchanged;
	ev_timer	 debounce;
	struct run	*runs;
};

static void	run_pid_file(struct run *);
static void	run_http(struct run *);

/* ---------------------------------------------------------------------- */
/* Runs                                                                   */

/*
 * Everything that makes ${n} the notification it is, as a new string (NULL
 * on ENOMEM, logged): a reload that keeps an entry with the same key keeps
 * its runs.
 */
static char *
notify_key(const struct akvd_notify *n)
{
	struct buf k = BUF_INIT;
	size_t i;
	int rc;

	rc = buf_appendf(&k, "%d\x1f%d\x1f%s\x1f%s\x1f%llu\x1f%s\x1f%s",
	    (int)n->kind, n->signo, n->pid_file != NULL ? n->pid_file : "",
	    n->process != NULL ? n->process : "",
	    (unsigned long long)n->timeout_ms, n->url != NULL ? n->url : "",
	    n->method != NULL ? n->method : "");
	for (i = 0; rc == 0 && n->argv != NULL && n->argv[i] != NULL; i++)
		rc = buf_appendf(&k, "\x1f%s", n->argv[i]);
	if (rc == -1) {
		log_msg(LOG_ERROR, "hooks: out of memory");
		buf_wipe(&k);
		return (NULL);
	}
	return (k.data);
}

static struct run *
run_new(struct hooks *h, const struct akvd_notify *n, const char *changed)
{
	struct run *r;
	int rc = -1;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->h = h;
	r->n = n;
	r->outfd = -1;
	r->pid = -1;
	if ((r->changed = strdup(changed)) == NULL ||
	    (r->key = notify_key(n)) == NULL)
		goto out;
	switch (n->kind) {
	case NOTIFY_PID_FILE:
		r->kind = "pid_file";
		rc = asprintf(&r->what, "pid_file %s", n->pid_file);
		break;
	case NOTIFY_PROCESS:
		r->kind = "process";
		rc = asprintf(&r->what, "process %s", n->process);
		break;
	case NOTIFY_EXEC:
		r->kind = "exec";
		rc = asprintf(&r->what, "exec %s", n->argv[0]);
		break;
	case NOTIFY_HTTP:
		r->kind = "http";
		rc = asprintf(&r->what, "http %s %s", n->method, n->url);
		break;
	}
out:
	if (rc == -1) {
		log_msg(LOG_ERROR, "hooks: out of memory");
		if (r != NULL) {
			free(r->changed);
			free(r->key);
			free(r);
		}
		return (NULL);
	}
	r->next = h->runs;
	if (h->runs != NULL)
		h->runs->prev = r;
	h->runs = r;
	return (r);
}

static void
run_free(struct run *r)
{
	struct hooks *h = r->h;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->runs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	ev_timer_stop(h->loop, &r->retry);
	ev_timer_stop(h->loop, &r->timeout);
	ev_child_stop(h->loop, &r->child);
	if (r->outfd != -1) {
		ev_io_stop(h->loop, &r->out);
		close(r->outfd);
	}
	http_cancel(r->req);
	buf_wipe(&r->line);
	free(r->what);
	free(r->key);
	free(r->changed);
	free(r);
}

/*
 * The entry of ${r} was removed by a reload before it succeeded: say so,
 * count it as failed, and free ${r}.
 */
static void
run_dropped(struct run *r)
{
	char attempt[16];

	snprintf(attempt, sizeof(attempt), "%u", r->attempt);
	log_kv(LOG_ERROR, "notification failed: dropped", "notify", r->what,
	    "reason", "a reload removed its notify entry", "attempts", attempt,
	    NULL);
	metrics_notify(r->kind, 0);
	run_free(r);
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	if (r->n == NULL) {
		run_dropped(r);
		return;
	}
	if (r->n->kind == NOTIFY_PID_FILE)
		run_pid_file(r);
	else
		run_http(r);
}

/*
 * A failed attempt: retry with backoff for a while, then give up; never
 * sooner than the server's Retry-After (${retry_after_ms} >= 0).
 */
static void
run_failed_after(struct run *r, const char *error, long retry_after_ms)
{
	char attempt[16];
	uint64_t ms;

	if (r->n == NULL) {
		r->attempt++;
		run_dropped(r);
		return;
	}
	r->attempt++;
	snprintf(attempt, sizeof(attempt), "%u", r->attempt);
	if (r->attempt >= RETRY_ATTEMPTS) {
		log_kv(LOG_ERROR, "notification failed: giving up", "notify",
		    r->what, "error", error, "attempts", attempt, NULL);
		metrics_notify(r->kind, 0);
		run_free(r);
		return;
	}
	ms = backoff_retry_after(retry_after_ms, backoff_delay(r->attempt,
	    RETRY_BASE_MS, RETRY_CAP_MS, rand_unit()));
	log_kv(LOG_WARN, "notification failed: will retry", "notify", r->what,
	    "error", error, "attempt", attempt, NULL);
	ev_timer_init(&r->retry, retry_cb, ms / 1000.0, 0.);
	r->retry.data = r;
	ev_timer_start(r->h->loop, &r->retry);
}

static void
run_failed(struct run *r, const char *error)
{

	run_failed_after(r, error, -1);
}

/* pid_file: read the pid now, signal it. */
static void
run_pid_file(struct run *r)
{
	char buf[32], err[128], pidstr[24];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	if ((fd = open(r->n->pid_file, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, sizeof(err), "cannot open the pid file: %s",
		    strerror(errno));
		run_failed(r, err);
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	while (*end != '\0' && isspace((unsigned char)*end))
		end++;
	/* pid_t is an int: 4294967295 would be kill(-1), every process. */
	if (n <= 0 || errno != 0 || end == buf || *end != '\0' || pid <= 1 ||
	    pid > INT_MAX || (long)(pid_t)pid != pid ||
	    pid == (long)getpid()) {
		run_failed(r, "invalid pid: the pid file does not hold a "
		    "usable pid");
		return;
	}
	if (kill((pid_t)pid, r->n->signo) == -1) {
		snprintf(err, sizeof(err), "kill %ld: %s (stale pid file?)",
		    pid, strerror(errno));
		run_failed(r, err);
		return;
	}
	snprintf(pidstr, sizeof(pidstr), "%ld", pid);
	log_kv(LOG_INFO, "notification sent", "notify", r->what, "signal",
	    r->n->signame, "pid", pidstr, NULL);
	metrics_notify(r->kind, 1);
	run_free(r);
}

/* The executable name of a process: comm, and the basename of exe. */
static int
process_matches(const char *pid, const char *name)
{
	char path[64], comm[64], exe[PATH_MAX], *base;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0) {
			comm[n] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			/* comm is the name cut to 15 bytes */
			if (strcmp(comm, name) == 0 || (strlen(name) > 15 &&
			    strncmp(comm, name, 15) == 0 && strlen(comm) == 15))
				goto exe;
		}
	}
	return (0);
exe:
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return (strlen(name) <= 15);	/* comm matched exactly */
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base != NULL ? base + 1 : exe;
	return (strcmp(base, name) == 0 || strlen(name) <= 15);
}

/* process: every match but ourselves and pid 1. */
static void
run_process(struct run *r)
{
	struct dirent *de;
	struct buf pids = BUF_INIT;
	DIR *d;
	long pid;
	int sent = 0, failed = 0;

	if ((d = opendir("/proc")) == NULL) {
		log_kv(LOG_ERROR, "notification failed", "notify", r->what,
		    "error", strerror(errno), NULL);
		metrics_notify(r->kind, 0);
		run_free(r);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid <= 1 || pid == (long)getpid() ||
		    !process_matches(de->d_name, r->n->process))
			continue;
		if (kill((pid_t)pid, r->n->signo) == 0) {
			(void)buf_appendf(&pids, "%s%ld", sent ? "," : "",
			    pid);
			sent++;
		} else
			failed++;
	}
	closedir(d);
	if (sent > 0)
		log_kv(LOG_INFO, "notification sent", "notify", r->what,
		    "signal", r->n->signame, "pids", pids.data, NULL);
	else
		log_kv(LOG_WARN, "notification found no process", "notify",
		    r->what, "hint", failed ? "not permitted to signal it" :
		    "is the process running, and the process namespace "
		    "shared (shareProcessNamespace: true)?", NULL);
	metrics_notify(r->kind, sent > 0);
	buf_wipe(&pids);
	run_free(r);
}

/* exec: a line of the command's output. */
static void
out_line(struct run *r)
{

	if (r->line.len == 0)
		return;
	log_kv(LOG_INFO, "notification output", "notify", r->what, "line",
	    r->line.data, NULL);
	r->line.len = 0;
	r->line.data[0] = '\0';
}

static void
out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct run *r = w->data;
	char buf[512];
	ssize_t n, i;

	n = read(r->outfd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		out_line(r);
		ev_io_stop(loop, &r->out);
		close(r->outfd);
		r->outfd = -1;
		if (r->pid == -1)
			run_free(r);
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || r->line.len >= MAX_LINE)
			out_line(r);
		if (buf[i] != '\n' && buf_append(&r->line, &buf[i], 1) == -1)
			break;
	}
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct run *r = w->data;
	char result[64];
	int st = w->rstatus;

	ev_child_stop(loop, w);
	/* A background process may hold its output open: keep the timer. */
	if (r->outfd == -1)
		ev_timer_stop(loop, &r->timeout);
	if (r->timed_out)
		snprintf(result, sizeof(result), "killed after the %llu ms "
		    "timeout", (unsigned long long)(r->n != NULL ?
		    r->n->timeout_ms : 0));
	else if (WIFEXITED(st))
		snprintf(result, sizeof(result), "exit %d", WEXITSTATUS(st));
	else
		snprintf(result, sizeof(result), "killed by signal %d",
		    WTERMSIG(st));
	log_kv(!r->timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0 ?
	    LOG_INFO : LOG_ERROR, "notification finished", "notify", r->what,
	    "result", result, NULL);
	metrics_notify(r->kind, !r->timed_out && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	r->pid = -1;
	if (r->outfd == -1)
		run_free(r);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	if (r->pid > 0) {
		r->timed_out = 1;
		(void)kill(-r->pgid, SIGKILL);	/* its whole group */
		/* Again in a second, should its output outlive it. */
		ev_timer_set(w, 1., 0.);
		ev_timer_start(loop, w);
		return;
	}
	/* The command is gone, something it started holds the pipe. */
	log_kv(LOG_WARN, "notification left a process holding its output: "
	    "killed after the timeout", "notify", r->what, NULL);
	(void)kill(-r->pgid, SIGKILL);
	run_free(r);
}

/* exec: argv, no shell, AKVD_CHANGED, output to the log. */
static void
run_exec(struct run *r)
{
	char *changed = NULL, **env = NULL;
	int fds[2];
	sigset_t all;
	pid_t pid;

	/* Everything that allocates happens here, before fork(). */
	if (asprintf(&changed, "AKVD_CHANGED=%s", r->changed) == -1) {
		log_msg(LOG_ERROR, "hooks: out of memory");
		changed = NULL;
	}
	if (changed == NULL || (env = child_env_new(
	    (const char *const *)&changed, 1)) == NULL) {
		free(changed);
		metrics_notify(r->kind, 0);
		run_free(r);
		return;
	}
	free(changed);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_kv(LOG_ERROR, "notification failed", "notify", r->what,
		    "error", strerror(errno), NULL);
		child_env_free(env);
		metrics_notify(r->kind, 0);
		run_free(r);
		return;
	}
	if ((pid = fork()) == -1) {
		log_kv(LOG_ERROR, "notification failed", "notify", r->what,
		    "error", strerror(errno), NULL);
		metrics_notify(r->kind, 0);
		close(fds[0]);
		close(fds[1]);
		child_env_free(env);
		run_free(r);
		return;
	}
	if (pid == 0) {
		/* Child: own process group, default signals, no akvd fds. */
		(void)setpgid(0, 0);
		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[1], STDOUT_FILENO) == -1 ||
		    dup2(fds[1], STDERR_FILENO) == -1)
			_exit(127);
		child_close_fds();
		execve(r->n->argv[0], r->n->argv, env);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", r->n->argv[0],
		    strerror(errno));
		_exit(127);
	}
	(void)setpgid(pid, pid);	/* no race with the child's own */
	child_env_free(env);
	close(fds[1]);
	r->pid = r->pgid = pid;
	r->outfd = fds[0];
	(void)fcntl(r->outfd, F_SETFL, O_NONBLOCK);
	ev_io_init(&r->out, out_cb, r->outfd, EV_READ);
	r->out.data = r;
	ev_io_start(r->h->loop, &r->out);
	ev_child_init(&r->child, child_cb, pid, 0);
	r->child.data = r;
	ev_child_start(r->h->loop, &r->child);
	ev_timer_init(&r->timeout, timeout_cb, r->n->timeout_ms / 1000.0, 0.);
	r->timeout.data = r;
	ev_timer_start(r->h->loop, &r->timeout);
	log_kv(LOG_DEBUG, "notification started", "notify", r->what,
	    "changed", r->changed, NULL);
}

static void
http_done(struct http_response *resp, void *cookie)
{
	struct run *r = cookie;
	char err[300], status[16];

	r->req = NULL;
	metrics_request(METRICS_NOTIFY, resp->status, resp->failed,
	    resp->seconds);
	if (!resp->failed && resp->status >= 200 && resp->status < 300) {
		snprintf(status, sizeof(status), "%ld", resp->status);
		log_kv(LOG_INFO, "notification sent", "notify", r->what,
		    "status", status, NULL);
		metrics_notify(r->kind, 1);
		run_free(r);
		return;
	}
	if (resp->failed)
		snprintf(err, sizeof(err), "%s", resp->error);
	else
		snprintf(err, sizeof(err), "HTTP %ld", resp->status);
	run_failed_after(r, err, resp->retry_after_ms);
}

/* http: call the app's refresh URL. */
static void
run_http(struct run *r)
{
	struct http_reqspec spec;

	memset(&spec, 0, sizeof(spec));
	spec.url = r->n->url;
	spec.local = strncmp(r->n->url, "http://", 7) == 0;
	spec.timeout_ms = (long)r->n->timeout_ms;	/* per attempt */
	if (strcmp(r->n->method, "GET") != 0)
		spec.form = "";
	if (strcmp(r->n->method, "PUT") == 0)
		spec.method = "PUT";
	if ((r->req = http_request(r->h->http, &spec, http_done, r)) == NULL)
		run_failed(r, "cannot start the request");
}

/* ---------------------------------------------------------------------- */
/* Debounce                                                               */

static void
clear_changed(struct hooks *h)
{
	size_t i;

	for (i = 0; i < h->nchanged; i++)
		free(h->changed[i]);
	free(h->changed);
	h->changed = NULL;
	h->nchanged = 0;
}

/* ev_timer: the burst is over; run every notification once. */
static void
debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hooks *h = w->data;
	struct buf list = BUF_INIT;
	struct run *r;
	size_t i;

	for (i = 0; i < h->nchanged; i++)
		(void)buf_appendf(&list, "%s%s", i ? "," : "", h->changed[i]);
	clear_changed(h);
	if (h->cfg == NULL || list.data == NULL) {
		buf_wipe(&list);
		return;
	}
	for (i = 0; i < h->cfg->nnotify; i++) {
		const struct akvd_notify *n = &h->cfg->notify[i];

		if ((r = run_new(h, n, list.data)) == NULL)
			continue;
		switch (n->kind) {
		case NOTIFY_PID_FILE:
			run_pid_file(r);
			break;
		case NOTIFY_PROCESS:
			run_process(r);
			break;
		case NOTIFY_EXEC:
			run_exec(r);
			break;
		case NOTIFY_HTTP:
			run_http(r);
			break;
		}
	}
	buf_wipe(&list);
}

struct hooks *
hooks_new(struct ev_loop *loop, struct http *http)
{
	struct hooks *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_msg(LOG_ERROR, "hooks: out of memory");
		return (NULL);
	}
	h->loop = loop;
	h->http = http;
	ev_init(&h->debounce, debounce_cb);
	h->debounce.data = h;
	return (h);
}

void
hooks_configure(struct hooks *h, const struct akvd_config *cfg)
{
	const struct akvd_notify *n;
	struct run *r, *next;
	char *key;
	size_t i;

	/*
	 * A run of a notification the new configuration still has carries
	 * on: its pending retry, its request, its command.  One whose entry
	 * is gone is dropped (logged, counted), or, if a request or command
	 * is under way, finishes without its entry.
	 */
	for (r = h->runs; r != NULL; r = next) {
		next = r->next;
		for (i = 0, n = NULL; cfg != NULL && i < cfg->nnotify &&
		    n == NULL; i++) {
			if ((key = notify_key(&cfg->notify[i])) == NULL)
				break;	/* logged; the run is dropped */
			if (r->key != NULL && strcmp(r->key, key) == 0)
				n = &cfg->notify[i];
			free(key);
		}
		r->n = n;
		if (n != NULL || r->pid > 0 || r->outfd != -1 ||
		    r->req != NULL)
			continue;
		run_dropped(r);
	}
	h->cfg = cfg;
}

void
hooks_changed(struct hooks *h, const char *const *aliases, size_t n)
{
	char **grown;
	size_t i, j;

	if (h->cfg == NULL || h->cfg->nnotify == 0 || n == 0)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < h->nchanged; j++)
			if (strcmp(h->changed[j], aliases[i]) == 0)
				break;
		if (j < h->nchanged)
			continue;
		grown = realloc(h->changed, (h->nchanged + 1) *
		    sizeof(*grown));
		if (grown == NULL)
			break;
		h->changed = grown;
		if ((h->changed[h->nchanged] = strdup(aliases[i])) == NULL)
			break;
		h->nchanged++;
	}
	ev_timer_stop(h->loop, &h->debounce);
	ev_timer_set(&h->debounce, h->cfg->debounce_ms / 1000.0, 0.);
	ev_timer_start(h->loop, &h->debounce);
}

void
hooks_free(struct hooks *h)
{

	if (h == NULL)
		return;
	ev_timer_stop(h->loop, &h->debounce);
	while (h->runs != NULL) {
		if (h->runs->pgid > 0)
			(void)kill(-h->runs->pgid, SIGKILL);
		run_free(h->runs);
	}
	clear_changed(h);
	free(h);
}
