/*
 * backoff.h - retry delays and token renewal arithmetic (pure functions).
 */
#ifndef AKVD_BACKOFF_H
#define AKVD_BACKOFF_H

#include <stdint.h>

/*
 * backoff_jitter(ms, rnd): ${ms} scaled by (0.9 + 0.2 * rnd), i.e. ±10%,
 * for ${rnd} in [0, 1).
 */
uint64_t backoff_jitter(uint64_t, double);

/*
 * backoff_delay(attempt, base, cap, rnd): the delay before retry number
 * ${attempt} (1 = first retry): ${base} doubled for each further attempt,
 * capped at ${cap}, then jittered ±10% and clamped to ${cap} again.  Never
 * overflows, whatever ${attempt}.
 */
uint64_t backoff_delay(unsigned, uint64_t, uint64_t, double);

/*
 * backoff_retry_after(retry_after_ms, computed_ms): the delay to use when a
 * server may have sent Retry-After (-1 when it did not): the larger of the
 * two, capped at 10 minutes.
 */
uint64_t backoff_retry_after(long, uint64_t);

/* When to renew a token and until when it may be presented (wall clock s). */
struct token_times {
	int64_t	renew_at;
	int64_t	expires_on;
	int64_t	usable_until;
};

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
void	backoff_token_schedule(int64_t, int64_t, int64_t,
	    struct token_times *);

#endif /* !AKVD_BACKOFF_H */
