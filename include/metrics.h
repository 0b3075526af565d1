/*
 * metrics.h - counters and gauges for /metrics (Prometheus text format).
 *
 * Like the logger, the registry is process-wide: the modules that see an
 * event (sync, auth, hooks, supervise, main) record it with one small call
 * that costs a few additions, and the text is rendered only when /metrics
 * is asked for.  Objects are labelled with their Key Vault name and alias,
 * never with a value, a version or anything secret.
 *
 * Every metric is listed, with its labels, in README.md.
 */
#ifndef AKVD_METRICS_H
#define AKVD_METRICS_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "fetch.h"
#include "util.h"

/* Where a request went, for the latency histogram and status classes. */
enum metrics_target {
	METRICS_KEYVAULT = 0,	/* Key Vault */
	METRICS_IDENTITY,	/* Entra ID, IMDS, App Service */
	METRICS_NOTIFY,		/* the app's refresh URL */
	METRICS_STORAGE,	/* Blob Storage */
	METRICS_NTARGETS
};

/*
 * metrics_objects(cfg): the objects of ${cfg} (bundle members included)
 * and the selected secrets registered are the ones labelled from now on.
 * Counters of an object whose name and alias were already known are kept;
 * the others are dropped.  Called by the sync whenever it adopts a
 * configuration.  Returns 0, or -1 on ENOMEM (logged; per-object metrics
 * are then off until the next call).
 */
int	metrics_objects(const struct akvd_config *);

/*
 * metrics_select_add(name, alias): label the secret a select follows as
 * well (its own series), until metrics_select_remove().  Returns 0, or -1
 * on ENOMEM (logged; it is then not counted).
 */
int	metrics_select_add(const char *, const char *);

/* metrics_select_remove(name, alias): it left the selection. */
void	metrics_select_remove(const char *, const char *);

/*
 * metrics_fetch(name, alias, cls, changed): the object ${name} written as
 * ${alias} was fetched (${cls} FETCH_OK or FETCH_UNCHANGED) or failed with
 * ${cls}, counted under fetch_class_name(${cls}) (see README.md); an
 * object not labelled is ignored.  ${changed}: its content changed.
 */
void	metrics_fetch(const char *, const char *, enum fetch_class, int);

/*
 * metrics_request(target, status, failed, seconds): an HTTP request to
 * ${target} finished with ${status} (or a transport failure) after
 * ${seconds}.
 */
void	metrics_request(enum metrics_target, long, int, double);

/*
 * metrics_token(ok, expires_on): a token request succeeded (the Key Vault
 * token expires at ${expires_on}, wall clock; 0 for another scope's token)
 * or failed.
 */
void	metrics_token(int, time_t);

/*
 * metrics_notify(kind, ok): a notification of ${kind} ("pid_file",
 * "process", "exec", "http", "command") was sent or finally failed.
 */
void	metrics_notify(const char *, int);

/* metrics_snapshot(ok): a snapshot was written, or could not be. */
void	metrics_snapshot(int);

/* metrics_reload(ok): a SIGHUP reload was applied, or refused. */
void	metrics_reload(int);

/*
 * metrics_render(out, ready): append every metric to ${out} in the
 * Prometheus text exposition format (version 0.0.4); ${ready} is the
 * readiness /readyz reports.  Returns 0, or -1 on ENOMEM.
 */
int	metrics_render(struct buf *, int);

/*
 * metrics_escape(out, s): append ${s} as a label value: backslash, double
 * quote and newline escaped.  Returns 0, or -1 on ENOMEM.
 */
int	metrics_escape(struct buf *, const char *);

/* metrics_reset(): forget everything (tests; the end of main). */
void	metrics_reset(void);

#endif /* !AKVD_METRICS_H */
