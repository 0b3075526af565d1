/*
 * akvd - keep an application's Azure Key Vault secrets fresh on disk.
 *
 * This file is the command line, the signals and the life cycle; the work
 * is done by the modules under src/.  akvd never daemonizes: it runs in the
 * foreground and logs to stderr (a container runtime or systemd collects
 * it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "auth.h"
#include "config.h"
#include "hooks.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "status.h"
#include "supervise.h"
#include "sync.h"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define EXIT_CONFIG	78	/* EX_CONFIG */

#define CONFIG_SETTLE_S	1.	/* quiet time before a changed file is read */

struct akvd {
	struct ev_loop	*loop;
	const char	*config_path;
	int		 once;
	int		 status;	/* exit status */
	struct http	*http;
	struct auth	*auth;
	struct akvd_config *cfg;	/* the configuration in force: every
					   module borrows it */
	struct sync	*sync;
	struct hooks	*hooks;
	char		**command;	/* supervise mode: after "--" */
	struct supervise *sup;
	struct status	*health;	/* "listen": health and metrics */
	int		 ready;		/* first complete snapshot written */
	int		 told_waiting;	/* "command not started yet" logged */
	ev_timer	 watchdog;
	ev_stat		 config_stat;	/* the configuration file changed */
	ev_stat		 config_dir_stat; /* or its directory (a ConfigMap) */
	ev_stat		 config_real_stat; /* or the file it resolves to */
	ev_timer	 config_settle;	/* then reload, once it settled */
	char		*config_dir;
	char		*config_real;	/* realpath of config_path, or NULL */
	uint64_t	 config_hash;	/* of the file last (re)loaded, and
					   of its templates' "source" files */
	ev_stat		*tmpl_stat;	/* a template's "source" changed */
	size_t		 ntmpl_stat;
	ev_signal	 sig_term, sig_int, sig_hup, sig_usr1, sig_quit,
			 sig_usr2;
};

static void
usage(FILE *f)
{

	fprintf(f,
"usage: akvd [-c FILE] [--check | --once] [--log-format text|json]\n"
"            [--log-level debug|info|warn|error] [-- command [arg ...]]\n"
"\n"
"Keep Azure Key Vault secrets fresh in files on disk.\n"
"\n"
"  -c, --config FILE     configuration file (default %s)\n"
"      --check           validate the configuration, print it normalized,\n"
"                        and exit\n"
"      --once            fetch every object, write one snapshot, and exit\n"
"                        (0 only if every non-optional object was written;\n"
"                        transient failures are retried for once_timeout)\n"
"      --log-format FMT  text (default) or json\n"
"      --log-level LVL   debug, info (default), warn or error\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"With a command after \"--\", akvd starts it after the first complete\n"
"snapshot (every non-optional object written), forwards SIGTERM, SIGINT,\n"
"SIGQUIT and SIGUSR2 to it, signals or restarts it when files change\n"
"(\"on_change\"), and exits with its status.\n"
"\n"
"Signals: SIGHUP reloads the configuration, SIGUSR1 fetches every object\n"
"now, SIGTERM and SIGINT stop.\n"
"Exit status: 0 success, 1 runtime failure, 2 usage, 78 configuration "
"error.\n", CONFIG_DEFAULT_PATH);
}

/* Load ${path}, logging every error.  NULL if invalid. */
static struct akvd_config *
load(const char *path, int to_stderr)
{
	struct config_errors errs;
	struct akvd_config *cfg;
	size_t i, n, plen;
	int no_default;

	memset(&errs, 0, sizeof(errs));
	if ((cfg = config_load(path, &errs)) != NULL)
		return (cfg);
	n = errs.n < CONFIG_MAXERR ? errs.n : CONFIG_MAXERR;
	plen = strlen(path);
	/* No -c and no file at the default path: say how to give one. */
	no_default = strcmp(path, CONFIG_DEFAULT_PATH) == 0 &&
	    access(path, F_OK) == -1 && errno == ENOENT;
	for (i = 0; i < n; i++) {
		/* An error of the file itself already starts with its path. */
		if (to_stderr && strncmp(errs.msg[i], path, plen) == 0 &&
		    errs.msg[i][plen] == ':')
			fprintf(stderr, "akvd: %s%s\n", errs.msg[i],
			    no_default ? " (the default path: give the "
			    "configuration with -c FILE)" : "");
		else if (to_stderr)
			fprintf(stderr, "akvd: %s: %s\n", path, errs.msg[i]);
		else
			log_kv(LOG_ERROR, "configuration error", "file", path,
			    "error", errs.msg[i], NULL);
	}
	if (errs.n > n) {
		if (to_stderr)
			fprintf(stderr, "akvd: %s: %zu more errors\n", path,
			    errs.n - n);
		else
			log_msg(LOG_ERROR, "%s: %zu more errors", path,
			    errs.n - n);
	}
	return (NULL);
}

static void
http_opts_from(struct http_opts *o, const struct akvd_config *cfg)
{

	memset(o, 0, sizeof(*o));
	o->ca_file = cfg->ca_file;
	o->timeout_ms = (long)cfg->timeout_ms;
	o->max_body = cfg->max_response;
	o->max_idle_s = 0;
}

/* FNV-1a of the file at ${path} (no secret in it); 0 if unreadable. */
static uint64_t
file_hash(const char *path)
{
	unsigned char buf[4096];
	uint64_t h = 14695981039346656037ULL;
	ssize_t n, i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	close(fd);
	return (n == -1 ? 0 : h);
}

/*
 * The hash of the configuration file and of the "source" files of the
 * templates of ${cfg}: a change of either reloads (templates are compiled
 * with the configuration; a reload keeps every value held and asks Key
 * Vault nothing for what did not change).
 */
static uint64_t
inputs_hash(const struct akvd *d, const struct akvd_config *cfg)
{
	uint64_t h = file_hash(d->config_path);
	size_t i;

	for (i = 0; cfg != NULL && i < cfg->ntemplates; i++)
		if (cfg->templates[i].source != NULL)
			h = (h ^ file_hash(cfg->templates[i].source)) *
			    1099511628211ULL;
	return (h);
}

static void	config_stat_cb(struct ev_loop *, ev_stat *, int);

/* Watch the "source" files of the templates in force, and no others. */
static void
tmpl_watch(struct akvd *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->ntmpl_stat; i++)
		ev_stat_stop(d->loop, &d->tmpl_stat[i]);
	free(d->tmpl_stat);
	d->tmpl_stat = NULL;
	d->ntmpl_stat = 0;
	if (d->once || d->cfg == NULL || d->cfg->ntemplates == 0)
		return;
	if ((d->tmpl_stat = calloc(d->cfg->ntemplates,
	    sizeof(*d->tmpl_stat))) == NULL) {
		log_msg(LOG_ERROR, "templates: out of memory: their source "
		    "files are not watched (SIGHUP reloads them)");
		return;
	}
	for (i = 0; i < d->cfg->ntemplates; i++) {
		if (d->cfg->templates[i].source == NULL)
			continue;
		ev_stat_init(&d->tmpl_stat[n], config_stat_cb,
		    d->cfg->templates[i].source, 0.);
		d->tmpl_stat[n].data = d;
		ev_stat_start(d->loop, &d->tmpl_stat[n]);
		n++;
	}
	d->ntmpl_stat = n;
}

/*
 * The reload of ${cfg} failed (logged): run on exactly the configuration
 * in force.
 */
static void
not_reloaded(struct akvd *d, struct akvd_config *cfg)
{

	config_free(cfg);
	metrics_reload(0);
	log_msg(LOG_ERROR, "configuration not reloaded: still running "
	    "on the previous one");
	sdnotify("%sSTATUS=configuration not reloaded: see the log",
	    d->ready ? "READY=1\n" : "");
}

/*
 * SIGHUP: parse into a new config and swap it in only if it is valid and
 * every module can take it (bgpd's reconfigure()).  Every module prepares
 * its change first, changing nothing (binding the new listener, the
 * sync's new tables, copies of the credential, loading the CA file); then
 * all commit, which cannot fail.  Any failure aborts every prepared change:
 * akvd runs on exactly the configuration in force.  main owns that
 * configuration: the old one is freed only once every module points at
 * the new one.
 */
static void
reload(struct akvd *d)
{
	struct akvd_config *cfg, *old;
	struct status_pending *sp = NULL;
	struct sync_pending *yp = NULL;
	struct auth_pending *ap = NULL;
	struct http_pending *hp = NULL;
	struct http_opts ho;
	struct timespec now;

	d->config_hash = inputs_hash(d, d->cfg);

	log_kv(LOG_INFO, "reloading configuration", "file", d->config_path,
	    NULL);
	/* systemd wants CLOCK_MONOTONIC here; ev_time() is the wall clock. */
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now.tv_sec * 1000000ULL +
	    (unsigned long long)now.tv_nsec / 1000ULL);
	if ((cfg = load(d->config_path, 0)) == NULL) {
		not_reloaded(d, NULL);
		return;
	}
	if (d->health != NULL && status_prepare(d->health, cfg, &sp) == -1) {
		log_msg(LOG_ERROR, "health endpoint: the new \"listen\" "
		    "address is not in use; the previous listener (if any) "
		    "is kept");
		goto fail;
	}
	http_opts_from(&ho, cfg);
	if (sync_prepare(d->sync, cfg, &yp) == -1 ||
	    auth_prepare(d->auth, &cfg->auth, cfg->vault_scope, &ap) == -1 ||
	    http_prepare(d->http, &ho, &hp) == -1)
		goto fail;
	/* Nothing fails from here on. */
	http_commit(d->http, hp);
	auth_commit(d->auth, ap);
	sync_commit(d->sync, yp);
	if (sp != NULL)
		status_commit(d->health, sp);
	old = d->cfg;
	d->cfg = cfg;
	hooks_configure(d->hooks, cfg);
	if (d->sup != NULL)
		supervise_configure(d->sup, cfg);
	config_free(old);
	d->config_hash = inputs_hash(d, cfg);
	tmpl_watch(d);
	metrics_reload(1);
	if (d->ready)
		sdnotify("READY=1");
	return;
fail:
	http_abort(hp);
	auth_abort(ap);
	sync_abort(yp);
	status_abort(sp);
	not_reloaded(d, cfg);
}

/*
 * ev_stat: the configuration file changed (an edit in place), or its
 * directory did (an editor's rename, the kubelet swapping a ConfigMap
 * volume's ..data link: the file is a symbolic link that ev_stat does not
 * follow).  Reload once it has been quiet for a moment, so that a file
 * being written is not read half-way, and only if its content changed.
 */
static void
config_stat_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	struct akvd *d = w->data;

	ev_timer_again(loop, &d->config_settle);
}

/*
 * Watch the file the configuration path resolves to when symbolic links
 * lead to it (a ConfigMap volume: akvd.json -> ..data/akvd.json ->
 * ..TIMESTAMP/akvd.json).  The kubelet's update removes ..TIMESTAMP,
 * which ev_stat always sees; the directory's own stat can look unchanged
 * when two updates fall within one second (ev_stat compares times in
 * whole seconds).  Called at start-up and after each change, to follow
 * the link to its new target.
 */
static void
config_watch_target(struct akvd *d)
{
	char *real;

	real = realpath(d->config_path, NULL);
	if (real != NULL && strcmp(real, d->config_path) == 0) {
		free(real);
		real = NULL;
	}
	if (real != NULL && d->config_real != NULL &&
	    strcmp(real, d->config_real) == 0) {
		free(real);
		return;
	}
	if (d->config_real != NULL) {
		ev_stat_stop(d->loop, &d->config_real_stat);
		free(d->config_real);
	}
	if ((d->config_real = real) == NULL)
		return;
	ev_stat_init(&d->config_real_stat, config_stat_cb, d->config_real, 0.);
	d->config_real_stat.data = d;
	ev_stat_start(d->loop, &d->config_real_stat);
}

static void
config_settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct akvd *d = w->data;

	ev_timer_stop(loop, w);
	config_watch_target(d);
	if (inputs_hash(d, d->cfg) == d->config_hash)
		return;
	/* Its template sources count as the file (a reload parses them). */
	log_kv(LOG_INFO, "configuration file changed", "file", d->config_path,
	    NULL);
	reload(d);
}

/*
 * sync_snapshot_fn: called from the first complete snapshot on (the one
 * definition of ready, sync.h): READY=1, start the command; tell the app.
 */
static void
snapshot_done(int first, const char *const *changed, size_t n, void *cookie)
{
	struct akvd *d = cookie;
	char status[300];

	sync_status(d->sync, status, sizeof(status));
	if (!d->ready) {
		d->ready = 1;
		sdnotify("READY=1\nSTATUS=%s", status);
	} else
		sdnotify("STATUS=%s", status);
	hooks_changed(d->hooks, changed, n);
	if (d->sup != NULL) {
		if (first)
			supervise_start(d->sup);
		else if (n > 0)
			supervise_changed(d->sup);
	}
}

/* sync_wait_fn: not ready yet: say what akvd waits for. */
static void
waiting(const char *why, void *cookie)
{
	struct akvd *d = cookie;

	sdnotify("STATUS=%s", why);
	if (d->sup != NULL && !d->told_waiting) {
		d->told_waiting = 1;
		log_kv(LOG_INFO, "command not started yet: it starts with the "
		    "first complete snapshot", NULL);
	}
}

/* status_ready_fn: /readyz and akvd_ready. */
static int
ready_cb(char *why, size_t len, void *cookie)
{
	struct akvd *d = cookie;

	return (sync_ready(d->sync, why, len));
}

/* supervise_exit_fn: the command exited; so does akvd, with its status. */
static void
command_exited(int status, void *cookie)
{
	struct akvd *d = cookie;

	d->status = status;
	ev_break(d->loop, EVBREAK_ALL);
}

/* ev_timer: the loop is alive. */
static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{

	sdnotify("WATCHDOG=1");
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct akvd *d = w->data;

	switch (w->signum) {
	case SIGTERM:
	case SIGINT:
		if (d->sup != NULL && supervise_forward(d->sup, w->signum)) {
			log_kv(LOG_INFO, "stopping: waiting for the command",
			    "signal", w->signum == SIGTERM ? "TERM" : "INT",
			    NULL);
			break;
		}
		log_kv(LOG_INFO, "stopping", "signal",
		    w->signum == SIGTERM ? "TERM" : "INT", NULL);
		ev_break(loop, EVBREAK_ALL);
		break;
	case SIGQUIT:
	case SIGUSR2:
		if (d->sup != NULL)
			(void)supervise_forward(d->sup, w->signum);
		break;
	case SIGHUP:
		if (!d->once)
			reload(d);
		break;
	case SIGUSR1:
		if (!d->once)
			sync_resync(d->sync);
		break;
	}
}

/* auth_event_fn */
static void
auth_event(int ok, void *cookie)
{
	struct akvd *d = cookie;

	if (d->sync != NULL)
		sync_auth_event(d->sync, ok);
}

/* sync_done_fn: --once finished. */
static void
once_done(int ok, void *cookie)
{
	struct akvd *d = cookie;

	d->status = ok ? 0 : EXIT_RUNTIME;
	log_kv(ok ? LOG_INFO : LOG_ERROR, ok ? "all objects written" :
	    "some required objects could not be written", NULL);
	ev_break(d->loop, EVBREAK_ALL);
}

static void
watch_signal(struct akvd *d, ev_signal *w, int signum)
{

	ev_signal_init(w, signal_cb, signum);
	w->data = d;
	ev_signal_start(d->loop, w);
}

static int
run(struct akvd *d, struct akvd_config *cfg)
{
	struct http_opts ho;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg(LOG_ERROR, "curl_global_init failed");
		config_free(cfg);
		return (EXIT_RUNTIME);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((d->loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		/* Nothing to stop or free yet, and no loop to do it with. */
		log_msg(LOG_ERROR, "cannot initialise the event loop");
		config_free(cfg);
		curl_global_cleanup();
		return (EXIT_RUNTIME);
	}
	d->cfg = cfg;
	http_opts_from(&ho, cfg);
	if ((d->http = http_new(d->loop, &ho)) == NULL ||
	    (d->auth = auth_new(d->loop, d->http, &cfg->auth,
	    cfg->vault_scope, auth_event, d)) == NULL ||
	    (d->hooks = hooks_new(d->loop, d->http)) == NULL ||
	    (d->sync = sync_new(d->loop, d->http, d->auth, cfg, d->once,
	    once_done, d)) == NULL) {
		d->status = EXIT_RUNTIME;
		goto out;
	}
	if (d->command != NULL) {
		if ((d->sup = supervise_new(d->loop, d->command, d->sync,
		    command_exited, d)) == NULL) {
			d->status = EXIT_RUNTIME;
			goto out;
		}
		supervise_configure(d->sup, cfg);
		watch_signal(d, &d->sig_quit, SIGQUIT);
		watch_signal(d, &d->sig_usr2, SIGUSR2);
	} else if (cfg->nenv > 0 || cfg->on_change != ON_CHANGE_NOTHING)
		log_kv(LOG_WARN, "\"env\" and \"on_change\" apply to a "
		    "command supervised with \"akvd [options] -- command\"; "
		    "there is none, so they are ignored", NULL);
	if (!d->once) {
		if ((d->health = status_new(d->loop, ready_cb, d)) == NULL ||
		    status_configure(d->health, cfg) == -1) {
			d->status = EXIT_RUNTIME;
			goto out;
		}
		hooks_configure(d->hooks, cfg);
		sync_on_snapshot(d->sync, snapshot_done, d);
		sync_on_waiting(d->sync, waiting, d);
		if (sdnotify_watchdog_usec() > 0) {
			ev_timer_init(&d->watchdog, watchdog_cb, 0.,
			    sdnotify_watchdog_usec() / 2e6);
			ev_timer_again(d->loop, &d->watchdog);
		}
	}
	if (!d->once) {
		ev_init(&d->config_settle, config_settle_cb);
		d->config_settle.repeat = CONFIG_SETTLE_S;
		d->config_settle.data = d;
		d->config_hash = inputs_hash(d, d->cfg);
		tmpl_watch(d);
		ev_stat_init(&d->config_stat, config_stat_cb, d->config_path,
		    0.);
		d->config_stat.data = d;
		ev_stat_start(d->loop, &d->config_stat);
		if ((d->config_dir = strdup(d->config_path)) != NULL) {
			ev_stat_init(&d->config_dir_stat, config_stat_cb,
			    dirname(d->config_dir), 0.);
			d->config_dir_stat.data = d;
			ev_stat_start(d->loop, &d->config_dir_stat);
		}
		config_watch_target(d);
	}
	watch_signal(d, &d->sig_term, SIGTERM);
	watch_signal(d, &d->sig_int, SIGINT);
	watch_signal(d, &d->sig_hup, SIGHUP);
	watch_signal(d, &d->sig_usr1, SIGUSR1);

	log_kv(LOG_INFO, "akvd starting", "version", AKVD_VERSION,
	    "config", d->config_path, "mode", d->once ? "once" : "daemon",
	    NULL);
	log_kv(LOG_INFO, "credential", "method",
	    config_auth_method_name(cfg->auth.method), "why",
	    cfg->auth.method_why, "cloud", cfg->cloud, NULL);
	d->status = 0;
	ev_run(d->loop, 0);
	sdnotify("STOPPING=1");

out:
	ev_timer_stop(d->loop, &d->watchdog);
	status_free(d->health);
	ev_stat_stop(d->loop, &d->config_stat);
	ev_stat_stop(d->loop, &d->config_dir_stat);
	d->once = 1;		/* tmpl_watch: stop, start nothing */
	tmpl_watch(d);
	free(d->config_dir);
	if (d->config_real != NULL)
		ev_stat_stop(d->loop, &d->config_real_stat);
	free(d->config_real);
	ev_timer_stop(d->loop, &d->config_settle);
	supervise_free(d->sup);
	hooks_free(d->hooks);
	sync_free(d->sync);
	auth_free(d->auth);
	http_free(d->http);
	config_free(d->cfg);
	metrics_reset();
	curl_global_cleanup();
	return (d->status);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "check",	no_argument,		NULL, 'C' },
		{ "once",	no_argument,		NULL, 'o' },
		{ "log-format",	required_argument,	NULL, 'F' },
		{ "log-level",	required_argument,	NULL, 'L' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct akvd d;
	struct akvd_config *cfg;
	enum log_format fmt = LOG_TEXT;
	enum log_level lvl = LOG_INFO;
	int ch, check = 0, rc;

	memset(&d, 0, sizeof(d));
	d.config_path = CONFIG_DEFAULT_PATH;
	d.status = EXIT_RUNTIME;
	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'o':
			d.once = 1;
			break;
		case 'F':
			if (log_format_parse(optarg, &fmt) == -1) {
				fprintf(stderr, "akvd: --log-format: expected "
				    "text or json, not \"%s\"\n", optarg);
				return (EXIT_USAGE);
			}
			break;
		case 'L':
			if (log_level_parse(optarg, &lvl) == -1) {
				fprintf(stderr, "akvd: --log-level: expected "
				    "debug, info, warn or error, not \"%s\"\n",
				    optarg);
				return (EXIT_USAGE);
			}
			break;
		case 'V':
			printf("akvd %s\n", AKVD_VERSION);
			return (0);
		case 'h':
			usage(stdout);
			return (0);
		default:
			usage(stderr);
			return (EXIT_USAGE);
		}
	}
	if (optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
	    optind < argc)
		d.command = &argv[optind];
	else if (optind != argc) {
		fprintf(stderr, "akvd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return (EXIT_USAGE);
	}
	if (check && d.once) {
		fprintf(stderr, "akvd: --check and --once are exclusive\n");
		return (EXIT_USAGE);
	}
	if (d.command != NULL && d.once) {
		fprintf(stderr, "akvd: --once cannot supervise a command\n");
		return (EXIT_USAGE);
	}
	log_init(fmt, lvl);
	if (!check && !d.once)
		(void)sdnotify_init();

	if (check) {
		if ((cfg = load(d.config_path, 1)) == NULL)
			return (EXIT_CONFIG);
		fprintf(stderr, "akvd: credential: %s (%s)\n",
		    config_auth_method_name(cfg->auth.method),
		    cfg->auth.method_why);
		rc = config_print(stdout, cfg) == -1 || fflush(stdout) == EOF;
		config_free(cfg);
		if (rc) {
			fprintf(stderr, "akvd: stdout: %s\n", strerror(errno));
			return (EXIT_RUNTIME);
		}
		return (0);
	}
	if ((cfg = load(d.config_path, 0)) == NULL)
		return (EXIT_CONFIG);
	return (run(&d, cfg));
}
