/**
 * @file seclog.c  Security events (see seclog.h).
 *
 * The file is opened in append mode and written with one write() per
 * line, so a crash never leaves half a line and logrotate's copytruncate
 * or a move followed by a reload (which reopens it) both work.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "security/seclog.h"

static struct {
	int fd;
	char *path;
	uint64_t tokens_ms;     /* token bucket, in ms of rate */
	uint64_t last_ms;
	uint32_t suppressed;
	uint64_t lines;         /* events logged since start */
} sl = { -1, NULL, 0, 0, 0, 0 };


/** Write events to @a path too (NULL: only to the PBX's log). */
int seclog_open(const char *path)
{
	int fd = -1;

	if (path && *path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0640);
		if (fd < 0)
			return errno;
	}

	seclog_close();
	sl.fd = fd;
	if (path && *path && str_dup(&sl.path, path)) {
		seclog_close();
		return ENOMEM;
	}

	return 0;
}


void seclog_close(void)
{
	if (sl.fd >= 0)
		(void)close(sl.fd);
	sl.fd = -1;
	sl.path = mem_deref(sl.path);
}


const char *seclog_path(void)
{
	return sl.path;
}


uint64_t seclog_count(void)
{
	return sl.lines;
}


/* The cap: SECLOG_RATE lines a second, SECLOG_BURST at once. */
static bool take_token(void)
{
	const uint64_t cap = (uint64_t)SECLOG_BURST * 1000;
	uint64_t now = tmr_jiffies();

	if (!sl.last_ms) {
		sl.tokens_ms = cap;
		sl.last_ms = now;
	}
	sl.tokens_ms += (now - sl.last_ms) * SECLOG_RATE;
	if (sl.tokens_ms > cap)
		sl.tokens_ms = cap;
	sl.last_ms = now;

	if (sl.tokens_ms < 1000)
		return false;

	sl.tokens_ms -= 1000;
	return true;
}


static void emit(const char *body)
{
	char line[1200];
	struct timeval tv;
	struct tm tm;
	int n;

	log_warn("security: %s", body);
	++sl.lines;
	if (sl.fd < 0)
		return;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = re_snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03d"
			" lunapbx[%d]: SECURITY %s\n", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			tm.tm_sec, (int)(tv.tv_usec / 1000), (int)getpid(),
			body);
	if (n > 0 && write(sl.fd, line, (size_t)n) != n)
		log_debug("security log %s: short write", sl.path);
}


/**
 * One event: its name, where it came from, and details as "key=value"
 * pairs (values with spaces quoted by the caller).
 */
void seclog_event(const char *event, const struct sa *src, const char *tp,
		  const char *fmt, ...)
{
	char body[1024], details[800] = "";
	va_list ap;

	if (!take_token()) {
		++sl.suppressed;
		return;
	}
	if (sl.suppressed) {
		re_snprintf(body, sizeof(body), "Suppressed count=%u (over %u"
			    " events a second)", sl.suppressed, SECLOG_RATE);
		sl.suppressed = 0;
		emit(body);
	}

	if (fmt) {
		va_start(ap, fmt);
		(void)re_vsnprintf(details, sizeof(details), fmt, ap);
		va_end(ap);
	}

	if (src && sa_isset(src, SA_ADDR))
		re_snprintf(body, sizeof(body), "%s remote=%j port=%u"
			    " transport=%s%s%s", event, src, sa_port(src),
			    tp ? tp : "-", *details ? " " : "", details);
	else
		re_snprintf(body, sizeof(body), "%s%s%s", event,
			    *details ? " " : "", details);
	emit(body);
}


/**
 * A value from a request, made harmless for the log: in quotes, with
 * quotes, backslashes and anything but printable ASCII escaped, at most
 * 64 characters of it.
 */
const char *seclog_quote(char *buf, size_t sz, const struct pl *val)
{
	size_t n = 0;

	if (!buf || sz < 8)
		return "";

	buf[n++] = '"';
	for (size_t i = 0; val && i < val->l && i < 64 && n + 6 < sz; i++) {
		unsigned char c = (unsigned char)val->p[i];

		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		}
		else if (c < 0x20 || c > 0x7e) {
			(void)re_snprintf(buf + n, sz - n, "\\x%02x", c);
			n += 4;
		}
		else {
			buf[n++] = (char)c;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';

	return buf;
}
