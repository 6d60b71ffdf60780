/**
 * @file pcap.h  A pcap file writer: the classic libpcap format that
 * Wireshark and tshark open.
 *
 * The PBX sees payloads with their addresses (a SIP message, an RTP
 * packet), not frames; each record is such a payload wrapped in IPv4 or
 * IPv6 and UDP or TCP headers made up for it (link type "raw IP").  TCP
 * sequence numbers follow each direction of a connection, so Wireshark
 * reassembles and dissects SIP over TCP as it would from the wire.
 */

struct pcapw;
struct sa;

enum pcapw_proto { PCAPW_TCP = 6, PCAPW_UDP = 17 };

enum {
	PCAPW_LINKTYPE_RAW = 101,   /**< LINKTYPE_RAW: IPv4 or IPv6 */
	PCAPW_SNAPLEN = 65535,
};

int  pcapw_open(struct pcapw **wp, const char *path);
int  pcapw_write(struct pcapw *w, uint64_t ts_us, enum pcapw_proto proto,
		 const struct sa *src, const struct sa *dst,
		 const uint8_t *data, size_t len);
uint64_t pcapw_now(void);
uint64_t pcapw_records(const struct pcapw *w);
const char *pcapw_path(const struct pcapw *w);
