/*
 * plan.h - a reload as a diff: which parts of the new configuration are
 * parts of the one in force, and how.
 *
 * What is fetched is identified by its source key: (vault, type, name,
 * version, history) of a Key Vault object, the URL of a blob, a select entry (vault,
 * prefix, tags, dir).  A new object whose key and render options (encoding,
 * format, split, history) are those of an old one is that object (KEEP:
 * value, version, token generation, schedule, failures and Retry-After go
 * on); one whose key is an old one's but rendered otherwise is that object
 * rendered again from the value it holds (RERENDER: no request); any other
 * is NEW, fetched at once.  Each old part serves at most one new part; an
 * old part nothing matches is dropped.  The sources follow the objects
 * (plan_sources()): one per key, and the old one goes on when an object
 * reading it continues an old object.  Pure: no I/O, and it changes
 * nothing; tests/unit/test_reload.c tests it.
 */
#ifndef AKVD_PLAN_H
#define AKVD_PLAN_H

#include <stddef.h>

#include "config.h"

enum plan_how {
	PLAN_NEW = 0,		/* fetch it at once */
	PLAN_KEEP,		/* the old one, as it is */
	PLAN_RERENDER		/* the old one's value, rendered anew */
};

struct plan_match {
	enum plan_how	 how;
	size_t		 old;	/* KEEP, RERENDER: the index in the old
				   configuration */
};

/*
 * plan_same_key(a, b): do configured objects ${a} and ${b} read the same
 * source (type, vault, name, version and history; a blob's URL), whatever
 * their rendering?  Then they are two outputs of one source.
 */
int	plan_same_key(const struct akvd_object *, const struct akvd_object *);

/*
 * plan_same_value(a, b): do Key Vault objects ${a} and ${b} read the same
 * single value (type, vault, name, version; no history)?
 */
int	plan_same_value(const struct akvd_object *, const struct akvd_object *);

/*
 * plan_objects(old, new, out): for each of new->nobjects objects, how it
 * comes from ${old}'s, in ${out} (new->nobjects entries).  KEEP first, in
 * the new order (the first old one unused), then RERENDER among those
 * left.  Returns 0, or -1 on ENOMEM (${out} undefined).
 */
int	plan_objects(const struct akvd_config *, const struct akvd_config *,
	    struct plan_match *);

/*
 * plan_sources(old, new, pm, slot, out, n): the sources of ${new}, one per
 * source key (plan_same_key()) in the order of the first object reading
 * it: ${*n} of them, ${slot}[i] the source of new->objects[i].  out[k]
 * says how source k comes from ${old}'s sources (listed the same way):
 * KEEP, with its index, if an object reading it continues an old object
 * (KEEP or RERENDER in ${pm}, plan_objects()'s): that object's source
 * goes on (the first such object's); else NEW.  With ${pm} NULL (a
 * start: ${old} may be NULL) every source is NEW.  ${slot} and ${out}
 * have room for new->nobjects entries.  Returns 0, or -1 on ENOMEM.
 */
int	plan_sources(const struct akvd_config *, const struct akvd_config *,
	    const struct plan_match *, size_t *, struct plan_match *,
	    size_t *);

/*
 * plan_bundles(old, new, out): KEEP for a bundle whose path an old one
 * had (its file is kept until remade), else NEW.  Returns 0, or -1 on
 * ENOMEM.
 */
int	plan_bundles(const struct akvd_config *, const struct akvd_config *,
	    struct plan_match *);

/*
 * plan_selects(old, new, out): KEEP for a select that selects and names
 * the same secrets as an old one (config_select_same(): its lister and
 * the secrets it follows go on), else NEW.  Returns 0, or -1 on ENOMEM.
 */
int	plan_selects(const struct akvd_config *, const struct akvd_config *,
	    struct plan_match *);

#endif /* !AKVD_PLAN_H */
