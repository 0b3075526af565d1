/*
 * entra.c - the Microsoft Entra ID token endpoint (v2).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "json.h"
#include "entra.h"
#include "http.h"
#include "util.h"

/*
 * entra_token_url(authority_host, tenant): "{authority_host}{tenant}/
 * oauth2/v2.0/token" (${authority_host} ends with '/'; ${tenant} is
 * escaped).  Returns a new string (free()), or NULL on ENOMEM.
 */
char *
entra_token_url(const char *authority, const char *tenant)
{
	struct buf b = BUF_INIT;
	char *t;
	size_t n = strlen(authority);

	if ((t = http_escape(tenant)) == NULL)
		return (NULL);
	if (buf_appendf(&b, "%s%s%s/oauth2/v2.0/token", authority,
	    n > 0 && authority[n - 1] == '/' ? "" : "/", t) == -1) {
		free(t);
		buf_wipe(&b);
		return (NULL);
	}
	free(t);
	return (b.data);
}

/*
 * entra_assertion_form(client_id, scope, assertion): the
 * x-www-form-urlencoded body of a client-credentials grant with a client
 * assertion (a federated token or a signed JWT).  Returns a new string that
 * holds the assertion: release it with str_wipe_free().  NULL on ENOMEM.
 */
char *
entra_assertion_form(const char *client_id, const char *scope,
    const char *assertion)
{
	struct buf b = BUF_INIT;
	char *c = NULL, *s = NULL, *a = NULL;
	int rc = -1;

	if ((c = http_escape(client_id)) == NULL ||
	    (s = http_escape(scope)) == NULL ||
	    (a = http_escape(assertion)) == NULL)
		goto out;
	rc = buf_appendf(&b, "grant_type=client_credentials&client_id=%s"
	    "&scope=%s&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth"
	    "%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=%s",
	    c, s, a);
out:
	free(c);
	free(s);
	str_wipe_free(a);
	if (rc == -1) {
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);
}

/*
 * entra_secret_form(client_id, scope, secret): the body of a
 * client-credentials grant with a client secret.  Release it with
 * str_wipe_free().  NULL on ENOMEM.
 */
char *
entra_secret_form(const char *client_id, const char *scope,
    const char *secret)
{
	struct buf b = BUF_INIT;
	char *c = NULL, *s = NULL, *x = NULL;
	int rc = -1;

	if ((c = http_escape(client_id)) == NULL ||
	    (s = http_escape(scope)) == NULL ||
	    (x = http_escape(secret)) == NULL)
		goto out;
	rc = buf_appendf(&b, "grant_type=client_credentials&client_id=%s"
	    "&scope=%s&client_secret=%s", c, s, x);
out:
	free(c);
	free(s);
	str_wipe_free(x);
	if (rc == -1) {
		buf_wipe(&b);
		return (NULL);
	}
	return (b.data);
}

/* ---------------------------------------------------------------------- */
/* Token lifetimes                                                        */

/* Read ${min}..${max} digits at *${p} into ${out}; advance.  0 or -1. */
static int
digits(const char **p, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (n < max && isdigit((unsigned char)(*p)[n])) {
		v = v * 10 + ((*p)[n] - '0');
		n++;
	}
	if (n < min)
		return (-1);
	*p += n;
	*out = v;
	return (0);
}

/* Skip ASCII blanks. */
static void
blanks(const char **p)
{

	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/*
 * An optional UTC offset at *${p}: "Z", "+hh:mm", "-hhmm", "+hh", or
 * nothing (UTC).  Seconds east of UTC in ${out}.  0 or -1.
 */
static int
utc_offset(const char **p, int *out)
{
	int sign, h, m = 0;

	*out = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return (0);
	}
	if (strncasecmp(*p, "UTC", 3) == 0 || strncasecmp(*p, "GMT", 3) == 0)
		*p += 3;
	if (**p != '+' && **p != '-')
		return (0);
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (digits(p, 2, 2, &h) == -1)
		return (-1);
	if (**p == ':')
		(*p)++;
	if (isdigit((unsigned char)**p) && digits(p, 2, 2, &m) == -1)
		return (-1);
	if (h > 14 || m > 59)
		return (-1);
	*out = sign * (h * 3600 + m * 60);
	return (0);
}

/* Days in month ${m} (1-12) of year ${y}. */
static int
month_days(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (d[m - 1]);
}

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
int
entra_parse_date(const char *s, int64_t *out)
{
	const char *p = s;
	struct tm tm;
	time_t t;
	int y, mo, d, h, mi, sec = 0, off, pm = -1;

	if (isalpha((unsigned char)*s)) {
		/* RFC 1123 and its relatives: curl parses HTTP dates. */
		if ((t = curl_getdate(s, NULL)) == -1)
			return (-1);
		*out = (int64_t)t;
		return (0);
	}
	if (digits(&p, 4, 4, &y) == 0 && *p == '-') {
		/* ISO 8601 */
		p++;
		if (digits(&p, 2, 2, &mo) == -1 || *p++ != '-' ||
		    digits(&p, 2, 2, &d) == -1 ||
		    (*p != 'T' && *p != 't' && *p != ' '))
			return (-1);
		p++;
	} else {
		/* .NET: M/d/yyyy */
		p = s;
		if (digits(&p, 1, 2, &mo) == -1 || *p++ != '/' ||
		    digits(&p, 1, 2, &d) == -1 || *p++ != '/' ||
		    digits(&p, 4, 4, &y) == -1 || *p != ' ')
			return (-1);
		blanks(&p);
	}
	if (digits(&p, 1, 2, &h) == -1 || *p++ != ':' ||
	    digits(&p, 2, 2, &mi) == -1)
		return (-1);
	if (*p == ':') {
		p++;
		if (digits(&p, 2, 2, &sec) == -1)
			return (-1);
		if (*p == '.' || *p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return (-1);
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	blanks(&p);
	if (strncasecmp(p, "AM", 2) == 0 || strncasecmp(p, "PM", 2) == 0) {
		pm = (*p == 'P' || *p == 'p');
		p += 2;
		blanks(&p);
	}
	if (utc_offset(&p, &off) == -1)
		return (-1);
	blanks(&p);
	if (*p != '\0')
		return (-1);
	if (pm != -1) {
		if (h > 12)
			return (-1);
		h = h % 12 + (pm ? 12 : 0);
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > month_days(y, mo) || h > 23 || mi > 59 || sec > 60)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return (-1);
	*out = (int64_t)t - off;
	return (0);
}

/* Describe the value ${v} for a warning: at most ${len} - 1 bytes. */
static void
show_value(char *dst, size_t len, const cJSON *v)
{

	if (cJSON_IsNumber(v))
		snprintf(dst, len, "%.17g", v->valuedouble);
	else if (cJSON_IsString(v)) {
		json_copy_text(dst, len, v, 1);
	} else
		snprintf(dst, len, "%s", cJSON_IsNull(v) ? "null" :
		    cJSON_IsBool(v) ? "a boolean" : "not a number");
}

/*
 * The lifetime in seconds that ${v} gives: "expires_in" (${absolute} 0) or
 * "expires_on" (1: Unix seconds or a date, less ${now}).  Returns 0, or -1
 * with why the value cannot be used in ${why}.
 */
static int
lifetime(const cJSON *v, int absolute, int64_t now, int64_t *out,
    const char **why)
{
	/* Wide enough for any date, narrow enough that "- now" is safe. */
	const int64_t wide = INT64_C(1) << 52;
	int64_t n;

	if (json_int(v, -wide, wide, &n) == -1) {
		if (errno == ERANGE) {
			*why = "out of range";
			return (-1);
		}
		if (!absolute || !cJSON_IsString(v) ||
		    entra_parse_date(v->valuestring, &n) == -1) {
			*why = "not a number of seconds or a date";
			return (-1);
		}
	}
	if (absolute) {
		if (n <= now) {
			*why = "in the past (is the clock right?)";
			return (-1);
		}
		n -= now;
	}
	if (n < ENTRA_LIFETIME_MIN_S) {
		*why = "shorter than " ENTRA_STR(ENTRA_LIFETIME_MIN_S) " s";
		return (-1);
	}
	if (n > ENTRA_LIFETIME_MAX_S) {
		*why = "longer than a year";
		return (-1);
	}
	*out = n;
	return (0);
}

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
int
entra_parse_token(const char *body, size_t len, int64_t now,
    struct entra_token *out, char *err, size_t errlen)
{
	const char *why = NULL, *field = NULL, *rwhy = NULL;
	const cJSON *ein, *eon, *rin;
	char shown[48], rshown[48];
	cJSON *j = NULL, *v;
	int64_t n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL ||
	    !cJSON_IsObject(j)) {
		snprintf(err, errlen, "response is not a JSON object");
		json_delete_wiped(j);
		return (-1);
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "token_type");
	if (v != NULL && (!cJSON_IsString(v) ||
	    strcasecmp(v->valuestring, "Bearer") != 0)) {
		snprintf(err, errlen, "unsupported \"token_type\"");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		snprintf(err, errlen, "response has no \"access_token\"");
		goto out;
	}
	ein = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	eon = cJSON_GetObjectItemCaseSensitive(j, "expires_on");
	if (ein != NULL && lifetime(ein, 0, now, &n, &why) == 0)
		out->expires_in = n;
	else if (eon != NULL && lifetime(eon, 1, now,  &n,
	    ein == NULL ? &why : &rwhy) == 0)
		out->expires_in = n;
	else {
		out->expires_in = ENTRA_LIFETIME_FALLBACK_S;
		out->guessed = 1;
		field = ein != NULL ? "expires_in" : "expires_on";
		show_value(shown, sizeof(shown), ein != NULL ? ein : eon);
		if (ein == NULL && eon == NULL)
			snprintf(out->warning, sizeof(out->warning), "no "
			    "\"expires_in\" or \"expires_on\"");
		else
			snprintf(out->warning, sizeof(out->warning),
			    "\"%s\" is %s (%s)", field, why, shown);
	}
	rin = cJSON_GetObjectItemCaseSensitive(j, "refresh_in");
	rwhy = NULL;
	if (rin != NULL && json_int(rin, 1, ENTRA_LIFETIME_MAX_S,
	    &out->refresh_in) == -1) {
		out->refresh_in = 0;
		rwhy = errno == ERANGE ? "out of range" : "not a number";
		show_value(rshown, sizeof(rshown), rin);
		n = (int64_t)strlen(out->warning);
		snprintf(out->warning + n, sizeof(out->warning) - (size_t)n,
		    "%s\"refresh_in\" is %s (%s): ignored", n > 0 ? "; " : "",
		    rwhy, rshown);
	}
	if ((out->access_token = strdup(v->valuestring)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_delete_wiped(j);
	if (rc == -1) {
		out->expires_in = out->refresh_in = 0;
		out->guessed = 0;
		out->warning[0] = '\0';
	}
	return (rc);
}

/* entra_token_clear(t): wipe and free the token; ${t} is zeroed. */
void
entra_token_clear(struct entra_token *t)
{

	str_wipe_free(t->access_token);
	memset(t, 0, sizeof(*t));
}

/*
 * entra_parse_error(body, len, out): parse an error response.  ${code} is
 * the first of "error_codes", else the AADSTS number at the start of the
 * description; ${description} stops before the "\r\nTrace ID" lines.
 * Returns 0, or -1 (${out} zeroed) if the body is not an Entra error.
 */
int
entra_parse_error(const char *body, size_t len, struct entra_error *out)
{
	cJSON *j, *e, *d, *codes, *cid;
	const char *p;
	int64_t code;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL)
		return (-1);
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!cJSON_IsObject(j) || !cJSON_IsString(e)) {
		cJSON_Delete(j);
		return (-1);
	}
	json_copy_text(out->error, sizeof(out->error), e, 1);
	d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	json_copy_text(out->description, sizeof(out->description), d, 1);
	codes = cJSON_GetObjectItemCaseSensitive(j, "error_codes");
	if (cJSON_IsArray(codes) && json_int(cJSON_GetArrayItem(codes, 0), 0,
	    INT32_MAX, &code) == 0)
		out->code = (long)code;
	else if (strncmp(out->description, "AADSTS", 6) == 0) {
		p = out->description + 6;
		for (n = 0; isdigit((unsigned char)p[n]); n++)
			;
		if (num_parse(p, n, 0, INT32_MAX, &code) == 0)
			out->code = (long)code;
	}
	cid = cJSON_GetObjectItemCaseSensitive(j, "correlation_id");
	json_copy_text(out->correlation_id, sizeof(out->correlation_id), cid,
	    1);
	cJSON_Delete(j);
	return (0);
}

static const struct {
	long		 code;
	const char	*hint;
} hints[] = {
	{ 70021, "no federated credential on the identity matches the "
	    "token's issuer, subject and audience: compare them with "
	    "`az identity federated-credential list` (the issuer must match "
	    "the cluster's OIDC issuer exactly, trailing slash included)" },
	{ 700211, "no federated credential matches the token's issuer: "
	    "check the cluster's OIDC issuer URL (trailing slash included)" },
	{ 700212, "no federated credential matches the token's audience: "
	    "it should be api://AzureADTokenExchange" },
	{ 700213, "no federated credential matches the token's subject: "
	    "it should be system:serviceaccount:NAMESPACE:SERVICEACCOUNT" },
	{ 700024, "the service-account token is expired or not yet valid: "
	    "is the projected volume being refreshed, and is the clock "
	    "right?" },
	{ 50166, "Entra ID could not fetch the issuer's discovery document: "
	    "is the cluster's OIDC issuer enabled and publicly reachable?" },
	{ 90061, "Entra ID could not fetch the issuer's discovery document "
	    "or keys: is the cluster's OIDC issuer publicly reachable?" },
	{ 7000272, "the token's signing key is not in the issuer's JWKS: "
	    "were the cluster's service-account keys rotated?" },
	{ 700027, "the assertion's signature is invalid: is the token from "
	    "the cluster the federated credential names?" },
	{ 7000215, "the client secret is invalid: check the value, not the "
	    "secret's id" },
	{ 7000222, "the client secret has expired: create a new one" },
	{ 700016, "the application (client id) was not found in the tenant: "
	    "check AZURE_CLIENT_ID and AZURE_TENANT_ID" },
	{ 70023, "the service-account token lives longer than Entra "
	    "accepts (1 day 1 hour): lower expirationSeconds" },
	{ 90002, "the tenant was not found: check AZURE_TENANT_ID and the "
	    "cloud (authority host)" },
	{ 900023, "the tenant id is malformed: check AZURE_TENANT_ID" },
};

/*
 * entra_hint(code): a one-line hint of what to check for AADSTS ${code},
 * or NULL when there is none.
 */
const char *
entra_hint(long code)
{
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (hints[i].code == code)
			return (hints[i].hint);
	return (NULL);
}
