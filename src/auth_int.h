/*
 * auth_int.h - what auth.c (the token cache and its scheduler) and
 * auth_request.c (the token requests per method) share; not part of
 * include/.  A struct auth belongs to auth.c, which creates and frees it;
 * auth_request.c reads its configuration and records the outcome of its
 * request in it.
 */
#ifndef AKVD_AUTH_INT_H
#define AKVD_AUTH_INT_H

#include <stdint.h>

#include <ev.h>

#include "auth.h"
#include "backoff.h"
#include "config.h"
#include "http.h"

struct auth {
	struct ev_loop	*loop;
	struct http	*http;
	struct akvd_auth cfg;		/* strings owned */
	char		*tenant;	/* configured or discovered */
	char		*scope;
	auth_event_fn	*fn;
	void		*cookie;

	char		*token;		/* wiped on release */
	uint64_t	 gen;		/* generation of token */
	struct token_times times;	/* wall clock seconds */

	struct http_req	*req;		/* in flight, or NULL */
	ev_timer	 timer;		/* next request */
	double		 last_start;	/* monotonic s of the last request,
					   or 0 */
	double		 not_before;	/* monotonic s: Retry-After */
	int		 scheduled;	/* timer armed for a request */
	unsigned	 failures;	/* consecutive */
	int		 permanent;	/* last failure won't fix itself */
	long		 last_code;	/* last failure logged */

	int		 ifd;		/* inotify, or -1 */
	int		 wd;		/* watch on the file's directory */
	ev_io		 inotify;

	struct auth	*parent;	/* NULL: the primary scope */
	struct auth	*scopes;	/* primary: the other scopes */
	struct auth	*next;		/* in parent->scopes */
	int		 used;		/* secondary: asked for since the
					   token was acquired */
};

/* auth_wall_now(): the wall clock, in seconds. */
int64_t	auth_wall_now(void);

/* auth_mono_now(): the monotonic clock, in seconds: for the floors
   between requests. */
double	auth_mono_now(void);

/* auth_uses_entra(c): nonzero if the method of ${c} asks Entra ID
   directly, and so needs a tenant. */
int	auth_uses_entra(const struct akvd_auth *);

/* auth_drop_token(a): wipe and forget ${a}'s token, if any. */
void	auth_drop_token(struct auth *);

/*
 * auth_failed(a, permanent, retry_after_ms): the request of ${a} failed
 * (logged by the caller): count it, keep a usable token, schedule the
 * retry (at the backoff cap if ${permanent}; not before ${retry_after_ms}
 * if >= 0), and run the event callback.
 */
void	auth_failed(struct auth *, int, long);

/*
 * auth_schedule(a, after): arm ${a}'s timer for the next request in
 * ${after} seconds, subject to the floors between requests.
 */
void	auth_schedule(struct auth *, double);

/*
 * auth_request(a): start ${a}'s token request now (auth_request.c); its
 * outcome lands in ${a} and reaches the event callback.  A failure to
 * start it is an auth_failed().
 */
void	auth_request(struct auth *);

#endif /* !AKVD_AUTH_INT_H */
