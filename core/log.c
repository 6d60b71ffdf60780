/**
 * @file log.c  Logging to stderr, plus optional sinks (the console follows
 * the log through one).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <re.h>
#include "log.h"

enum { MAX_SINKS = 16 };

static struct {
	enum log_level level;
	struct { log_sink_h *h; void *arg; } sinks[MAX_SINKS];
	bool journal;
} logger = { LOG_INFO, {{0}}, false };

static const char *names[] = { "error", "warn", "info", "debug" };


void log_set_level(enum log_level level)
{
	logger.level = level;
}


/** stderr goes to systemd's journal: each line starts with its syslog
 *  priority ("<3>" error ... "<7>" debug) and no time (the journal has
 *  it). */
void log_set_journal(bool on)
{
	logger.journal = on;
}


enum log_level log_level(void)
{
	return logger.level;
}


const char *log_level_name(enum log_level level)
{
	return level <= LOG_DEBUG ? names[level] : "?";
}


int log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (0 == str_casecmp(name, names[i])) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return EINVAL;
}


void log_add_sink(log_sink_h *sinkh, void *arg)
{
	for (int i = 0; i < MAX_SINKS; i++) {
		if (!logger.sinks[i].h) {
			logger.sinks[i].h = sinkh;
			logger.sinks[i].arg = arg;
			return;
		}
	}
}


void log_remove_sink(log_sink_h *sinkh, void *arg)
{
	for (int i = 0; i < MAX_SINKS; i++) {
		if (logger.sinks[i].h == sinkh && logger.sinks[i].arg == arg)
			logger.sinks[i].h = NULL;
	}
}


void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n, t;
	static const int prio[] = { 3, 4, 6, 7 };

	if (level > logger.level)
		return;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = re_snprintf(line, sizeof(line), "%02d:%02d:%02d.%03d %-5s ",
			tm.tm_hour, tm.tm_min, tm.tm_sec,
			(int)(tv.tv_usec / 1000), names[level]);
	if (n < 0)
		n = 0;
	t = n >= 13 ? 13 : 0;   /* the time: "HH:MM:SS.mmm " */

	va_start(ap, fmt);
	(void)re_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);

	if (logger.journal)
		fprintf(stderr, "<%d>%s\n", prio[level], line + t);
	else
		fprintf(stderr, "%s\n", line);

	for (int i = 0; i < MAX_SINKS; i++) {
		if (logger.sinks[i].h)
			logger.sinks[i].h(level, line, logger.sinks[i].arg);
	}
}


/**
 * A block of several lines asked for explicitly (the SIP trace): printed
 * whole whatever the level, and handed to the sinks as an info line
 * (without its last line end: a sink ends each line itself).
 */
void log_block(const char *text)
{
	size_t n = strlen(text);
	char *copy = NULL;

	fputs(text, stderr);
	if (n && text[n - 1] == '\n')
		(void)re_sdprintf(&copy, "%b", text, n - 1);

	for (int i = 0; i < MAX_SINKS; i++) {
		if (logger.sinks[i].h)
			logger.sinks[i].h(LOG_INFO, copy ? copy : text,
					  logger.sinks[i].arg);
	}
	mem_deref(copy);
}
