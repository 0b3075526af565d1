/*
 * config_int.h - what the files of the configuration parser share; not
 * part of akvd's interface (that is include/config.h).
 *
 *   config.c          config_load, config_parse, config_free: the
 *                     top-level walk that calls the sections below
 *   config_parser.c   errors by JSON path, typed getters, value checks
 *   config_auth.c     "cloud", "auth" (the "auto" chain), "tls"
 *   config_objects.c  "objects", blob URLs, alias and path clashes
 *   config_bundles.c  "bundles", "select", dotenv names
 *   config_templates.c "templates": read, compiled, names resolved
 *   config_notify.c   "notify", "on_change"/"env" (supervise), "listen"
 *   config_print.c    the normalized form that --check prints
 *
 * Each function is described where it is defined.  The short names below
 * are the code's; the #defines give the linker config_-prefixed ones, as
 * every name a module exports must carry its prefix.
 */
#ifndef AKVD_CONFIG_INT_H
#define AKVD_CONFIG_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"

#define URL_MAX			512
#define SHOW_LEN		80	/* a value quoted in a message */
#define POS_DEPTH		6	/* "bundles[0].objects[2].alias": 5 */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* One parse: where its errors go and what the checks need to know. */
struct parser {
	struct config_errors *errs;
	const char	*base;		/* the file's directory, or NULL */
	const cJSON	*root;		/* the document, to order errors */
	int		 vault_bad;	/* top-level vault invalid */
	size_t		 pos[CONFIG_MAXERR][POS_DEPTH];
					/* where each kept error is */
};

#define alias_problem		config_alias_problem
#define bundle_formats		config_bundle_formats
#define check_aliases		config_check_aliases
#define check_bundle_paths	config_check_bundle_paths
#define check_path_clash	config_check_path_clash
#define check_keys		config_check_keys
#define count_members		config_count_members
#define encoding_names		config_encoding_names
#define format_names		config_format_names
#define get_bool		config_get_bool
#define get_duration		config_get_duration
#define get_enum		config_get_enum
#define get_int			config_get_int
#define get_mode		config_get_mode
#define get_owner		config_get_owner
#define get_string		config_get_string
#define host_len		config_host_len
#define https_url		config_https_url
#define join			config_join
#define parse_auth		config_parse_auth
#define parse_bundles		config_parse_bundles
#define parse_cloud		config_parse_cloud
#define parse_listen		config_parse_listen
#define parse_notify		config_parse_notify
#define parse_object		config_parse_object
#define parse_select		config_parse_select
#define paths_clash		config_paths_clash
#define list_new		config_list_new
#define parse_templates		config_parse_templates
#define parse_supervise		config_parse_supervise
#define parse_tls		config_parse_tls
#define pdup			config_pdup
#define perr			config_perr
#define port_len		config_port_len
#define resolve_path		config_resolve_path
#define show			config_show
#define signal_name		config_signal_name
#define type_names		config_type_names
#define vault_url		config_vault_url_suffix
#define vault_err		config_vault_err
#define whole_number		config_whole_number
#define word_valid		config_word_valid

/* config_parser.c: errors, value checks, typed getters */
void	perr(struct parser *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
char	*pdup(struct parser *, const char *, const char *);
const char *show(char [SHOW_LEN], const char *);
const char *alias_problem(const char *);
size_t	host_len(const char *);
size_t	port_len(const char *);
int	https_url(const char *, char *, size_t, int);
int	vault_url(const char *, const char *, char *, size_t);
void	vault_err(struct parser *, const char *, const char *);
int	word_valid(const char *, size_t, size_t, const char *);
void	join(char *, size_t, const char *, const char *);
void	check_keys(struct parser *, const char *, const cJSON *,
	    const char *const *);
int	get_string(struct parser *, const char *, const cJSON *,
	    const char *, const char **);
int	whole_number(const cJSON *, int64_t, int64_t, int64_t *);
int	get_duration(struct parser *, const char *, const cJSON *,
	    uint64_t *);
int	get_int(struct parser *, const char *, const cJSON *, long, long,
	    long *);
char	*resolve_path(struct parser *, const char *, const char *);
int	get_enum(struct parser *, const char *, const cJSON *,
	    const char *, const char *const *, size_t);
void	get_bool(struct parser *, const char *, const cJSON *,
	    const char *, int *);
void	get_mode(struct parser *, const char *, const cJSON *, mode_t *);
void	get_owner(struct parser *, const char *, const cJSON *,
	    const char *, long *);

/* Key Vault object names, versions, tenants (GUID or domain), clients. */
#define object_name_valid(s)	word_valid((s), 1, 127, "-")
#define version_valid(s)	word_valid((s), 0, 64, "")
#define tenant_valid(s)		word_valid((s), 1, 128, "-.")
#define client_id_valid(s)	word_valid((s), 1, 128, "-")

/* config_auth.c */
const char *parse_cloud(struct parser *, const cJSON *,
	    struct akvd_config *);
void	parse_auth(struct parser *, const cJSON *, struct akvd_config *,
	    const char *);
void	parse_tls(struct parser *, const cJSON *, struct akvd_config *);

/* config_objects.c */
extern const char *const type_names[4];		/* by enum object_type */
extern const char *const encoding_names[3];	/* by enum encoding */
extern const char *const format_names[3];	/* by enum secret_format */
void	parse_object(struct parser *, const cJSON *, const char *, size_t,
	    struct akvd_config *, struct akvd_object *);
void	check_aliases(struct parser *, const struct akvd_config *);
void	check_bundle_paths(struct parser *, const struct akvd_config *);
int	check_path_clash(struct parser *, const struct akvd_config *,
	    const char *, const char *, size_t, size_t);
int	paths_clash(const char *, const char *);

/* config_bundles.c */
extern const char *const bundle_formats[2];	/* by enum bundle_format */
size_t	count_members(const cJSON *);
void	*list_new(struct parser *, const cJSON *, const char *, size_t,
	    const char *, size_t, size_t *);
void	parse_bundles(struct parser *, const cJSON *, struct akvd_config *);
void	parse_select(struct parser *, const cJSON *, struct akvd_config *);

/* config_templates.c */
void	parse_templates(struct parser *, const cJSON *, struct akvd_config *);
void	config_templates_free(struct akvd_config *);

/* config_notify.c */
const char *signal_name(int);
void	parse_notify(struct parser *, const cJSON *, struct akvd_config *);
void	parse_supervise(struct parser *, const cJSON *,
	    struct akvd_config *);
void	parse_listen(struct parser *, const cJSON *, struct akvd_config *);

#endif /* !AKVD_CONFIG_INT_H */
