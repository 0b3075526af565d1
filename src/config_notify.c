/*
 * config_notify.c - "notify" (signals, commands, HTTP requests after a
 * change), the supervised process ("on_change", "stop_signal",
 * "stop_grace", "env") and "listen".
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_int.h"
#include "util.h"
#include "duration.h"

#define MAX_READY_FAILED	1000	/* ready_max_failed_intervals */

static const struct {
	const char	*name;
	int		 signo;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM },
	{ "WINCH", SIGWINCH }, { "ALRM", SIGALRM }, { "CONT", SIGCONT },
};

/* "HUP" or "SIGHUP" -> SIGHUP; 0 if unknown. */
static int
signal_number(const char *s)
{
	size_t i;

	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(s, signals[i].name) == 0)
			return (signals[i].signo);
	return (0);
}

const char *
signal_name(int signo)
{
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].signo == signo)
			return (signals[i].name);
	return ("?");
}

/*
 * Is ${url} an http(s) URL akvd may call to notify the app?  The authority
 * must be exactly host[:port]: no "user@" (curl would connect to what
 * follows it, and credentials have no place in a config file).
 */
static int
notify_url_valid(const char *url)
{
	const char *h;
	char host[64];
	size_t an, hn, pn;
	struct in_addr a4;
	struct in6_addr a6;

	if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else
		return (0);
	if (strpbrk(url, " \t\r\n\\") != NULL)
		return (0);
	an = strcspn(h, "/?#");
	hn = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (an == 0 || hn > an || hn >= sizeof(host) ||
	    memchr(h, '@', an) != NULL ||
	    (pn = port_len(h + hn)) == (size_t)-1 || hn + pn != an)
		return (0);
	memcpy(host, h, hn);
	host[hn] = '\0';
	if (host[0] == '[') {
		if (hn < 3 || host[hn - 1] != ']')
			return (0);
		host[hn - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6) != 1)
			return (0);
		host[hn - 1] = ']';
	} else if (host_len(host) != hn)
		return (0);
	if (h == url + 8)
		return (1);
	/*
	 * Plain http only on the machine itself (a sidecar's app):
	 * the whole host must be loopback, not "127.x.example.com".
	 */
	return (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    (inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127));
}

static void
parse_notify_entry(struct parser *p, const cJSON *e, size_t idx,
    struct akvd_notify *n)
{
	static const char *const keys[] = { "signal", "pid_file", "process",
	    "exec", "timeout", "http", "method", NULL };
	const cJSON *ex, *v, *t;
	const char *sig = NULL, *pf = NULL, *proc = NULL, *url = NULL,
	    *method = NULL;
	char path[64], sub[96];
	size_t i, argc;
	int64_t secs;
	int kinds;

	snprintf(path, sizeof(path), "notify[%zu]", idx);
	if (!cJSON_IsObject(e)) {
		perr(p, path, "must be an object");
		return;
	}
	check_keys(p, path, e, keys);
	(void)get_string(p, path, e, "signal", &sig);
	(void)get_string(p, path, e, "pid_file", &pf);
	(void)get_string(p, path, e, "process", &proc);
	(void)get_string(p, path, e, "http", &url);
	(void)get_string(p, path, e, "method", &method);
	ex = cJSON_GetObjectItemCaseSensitive(e, "exec");
	kinds = (pf != NULL) + (proc != NULL) + (ex != NULL) + (url != NULL);
	if (kinds != 1) {
		perr(p, path, "needs exactly one of pid_file, process, exec "
		    "and http");
		return;
	}
	n->timeout_ms = CONFIG_DEFAULT_EXEC_TIMEOUT_MS;
	t = cJSON_GetObjectItemCaseSensitive(e, "timeout");
	if (t != NULL) {
		snprintf(sub, sizeof(sub), "%s.timeout", path);
		if (cJSON_IsString(t) && duration_parse(t->valuestring,
		    &n->timeout_ms) == 0 && n->timeout_ms >= 100)
			;
		else if (cJSON_IsNumber(t) && num_from_double(t->valuedouble,
		    1, 86399, &secs) == 0)
			n->timeout_ms = (uint64_t)secs * 1000;
		else
			perr(p, sub, "must be a duration of at least 100ms");
	}
	if (pf != NULL || proc != NULL) {
		snprintf(sub, sizeof(sub), "%s.signal", path);
		if (sig == NULL)
			perr(p, sub, "required with %s", pf != NULL ?
			    "pid_file" : "process");
		else if ((n->signo = signal_number(sig)) == 0)
			perr(p, sub, "unknown signal \"%s\" (HUP, INT, QUIT, "
			    "USR1, USR2, TERM, WINCH, ALRM, CONT)", sig);
		else
			n->signame = strdup(signal_name(n->signo));
	} else if (sig != NULL) {
		snprintf(sub, sizeof(sub), "%s.signal", path);
		perr(p, sub, "only with pid_file or process");
	}
	if (pf != NULL) {
		n->kind = NOTIFY_PID_FILE;
		snprintf(sub, sizeof(sub), "%s.pid_file", path);
		n->pid_file = resolve_path(p, sub, pf);
	} else if (proc != NULL) {
		n->kind = NOTIFY_PROCESS;
		snprintf(sub, sizeof(sub), "%s.process", path);
		if (proc[0] == '\0' || strchr(proc, '/') != NULL ||
		    strlen(proc) > 255)
			perr(p, sub, "must be an executable name, not a path");
		else
			n->process = strdup(proc);
	} else if (ex != NULL) {
		n->kind = NOTIFY_EXEC;
		snprintf(sub, sizeof(sub), "%s.exec", path);
		argc = cJSON_IsArray(ex) ? (size_t)cJSON_GetArraySize(ex) : 0;
		if (argc == 0) {
			perr(p, sub, "must be a non-empty array: the program "
			    "and its arguments (no shell)");
			return;
		}
		if ((n->argv = calloc(argc + 1, sizeof(*n->argv))) == NULL)
			return;
		i = 0;
		cJSON_ArrayForEach(v, ex) {
			if (!cJSON_IsString(v)) {
				perr(p, sub, "must hold strings only");
				break;
			}
			n->argv[i++] = strdup(v->valuestring);
		}
		if (n->argv[0] != NULL && n->argv[0][0] != '/')
			perr(p, sub, "the program must be an absolute path");
	} else {
		n->kind = NOTIFY_HTTP;
		snprintf(sub, sizeof(sub), "%s.http", path);
		if (!notify_url_valid(url))
			perr(p, sub, "must be an https URL, or http to a "
			    "loopback address (127.0.0.0/8, [::1], localhost), "
			    "with no user@");
		else
			n->url = strdup(url);
		if (t == NULL)
			n->timeout_ms = 10 * 1000;
	}
	if (method != NULL && n->kind != NOTIFY_HTTP) {
		snprintf(sub, sizeof(sub), "%s.method", path);
		perr(p, sub, "only with http");
	} else if (n->kind == NOTIFY_HTTP) {
		if (method == NULL)
			method = "POST";
		if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0 &&
		    strcmp(method, "PUT") != 0) {
			snprintf(sub, sizeof(sub), "%s.method", path);
			perr(p, sub, "must be POST, GET or PUT");
		} else
			n->method = strdup(method);
	}
}

void
parse_notify(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, "notify"), *e;
	size_t i = 0;

	c->debounce_ms = CONFIG_DEFAULT_DEBOUNCE_MS;
	(void)get_duration(p, "debounce", root, &c->debounce_ms);
	if (l == NULL)
		return;
	if (!cJSON_IsArray(l)) {
		perr(p, "notify", "must be an array");
		return;
	}
	c->nnotify = (size_t)cJSON_GetArraySize(l);
	if (c->nnotify == 0)
		return;
	if ((c->notify = calloc(c->nnotify, sizeof(*c->notify))) == NULL) {
		c->nnotify = 0;
		perr(p, "notify", "out of memory");
		return;
	}
	cJSON_ArrayForEach(e, l) {
		parse_notify_entry(p, e, i, &c->notify[i]);
		i++;
	}
}

/* Supervise mode: "on_change", "stop_signal", "stop_grace", "env". */
void
parse_supervise(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(root, "on_change");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "env"), *e;
	const char *sig = NULL;
	size_t i, j;
	char sub[320];

	c->stop_signal = SIGTERM;
	c->stop_grace_ms = CONFIG_DEFAULT_STOP_GRACE_MS;
	if (get_string(p, "", root, "stop_signal", &sig) == 1 &&
	    (c->stop_signal = signal_number(sig)) == 0)
		perr(p, "stop_signal", "unknown signal \"%s\"", sig);
	(void)get_duration(p, "stop_grace", root, &c->stop_grace_ms);
	if (cJSON_IsString(oc) && strcmp(oc->valuestring, "restart") == 0)
		c->on_change = ON_CHANGE_RESTART;
	else if (cJSON_IsObject(oc)) {
		static const char *const keys[] = { "signal", NULL };

		check_keys(p, "on_change", oc, keys);
		if (get_string(p, "on_change", oc, "signal", &sig) != 1 ||
		    (c->on_change_signal = signal_number(sig)) == 0)
			perr(p, "on_change.signal", "must be a signal name "
			    "such as \"HUP\"");
		c->on_change = ON_CHANGE_SIGNAL;
	} else if (oc != NULL)
		perr(p, "on_change", "must be \"restart\" or "
		    "{\"signal\": \"HUP\"}");
	if (env == NULL)
		return;
	if (!cJSON_IsObject(env)) {
		perr(p, "env", "must be an object: {\"VARIABLE\": \"object "
		    "name\"}");
		return;
	}
	c->nenv = (size_t)cJSON_GetArraySize(env);
	if (c->nenv == 0)
		return;
	if ((c->env = calloc(c->nenv, sizeof(*c->env))) == NULL) {
		c->nenv = 0;
		return;
	}
	i = 0;
	cJSON_ArrayForEach(e, env) {
		snprintf(sub, sizeof(sub), "env.%s", e->string);
		if (!word_valid(e->string, 1, 255, "_") ||
		    isdigit((unsigned char)e->string[0]))
			perr(p, sub, "invalid variable name");
		else if (!cJSON_IsString(e))
			perr(p, sub, "must name an object");
		else {
			for (j = 0; j < c->nobjects; j++)
				if ((c->objects[j].name != NULL &&
				    strcmp(c->objects[j].name,
				    e->valuestring) == 0) ||
				    (c->objects[j].alias != NULL &&
				    strcmp(c->objects[j].alias,
				    e->valuestring) == 0))
					break;
			if (j == c->nobjects)
				perr(p, sub, "no object named \"%s\"",
				    e->valuestring);
			c->env[i].var = strdup(e->string);
			c->env[i].object = strdup(e->valuestring);
		}
		i++;
	}
	/* The environment of a running process cannot change. */
	if (c->on_change == ON_CHANGE_SIGNAL)
		perr(p, "on_change", "env needs \"restart\": a running "
		    "process's environment cannot change");
	c->on_change = ON_CHANGE_RESTART;
}

/*
 * "listen": "HOST:PORT" with a numeric IPv4 address, "[IPv6]:PORT", or
 * ":PORT" for every address.  Port 0 asks for an ephemeral port (logged).
 */
void
parse_listen(struct parser *p, const cJSON *root, struct akvd_config *c)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->listen_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->listen_addr;
	const char *s, *colon, *port;
	char host[INET6_ADDRSTRLEN + 2], sv[SHOW_LEN], *end;
	size_t hlen;
	unsigned long n;
	long max;

	c->ready_max_failed = CONFIG_DEFAULT_READY_MAX_FAILED;
	if (get_int(p, "ready_max_failed_intervals", root, 0,
	    MAX_READY_FAILED, &max) == 1)
		c->ready_max_failed = (unsigned)max;
	if (get_string(p, "", root, "listen", &s) != 1)
		return;
	if ((colon = strrchr(s, ':')) == NULL ||
	    (s[0] == '[' && (colon == s + 1 || colon[-1] != ']'))) {
		perr(p, "listen", "\"%s\" is not HOST:PORT (e.g. "
		    "\"127.0.0.1:9090\", \"[::1]:9090\", \":9090\")",
		    show(sv, s));
		return;
	}
	port = colon + 1;
	errno = 0;
	n = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end != '\0' || errno != 0 ||
	    n > 65535) {
		perr(p, "listen", "invalid port \"%s\" (0 to 65535)",
		    show(sv, port));
		return;
	}
	hlen = (size_t)(colon - s);
	memset(&c->listen_addr, 0, sizeof(c->listen_addr));
	if (hlen == 0) {
		/* Every address: IPv6 and IPv4 (status.c falls back). */
		c->listen_any = 1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)n);
		c->listen_addrlen = sizeof(*sin6);
		if (asprintf(&c->listen, ":%lu", n) == -1)
			c->listen = NULL;
	} else if (s[0] == '[' && colon[-1] == ']' &&
	    hlen - 2 < sizeof(host)) {
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			perr(p, "listen", "\"%s\" is not a numeric IPv6 "
			    "address", show(sv, host));
			return;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)n);
		c->listen_addrlen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (asprintf(&c->listen, "[%s]:%lu", host, n) == -1)
			c->listen = NULL;
	} else {
		if (hlen >= sizeof(host) || memchr(s, ':', hlen) != NULL) {
			perr(p, "listen", "an IPv6 address must be in "
			    "brackets: \"[::1]:9090\"");
			return;
		}
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			perr(p, "listen", "\"%s\" is not a numeric IP address "
			    "(host names are not resolved)", show(sv, host));
			return;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)n);
		c->listen_addrlen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		if (asprintf(&c->listen, "%s:%lu", host, n) == -1)
			c->listen = NULL;
	}
	if (c->listen == NULL)
		perr(p, "listen", "out of memory");
}
