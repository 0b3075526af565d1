/*
 * log.h - one line per event on stderr, as text or JSON.
 *
 * Never pass a secret value, an access token, an assertion or a client
 * secret to any function here: the logger does not redact.
 *
 * Functions here save and restore errno.
 */
#ifndef AKVD_LOG_H
#define AKVD_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/*
 * log_init(format, level): set the output format and the minimum level, and
 * find out whether stderr is the journal's stream (JOURNAL_STREAM): then
 * every line starts with its sd-daemon(3) priority ("<3>" error, "<4>"
 * warn, "<6>" info, "<7>" debug) and a text line has no timestamp.
 */
void	log_init(enum log_format, enum log_level);

/* log_journal_stream(js, fd): nonzero if ${js}, a JOURNAL_STREAM value
 * "DEV:INODE" (NULL if unset), names the file open on ${fd}. */
int	log_journal_stream(const char *, int);

/* log_level_parse(s, out) / log_format_parse(s, out): 0 on success, -1 if
 * ${s} is not one of debug|info|warn|error / text|json. */
int	log_level_parse(const char *, enum log_level *);
int	log_format_parse(const char *, enum log_format *);

/* log_enabled(level): nonzero if a message at ${level} would be printed. */
int	log_enabled(enum log_level);

/*
 * log_repeat_due(n): nonzero if the ${n}th identical event in a row
 * (counting from 1) is worth a log line: the 1st, 2nd, 4th, 8th...  An
 * outage is then logged at growing intervals instead of flooding the log;
 * a caller logs every change of reason and restarts its count there.
 */
int	log_repeat_due(unsigned);

/*
 * log_kv(level, msg, key1, value1, ..., NULL): print ${msg} with string
 * fields.  A NULL value skips its key.  Text:
 *   2026-11-22T16:07:00.123Z info  secret updated object=db version=abc
 * JSON:
 *   {"time":"...","level":"info","msg":"secret updated","object":"db",...}
 */
void	log_kv(enum log_level, const char *, ...)
	    __attribute__((sentinel));

/* log_msg(level, fmt, ...): print a printf-formatted message. */
void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(enum log_level, const char *, va_list);

#endif /* !AKVD_LOG_H */
