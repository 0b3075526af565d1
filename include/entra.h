/*
 * entra.h - the Microsoft Entra ID token endpoint (v2): requests and
 * responses, as pure functions.  Nothing here logs a token or assertion.
 */
#ifndef AKVD_ENTRA_H
#define AKVD_ENTRA_H

#include <stddef.h>
#include <stdint.h>

/*
 * entra_token_url(authority_host, tenant): "{authority_host}{tenant}/
 * oauth2/v2.0/token" (${authority_host} ends with '/'; ${tenant} is
 * escaped).  Returns a new string (free()), or NULL on ENOMEM.
 */
char	*entra_token_url(const char *, const char *);

/*
 * entra_assertion_form(client_id, scope, assertion): the
 * x-www-form-urlencoded body of a client-credentials grant with a client
 * assertion (a federated token or a signed JWT).  Returns a new string that
 * holds the assertion: release it with str_wipe_free().  NULL on ENOMEM.
 */
char	*entra_assertion_form(const char *, const char *, const char *);

/*
 * entra_secret_form(client_id, scope, secret): the body of a
 * client-credentials grant with a client secret.  Release it with
 * str_wipe_free().  NULL on ENOMEM.
 */
char	*entra_secret_form(const char *, const char *, const char *);

struct entra_token {
	char	*access_token;	/* owned; wipe with entra_token_clear */
	int64_t	 expires_in;	/* seconds, > 0 */
	int64_t	 refresh_in;	/* seconds, 0 if absent */
};

/*
 * entra_parse_token(body, len, now, out, err, errlen): parse a successful
 * token response of Entra ID, IMDS or an App Service identity endpoint.
 * "expires_in" and "refresh_in" may be numbers or numeric strings (IMDS
 * sends strings); without "expires_in", "expires_on" (Unix seconds, as App
 * Service sends it) gives expires_in = expires_on - ${now}.  Returns 0, or
 * -1 with a message naming the field in ${err} (never the token).
 */
int	entra_parse_token(const char *, size_t, int64_t, struct entra_token *,
	    char *, size_t);

/* entra_token_clear(t): wipe and free the token; ${t} is zeroed. */
void	entra_token_clear(struct entra_token *);

struct entra_error {
	char	error[64];		/* "invalid_request", ... */
	long	code;			/* AADSTS number, 0 if none */
	char	description[512];	/* first line of error_description */
	char	correlation_id[64];
};

/*
 * entra_parse_error(body, len, out): parse an error response.  ${code} is
 * the first of "error_codes", else the AADSTS number at the start of the
 * description; ${description} stops before the "\r\nTrace ID" lines.
 * Returns 0, or -1 (${out} zeroed) if the body is not an Entra error.
 */
int	entra_parse_error(const char *, size_t, struct entra_error *);

/*
 * entra_hint(code): a one-line hint of what to check for AADSTS ${code},
 * or NULL when there is none.
 */
const char *entra_hint(long);

#endif /* !AKVD_ENTRA_H */
