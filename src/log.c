/*
 * log.c - one line per event on stderr, as text or JSON.
 *
 * Under systemd with stderr connected to the journal (JOURNAL_STREAM names
 * stderr's device and inode, see systemd.exec(5)), each line starts with
 * the sd-daemon(3) priority prefix ("<3>" error, "<4>" warn, "<6>" info,
 * "<7>" debug), which journald strips and stores as the priority, and a
 * text line carries no timestamp: the journal has its own.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_format	log_fmt = LOG_TEXT;
static enum log_level	log_min = LOG_INFO;

static int		log_journal;	/* stderr is the journal's stream */

static const char *const level_names[] = { "debug", "info", "warn", "error" };
/* sd-daemon(3) / syslog(3) priorities of the levels. */
static const char level_prio[] = { '7', '6', '4', '3' };

int
log_journal_stream(const char *js, int fd)
{
	struct stat st;
	uintmax_t dev, ino;
	int n = 0;

	if (js == NULL ||
	    sscanf(js, "%" SCNuMAX ":%" SCNuMAX "%n", &dev, &ino, &n) != 2 ||
	    js[n] != '\0')
		return (0);
	if (fstat(fd, &st) == -1)
		return (0);
	return ((uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino);
}

void
log_init(enum log_format fmt, enum log_level lvl)
{
	int saved = errno;

	log_fmt = fmt;
	log_min = lvl;
	log_journal = log_journal_stream(getenv("JOURNAL_STREAM"),
	    STDERR_FILENO);
	errno = saved;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return (0);
		}
	}
	return (-1);
}

int
log_format_parse(const char *s, enum log_format *out)
{

	if (strcmp(s, "text") == 0)
		*out = LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_JSON;
	else
		return (-1);
	return (0);
}

int
log_enabled(enum log_level lvl)
{

	return (lvl >= log_min);
}

/*
 * log_repeat_due(n): nonzero if the ${n}th identical event in a row
 * (counting from 1) is worth a log line: the 1st, 2nd, 4th, 8th...  An
 * outage is then logged at growing intervals instead of flooding the log;
 * a caller logs every change of reason and restarts its count there.
 */
int
log_repeat_due(unsigned n)
{

	return (n > 0 && (n & (n - 1)) == 0);
}

static void
put_time(struct buf *b)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_appendf(b, "%s.%03dZ", ts, (int)(tv.tv_usec / 1000));
}

/* Append ${s} as the inside of a JSON string. */
static void
put_json_str(struct buf *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_appendf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_append(b, "\\n", 2);
		else if (*p == '\r')
			buf_append(b, "\\r", 2);
		else if (*p == '\t')
			buf_append(b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f)
			buf_appendf(b, "\\u%04x", *p);
		else
			buf_append(b, p, 1);
	}
}

/* Append ${s} as a text-format field value, quoted when needed. */
static void
put_text_val(struct buf *b, const char *s)
{
	const unsigned char *p;
	int quote = (*s == '\0');

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == 0x7f)
			quote = 1;
	if (!quote) {
		buf_append(b, s, strlen(s));
		return;
	}
	buf_append(b, "\"", 1);
	put_json_str(b, s);
	buf_append(b, "\"", 1);
}

/* Text messages are free-form but must stay on one line. */
static void
put_text_msg(struct buf *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			buf_append(b, " ", 1);
		else if (*p < 0x20 || *p == 0x7f)
			buf_appendf(b, "\\x%02x", *p);
		else
			buf_append(b, p, 1);
	}
}

static void
emit(enum log_level lvl, const char *msg, va_list kv)
{
	struct buf b = BUF_INIT;
	const char *k, *v;
	int saved = errno;

	if (log_journal)
		buf_appendf(&b, "<%c>", level_prio[lvl]);
	if (log_fmt == LOG_JSON) {
		buf_append(&b, "{\"time\":\"", 9);
		put_time(&b);
		buf_appendf(&b, "\",\"level\":\"%s\",\"msg\":\"",
		    level_names[lvl]);
		put_json_str(&b, msg);
		buf_append(&b, "\"", 1);
	} else if (log_journal) {
		buf_appendf(&b, "%-5s ", level_names[lvl]);
		put_text_msg(&b, msg);
	} else {
		put_time(&b);
		buf_appendf(&b, " %-5s ", level_names[lvl]);
		put_text_msg(&b, msg);
	}
	while ((k = va_arg(kv, const char *)) != NULL) {
		v = va_arg(kv, const char *);
		if (v == NULL)
			continue;
		if (log_fmt == LOG_JSON) {
			buf_append(&b, ",\"", 2);
			put_json_str(&b, k);
			buf_append(&b, "\":\"", 3);
			put_json_str(&b, v);
			buf_append(&b, "\"", 1);
		} else {
			buf_appendf(&b, " %s=", k);
			put_text_val(&b, v);
		}
	}
	if (log_fmt == LOG_JSON)
		buf_append(&b, "}", 1);
	buf_append(&b, "\n", 1);
	if (b.data != NULL)
		fwrite(b.data, 1, b.len, stderr);
	fflush(stderr);
	buf_wipe(&b);
	errno = saved;
}

static void
emit_kv(enum log_level lvl, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	emit(lvl, msg, ap);
	va_end(ap);
}

void
log_kv(enum log_level lvl, const char *msg, ...)
{
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, msg);
	emit(lvl, msg, ap);
	va_end(ap);
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;

	if (lvl < log_min)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	errno = saved;
	emit_kv(lvl, line, (const char *)NULL);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
