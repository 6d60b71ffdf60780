/**
 * @file stream.h  One leg's RTP/RTCP socket pair, anchored in the PBX.
 *
 * Two streams are bridged to relay media between two legs: each packet is
 * forwarded as it came (same SSRC, sequence and time stamps), its payload
 * type renumbered for the other leg and G.711 transcoded in place when the
 * legs chose different laws.  RTCP is relayed untouched.  The far address
 * latches on the first packet, since phones often send from another
 * address than their SDP says.
 *
 * A stream is two UDP sockets (RTP on an even port, RTCP on the next one),
 * or one once the phone agreed to RTCP on the RTP port (rtcp-mux, RFC
 * 5761): stream_set_mux() closes the RTCP socket.  A stream the PBX
 * terminates (not bridged: it plays, records, or drops what it gets) sends
 * its own RTCP reports every few seconds; a bridged one relays the phones'.
 */

struct stream;
struct stream_stats;   /* media/rtpstat.h */

/** A packet for a stream that is not bridged (played or recorded). */
typedef void (stream_rtp_h)(const struct rtp_header *hdr, struct mbuf *mb,
			    void *arg);

/** A packet on one of the stream's sockets (@a sock, a struct udp_sock),
 *  received from or sent to @a peer, for a capture. */
typedef void (stream_tap_h)(bool tx, void *sock, const struct sa *peer,
			    const struct mbuf *mb, void *arg);

int  stream_alloc(struct stream **sp, const struct sa *laddr,
		  uint16_t port_min, uint16_t port_max);
uint16_t stream_lport(const struct stream *s);
void stream_set_remote(struct stream *s, const struct sa *rtp,
		       const struct sa *rtcp);
void stream_set_pt_map(struct stream *s, uint8_t rx_pt, uint8_t tx_pt,
		       enum codec_id from, enum codec_id to);
void stream_clear_pt_map(struct stream *s);
void stream_set_pt_local(struct stream *s, uint8_t pt, bool local);
void stream_bridge(struct stream *a, struct stream *b);
void stream_unbridge(struct stream *s);
void stream_set_handler(struct stream *s, stream_rtp_h *rtph, void *arg);
void stream_set_mux(struct stream *s);
bool stream_muxed(const struct stream *s);
void stream_set_clock(struct stream *s, uint32_t clock_rate);
void stream_hold(struct stream *s, bool hold);
int  stream_send(struct stream *s, bool marker, uint8_t pt, uint32_t ts,
		 struct mbuf *mb);
const struct stream_stats *stream_stats(const struct stream *s);
void stream_set_tap(stream_tap_h *taph, void *arg, bool all);
void stream_tap(struct stream *s, bool on);
