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

/*
 * Token lifetimes akvd believes (seconds).  A token response whose
 * lifetime is outside [MIN, MAX] or unreadable is taken to live FALLBACK
 * seconds (Entra's shortest configurable lifetime is 10 minutes): renewed
 * after 5 minutes, and at once if Key Vault refuses it sooner.
 */
#define ENTRA_LIFETIME_MIN_S		2
#define ENTRA_LIFETIME_MAX_S		(366 * 86400)
#define ENTRA_LIFETIME_FALLBACK_S	600
#define ENTRA_STR_(x)			#x
#define ENTRA_STR(x)			ENTRA_STR_(x)

struct entra_token {
	char	*access_token;	/* owned; wipe with entra_token_clear */
	int64_t	 expires_in;	/* seconds, in [ENTRA_LIFETIME_MIN_S,
				   ENTRA_LIFETIME_MAX_S] */
	int64_t	 refresh_in;	/* seconds, 0 if absent or unusable */
	int	 guessed;	/* expires_in is ENTRA_LIFETIME_FALLBACK_S
				   because the response's was unusable */
	char	 warning[192];	/* "": lifetimes as sent; else why not
				   (never holds the token) */
};

/*
 * entra_parse_date(s, out): the date-time ${s} as Unix seconds, in any form
 * managed identity endpoints have been seen to send in "expires_on" and
 * Microsoft's libraries accept: ISO 8601 / RFC 3339 ("2026-11-29T21:58:
 * 03.0000000+00:00", "...Z", a space for the "T", fractions ignored), the
 * .NET invariant culture form of App Service's 2017-09-01 API on Windows
 * and Linux ("11/29/2026 9:58:03 PM +00:00", "11/29/2026 21:58:03
 * +00:00": month first), and RFC 1123 ("Sun, 29 Nov 2026 21:58:03 GMT").
 * Without an offset the time is UTC.  Returns 0, or -1 if ${s} is none of
 * these or not a valid date.
 */
int	entra_parse_date(const char *, int64_t *);

/*
 * entra_parse_token(body, len, now, out, err, errlen): parse a successful
 * token response of Entra ID, IMDS or an App Service identity endpoint.
 * The lifetime comes from "expires_in" (a number or numeric string, as
 * IMDS sends it), else from "expires_on" (Unix seconds as a number or
 * string, or a date: see entra_parse_date) less ${now}.  A lifetime that is
 * missing, unparseable, in the past, shorter than ENTRA_LIFETIME_MIN_S or
 * longer than ENTRA_LIFETIME_MAX_S is replaced by ENTRA_LIFETIME_FALLBACK_S
 * and ${out}->warning says why; so is an unusable "refresh_in", which is
 * then ignored.  Returns 0, or -1 (no access token, not JSON, another
 * token type) with a message in ${err}.  Neither ever holds the token.
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
