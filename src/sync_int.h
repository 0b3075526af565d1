/*
 * sync_int.h - the inside of the sync, shared by its files (not part of
 * akvd's interface: other modules use include/sync.h).
 *
 * The sync keeps two tables.  Sources (struct source) are what is fetched,
 * one per key: (vault, type, name, version, history) of a Key Vault
 * object, a blob's URL, a select entry (its lister), a secret a select
 * follows; a source holds the schedule, failures, Retry-After, the request
 * in flight and the value Key Vault returned.  Outputs (struct output) are
 * what is written: the files of one configured object or selected secret
 * (OUT_FILE, rendered from its source with its own options and logged,
 * counted and judged ready on its own), a bundle or a template (made from
 * the file outputs it reads at every commit).  Two objects reading one
 * value are two outputs of one source, by construction: the tables are
 * made by lookup-or-create on the key (sync_reload.c), so one GET serves
 * them all and a reload is a diff of source keys.
 *
 *   sync.c           the scheduler (wake timer, ev_prepare pump, --once
 *                    deadline), life cycle, the public API
 *   sync_reload.c    the tables made from a configuration: at start, and
 *                    at a reload as prepare/commit over plan.c's diff
 *   source.c         one source's state, whatever its kind: success,
 *                    failure, next due time
 *   output.c         outputs: a file output's success and failure, its
 *                    value rendered again; bundles and templates made
 *   snapshot.c       writer_commit(), announce, readiness, adoption
 *   source_kv.c      the kinds of Key Vault objects, latest or pinned and
 *                    histories; every Key Vault request, the tenant probe
 *   source_kv.h      what the Key Vault kinds share
 *   source_select.c  the kinds of select listers and the secrets they
 *                    select
 *   source_watch.c   change detection per vault and kind
 *   source_blob.c    the kind of Blob Storage objects
 *
 * Ownership: struct sync owns both tables (sources, fouts, outs); a source
 * borrows the outputs reading it (o->outs), an output its source (src)
 * and, for a bundle or template, the file outputs it reads (srcs); both
 * borrow their configuration from s->cfg (a lister's and a selected
 * secret's from their source's own).  A source's kind (struct source_ops)
 * owns its kind's state (o->u): made by its constructor, freed by its
 * ops->free().
 *
 * Layering: the scheduler and source.c know no kind: they call the
 * kind's ops; sync_reload.c chooses the kind of a configured object and
 * asks source_select.c about listers.  source.c tells the outputs
 * (output.c) what a fetch brought; the kinds record outcomes through
 * source.c and ask for deferred work with sync_kick(); the scheduler runs it
 * once per loop iteration (sync.c).
 */
#ifndef AKVD_SYNC_INT_H
#define AKVD_SYNC_INT_H

#include <ev.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "fetch.h"
#include "http.h"
#include "kv.h"
#include "policy.h"
#include "sync.h"
#include "util.h"

#define COMMIT_RETRY_MS		5000

struct source;

struct watch;			/* source_kv.h */

/*
 * The health of one vault as a whole (source.c): while it fails (5xx, a
 * transport error, 429), one of its sources at a time probes it at the
 * vault's backoff and the others wait, queued, for the probe's outcome.
 */
struct gate {
	struct gate	*next;
	char		*vault;		/* its URL (owned) */
	struct policy_gate p;
	struct source	*probe;		/* the source probing it (borrowed) */
};

/* What the starts of one pump() share: the Key Vault token, if taken. */
struct source_pump {
	const char	*token;		/* Key Vault's, valid during pump() */
	uint64_t	 gen;
	int		 waiting;	/* no Key Vault token: start no more */
};

/*
 * A kind of source, as smtpd's table backends: the scheduler and source.c
 * know no kind, they call these.  A kind keeps its own state in o->u,
 * made by its constructor (source_kv_new(), source_blob_new(),
 * source_select_lister_new(), a select's secrets) and freed by free().
 */
struct source_ops {
	const char	*kind;		/* "keyvault", "history", "blob"... */
	/*
	 * start(o, p): start the next request of the queued ${o}, or leave
	 * it queued until a token comes (sync_auth_event() resumes), or
	 * record its failure.
	 */
	void		(*start)(struct source *, struct source_pump *);
	/*
	 * reset(o): forget a fetch of several requests in progress (the
	 * pages of a list, the versions of a history); ready for the next.
	 */
	void		(*reset)(struct source *);
	/* free(o): reset(), and free its kind's state (o->u). */
	void		(*free)(struct source *);
	/* auth(o): the token cache ${o}'s requests use (NULL: ENOMEM). */
	struct auth	*(*auth)(struct source *);

	/*
	 * The Key Vault kinds, whose requests source_kv.c sends (NULL for
	 * the others): url(o), the URL of the next request of ${o} (a new
	 * string, NULL on ENOMEM); done(o, r), that request came back 200
	 * with ${r}.
	 */
	char		*(*url)(const struct source *);
	void		(*done)(struct source *, const struct http_response *);
};

/* source_kv.c: a configured Key Vault object, latest or pinned. */
extern const struct source_ops source_kv_ops;
/* source_kv.c: a configured Key Vault object with a history. */
extern const struct source_ops source_history_ops;
/* source_select.c: a select's lister, a secret it selected. */
extern const struct source_ops source_lister_ops;
extern const struct source_ops source_selected_ops;
/* source_blob.c: a configured blob. */
extern const struct source_ops source_blob_ops;

/* The kinds' states (o->u), defined by the files of their kinds. */
struct kv_latest;		/* source_kv.h */
struct kv_history;		/* source_kv.c */
struct select_lister;		/* source_select.c */
struct select_member;		/* source_select.c */

enum source_state {
	SOURCE_IDLE = 0,	/* waiting for its due time */
	SOURCE_QUEUED,		/* due, waiting for a slot or a token */
	SOURCE_INFLIGHT,
	SOURCE_SETTLED		/* --once: no further attempt */
};

/*
 * A source: what is fetched, keyed by (vault, type, name, version,
 * history) of a Key Vault object, the URL of a blob, a select entry (its
 * lister), or a secret a select follows.  It holds the value's schedule,
 * failures, Retry-After and the request in flight; the value itself is
 * rendered into the file outputs reading it (outs), and what Key Vault
 * returned of a single GET is held in raw.  Two configured objects that
 * read the same value are two outputs of one source: the table of
 * sources is made by lookup-or-create on the key (sync_new(),
 * sync_prepare()), so one GET serves them all.  What only its kind needs
 * is in u (ops->free frees it).
 */
struct source {
	struct sync	*s;
	const struct akvd_object *cfg;	/* its key: the configuration of
					   its first output (s->cfg), or its
					   kind's own */
	const struct source_ops *ops;	/* its kind */
	union {
		struct kv_latest	*latest;	/* source_kv_ops */
		struct kv_history	*history;	/* source_history_ops */
		struct select_lister	*lister;	/* source_lister_ops */
		struct select_member	*member;  /* source_selected_ops */
	}		 u;		/* NULL for a blob */
	struct output	**outs;		/* the file outputs reading it, in
					   configuration order (borrowed:
					   s->fouts owns them); none for a
					   lister, which readiness counts
					   itself */
	size_t		 nouts;
	enum source_state state;

	struct kv_secret raw;		/* the value Key Vault returned
					   (value, content type, managed) of
					   a single GET: a change of render
					   options renders it again; version
					   NULL, value NULL until fetched */

	int		 on_demand;	/* fetched when its kind says (a
					   selected secret: when its lister
					   shows a change), not every cycle */
	int		 refetch;	/* resync, reload: the next attempt
					   is a GET whatever a listing says
					   (that GET clears it) */
	int		 fetched;	/* fetched from Key Vault this run */
	int		 attempted;	/* tried at least once */

	int64_t		 due;		/* monotonic ms */
	int64_t		 next_cycle;	/* due time after a success */
	int64_t		 not_before;	/* Retry-After */
	unsigned	 failures;	/* consecutive */
	int64_t		 failing_since;	/* monotonic ms of the first one */
	int64_t		 last_ok;	/* monotonic ms of the last success
					   (creation until then) */
	char		 reason[192];	/* of the last failure */
	int		 retried_401;
	int		 held;		/* its last failure was its vault's,
					   seen by the probe it waited for */

	struct http_req	*req;
	uint64_t	 gen;		/* token generation used */
	int		 probe;		/* sent without a token to learn the
					   tenant from the 401 challenge */
};

/*
 * An output: what is written (output.c).  OUT_FILE: the files of one
 * configured object or selected secret (one; the four of split; the N of
 * a history; a bundle member's one value, which only its bundle writes),
 * rendered from its source with its own options.  OUT_BUNDLE and
 * OUT_TEMPLATE: one file made from the values of the file outputs they
 * read, at every commit; never fetched, they keep their previous file
 * while they cannot be made.  An output owns its files; its
 * configuration is borrowed (s->cfg, or its source's own), its source and
 * srcs are pointed at whenever the tables are made.
 */
enum output_kind {
	OUT_FILE = 0,
	OUT_BUNDLE,
	OUT_TEMPLATE
};

struct output {
	struct sync	*s;
	enum output_kind kind;

	/* OUT_FILE */
	const struct akvd_object *cfg;	/* alias, mode, owner, render options */
	struct source	*src;		/* the source it renders */
	struct buf	*files;		/* last good files, nfiles */
	char		**paths;	/* of files, relative to output_dir */
	size_t		 nfiles;
	char		*version;	/* of files (history: every version,
					   comma-separated); NULL if adopted
					   from disk */
	int		 fetched;	/* rendered from a fetch of this run */
	int64_t		 failing_since;	/* monotonic ms of the first failure */
	int64_t		 last_ok;	/* monotonic ms of the last success
					   (creation until then) */

	/* OUT_BUNDLE, OUT_TEMPLATE */
	const struct akvd_bundle *bundle;	/* OUT_BUNDLE */
	const struct akvd_template *tmpl;	/* OUT_TEMPLATE */
	const char	*path;		/* its file, relative to output_dir;
					   named by it in logs */
	mode_t		 mode;
	long		 uid, gid;
	struct output	**srcs;		/* the file outputs it reads: a
					   bundle's members, a template's
					   objs, in order */
	size_t		 nsrcs;
	struct buf	 file;		/* the last one made */
	int		 carried;	/* a reload: its files went to a new
					   output (2: a selected one, kept) */

	int		 have;		/* holds a value */
	int		 changed;	/* since the last snapshot written */
	int		 written;	/* in the last snapshot written */
	unsigned	 failures;	/* consecutive */
	char		 reason[192];	/* of the last failure */
};

struct sync {
	struct ev_loop	*loop;
	struct http	*http;
	struct auth	*auth;
	struct akvd_config *cfg;
	int		 once;
	sync_done_fn	*done_fn;
	void		*done_cookie;
	int		 finished;

	struct source	**sources;	/* of the configured
					   objects (nstatic of them), the
					   select listers (one per select, in
					   order), the selected secrets */
	size_t		 nsources;
	size_t		 nstatic;
	struct output	**fouts;	/* the file outputs: of the configured
					   objects (cfg->objects order), then
					   of the selected secrets */
	size_t		 nfouts;
	struct output	**outs;		/* bundles (cfg->bundles order),
					   then templates */
	size_t		 nouts;
	unsigned	 inflight;
	int		 probing;	/* a challenge probe is in flight */
	int		 dirty;		/* snapshot differs from outputs */
	int		 phased;	/* the first cycle was spread */
	int		 committed;	/* a snapshot was written this run */
	int		 complete;	/* a complete one was (see complete()) */
	sync_wait_fn	*wait_fn;
	void		*wait_cookie;
	char		 wait_why[256];	/* last "waiting for..." reported */
	unsigned	 wait_n;	/* times in a row, for the log */
	int64_t		 deadline;	/* --once: monotonic ms of once_timeout */
	ev_timer	 once_timer;	/* --once: fires at the deadline */
	time_t		 last_commit;	/* wall clock, for sync_status */
	sync_snapshot_fn *snap_fn;
	void		*snap_cookie;
	int64_t		 commit_retry;	/* monotonic ms, 0 if none */
	int64_t		 commit_failing_since; /* monotonic ms, 0 if none */
	unsigned	 commit_failures; /* in a row with this error */
	char		 commit_error[256]; /* the last one, never data */
	char		**gone;		/* aliases of selected secrets that
					   left, for the next announce */
	size_t		 ngone;
	ev_timer	 wake;
	ev_prepare	 prepare;	/* runs pump() when kicked */
	int		 kicked;	/* pump() due before the loop sleeps */
	struct watch	*watches;	/* change detection, per vault+kind */
	struct gate	*gates;		/* the health of each vault */
};

/* source.c */
/*
 * Log a failure of ${o} when its reason changed, and then on the 2nd, 4th,
 * 8th... identical failure, so an outage does not flood the log.
 */
int	source_worth_logging(struct source *o, const char *reason);

/* Forget a multi-request fetch in progress: o->ops->reset(). */
void	source_reset(struct source *o);

/*
 * A new source of key ${cfg} (borrowed) and kind ${ops}, due now, reading
 * no output yet (the caller appends them to o->outs), its kind's state
 * not made yet (its constructor's work).  NULL on ENOMEM.
 */
struct source *source_new(struct sync *s, const struct akvd_object *cfg,
	    const struct source_ops *ops);

/*
 * source_same_key(a, b): do configured objects ${a} and ${b} read the same
 * source (type, vault, name, version and history; a blob's URL)?  Then
 * they are two outputs of one source.
 */
int	source_same_key(const struct akvd_object *, const struct akvd_object *);

/*
 * ${o} holds the current value without a GET (a listing showed it
 * unchanged, or it is an immutable pinned version): a success of this
 * cycle for it and for the outputs that read it.
 */
void	source_confirm(struct source *o);

/* Free ${o} (not its outputs), cancelling its request: ops->free(). */
void	source_free(struct source *o);

/*
 * After an attempt: next due time.  With --once, a success or a permanent
 * failure settles the source, and a transient one is retried with backoff
 * while the retry falls before the deadline (once_timeout).
 */
void	source_next(struct source *o, int transient, uint64_t delay_ms);

/* A fetch of ${o} succeeded: no failure, fetched, last_ok now. */
void	source_ok(struct source *o);

/*
 * source_ok(), and the rendered ${files} of its one output with ${version}
 * (output_success()): history, blob, selected.
 */
void	source_success(struct source *o, const char *version, struct buf **files);

/*
 * A failure ${r} of ${o}: transient ones back off exponentially (at least
 * the Retry-After the server asked for); the others wait for the next
 * cycle.  Each output reading ${o} records and logs it as its own.
 */
void	source_failure(struct source *o, const struct fetch_result *r);

/*
 * source_render_failed(o, r): the value came but no output of ${o} could
 * render it; each recorded and logged its own failure ${r}.
 */
void	source_render_failed(struct source *o, const struct fetch_result *r);

/* source_failure() of class ${cls} without a response. */
void	source_fail(struct source *o, enum fetch_class cls, const char *what,
	    const char *detail);

/*
 * The health of a vault as a whole (struct gate): may queued ${o} start a
 * request at ${now} (every source of a healthy vault; of a failing one,
 * one probe at a time from the vault's due time on, and a source never
 * tried yet, such as an object a reload added)?  Blobs have none.
 */
int	source_gate_may_start(struct source *o, int64_t now);

/* After ${o}'s start: if a request left for a failing vault, the probe. */
void	source_gate_started(struct source *o);

/*
 * When queued ${o} may start, as far as its vault says: the vault's due
 * time if it is after ${now}, else INT64_MAX (also while it waits for a
 * probe's outcome, whose completion kicks the sync).
 */
int64_t	source_gate_due(const struct source *o, int64_t now);

/*
 * The vault of ${o} answered ${r}: failed as a whole (no response, 429,
 * 5xx), or healthy (any other status): then the sources of it backing off
 * go at once.  Call before ${o}'s own outcome is recorded.
 */
void	source_gate_answer(struct source *o, const struct http_response *r);

/* Free the vaults' health of ${s}. */
void	source_gate_free(struct sync *s);

/* snapshot.c */
int	snapshot_busy(const struct sync *s);

/* Why file output ${o} is not in the snapshot yet (no secret in it). */
const char * snapshot_waits_for(const struct sync *s, const struct output *o);

/* How many entries snapshot_view() has. */
size_t	snapshot_nviews(const struct sync *s);

/*
 * policy_view_fn over what readiness counts: the file outputs of the
 * configured objects, the select listers (has each listed its vault?),
 * the file outputs of the selected secrets.
 */
void	snapshot_view(size_t i, struct policy_view *v, void *cookie);

/*
 * snapshot_complete(s, why, len): the one definition of "ready" that
 * every signal of readiness uses (starting the supervised command,
 * READY=1, /readyz, the exit status of --once, the first notification):
 * every required (non-optional) object has a value in the snapshot
 * written (see output_complete(); a bundle counts through its members).
 * Returns 1, or 0 with ${why} (see policy_complete()).
 */
int	snapshot_complete(const struct sync *s, char *why, size_t len);

/*
 * Not complete yet: say why, to the wait callback (STATUS=) every time and
 * to the log when the reason changes and then at growing intervals.
 */
void	snapshot_report_waiting(struct sync *s);

/* Commit a snapshot if something changed and the burst is over. */
int	snapshot_commit(struct sync *s);

/* --once: when every object is settled, write and report. */
void	snapshot_once_check(struct sync *s);

/* Adopt the values of the snapshot already on disk. */
void	snapshot_adopt(struct sync *s);

/* output.c */
/* Wipe and free ${n} buffers at ${b}. */
void	output_bufs_wipe(struct buf *b, size_t n);

void	output_paths_free(char **paths, size_t n);

/*
 * output_paths(cfg, lister, n): the paths of the files ${cfg} writes
 * (${*n} of them: none for a lister, one value for a bundle member; a new
 * array, NULL on ENOMEM).
 */
char	**output_paths(const struct akvd_object *cfg, int lister, size_t *n);

/*
 * The file output of ${cfg} (borrowed), holding nothing yet; the caller
 * points its src.  NULL on ENOMEM.
 */
struct output * output_file_new(struct sync *s, const struct akvd_object *cfg);

/* The output of bundle ${b} (NULL: ENOMEM); output_bind() before use. */
struct output * output_bundle_new(struct sync *s, const struct akvd_bundle *b);

/* The output of template ${t} (NULL: ENOMEM); output_bind() before use. */
struct output * output_template_new(struct sync *s,
	    const struct akvd_template *t);

void	output_free(struct output *out);

/*
 * output_bind(out, fouts): point bundle or template ${out} at the file
 * outputs it reads in ${fouts}, whose first entries are the configured
 * objects'.  Cannot fail.
 */
void	output_bind(struct output *out, struct output **fouts);

/*
 * output_carry(out, old): the new bundle or template ${out} of a reload
 * takes the file ${old} (the same path) holds, so that it is kept while
 * ${out} cannot be made.  Returns nonzero if ${out} makes another file
 * from the same values (format, members, template text, mode or owner).
 */
int	output_carry(struct output *out, struct output *old);

/*
 * output_keep(out, old): the new file output ${out} of a reload renders
 * what ${old} did the same way: it takes its files, version and outcome.
 */
void	output_keep(struct output *out, struct output *old);

/*
 * output_take(out, old): the new file output ${out} writes the files
 * ${old} held (the same paths; a new encoding, format or version pin):
 * it holds them until its first fetch, as after a restart.  Returns 0, or
 * -1 if ${old} holds nothing or writes other files.
 */
int	output_take(struct output *out, struct output *old);

/*
 * output_rerender(out, raw): render ${raw}, the value its source holds,
 * into ${out}'s files without a request.  Returns 0, or -1 if there is no
 * value or it does not render that way (logged; fetch it).
 */
int	output_rerender(struct output *out, const struct kv_secret *raw);

/*
 * output_success(out, version, files): its source brought ${version},
 * rendered into ${files} (out->nfiles of them, owned by the caller, wiped
 * by it or taken: then nulled); logged and counted as "fetched",
 * "updated" or "unchanged".
 */
void	output_success(struct output *out, const char *version,
	    struct buf **files);

/*
 * output_failure(out, r, transient, delay): a failure ${r} of its source,
 * or of rendering its value: counted, and logged as source_worth_logging()
 * says.
 */
void	output_failure(struct output *out, const struct fetch_result *r,
	    int transient, uint64_t delay);

/* The "object fetch failed" log line of ${cfg}. */
void	output_log_failure(const struct akvd_object *cfg, unsigned failures,
	    const char *reason, const struct fetch_result *r, int transient,
	    uint64_t delay, int have, const char *version);

/*
 * Make bundle or template ${out}'s file from the values it reads; one
 * that cannot be made keeps its previous file (logged by path, never by
 * value).
 */
void	output_render(struct output *out);

/* source_kv.c */
/*
 * The source of configured Key Vault object ${cfg} (borrowed): a history
 * if it has one, else latest or pinned.  NULL on ENOMEM.
 */
struct source * source_kv_new(struct sync *s, const struct akvd_object *cfg);

/* source_blob.c */
/* The source of configured blob ${cfg} (borrowed).  NULL on ENOMEM. */
struct source * source_blob_new(struct sync *s, const struct akvd_object *cfg);

/* source_select.c */
/* A lister of ${sel}, "select[i]" in logs. */
struct source * source_select_lister_new(struct sync *s,
	    const struct akvd_select *sel, size_t idx);

/* Is ${o} the lister of select ${idx} (of the configuration it serves)? */
int	source_select_is_lister(const struct source *o, size_t idx);

/* Lister ${o} goes on as select ${idx}, ${sel}, of a new configuration. */
void	source_select_rebind(struct source *o, const struct akvd_select *sel,
	    size_t idx);

/* The lister of selected secret ${o}, or NULL if ${o} is none. */
struct source * source_select_lister_of(const struct source *o);

/*
 * Selected secret ${o} takes the mode and owner its lister's select says
 * now.  Returns nonzero if they changed.
 */
int	source_select_restyle(struct source *o);

/*
 * Would ${alias} clash with a file of another object (with ${fixed}, only
 * of the configured objects, bundles and templates)?  Returns the name of
 * the one that has it, or NULL.
 */
const char * source_select_alias_taken(const struct sync *s,
	    const char *alias, int fixed, const struct source *self);

/*
 * Drop the selected secret s->sources[${idx}] and its output from the
 * tables (not announced: its file leaves the next snapshot).
 */
void	source_select_drop(struct sync *s, size_t idx);

/* source_watch.c */
#define WATCH_SAFETY	10	/* every this many cycles, a GET anyway */

/*
 * source_watch_budget(n, pages): may a listing of the vault check ${n}
 * objects for less than their ${n} GETs, when its last listing took
 * ${pages} pages (0: never listed; a lower bound if it was stopped early)?
 * Returns the most pages the listing may take (it stops there: the
 * objects it did not reach are fetched), or 0: GET them.  Pure.
 */
size_t	source_watch_budget(size_t n, size_t pages);

/*
 * After the wake timer queued the objects due: confirm the pinned
 * versions held that need no GET this cycle, and for each vault and kind
 * where a listing is cheaper than the GETs, make one of the objects due
 * list the vault while the others wait for it.
 */
void	source_watch_plan(struct sync *s);

/* Free the change detection state of ${s}. */
void	source_watch_free(struct sync *s);

/* sync_reload.c */
/*
 * The tables of sources and outputs of ${cfg} (its first), into ${s}.
 * Returns 0, or -1 on ENOMEM (what was made is in ${s}: free it).
 */
int	sync_build(struct sync *s, struct akvd_config *cfg);

/* sync.c */
/* Free the sources and outputs of ${s}. */
void	sync_tables_free(struct sync *s);

/*
 * Have pump() run before the loop sleeps next: the one place where
 * requests start, snapshots are committed and --once settles.
 */
void	sync_kick(struct sync *s);

#endif /* !AKVD_SYNC_INT_H */
