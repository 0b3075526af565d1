/*
 * json.h - cJSON helpers shared by the modules that parse Azure responses.
 */
#ifndef AKVD_JSON_H
#define AKVD_JSON_H

#include <cjson/cJSON.h>

/*
 * json_delete_wiped(j): zero every string of ${j} (a response may hold a
 * secret value or a token), then cJSON_Delete it.  NULL is a no-op.
 */
void	json_delete_wiped(cJSON *);

#endif /* !AKVD_JSON_H */
