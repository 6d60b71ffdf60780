/**
 * @file siptrace.c  The readable SIP trace (see siptrace.h).
 */
#include <time.h>
#include <re.h>
#include "log.h"
#include "sip/siptrace.h"

static bool enabled;    /* one PBX per process: one switch */


static int print_time(struct re_printf *pf, uint64_t ts_us)
{
	time_t sec = (time_t)(ts_us / 1000000);
	struct tm tm;

	localtime_r(&sec, &tm);

	return re_hprintf(pf, "%04d-%02d-%02d %02d:%02d:%02d.%06u",
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			  tm.tm_hour, tm.tm_min, tm.tm_sec,
			  (unsigned)(ts_us % 1000000));
}


static bool plain(uint8_t c)
{
	return c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f);
}


/* The message as text: CRLF ends a line, other control octets (a
 * malformed or hostile message has them) are shown as \xNN. */
static int print_body(struct re_printf *pf, const uint8_t *p, size_t len)
{
	size_t i = 0;
	int err = 0;

	while (i < len && !err) {
		size_t run = 0;

		while (i + run < len && plain(p[i + run]))
			++run;
		if (run) {
			err = re_hprintf(pf, "%b", p + i, run);
			i += run;
		}
		else if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			++i;                    /* CRLF: the LF will do */
		}
		else {
			err = re_hprintf(pf, "\\x%02x", p[i]);
			++i;
		}
	}

	return err;
}


/** The trace block of one message: header line, message, empty line
 *  (the message's own last line ends are left out: one blank line
 *  separates two blocks whether a message has a body or not). */
int siptrace_print(struct re_printf *pf, const struct sip_packet *pkt)
{
	size_t len = pkt->len;
	int err;

	while (len && (pkt->data[len - 1] == '\n' ||
		       pkt->data[len - 1] == '\r'))
		--len;

	err  = re_hprintf(pf, "--- SIP %s ", pkt->tx ? "send" : "recv");
	err |= print_time(pf, pkt->ts_us);
	err |= re_hprintf(pf, " %s %J -> %J (%zu bytes)%s%s\n",
			  sip_transp_name(pkt->tp), pkt->src, pkt->dst,
			  pkt->len, pkt->note ? " " : "",
			  pkt->note ? pkt->note : "");
	if (err)
		return err;

	err = print_body(pf, pkt->data, len);

	return err ? err : re_hprintf(pf, "\n\n");
}


/** The trace block to the log, in one piece. */
void siptrace_log(const struct sip_packet *pkt)
{
	char *text = NULL;

	if (re_sdprintf(&text, "%H", siptrace_print, pkt))
		return;

	log_block(text);
	mem_deref(text);
}


/** Switch the trace on or off (--sip-trace, pbx.trace). */
void siptrace_enable(bool on)
{
	if (on != enabled)
		log_info("sip trace %s", on ? "on" : "off");
	enabled = on;
}


bool siptrace_enabled(void)
{
	return enabled;
}
