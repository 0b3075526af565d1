/*
 * config.h - the configuration file, parsed once into typed structures.
 *
 * Everything downstream trusts these structures: every check (unknown keys,
 * types, names, aliases that could escape the output directory, durations,
 * modes) happens here, and every error names its JSON path, e.g.
 *   objects[2].alias: must be a relative file name without ".."
 *
 * The auth fields default from the variables the Azure Workload Identity
 * webhook injects: AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST.
 */
#ifndef AKVD_CONFIG_H
#define AKVD_CONFIG_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH		"/etc/akvd/akvd.json"
#define CONFIG_DEFAULT_INTERVAL_MS	(2 * 60 * 1000)
#define CONFIG_DEFAULT_TIMEOUT_MS	(30 * 1000)
#define CONFIG_DEFAULT_MAX_RESPONSE	(1024 * 1024)
#define CONFIG_DEFAULT_CONCURRENCY	8
#define CONFIG_DEFAULT_MODE		0440
#define CONFIG_DEFAULT_AUTHORITY	"https://login.microsoftonline.com/"

enum auth_method {
	AUTH_WORKLOAD_IDENTITY = 0,	/* projected token -> Entra ID */
	AUTH_MANAGED_IDENTITY,		/* IMDS */
	AUTH_APP_SERVICE,		/* IDENTITY_ENDPOINT/IDENTITY_HEADER */
	AUTH_CLIENT_SECRET,		/* service principal, secret */
	AUTH_CLIENT_CERTIFICATE		/* service principal, certificate */
};

#define CONFIG_DEFAULT_IMDS	"http://169.254.169.254"

enum object_type {
	OBJ_SECRET = 0,		/* GET /secrets/{name} */
	OBJ_CERT,		/* GET /certificates/{name}: "cer" as PEM */
	OBJ_KEY,		/* GET /keys/{name}: the JWK as PUBLIC KEY */
	OBJ_BLOB		/* an Azure Storage blob ("url") */
};

#define CONFIG_DEFAULT_BLOB_MAX		(16 * 1024 * 1024)
#define CONFIG_DEFAULT_STORAGE_SCOPE	"https://storage.azure.com/.default"

/* How a secret's value is decoded before it is written. */
enum object_encoding {
	ENC_UTF8 = 0,		/* as is */
	ENC_BASE64,
	ENC_HEX
};

/* What a certificate-backed secret is written as. */
enum object_format {
	FMT_AUTO = 0,		/* PEM for certificate-backed secrets, the
				   value as is otherwise */
	FMT_PEM,		/* PKCS#8 key, then leaf -> root */
	FMT_PFX			/* PKCS#12, empty password */
};

#define CONFIG_MAX_HISTORY	100
#define CONFIG_OWNER_KEEP	((long)-1)	/* uid/gid not set */

struct akvd_object {
	char		*name;		/* Key Vault object name; a blob:
					   its alias (for logs and "env") */
	enum object_type type;
	char		*alias;		/* path relative to output_dir;
					   validated, defaults to name */
	char		*version;	/* "" means latest */
	char		*vault;		/* https URL, no trailing slash */
	mode_t		 mode;		/* file mode, default 0440 */
	int		 optional;	/* failure does not fail --once */
	char		*url;		/* OBJ_BLOB: normalized https URL */
	size_t		 max_size;	/* OBJ_BLOB: bytes, default 16 MiB */
	enum object_encoding encoding;	/* secret only */
	enum object_format format;	/* secret only */
	int		 split;		/* also .key, .crt, .ca.crt */
	unsigned	 history;	/* 0, or newest N versions as
					   alias/0 .. alias/N-1 */
	long		 uid;		/* CONFIG_OWNER_KEEP or an id */
	long		 gid;
	size_t		 bundle;	/* 0, or 1 + the index of the bundle
					   this object is a member of: then
					   it has no file of its own, and its
					   alias is its key in the bundle */
	int		 nofile;	/* "file": false: fetched and held
					   (for templates, "env") but
					   written to no file of its own */
};

enum bundle_format {
	BUNDLE_JSON = 0,	/* "--" in a key nests, as ASP.NET Core */
	BUNDLE_DOTENV		/* NAME='value' lines for POSIX sh */
};

/*
 * One entry of "bundles": one file holding several objects, which are in
 * cfg->objects[first .. first + n).
 */
struct akvd_bundle {
	char		*path;		/* relative to output_dir, valid */
	enum bundle_format format;
	mode_t		 mode;
	long		 uid;
	long		 gid;
	size_t		 first;
	size_t		 n;
};

#define CONFIG_MAX_BUNDLES	64

struct template;

/*
 * One entry of "templates": one file rendered from the objects it names
 * (aliases of top-level objects), parsed once per load.
 */
struct akvd_template {
	char		*path;		/* relative to output_dir, valid */
	mode_t		 mode;
	long		 uid;		/* CONFIG_OWNER_KEEP or an id */
	long		 gid;
	char		*contents;	/* "contents", or NULL */
	char		*source;	/* "source": absolute path, or NULL */
	char		*text;		/* the template as read (contents or
					   the source file's bytes) */
	size_t		 len;		/* of text */
	struct template	*t;		/* compiled from text */
	size_t		*objs;		/* indexes into cfg->objects of the
					   objects it uses, first use first */
	size_t		 nobjs;
};

#define CONFIG_MAX_TEMPLATES		64
#define CONFIG_MAX_TEMPLATE_SIZE	(1024 * 1024)	/* bytes */

/*
 * config_dotenv_name(key, out, len): the variable name of bundle key
 * ${key} in a dotenv bundle: upper-cased, '-' -> '_'.  Returns 0, or -1
 * if the result is not a valid shell variable name or does not fit.
 */
int	config_dotenv_name(const char *, char *, size_t);

/*
 * config_json_key_valid(key): nonzero if JSON bundle key ${key} has no
 * empty "--"-separated segment.
 */
int	config_json_key_valid(const char *);

/*
 * config_json_keys_clash(a, b): nonzero if JSON bundle keys ${a} and ${b}
 * put two values at one place, or a value where the other needs an object
 * ("A" and "A--B").
 */
int	config_json_keys_clash(const char *, const char *);

/*
 * One entry of "select": every enabled secret of a vault whose name starts
 * with ${prefix} and whose tags include ${tags}, written under its name
 * (without the prefix with ${strip_prefix}) in ${dir}.
 */
struct akvd_select {
	char		*vault;		/* https URL, no trailing slash */
	char		*prefix;	/* "" matches every name */
	char		**tags;		/* key, value, ..., NULL */
	size_t		 ntags;		/* pairs */
	int		 strip_prefix;
	char		*dir;		/* "" or a valid alias */
	mode_t		 mode;
	long		 uid;		/* CONFIG_OWNER_KEEP or an id */
	long		 gid;
};

#define CONFIG_MAX_SELECT	64

/*
 * config_select_same(a, b): nonzero if ${a} and ${b} select and name the
 * same secrets (vault, prefix, tags, strip_prefix, dir).
 */
int	config_select_same(const struct akvd_select *,
	    const struct akvd_select *);

/* The file names of split: "" (the alias itself), then these suffixes. */
#define CONFIG_SPLIT_FILES	4

/*
 * config_object_nfiles(obj): how many files ${obj} writes: 1, 4 with
 * "split", N with "history: N", 0 for a member of a bundle.
 */
size_t	config_object_nfiles(const struct akvd_object *);

/*
 * config_object_path(obj, i, buf, len): the path (relative to output_dir)
 * of file ${i} of ${obj}: the alias; alias + ".key", ".crt", ".ca.crt"
 * with split; alias + "/" + i with history.  Returns 0, or -1 if it does
 * not fit in ${len}.
 */
int	config_object_path(const struct akvd_object *, size_t, char *,
	    size_t);

/* config_type_name(t): "secret", "cert", "key", "blob". */
const char *config_type_name(enum object_type);

struct akvd_auth {
	enum auth_method method;
	int		 method_auto;	/* chosen by the "auto" chain */
	char		 method_why[192];	/* why it was chosen */
	char		*tenant_id;	/* NULL: learnt from Key Vault's
					   401 challenge */
	char		*client_id;	/* user-assigned identity, app id */
	char		*token_file;	/* workload_identity */
	char		*authority_host;	/* https URL ending in '/' */
	char		*client_secret_file;	/* client_secret; NULL: the
					   AZURE_CLIENT_SECRET variable */
	char		*certificate_file;	/* client_certificate: PEM
					   with key and certificate */
	char		*object_id;	/* managed_identity */
	char		*resource_id;	/* managed_identity (msi_res_id) */
	char		*imds_endpoint;	/* managed_identity, no trailing / */
	char		*identity_endpoint;	/* app_service; the header
					   is read from IDENTITY_HEADER */
};

/* config_auth_method_name(m): "workload_identity", "managed_identity"... */
const char *config_auth_method_name(enum auth_method);

enum notify_kind {
	NOTIFY_PID_FILE = 0,	/* signal the pid in a file */
	NOTIFY_PROCESS,		/* signal processes by executable name */
	NOTIFY_EXEC,		/* run a command */
	NOTIFY_HTTP		/* call an URL */
};

/* One entry of "notify": how to tell the app that files changed. */
struct akvd_notify {
	enum notify_kind kind;
	int		 signo;		/* PID_FILE, PROCESS */
	char		*signame;	/* "HUP" */
	char		*pid_file;	/* PID_FILE */
	char		*process;	/* PROCESS: executable name */
	char		**argv;		/* EXEC: NULL-terminated */
	uint64_t	 timeout_ms;	/* EXEC (default 30s), HTTP */
	char		*url;		/* HTTP */
	char		*method;	/* HTTP: "POST" (default), "GET", "PUT" */
};

/* Supervise mode (akvd ... -- command): what a change does to the child. */
enum on_change {
	ON_CHANGE_NOTHING = 0,	/* default without "env" */
	ON_CHANGE_SIGNAL,	/* send on_change_signal */
	ON_CHANGE_RESTART	/* stop, grace, SIGKILL, start again */
};

/* "env": an environment variable of the child holding an object. */
struct akvd_env {
	char		*var;		/* DB_PASSWORD */
	char		*object;	/* the object's name (or alias) */
};

#define CONFIG_DEFAULT_DEBOUNCE_MS	1000
#define CONFIG_DEFAULT_STOP_GRACE_MS	(10 * 1000)
#define CONFIG_DEFAULT_EXEC_TIMEOUT_MS	(30 * 1000)
#define CONFIG_DEFAULT_READY_MAX_FAILED	3
#define CONFIG_DEFAULT_ONCE_TIMEOUT_MS	(60 * 1000)

struct akvd_config {
	char		*output_dir;
	uint64_t	 interval_ms;	/* "interval", default 2m */
	uint64_t	 timeout_ms;	/* "timeout": per HTTP request */
	size_t		 max_response;	/* "max_response_size" bytes */
	unsigned	 concurrency;	/* "concurrency": requests at once */
	char		*vault;		/* default vault URL, or NULL */
	char		*cloud;		/* "public", "china", "usgov" or
					   "custom" */
	char		*vault_suffix;	/* of bare vault names */
	char		*vault_scope;	/* Key Vault token scope */
	char		*storage_scope;	/* Blob Storage token scope */
	struct akvd_auth auth;
	char		*ca_file;	/* "tls.ca_file", or NULL */
	struct akvd_object *objects;
	size_t		 nobjects;
	struct akvd_select *selects;	/* "select" */
	size_t		 nselects;
	struct akvd_bundle *bundles;	/* "bundles" */
	size_t		 nbundles;
	struct akvd_template *templates;	/* "templates" */
	size_t		 ntemplates;
	struct akvd_notify *notify;	/* "notify" */
	size_t		 nnotify;
	uint64_t	 debounce_ms;	/* "debounce", default 1s */
	enum on_change	 on_change;	/* supervise mode */
	int		 on_change_signal;
	int		 stop_signal;	/* "stop_signal", default TERM */
	uint64_t	 stop_grace_ms;	/* "stop_grace", default 10s */
	struct akvd_env	*env;		/* "env"; implies restart */
	size_t		 nenv;
	char		*listen;	/* "listen", normalized: "127.0.0.1:9090",
					   "[::1]:9090", ":9090"; NULL: off */
	struct sockaddr_storage listen_addr;	/* ":PORT": in6addr_any */
	socklen_t	 listen_addrlen;
	int		 listen_any;	/* ":PORT": every address */
	unsigned	 ready_max_failed;	/* "ready_max_failed_intervals" */
	uint64_t	 once_timeout_ms;	/* "once_timeout": --once retries
					   transient failures this long */
};

#define CONFIG_MAXERR	32
#define CONFIG_ERRLEN	512

/* Errors collected by one parse, each "json.path: what is wrong". */
struct config_errors {
	size_t	n;		/* may exceed CONFIG_MAXERR; only the first
				   CONFIG_MAXERR are kept */
	char	msg[CONFIG_MAXERR][CONFIG_ERRLEN];
};

/*
 * config_load(path, errs): read and parse the file at ${path}.  Returns a
 * new configuration owned by the caller (release with config_free), or NULL
 * with at least one message in ${errs}.  A file that cannot be read is
 * reported as "PATH: strerror".
 */
struct akvd_config *config_load(const char *, struct config_errors *);

/*
 * config_parse(json, len, errs): as config_load, from a buffer.
 */
struct akvd_config *config_parse(const char *, size_t,
    struct config_errors *);

/* config_free(cfg): release ${cfg}; NULL is a no-op. */
void	config_free(struct akvd_config *);

/*
 * config_print(f, cfg): write ${cfg} to ${f} as normalized, indented JSON
 * with every default filled in (the output of --check).  It parses back to
 * an equal configuration.  Returns 0, or -1 on a write error.
 */
int	config_print(FILE *, const struct akvd_config *);

/*
 * config_vault_url(s, out, len): turn a vault URL or a bare vault name
 * ("myvault" -> "https://myvault.vault.azure.net") into the normalized
 * form (https, no trailing slash).  Returns 0, or -1 if ${s} is neither.
 */
int	config_vault_url(const char *, char *, size_t);

/*
 * config_alias_valid(s): nonzero if ${s} is a relative path that stays
 * inside the output directory: not empty, not absolute, no empty, "." or
 * ".." component, no component starting with ".." (reserved for the
 * writer's "..data" layout), at most 255 bytes per component.
 */
int	config_alias_valid(const char *);

/*
 * config_object_same_source(a, b): nonzero if ${a} and ${b} fetch the same
 * thing (name, type, version, vault; a blob's url) and render it the same
 * way (encoding, format, split, history); used by reload to keep state.
 */
int	config_object_same_source(const struct akvd_object *,
    const struct akvd_object *);

#endif /* !AKVD_CONFIG_H */
