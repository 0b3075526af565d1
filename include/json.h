/*
 * json.h - cJSON helpers shared by the modules that parse Azure responses.
 */
#ifndef AKVD_JSON_H
#define AKVD_JSON_H

#include <stdint.h>

#include <cjson/cJSON.h>

/*
 * json_delete_wiped(j): zero every string of ${j} (a response may hold a
 * secret value or a token), then cJSON_Delete it.  NULL is a no-op.
 */
void	json_delete_wiped(cJSON *);

/*
 * json_copy_text(dst, len, v, one_line): copy the string ${v} into ${dst}
 * for logging: truncated to ${len} - 1 bytes, control characters replaced
 * by spaces, and with ${one_line} stopped at the first CR or LF.  ${dst}
 * is "" when ${v} is not a string.  Returns 0, or -1 if ${v} is not a
 * string.
 */
int	json_copy_text(char *, size_t, const cJSON *, int);

/*
 * json_int(v, min, max, out): ${v}, a JSON number or a string holding a
 * decimal number (as IMDS sends them), truncated toward zero into ${out}
 * if it lies in [${min}, ${max}] (see num_from_double, num_parse).
 * Returns 0, or -1 with errno EINVAL (neither, or malformed; also for a
 * NULL ${v}) or ERANGE (out of range).  ${out} is untouched on error.
 */
int	json_int(const cJSON *, int64_t, int64_t, int64_t *);

#endif /* !AKVD_JSON_H */
