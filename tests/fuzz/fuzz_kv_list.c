/*
 * fuzz_kv_list: a page of a Key Vault list (kv_parse_list): items, tags,
 * and the nextLink that must stay in the vault.  Byte 0 picks the kind;
 * the body is parsed twice into one list (a second page, so the nextLink
 * loop check runs) and every tag of every item is looked up.
 */
#include <stdio.h>
#include <strings.h>

#include "kv.h"
#include "fuzz.h"

/* The vault the seeds come from (tests/fuzz/seeds.js). */
#define VAULT	"https://127.0.0.1:38443"

static int
same_vault(const char *link)
{
	size_t n = strlen(VAULT);

	/* Scheme and host are case-insensitive. */
	return (strncasecmp(link, VAULT, n) == 0 &&
	    (link[n] == '/' || link[n] == '?'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_list l;
	char err[256], *next;
	size_t i, pass;
	char **t;

	if (size < 1)
		return (0);
	memset(&l, 0, sizeof(l));
	for (pass = 0; pass < 2; pass++) {
		next = NULL;
		if (kv_parse_list((const char *)data + 1, size - 1,
		    (enum kv_kind)(data[0] % 3), VAULT, &l, &next, err,
		    sizeof(err)) == -1) {
			fuzz_check(next == NULL);
			break;
		}
		/* A token must never go to another host. */
		if (next != NULL)
			fuzz_check(same_vault(next));
		free(next);
	}
	for (i = 0; i < l.n; i++) {
		fuzz_check(l.items[i].name != NULL);
		for (t = l.items[i].tags; t != NULL && t[0] != NULL; t += 2) {
			fuzz_check(t[1] != NULL);
			fuzz_check(kv_item_tag(&l.items[i], t[0]) != NULL);
		}
	}
	kv_list_clear(&l);
	return (0);
}
