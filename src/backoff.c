/*
 * backoff.c - retry delays and token renewal arithmetic.
 */
#include "backoff.h"

#define RETRY_AFTER_CAP_MS	(10 * 60 * 1000)
#define EARLY_S			300	/* renew 5 minutes before expiry */
#define HALF_LIFE_OVER_S	(2 * 3600)
#define SKEW_S			10
#define MIN_RENEW_S		1
#define MAX_LIFETIME_S		(10LL * 366 * 86400)

/*
 * backoff_jitter(ms, rnd): ${ms} scaled by (0.9 + 0.2 * rnd), i.e. ±10%,
 * for ${rnd} in [0, 1).
 */
uint64_t
backoff_jitter(uint64_t ms, double rnd)
{

	if (rnd < 0)
		rnd = 0;
	if (rnd >= 1)
		rnd = 0.999999;
	return ((uint64_t)((double)ms * (0.9 + 0.2 * rnd)));
}

/*
 * backoff_delay(attempt, base, cap, rnd): the delay before retry number
 * ${attempt} (1 = first retry): ${base} doubled for each further attempt,
 * capped at ${cap}, then jittered ±10% and clamped to ${cap} again.  Never
 * overflows, whatever ${attempt}.
 */
uint64_t
backoff_delay(unsigned attempt, uint64_t base, uint64_t cap, double rnd)
{
	uint64_t d = base;
	unsigned i;

	for (i = 1; i < attempt && d < cap; i++) {
		if (d > UINT64_MAX / 2) {
			d = cap;
			break;
		}
		d *= 2;
	}
	if (d > cap)
		d = cap;
	d = backoff_jitter(d, rnd);
	return (d > cap ? cap : d);
}

/*
 * backoff_retry_after(retry_after_ms, computed_ms): the delay to use when a
 * server may have sent Retry-After (-1 when it did not): the larger of the
 * two, capped at 10 minutes.
 */
uint64_t
backoff_retry_after(long retry_after_ms, uint64_t computed)
{
	uint64_t d = computed;

	if (retry_after_ms >= 0 && (uint64_t)retry_after_ms > d)
		d = (uint64_t)retry_after_ms;
	return (d > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : d);
}

/*
 * backoff_token_schedule(now, expires_in, refresh_in, out): the renewal
 * rule.  expires_on = now + expires_in.  Renew at now + refresh_in when Entra
 * sent refresh_in (> 0); else at half-life when the lifetime is over 2 hours;
 * else 5 minutes before expiry; and never later than 5 minutes before
 * expiry.  When that instant is already past (tokens living under 5 minutes,
 * as in tests), renew at half-life.  The token may be presented until
 * expires_on - min(10 s, lifetime / 4), never at or after its expiry.  Renewal
 * is never sooner than 1 s from ${now}, so no lifetime makes a loop of
 * requests; ${expires_in} and ${refresh_in} are clamped to 10 years, so no sum
 * overflows.  A non-positive ${expires_in} gives a token that is due and
 * unusable now.
 */
void
backoff_token_schedule(int64_t now, int64_t expires_in,
    int64_t refresh_in, struct token_times *out)
{
	int64_t latest, skew;

	if (expires_in <= 0) {
		out->renew_at = out->expires_on = out->usable_until = now;
		return;
	}
	if (expires_in > MAX_LIFETIME_S)
		expires_in = MAX_LIFETIME_S;
	if (refresh_in > MAX_LIFETIME_S)
		refresh_in = MAX_LIFETIME_S;
	out->expires_on = now + expires_in;
	latest = out->expires_on - EARLY_S;
	if (refresh_in > 0)
		out->renew_at = now + refresh_in;
	else if (expires_in > HALF_LIFE_OVER_S)
		out->renew_at = now + expires_in / 2;
	else
		out->renew_at = latest;
	if (out->renew_at > latest)
		out->renew_at = latest;
	if (out->renew_at <= now)
		out->renew_at = now + expires_in / 2;
	if (out->renew_at < now + MIN_RENEW_S)
		out->renew_at = now + MIN_RENEW_S;
	skew = expires_in / 4 < SKEW_S ? expires_in / 4 : SKEW_S;
	out->usable_until = out->expires_on - skew;
}
