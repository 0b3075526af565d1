/*
 * kv.h - the Azure Key Vault data plane: URLs and responses, as pure
 * functions.  Nothing here logs a secret value.
 */
#ifndef AKVD_KV_H
#define AKVD_KV_H

#include <stddef.h>

#include <stdint.h>

#define KV_API_VERSION	"7.4"
#define KV_PAGE		25	/* maxresults of a list request */

enum kv_kind {
	KV_SECRET = 0,
	KV_CERTIFICATE,
	KV_KEY
};

/*
 * kv_object_url(vault, kind, name, version): "{vault}/{secrets|
 * certificates|keys}/{name}[/{version}]?api-version=7.4" with ${name} and
 * ${version} escaped; NULL or "" ${version} means the latest.  Returns a
 * new string (free()), or NULL on ENOMEM.
 */
char	*kv_object_url(const char *, enum kv_kind, const char *,
	    const char *);

/*
 * kv_versions_url(vault, kind, name): the first page of the versions of
 * ${name}: "{vault}/{kind}/{name}/versions?api-version=7.4&maxresults=25";
 * with a NULL ${name}, the list of the vault's objects of that kind:
 * "{vault}/{kind}?api-version=7.4&maxresults=25".  Returns a new string,
 * or NULL on ENOMEM.
 */
char	*kv_versions_url(const char *, enum kv_kind, const char *);

/*
 * kv_secret_url(vault, name, version): kv_object_url for a secret.
 */
char	*kv_secret_url(const char *, const char *, const char *);

struct kv_secret {
	char	*value;		/* owned, NUL-terminated; wiped by clear */
	size_t	 len;
	char	*version;	/* owned: last path segment of "id" */
	char	*content_type;	/* owned, or NULL; a hint only */
	int	 enabled;	/* attributes.enabled, default 1 */
	int	 managed;	/* the secret backs a Key Vault certificate:
				   "kid" present or "managed": true */
	int64_t	 updated;	/* attributes.updated, seconds since the
				   epoch, or 0 if absent */
	char	**tags;		/* key, value, key, value..., NULL; owned */
	size_t	 ntags;		/* pairs */
};

/*
 * kv_parse_secret(body, len, out, err, errlen): parse a SecretBundle.
 * Returns 0, or -1 with a message in ${err} that never holds the value.
 * On success the caller releases ${out} with kv_secret_clear().
 */
int	kv_parse_secret(const char *, size_t, struct kv_secret *, char *,
	    size_t);

/*
 * kv_parse_object(body, len, kind, out, err, errlen): parse a SecretBundle
 * (the value), a CertificateBundle ("cer", base64 DER) or a KeyBundle (the
 * "key" JWK as compact JSON) into ${out}.  Returns 0, or -1 with a message
 * in ${err} that never holds the value.  On success the caller releases
 * ${out} with kv_secret_clear().
 */
int	kv_parse_object(const char *, size_t, enum kv_kind,
	    struct kv_secret *, char *, size_t);

/* kv_secret_clear(s): wipe the value and free everything; ${s} zeroed. */
void	kv_secret_clear(struct kv_secret *);

/* One entry of a list page (no value). */
struct kv_item {
	char	*name;
	char	*version;	/* in a versions list; NULL otherwise */
	int	 enabled;
	int	 managed;	/* certificate-backed secret */
	int64_t	 created;	/* seconds since the epoch, or 0 */
	int64_t	 updated;
	char	*content_type;	/* or NULL */
	char	**tags;		/* key, value, key, value..., NULL */
};

struct kv_list {
	struct kv_item	*items;
	size_t		 n;
	char		**links;	/* nextLinks returned so far */
	size_t		 nlinks;
};

/* A listing of more pages than this is an error (a nextLink loop). */
#define KV_MAX_PAGES	1000

/*
 * kv_parse_list(body, len, kind, vault, out, next, err, errlen): parse a
 * page of SecretItem (or CertificateItem, KeyItem), appending its items
 * to ${out}.  *${next} is set to the nextLink (a new string), or NULL on
 * the last page; a nextLink that does not point into ${vault} is an error
 * (a token must never go elsewhere), and so is one ${out} has returned
 * already or one past KV_MAX_PAGES pages.  "tags" that are not an object,
 * and tags whose value is not a string, are ignored.  Returns 0, or -1
 * with a message in ${err}.
 */
int	kv_parse_list(const char *, size_t, enum kv_kind, const char *,
	    struct kv_list *, char **, char *, size_t);

/* kv_list_clear(l): free every item; ${l} zeroed. */
void	kv_list_clear(struct kv_list *);

/* kv_item_tag(it, key): the value of tag ${key} of ${it}, or NULL. */
const char *kv_item_tag(const struct kv_item *, const char *);

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
