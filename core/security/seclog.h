/**
 * @file seclog.h  Security events: one line each, in the PBX's log (at
 * warn) and in a file of their own that fail2ban reads
 * (contrib/fail2ban/), with the date, the event and the remote address:
 *
 *   2026-11-27 03:55:01.123 lunapbx[4242]: SECURITY AuthFailed
 *     remote=192.0.2.7 port=5060 transport=udp user="100" method=REGISTER
 *     reason="wrong secret"
 *
 * (one line in the file).  What a request says (a user name, a method)
 * goes through seclog_quote(): quoted, with \" and \xNN escapes, cut at
 * 64 characters, so no request can write a line or a remote= of its own.
 *  The lines are capped (SECLOG_RATE a second,
 * bursts of SECLOG_BURST): a flood of events costs one "Suppressed" line
 * saying how many were left out, not a flood of lines.
 */

struct sa;

enum { SECLOG_RATE = 50, SECLOG_BURST = 200 };

int  seclog_open(const char *path);
void seclog_close(void);
const char *seclog_path(void);
void seclog_event(const char *event, const struct sa *src, const char *tp,
		  const char *fmt, ...);
uint64_t seclog_count(void);
const char *seclog_quote(char *buf, size_t sz, const struct pl *val);
