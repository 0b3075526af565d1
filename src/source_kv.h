/*
 * source_kv.h - what the Key Vault kinds of source share (source_kv.c,
 * source_select.c, source_watch.c); not for the scheduler, source.c or
 * output.c, which know no kind (sync_int.h).
 *
 * source_kv.c sends the requests of every Key Vault kind (ops->url) and
 * handles what comes back (the probe, a 401, errors; a 200 goes to
 * ops->done); it owns the kinds of configured objects, latest or pinned
 * (struct kv_latest, whose change detection is source_watch.c's) and
 * history (struct kv_history, private to it).
 */
#ifndef AKVD_SOURCE_KV_H
#define AKVD_SOURCE_KV_H

#include "kv.h"
#include "sync_int.h"

/* The pages of a Key Vault list in progress (owned by the kind's state). */
struct kv_pages {
	char		*next_url;	/* nextLink to follow, or NULL */
	struct kv_list	 list;		/* items so far */
};

/* Forget the pages of ${pg} (a list over, or abandoned). */
void	source_kv_pages_clear(struct kv_pages *pg);

/*
 * Change detection of one vault and kind (source_watch.c): what its last
 * listing taught, and the listing in progress.  Kept for the life of the
 * sync (a reload keeps it, s->watches), freed by source_watch_free().
 */
struct watch {
	struct watch	*next;
	char		*vault;
	enum kv_kind	 kind;
	size_t		 pages;		/* pages of the last listing: exact if
					   it was complete, a lower bound if it
					   was stopped early; 0: never listed */
	int		 forbidden;	/* listing answered 403 */
	unsigned	 forbidden_cycles; /* since then */
	struct source	*leader;	/* the object listing now, or NULL */
	size_t		 budget;	/* pages this listing may take */
	size_t		 done;		/* pages taken */
	size_t		 n;		/* plan: objects it could spare */
};

/*
 * The state of a configured Key Vault object, latest or pinned
 * (source_kv_ops; o->u.latest): what change detection knows of it.
 * attributes.updated of the value held (0: unknown), the cycles confirmed
 * without a GET since the last one (by a listing, or as an immutable
 * pinned version), and the listing it waits for (NULL: it GETs; its
 * leader lists the vault into pages).
 */
struct kv_latest {
	int64_t		 held_updated;
	unsigned	 quiet;
	struct watch	*watch;
	struct kv_pages	 pages;		/* as the leader of watch */
};

/* source_kv.c */
/* source_kv_kind(o): the Key Vault kind ${o} reads (secret, cert, key). */
enum kv_kind source_kv_kind(const struct source *o);

/*
 * The next request of a multi-request fetch, in the same slot: now if a
 * token is at hand, else queued until one is.  Returns 0, or -1 after
 * recording a failure.
 */
int	source_kv_continue(struct source *o);

/*
 * source_kv_list_page(o, pg, r, kind): add page ${r} of a list of ${kind}
 * to ${pg} and ask for the page its nextLink names.  Returns 1 while pages
 * remain, 0 once the list is whole, -1 after recording a failure of ${o}.
 */
int	source_kv_list_page(struct source *o, struct kv_pages *pg,
	    const struct http_response *r, enum kv_kind kind);

/*
 * source_kv_fetched(o, r, updated): a single GET of ${o} came back 200
 * with ${r}: each output renders the value its own way, the value is held
 * (o->raw), the next attempt scheduled.  Returns 0 with the value's
 * attributes.updated in ${updated}, or -1 after recording a failure.
 */
int	source_kv_fetched(struct source *o, const struct http_response *r,
	    int64_t *updated);

/* The URL of a GET of ${o}'s configured object (a new string, or NULL). */
char	*source_kv_object_url(const struct source *o);

/* source_ops.start and auth of every Key Vault kind. */
void	source_kv_start_queued(struct source *o, struct source_pump *p);
struct auth *source_kv_auth(struct source *o);

/* source_watch.c */
/* Is ${o} the leader of a listing: its next request lists the vault? */
int	source_watch_leading(const struct source *o);

/*
 * A response to a listing of leader ${o}: follow the next page, or
 * confirm the objects it shows unchanged and release the others to GET
 * (any error: every one GETs, a 403 is logged once).
 */
void	source_watch_done(struct source *o, const struct http_response *r);

/* May ${o} start (its listing is over, or it is the leader)? */
int	source_watch_may_start(struct source *o);

/* ${o} leaves its listing (reset, freed): no object waits for it. */
void	source_watch_leave(struct source *o);

#endif /* !AKVD_SOURCE_KV_H */
