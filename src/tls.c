/*
 * tls.c - the TLS trust store: one X509_STORE per set of options (the
 * system's anchors, looked up by hash when libcurl's CA directory is hashed,
 * or read from its CA bundle, plus an optional PEM file), shared by every
 * connection through CURLOPT_SSL_CTX_FUNCTION, so no handshake decodes a CA
 * bundle.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls.h"

struct tls {
	X509_STORE	*store;		/* trust anchors of the current
					   options, shared by every TLS
					   context (tls_ssl_ctx_cb) */
	char		*sys_file;	/* libcurl's default CA bundle */
	char		*sys_dir;	/* its CA directory, when hashed */
};

/*
 * Add every certificate of the PEM file ${path} to ${store}.  Returns 0, or
 * -1 (logged) if the file cannot be read or holds no certificate.
 */
static int
add_ca_file(X509_STORE *store, const char *path)
{
	STACK_OF(X509_INFO) *infos;
	X509_INFO *info;
	BIO *bio;
	int i, ncert = 0;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		log_msg(LOG_ERROR, "tls.ca_file %s: cannot open: %s", path,
		    strerror(errno));
		return (-1);
	}
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	for (i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
		info = sk_X509_INFO_value(infos, i);
		if (info->x509 != NULL && X509_STORE_add_cert(store,
		    info->x509) == 1)
			ncert++;
	}
	if (infos != NULL)
		sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (ncert == 0) {
		log_msg(LOG_ERROR, "tls.ca_file %s: no PEM certificate found",
		    path);
		return (-1);
	}
	return (0);
}

/* Nonzero if ${dir} holds OpenSSL subject-hash names ("5ad8a5d6.0"). */
static int
hashed_dir(const char *dir)
{
	struct dirent *e;
	DIR *d;
	size_t n;
	int found = 0;

	if ((d = opendir(dir)) == NULL)
		return (0);
	while (!found && (e = readdir(d)) != NULL) {
		n = strspn(e->d_name, "0123456789abcdef");
		found = n == 8 && e->d_name[8] == '.' &&
		    isdigit((unsigned char)e->d_name[9]);
	}
	closedir(d);
	return (found);
}

/*
 * Nonzero if the bundle ${file} was mounted over the one ${dir} was hashed
 * from: a file bind-mounted into a container (podman --volume, a Kubernetes
 * subPath) is on another filesystem than its directory.  Its anchors, not
 * the directory's, are then the ones meant.
 */
static int
mounted_over(const char *file, const char *dir)
{
	struct stat fs, ds;

	return (stat(file, &fs) == 0 && stat(dir, &ds) == 0 &&
	    fs.st_dev != ds.st_dev);
}

/*
 * Where libcurl would look for the system's trust anchors (its built-in
 * CURLOPT_CAINFO and CURLOPT_CAPATH), remembered in ${t}.  A directory is
 * kept only if it is hashed (c_rehash, update-ca-certificates, make image)
 * and its bundle was not mounted over: then the anchors are looked up by
 * subject hash when a chain needs one, instead of decoding the whole
 * bundle.  Returns 0, or -1 on ENOMEM.
 */
static int
system_anchors(struct tls *t)
{
	const char *file = NULL, *dir = NULL;
#if LIBCURL_VERSION_NUM >= 0x075400	/* CURLINFO_CAINFO: 7.84.0 */
	CURL *easy;

	if ((easy = curl_easy_init()) != NULL) {
		(void)curl_easy_getinfo(easy, CURLINFO_CAINFO, &file);
		(void)curl_easy_getinfo(easy, CURLINFO_CAPATH, &dir);
	}
#endif
	if (file == NULL && dir == NULL) {
		file = X509_get_default_cert_file();
		dir = X509_get_default_cert_dir();
	}
	if (file != NULL && (t->sys_file = strdup(file)) == NULL)
		goto oom;
	if (dir != NULL && hashed_dir(dir)) {
		if (file != NULL && mounted_over(file, dir))
			log_msg(LOG_DEBUG, "tls: %s is mounted over the bundle "
			    "%s was hashed from: reading it", file, dir);
		else if ((t->sys_dir = strdup(dir)) == NULL)
			goto oom;
	}
#if LIBCURL_VERSION_NUM >= 0x075400
	curl_easy_cleanup(easy);
#endif
	return (0);
oom:
#if LIBCURL_VERSION_NUM >= 0x075400
	curl_easy_cleanup(easy);
#endif
	return (-1);
}

/*
 * A new store of the system's anchors plus those of ${ca_file} (or NULL):
 * built once per configuration and shared by every connection, so no
 * handshake decodes a CA bundle.  Returns NULL on error (logged).
 */
static X509_STORE *
new_store(struct tls *t, const char *ca_file)
{
	X509_STORE *store;
	X509_LOOKUP *lu;

	if ((store = X509_STORE_new()) == NULL)
		goto oom;
	if (t->sys_dir != NULL) {
		if ((lu = X509_STORE_add_lookup(store,
		    X509_LOOKUP_hash_dir())) == NULL ||
		    X509_LOOKUP_add_dir(lu, t->sys_dir, X509_FILETYPE_PEM) !=
		    1)
			goto oom;
		log_msg(LOG_DEBUG, "tls: system trust anchors looked up by "
		    "subject hash in %s", t->sys_dir);
	} else if (t->sys_file != NULL &&
	    X509_STORE_load_file(store, t->sys_file) != 1) {
		/* A container without the system bundle: ca_file only. */
		log_msg(ca_file != NULL ? LOG_DEBUG : LOG_WARN,
		    "tls: no system trust anchors in %s", t->sys_file);
		ERR_clear_error();
	} else if (t->sys_file != NULL)
		log_msg(LOG_DEBUG, "tls: system trust anchors read from %s",
		    t->sys_file);
	if (ca_file != NULL && add_ca_file(store, ca_file) == -1) {
		X509_STORE_free(store);
		return (NULL);
	}
	/* What libcurl sets on the stores it fills itself. */
	X509_STORE_set_flags(store, X509_V_FLAG_TRUSTED_FIRST |
	    X509_V_FLAG_PARTIAL_CHAIN);
	return (store);
oom:
	log_msg(LOG_ERROR, "tls: cannot set up the trust store");
	X509_STORE_free(store);
	return (NULL);
}

/*
 * tls_new(): where libcurl would look for the system's trust anchors (its
 * built-in CURLOPT_CAINFO and CURLOPT_CAPATH), remembered in a new struct
 * tls with no store yet (tls_prepare builds it).  The caller owns the
 * result and releases it with tls_free.  Returns NULL on ENOMEM (errno set,
 * not logged).
 */
struct tls *
tls_new(void)
{
	struct tls *t;
	int saved;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	if (system_anchors(t) == -1) {
		saved = errno;
		tls_free(t);
		errno = saved;
		return (NULL);
	}
	return (t);
}

struct tls_pending {
	X509_STORE	*store;
};

/*
 * tls_prepare(t, ca_file, &pending): build a new store of the system's
 * anchors plus those of the PEM file ${ca_file} (or NULL) into *${pending},
 * changing nothing.  Returns 0, or -1 on error (logged).
 */
int
tls_prepare(struct tls *t, const char *ca_file, struct tls_pending **pp)
{
	struct tls_pending *p;

	*pp = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_msg(LOG_ERROR, "tls: %s", strerror(errno));
		return (-1);
	}
	if ((p->store = new_store(t, ca_file)) == NULL) {
		free(p);
		return (-1);
	}
	*pp = p;
	return (0);
}

/*
 * tls_commit(t, pending): make the store of ${pending} ${t}'s current
 * store and release ${pending}; cannot fail.
 */
void
tls_commit(struct tls *t, struct tls_pending *p)
{

	X509_STORE_free(t->store);
	t->store = p->store;
	free(p);
}

/* tls_abort(pending): release ${pending} unapplied.  NULL is a no-op. */
void
tls_abort(struct tls_pending *p)
{

	if (p == NULL)
		return;
	X509_STORE_free(p->store);
	free(p);
}

/*
 * tls_free(t): drop ${t}'s reference to its store (freed with the last TLS
 * context using it) and release ${t}.  NULL is a no-op.
 */
void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	X509_STORE_free(t->store);
	free(t->sys_file);
	free(t->sys_dir);
	free(t);
}

/*
 * tls_ssl_ctx_cb(easy, sslctx, cookie): CURLOPT_SSL_CTX_FUNCTION, with
 * CURLOPT_SSL_CTX_DATA the struct tls: give the TLS context ${sslctx} a
 * reference to the current store (libcurl is to be told to load no CA
 * itself: CURLOPT_CAINFO and CURLOPT_CAPATH NULL).  Returns CURLE_OK.
 */
CURLcode
tls_ssl_ctx_cb(CURL *easy, void *sslctx, void *cookie)
{
	struct tls *t = cookie;

	SSL_CTX_set1_cert_store((SSL_CTX *)sslctx, t->store);
	return (CURLE_OK);
}
