/**
 * @file siptrace.h  What the PBX shows of each SIP message in or out: the
 * readable trace (one header line, then the message, as Asterisk's
 * `sip set debug on` or sngrep show it) and the pcap capture.
 *
 *   --- SIP recv 2024-05-01 12:34:56.789012 UDP 127.0.0.1:5062 -> 127.0.0.1:5060 (541 bytes)
 *   INVITE sip:900@127.0.0.1:5060 SIP/2.0
 *   ...
 */

struct re_printf;
struct sa;

/** One SIP message as it crossed the wire. */
struct sip_packet {
	bool tx;                 /**< sent by the PBX                   */
	enum sip_transp tp;
	const struct sa *src, *dst;
	const uint8_t *data;
	size_t len;
	uint64_t ts_us;          /**< wall clock, microseconds          */
	const char *note;        /**< NULL, or what was special about it */
};

int  siptrace_print(struct re_printf *pf, const struct sip_packet *pkt);
void siptrace_log(const struct sip_packet *pkt);
void siptrace_enable(bool on);
bool siptrace_enabled(void);
