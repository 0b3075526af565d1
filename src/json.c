/*
 * json.c - cJSON helpers shared by the modules that parse Azure responses.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "json.h"
#include "util.h"

static void
wipe(cJSON *j)
{
	cJSON *c;

	for (c = j; c != NULL; c = c->next) {
		if (c->valuestring != NULL)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
		if (c->child != NULL)
			wipe(c->child);
	}
}

/*
 * json_delete_wiped(j): zero every string of ${j} (a response may hold a
 * secret value or a token), then cJSON_Delete it.  NULL is a no-op.
 */
void
json_delete_wiped(cJSON *j)
{

	if (j == NULL)
		return;
	wipe(j);
	cJSON_Delete(j);
}

/*
 * json_copy_text(dst, len, v, one_line): copy the string ${v} into ${dst}
 * for logging: truncated to ${len} - 1 bytes, control characters replaced
 * by spaces, and with ${one_line} stopped at the first CR or LF.  ${dst}
 * is "" when ${v} is not a string.  Returns 0, or -1 if ${v} is not a
 * string.
 */
int
json_copy_text(char *dst, size_t len, const cJSON *v, int one_line)
{
	const char *s;
	size_t i;

	if (len == 0)
		return (-1);
	dst[0] = '\0';
	if (!cJSON_IsString(v))
		return (-1);
	s = v->valuestring;
	for (i = 0; i + 1 < len && s[i] != '\0'; i++) {
		if (one_line && (s[i] == '\r' || s[i] == '\n'))
			break;
		dst[i] = iscntrl((unsigned char)s[i]) ? ' ' : s[i];
	}
	dst[i] = '\0';
	return (0);
}

/*
 * json_int(v, min, max, out): ${v}, a JSON number or a string holding a
 * decimal number (as IMDS sends them), truncated toward zero into ${out}
 * if it lies in [${min}, ${max}] (see num_from_double, num_parse).
 * Returns 0, or -1 with errno EINVAL (neither, or malformed; also for a
 * NULL ${v}) or ERANGE (out of range).  ${out} is untouched on error.
 */
int
json_int(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{

	if (cJSON_IsNumber(v))
		return (num_from_double(v->valuedouble, min, max, out));
	if (cJSON_IsString(v))
		return (num_parse(v->valuestring, strlen(v->valuestring), min,
		    max, out));
	errno = EINVAL;
	return (-1);
}
