/*
 * auth.h - the access tokens akvd presents to Key Vault and Blob Storage.
 *
 * One struct auth holds one token cache entry for one credential and one
 * scope; auth_scope() adds more scopes for the same credential.  The
 * credential is one of auth_method: the pod's projected service-account
 * token (read by path at every exchange: the kubelet swaps it behind a
 * "..data" symlink) or a service principal's secret or certificate, each
 * presented to Entra ID; or the platform's identity endpoint (IMDS, App
 * Service).  The access token received is cached and renewed ahead of
 * expiry (backoff_token_schedule() in backoff.h).  A failed renewal keeps the
 * old token while it is usable and retries with backoff.  Only one token
 * request per scope is ever in flight: every consumer waits for it.
 *
 * Tokens are never logged; Entra errors are, with their AADSTS code and a
 * hint of what to check.
 */
#ifndef AKVD_AUTH_H
#define AKVD_AUTH_H

#include <stdint.h>

#include <ev.h>

#include "config.h"
#include "http.h"

struct auth;

/*
 * Event callback: a token request just finished.  ${ok} is 1 when a token
 * is now available from auth_token(), 0 when the attempt failed (a retry is
 * already scheduled).  Called from the loop, never from inside an auth_*
 * call.
 */
typedef void auth_event_fn(int, void *);

/*
 * auth_new(loop, http, cfg, scope, fn, cookie): a token cache for ${cfg}
 * (copied) and ${scope} (e.g. "https://vault.azure.net/.default"), making
 * its requests through ${http}, which must outlive it.  No request is made
 * until auth_token() is first called.  Returns NULL on error (logged).
 */
struct auth *auth_new(struct ev_loop *, struct http *,
    const struct akvd_auth *, const char *, auth_event_fn *, void *);

/*
 * auth_scope(a, scope): the token cache of ${a}'s identity for ${scope}:
 * ${a} itself for its own scope, else a secondary one created on first
 * use (e.g. Blob Storage's), which shares ${a}'s credential, tenant and
 * event callback, renews its token only while it is asked for, and lives
 * until auth_free(a) or a change of identity (do not keep the pointer
 * across auth_commit).  No request is made until auth_token() is
 * called on it.  Returns NULL on ENOMEM (logged).
 */
struct auth *auth_scope(struct auth *, const char *);

struct auth_pending;

/*
 * auth_prepare(a, cfg, scope, &pending): everything that can fail in
 * adopting ${cfg} and ${scope}: copies of them (and of the tenant) for
 * ${a} and for each of its secondary scopes, in *${pending}.  Changes
 * nothing: ${a} runs on as it was until auth_commit().  No auth_scope()
 * on ${a} between the two.  Returns 0, or -1 on ENOMEM (logged;
 * *${pending} is NULL).
 */
int	auth_prepare(struct auth *, const struct akvd_auth *, const char *,
	    struct auth_pending **);

/*
 * auth_commit(a, pending): apply and release ${pending}; cannot fail.
 * When the identity (method, tenant, client, files, endpoints, authority)
 * is unchanged every scope keeps its cached token (the primary only if its
 * scope is unchanged too); otherwise the tokens are dropped ("identity
 * changed" logged), the secondary scopes released and any request in
 * flight abandoned.
 */
void	auth_commit(struct auth *, struct auth_pending *);

/* auth_abort(pending): release ${pending} unapplied.  NULL is a no-op. */
void	auth_abort(struct auth_pending *);

/*
 * auth_token(a, gen): the current access token if it is usable now, else
 * NULL.  A NULL return starts a token request unless one is in flight or a
 * retry is scheduled; the event callback reports its outcome.  The string
 * belongs to ${a} and is valid until control returns to the loop; copy it
 * at once (http_get does).  When ${gen} is not NULL it receives the
 * token's generation, for auth_invalidate().
 */
const char *auth_token(struct auth *, uint64_t *);

/*
 * auth_invalidate(a, gen): Key Vault refused the token of generation
 * ${gen} (HTTP 401).  If it is still the current token it is dropped, so
 * the next auth_token() asks Entra ID for a new one.
 */
void	auth_invalidate(struct auth *, uint64_t);

/*
 * auth_needs_tenant(a): nonzero when the method asks Entra ID directly but
 * no tenant is configured: no token request is made until
 * auth_set_tenant() supplies one (learnt from Key Vault's 401 challenge).
 */
int	auth_needs_tenant(const struct auth *);

/*
 * auth_set_tenant(a, tenant): use ${tenant} (copied) from now on.  The
 * caller has checked the challenge's resource against the vault's host.
 * Returns 0, or -1 on ENOMEM.
 */
int	auth_set_tenant(struct auth *, const char *);

/*
 * auth_failures(a): consecutive failed token requests (0 after a success).
 */
unsigned auth_failures(const struct auth *);

/*
 * auth_failed_permanently(a): nonzero if the last request failed in a way
 * a retry will not fix soon (Entra ID refused the configuration, IMDS
 * answered a 4xx other than 404/410/429).  --once gives up at once.
 */
int	auth_failed_permanently(const struct auth *);

/* auth_free(a): abandon any request, wipe the token, release ${a}. */
void	auth_free(struct auth *);

#endif /* !AKVD_AUTH_H */
