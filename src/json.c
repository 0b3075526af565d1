/*
 * json.c - cJSON helpers shared by the modules that parse Azure responses.
 */
#include <string.h>

#include "json.h"

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
