/*
 * kv.h - the Azure Key Vault data plane: URLs and responses, as pure
 * functions.  Nothing here logs a secret value.
 */
#ifndef AKVD_KV_H
#define AKVD_KV_H

#include <stddef.h>

#define KV_API_VERSION	"7.4"

/*
 * kv_secret_url(vault, name, version): "{vault}/secrets/{name}[/{version}]
 * ?api-version=7.4" with ${name} and ${version} escaped; NULL or ""
 * ${version} means the latest.  Returns a new string (free()), or NULL on
 * ENOMEM.
 */
char	*kv_secret_url(const char *, const char *, const char *);

struct kv_secret {
	char	*value;		/* owned, NUL-terminated; wiped by clear */
	size_t	 len;
	char	*version;	/* owned: last path segment of "id" */
	char	*content_type;	/* owned, or NULL */
	int	 enabled;	/* attributes.enabled, default 1 */
};

/*
 * kv_parse_secret(body, len, out, err, errlen): parse a SecretBundle.
 * Returns 0, or -1 with a message in ${err} that never holds the value.
 * On success the caller releases ${out} with kv_secret_clear().
 */
int	kv_parse_secret(const char *, size_t, struct kv_secret *, char *,
	    size_t);

/* kv_secret_clear(s): wipe the value and free everything; ${s} zeroed. */
void	kv_secret_clear(struct kv_secret *);

struct kv_error {
	char	code[64];	/* "Forbidden", "SecretNotFound", ... */
	char	inner[64];	/* innererror.code, or "" */
	char	message[256];	/* control characters replaced */
};

/*
 * kv_parse_error(body, len, out): parse {"error":{"code","message",
 * "innererror":{"code"}}}.  Returns 0, or -1 (${out} zeroed) if the body
 * is not a Key Vault error.
 */
int	kv_parse_error(const char *, size_t, struct kv_error *);

struct kv_challenge {
	char	tenant[128];
	char	resource[256];
};

/*
 * kv_parse_challenge(header, out): parse a WWW-Authenticate value such as
 * Bearer authorization="https://login.windows.net/{tenant}",
 * resource="https://vault.azure.net" ("authorization_uri" and "scope" are
 * accepted too; "/.default" is stripped from a scope).  Returns 0, or -1.
 */
int	kv_parse_challenge(const char *, struct kv_challenge *);

/*
 * kv_resource_matches(vault_url, resource): nonzero iff the vault's host
 * ends with "." + the resource's host (case-insensitive): the SDKs'
 * verification that a challenge does not send a token to a look-alike.
 */
int	kv_resource_matches(const char *, const char *);

#endif /* !AKVD_KV_H */
