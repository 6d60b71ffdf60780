/**
 * @file rtpstat.h  What one leg's stream saw: RTP counters, loss and jitter
 * (RFC 3550 A.1, A.8), the RTCP both ways, and the round-trip time.
 *
 * The counters are kept on the relay's hot path, so updating them costs a
 * few additions and one clock read (vDSO: no system call), never an
 * allocation.  RTCP (a packet every few seconds) is read without
 * allocation too: the SR a phone sends, the report blocks it sends about
 * what it received.  The round-trip time needs no clock in common with the
 * phone: an SR that leaves toward the phone (relayed from the other leg, or
 * our own) is remembered with the time it left; the phone's report block
 * naming that SR (LSR) says how long it held it (DLSR): RTT = now - left -
 * DLSR, the PBX <-> phone time of this leg alone.
 */

enum { RTPSTAT_SR_KEEP = 4 };

/** The part anyone may read (call:stats(), the hang-up log line). */
struct stream_stats {
	uint64_t rx_packets, rx_bytes;   /**< RTP from the phone        */
	uint64_t tx_packets, tx_bytes;   /**< RTP to the phone          */
	uint64_t rx_rtcp, tx_rtcp;       /**< RTCP packets each way     */
	uint32_t lost;         /**< from the phone, sequence numbers      */
	uint32_t dropped;      /**< not forwarded: no peer, unknown type  */
	uint32_t jitter_us;    /**< interarrival jitter from the phone    */
	int32_t  rtt_us;       /**< PBX <-> phone, -1 until measured      */
	int32_t  remote_lost;  /**< the phone's report of what it lost of
				    what we sent, -1 until it reports     */
	uint32_t remote_jitter_us;
	uint32_t clock_rate;   /**< of the payload, for the jitter        */
};

struct rtpstat {
	struct stream_stats pub;

	/* sequence and jitter of what arrives (RFC 3550 A.1, A.8) */
	uint32_t ssrc;
	uint16_t max_seq;
	bool seq_init;
	uint32_t cycles, base_seq, received;
	uint32_t lost_before;        /* of earlier SSRCs                */
	uint32_t expected_prior, received_prior;   /* for our RR        */
	int32_t transit;
	uint32_t jitter;             /* timestamp units, times 16       */

	/* the phone's last SR, for the LSR/DLSR of our reports */
	uint32_t sr_key;
	uint64_t sr_at_us;

	/* SRs that left toward the phone, to match its LSR */
	struct { uint32_t key; uint64_t at_us; } sent[RTPSTAT_SR_KEEP];
	unsigned sent_idx;

	/* what we sent ourselves (the SR's sender info) */
	uint32_t own_packets, own_octets;
	uint32_t own_ts;
	uint64_t own_at_us;
	bool own_sent;               /* since our last report            */
};

struct mbuf;
struct re_printf;

uint64_t rtpstat_now_us(void);
void rtpstat_init(struct rtpstat *st, uint32_t clock_rate);
void rtpstat_set_clock(struct rtpstat *st, uint32_t clock_rate);
void rtpstat_rtp_in(struct rtpstat *st, const uint8_t *p, size_t len,
		    uint64_t now_us);
void rtpstat_rtcp_in(struct rtpstat *st, const uint8_t *p, size_t len,
		     uint64_t now_us);
void rtpstat_rtcp_out(struct rtpstat *st, const uint8_t *p, size_t len,
		      uint64_t now_us);
void rtpstat_own_rtp(struct rtpstat *st, uint32_t ts, size_t payload_len,
		     uint64_t now_us);
int  rtpstat_report(struct rtpstat *st, struct mbuf *mb, uint32_t ssrc,
		    const char *cname, uint64_t now_us);
int  rtpstat_print(struct re_printf *pf, const struct stream_stats *s);
