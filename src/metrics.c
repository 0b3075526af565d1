/*
 * metrics.c - counters and gauges for /metrics (Prometheus text format).
 *
 * Recording is a few additions into fixed arrays (objects by their index
 * in the configuration, reasons and kinds by small tables); rendering
 * walks them once per scrape.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#ifndef AKVD_VERSION
#define AKVD_VERSION "0.0.0"
#endif

/*
 * Failure reasons of a fetch: the labels of fetch_class_name(); the last
 * one catches the rest.
 */
static const char *const reasons[] = {
	"unauthorized", "forbidden", "not_found", "throttled", "client_error",
	"server_error", "connection", "bad_response", "render_error",
	"disabled", "challenge", "other"
};
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

static const char *const kinds[] = {
	"pid_file", "process", "exec", "http", "command"
};
#define NKINDS		(sizeof(kinds) / sizeof(kinds[0]))

static const char *const targets[METRICS_NTARGETS] = {
	"keyvault", "identity", "notify", "storage"
};

/* Status classes of a response; "error": no response at all. */
static const char *const codes[] = { "2xx", "3xx", "4xx", "5xx", "error" };
#define NCODES		(sizeof(codes) / sizeof(codes[0]))

static const double bounds[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
#define NBOUNDS		(sizeof(bounds) / sizeof(bounds[0]))

struct mobj {
	char		*name;
	char		*alias;
	unsigned long long fetches;
	unsigned long long failures[NREASONS];
	unsigned long long updates;
	unsigned	 consecutive;
	time_t		 last_ok;	/* 0: never */
	int		 selected;	/* a selected secret, not configured */
};

struct mtarget {
	unsigned long long buckets[NBOUNDS];	/* not cumulative */
	unsigned long long count;
	double		 sum;
	unsigned long long codes[NCODES];
	unsigned long long throttled;
};

static struct {
	time_t		 start;
	struct mobj	*objs;		/* configured, then selected */
	size_t		 nobjs;
	size_t		 nconf;		/* configured: objs[0 .. nconf) */
	struct mtarget	 req[METRICS_NTARGETS];
	unsigned long long token_ok, token_failed;
	time_t		 token_expiry;
	unsigned long long sent[NKINDS], failed[NKINDS];
	unsigned long long snapshots, snapshot_failures;
	time_t		 last_snapshot;
	unsigned long long reloads_ok, reloads_failed;
	int		 last_reload_ok;
} m = { .last_reload_ok = 1 };

static void
objs_free(struct mobj *objs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(objs[i].name);
		free(objs[i].alias);
	}
	free(objs);
}

/* The entry of ${name} and ${alias}, or NULL. */
static struct mobj *
mobj_find(const char *name, const char *alias)
{
	size_t i;

	for (i = 0; i < m.nobjs; i++)
		if (m.objs[i].name != NULL &&
		    strcmp(m.objs[i].name, name) == 0 &&
		    strcmp(m.objs[i].alias, alias) == 0)
			return (&m.objs[i]);
	return (NULL);
}

/*
 * metrics_objects(cfg): the objects of ${cfg} (bundle members included)
 * and the selected secrets registered are the ones labelled from now on.
 * Counters of an object whose name and alias were already known are kept;
 * the others are dropped.  Called by the sync whenever it adopts a
 * configuration.  Returns 0, or -1 on ENOMEM (logged; per-object metrics
 * are then off until the next call).
 */
int
metrics_objects(const struct akvd_config *cfg)
{
	struct mobj *objs;
	size_t i, j, n;

	if (m.start == 0)
		m.start = time(NULL);
	if ((objs = calloc(cfg->nobjects + m.nobjs + 1,
	    sizeof(*objs))) == NULL)
		goto oom;
	for (i = 0; i < cfg->nobjects; i++) {
		const struct akvd_object *o = &cfg->objects[i];

		for (j = 0; j < m.nobjs; j++) {
			if (m.objs[j].name != NULL &&
			    strcmp(m.objs[j].name, o->name) == 0 &&
			    strcmp(m.objs[j].alias, o->alias) == 0)
				break;
		}
		if (j < m.nobjs) {
			objs[i] = m.objs[j];	/* ownership moves */
			m.objs[j].name = m.objs[j].alias = NULL;
			continue;
		}
		if ((objs[i].name = strdup(o->name)) == NULL ||
		    (objs[i].alias = strdup(o->alias)) == NULL) {
			objs_free(objs, i + 1);
			goto oom;
		}
	}
	for (i = 0; i < cfg->nobjects; i++)
		objs[i].selected = 0;
	/* The selected secrets stay until metrics_select_remove(). */
	for (j = 0, n = cfg->nobjects; j < m.nobjs; j++) {
		if (m.objs[j].name == NULL || !m.objs[j].selected)
			continue;
		objs[n++] = m.objs[j];	/* ownership moves */
		m.objs[j].name = m.objs[j].alias = NULL;
	}
	objs_free(m.objs, m.nobjs);
	m.objs = objs;
	m.nobjs = n;
	m.nconf = cfg->nobjects;
	return (0);
oom:
	log_msg(LOG_ERROR, "metrics: out of memory");
	objs_free(m.objs, m.nobjs);
	m.objs = NULL;
	m.nobjs = m.nconf = 0;
	return (-1);
}

int
metrics_select_add(const char *name, const char *alias)
{
	struct mobj *objs;

	if (mobj_find(name, alias) != NULL)
		return (0);
	if ((objs = reallocarray(m.objs, m.nobjs + 1,
	    sizeof(*objs))) == NULL)
		goto oom;
	m.objs = objs;
	memset(&objs[m.nobjs], 0, sizeof(objs[m.nobjs]));
	if ((objs[m.nobjs].name = strdup(name)) == NULL ||
	    (objs[m.nobjs].alias = strdup(alias)) == NULL) {
		free(objs[m.nobjs].name);
		goto oom;
	}
	objs[m.nobjs].selected = 1;
	m.nobjs++;
	return (0);
oom:
	log_msg(LOG_ERROR, "metrics: out of memory");
	return (-1);
}

void
metrics_select_remove(const char *name, const char *alias)
{
	struct mobj *o;
	size_t i;

	if ((o = mobj_find(name, alias)) == NULL || !o->selected)
		return;
	i = (size_t)(o - m.objs);
	free(o->name);
	free(o->alias);
	memmove(&m.objs[i], &m.objs[i + 1],
	    (m.nobjs - i - 1) * sizeof(*m.objs));
	m.nobjs--;
}

void
metrics_fetch(const char *name, const char *alias, enum fetch_class cls,
    int changed)
{
	const char *reason = fetch_class_name(cls);
	struct mobj *o;
	size_t r;

	if ((o = mobj_find(name, alias)) == NULL)
		return;
	o->fetches++;
	if (changed)
		o->updates++;
	if (reason == NULL) {
		o->consecutive = 0;
		o->last_ok = time(NULL);
		return;
	}
	for (r = 0; r < NREASONS - 1; r++)
		if (strcmp(reasons[r], reason) == 0)
			break;
	o->failures[r]++;
	o->consecutive++;
}

void
metrics_request(enum metrics_target t, long status, int failed,
    double seconds)
{
	struct mtarget *mt;
	size_t b, c;

	if ((unsigned)t >= METRICS_NTARGETS)
		return;
	mt = &m.req[t];
	for (b = 0; b < NBOUNDS && seconds > bounds[b]; b++)
		;
	if (b < NBOUNDS)
		mt->buckets[b]++;
	mt->count++;
	mt->sum += seconds;
	if (failed || status < 200 || status > 599)
		c = NCODES - 1;
	else
		c = (size_t)(status / 100 - 2);
	mt->codes[c]++;
	if (!failed && status == 429)
		mt->throttled++;
}

void
metrics_token(int ok, time_t expires_on)
{

	if (ok) {
		m.token_ok++;
		if (expires_on != 0)
			m.token_expiry = expires_on;
	} else
		m.token_failed++;
}

void
metrics_notify(const char *kind, int ok)
{
	size_t k;

	for (k = 0; k < NKINDS; k++) {
		if (strcmp(kinds[k], kind) != 0)
			continue;
		if (ok)
			m.sent[k]++;
		else
			m.failed[k]++;
		return;
	}
}

void
metrics_snapshot(int ok)
{

	if (ok) {
		m.snapshots++;
		m.last_snapshot = time(NULL);
	} else
		m.snapshot_failures++;
}

void
metrics_reload(int ok)
{

	if (ok)
		m.reloads_ok++;
	else
		m.reloads_failed++;
	m.last_reload_ok = ok;
}

/* ---------------------------------------------------------------------- */
/* Rendering                                                              */

int
metrics_escape(struct buf *out, const char *s)
{
	const char *p;
	int rc = 0;

	for (p = s; *p != '\0' && rc == 0; p++) {
		switch (*p) {
		case '\\':
			rc = buf_append(out, "\\\\", 2);
			break;
		case '"':
			rc = buf_append(out, "\\\"", 2);
			break;
		case '\n':
			rc = buf_append(out, "\\n", 2);
			break;
		default:
			rc = buf_append(out, p, 1);
			break;
		}
	}
	return (rc);
}

static int
head(struct buf *out, const char *name, const char *type, const char *help)
{

	return (buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type));
}

/* name{object="...",alias="..."[,reason="..."]} */
static int
obj_labels(struct buf *out, const char *name, const struct mobj *o,
    const char *reason)
{

	if (buf_appendf(out, "%s{object=\"", name) == -1 ||
	    metrics_escape(out, o->name) == -1 ||
	    buf_append(out, "\",alias=\"", 9) == -1 ||
	    metrics_escape(out, o->alias) == -1)
		return (-1);
	if (reason != NULL && buf_appendf(out, "\",reason=\"%s", reason) == -1)
		return (-1);
	return (buf_append(out, "\"} ", 3));
}

static int
render_objects(struct buf *out)
{
	const struct mobj *o;
	size_t i, r;
	int rc = 0;

	rc |= head(out, "akvd_objects", "gauge",
	    "Objects in the configuration.");
	rc |= buf_appendf(out, "akvd_objects %zu\n", m.nconf);
	rc |= head(out, "akvd_fetches_total", "counter",
	    "Fetches of an object from Key Vault that completed, failed "
	    "or not.");
	for (i = 0; i < m.nobjs; i++) {
		o = &m.objs[i];
		rc |= obj_labels(out, "akvd_fetches_total", o, NULL);
		rc |= buf_appendf(out, "%llu\n", o->fetches);
	}
	rc |= head(out, "akvd_fetch_failures_total", "counter",
	    "Failed fetches of an object, by reason.");
	for (i = 0; i < m.nobjs; i++) {
		o = &m.objs[i];
		for (r = 0; r < NREASONS; r++) {
			if (o->failures[r] == 0)
				continue;
			rc |= obj_labels(out, "akvd_fetch_failures_total", o,
			    reasons[r]);
			rc |= buf_appendf(out, "%llu\n", o->failures[r]);
		}
	}
	rc |= head(out, "akvd_object_updates_total", "counter",
	    "New content of an object fetched from Key Vault.");
	for (i = 0; i < m.nobjs; i++) {
		o = &m.objs[i];
		rc |= obj_labels(out, "akvd_object_updates_total", o, NULL);
		rc |= buf_appendf(out, "%llu\n", o->updates);
	}
	rc |= head(out, "akvd_object_consecutive_failures", "gauge",
	    "Failed fetches of an object since its last success.");
	for (i = 0; i < m.nobjs; i++) {
		o = &m.objs[i];
		rc |= obj_labels(out, "akvd_object_consecutive_failures", o,
		    NULL);
		rc |= buf_appendf(out, "%u\n", o->consecutive);
	}
	rc |= head(out, "akvd_object_last_success_timestamp_seconds", "gauge",
	    "When an object was last fetched successfully (Unix time; "
	    "absent until then).");
	for (i = 0; i < m.nobjs; i++) {
		o = &m.objs[i];
		if (o->last_ok == 0)
			continue;
		rc |= obj_labels(out,
		    "akvd_object_last_success_timestamp_seconds", o, NULL);
		rc |= buf_appendf(out, "%lld\n", (long long)o->last_ok);
	}
	return (rc != 0 ? -1 : 0);
}

static int
render_requests(struct buf *out)
{
	const struct mtarget *mt;
	unsigned long long cum;
	size_t t, b, c;
	int rc = 0;

	rc |= head(out, "akvd_request_duration_seconds", "histogram",
	    "Duration of HTTP requests, by target.");
	for (t = 0; t < METRICS_NTARGETS; t++) {
		mt = &m.req[t];
		cum = 0;
		for (b = 0; b < NBOUNDS; b++) {
			cum += mt->buckets[b];
			rc |= buf_appendf(out, "akvd_request_duration_seconds_"
			    "bucket{target=\"%s\",le=\"%g\"} %llu\n",
			    targets[t], bounds[b], cum);
		}
		rc |= buf_appendf(out, "akvd_request_duration_seconds_bucket"
		    "{target=\"%s\",le=\"+Inf\"} %llu\n", targets[t],
		    mt->count);
		rc |= buf_appendf(out, "akvd_request_duration_seconds_sum"
		    "{target=\"%s\"} %.6f\n", targets[t], mt->sum);
		rc |= buf_appendf(out, "akvd_request_duration_seconds_count"
		    "{target=\"%s\"} %llu\n", targets[t], mt->count);
	}
	rc |= head(out, "akvd_requests_total", "counter",
	    "HTTP requests by target and status class (\"error\": no "
	    "response).");
	for (t = 0; t < METRICS_NTARGETS; t++)
		for (c = 0; c < NCODES; c++)
			if (m.req[t].codes[c] > 0)
				rc |= buf_appendf(out, "akvd_requests_total"
				    "{target=\"%s\",code=\"%s\"} %llu\n",
				    targets[t], codes[c], m.req[t].codes[c]);
	rc |= head(out, "akvd_throttled_total", "counter",
	    "HTTP 429 (throttled) responses, by target.");
	for (t = 0; t < METRICS_NTARGETS; t++)
		rc |= buf_appendf(out, "akvd_throttled_total{target=\"%s\"} "
		    "%llu\n", targets[t], m.req[t].throttled);
	return (rc != 0 ? -1 : 0);
}

/* The standard process_* metrics, from /proc/self. */
static int
render_process(struct buf *out)
{
	unsigned long utime, stime, vsize;
	long rss, ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct dirent *de;
	struct rlimit rl;
	char stat[1024], *p;
	size_t n;
	FILE *f;
	DIR *d;
	int rc = 0, fds = 0;

	if ((f = fopen("/proc/self/stat", "re")) != NULL) {
		n = fread(stat, 1, sizeof(stat) - 1, f);
		stat[n] = '\0';
		fclose(f);
		/* After the command name, which may hold spaces: field 3. */
		if ((p = strrchr(stat, ')')) != NULL && ticks > 0 &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%lu %lu %*d %*d %*d %*d %*d %*d %*u %lu %ld", &utime,
		    &stime, &vsize, &rss) == 4) {
			rc |= head(out, "process_cpu_seconds_total", "counter",
			    "User and system CPU time spent, in seconds.");
			rc |= buf_appendf(out, "process_cpu_seconds_total "
			    "%.2f\n", (double)(utime + stime) / (double)ticks);
			rc |= head(out, "process_resident_memory_bytes",
			    "gauge", "Resident memory size in bytes.");
			rc |= buf_appendf(out, "process_resident_memory_bytes "
			    "%ld\n", rss * page);
			rc |= head(out, "process_virtual_memory_bytes",
			    "gauge", "Virtual memory size in bytes.");
			rc |= buf_appendf(out, "process_virtual_memory_bytes "
			    "%lu\n", vsize);
		}
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(d);
		rc |= head(out, "process_open_fds", "gauge",
		    "Open file descriptors.");
		rc |= buf_appendf(out, "process_open_fds %d\n", fds - 1);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rc |= head(out, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.");
		rc |= buf_appendf(out, "process_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
	}
	rc |= head(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.");
	rc |= buf_appendf(out, "process_start_time_seconds %lld\n",
	    (long long)m.start);
	return (rc != 0 ? -1 : 0);
}

int
metrics_render(struct buf *out, int ready)
{
	size_t k;
	int rc = 0;

	rc |= head(out, "akvd_build_info", "gauge",
	    "The version of akvd running (always 1).");
	rc |= buf_appendf(out, "akvd_build_info{version=\"%s\"} 1\n",
	    AKVD_VERSION);
	rc |= head(out, "akvd_start_time_seconds", "gauge",
	    "When akvd started (Unix time).");
	rc |= buf_appendf(out, "akvd_start_time_seconds %lld\n",
	    (long long)m.start);
	rc |= head(out, "akvd_ready", "gauge",
	    "1 when /readyz answers 200.");
	rc |= buf_appendf(out, "akvd_ready %d\n", ready ? 1 : 0);
	rc |= render_objects(out);
	rc |= head(out, "akvd_snapshots_total", "counter",
	    "Snapshots written to the output directory.");
	rc |= buf_appendf(out, "akvd_snapshots_total %llu\n", m.snapshots);
	rc |= head(out, "akvd_snapshot_failures_total", "counter",
	    "Snapshots that could not be written.");
	rc |= buf_appendf(out, "akvd_snapshot_failures_total %llu\n",
	    m.snapshot_failures);
	if (m.last_snapshot != 0) {
		rc |= head(out, "akvd_last_snapshot_timestamp_seconds",
		    "gauge", "When the last snapshot was written (Unix "
		    "time).");
		rc |= buf_appendf(out, "akvd_last_snapshot_timestamp_seconds "
		    "%lld\n", (long long)m.last_snapshot);
	}
	rc |= render_requests(out);
	rc |= head(out, "akvd_token_requests_total", "counter",
	    "Access token requests, by result.");
	rc |= buf_appendf(out, "akvd_token_requests_total{result=\"ok\"} "
	    "%llu\nakvd_token_requests_total{result=\"failed\"} %llu\n",
	    m.token_ok, m.token_failed);
	if (m.token_expiry != 0) {
		rc |= head(out, "akvd_token_expiry_timestamp_seconds", "gauge",
		    "When the cached access token expires (Unix time).");
		rc |= buf_appendf(out, "akvd_token_expiry_timestamp_seconds "
		    "%lld\n", (long long)m.token_expiry);
	}
	rc |= head(out, "akvd_notifications_sent_total", "counter",
	    "Notifications of the app that succeeded, by kind.");
	for (k = 0; k < NKINDS; k++)
		rc |= buf_appendf(out, "akvd_notifications_sent_total"
		    "{kind=\"%s\"} %llu\n", kinds[k], m.sent[k]);
	rc |= head(out, "akvd_notifications_failed_total", "counter",
	    "Notifications of the app that failed for good, by kind.");
	for (k = 0; k < NKINDS; k++)
		rc |= buf_appendf(out, "akvd_notifications_failed_total"
		    "{kind=\"%s\"} %llu\n", kinds[k], m.failed[k]);
	rc |= head(out, "akvd_config_reloads_total", "counter",
	    "SIGHUP reloads, by result.");
	rc |= buf_appendf(out, "akvd_config_reloads_total{result=\"ok\"} "
	    "%llu\nakvd_config_reloads_total{result=\"failed\"} %llu\n",
	    m.reloads_ok, m.reloads_failed);
	rc |= head(out, "akvd_config_last_reload_successful", "gauge",
	    "0 when the last reload was refused (akvd runs on the previous "
	    "configuration).");
	rc |= buf_appendf(out, "akvd_config_last_reload_successful %d\n",
	    m.last_reload_ok);
	rc |= render_process(out);
	return (rc != 0 ? -1 : 0);
}

void
metrics_reset(void)
{

	objs_free(m.objs, m.nobjs);
	memset(&m, 0, sizeof(m));
	m.last_reload_ok = 1;
}
