/**
 * @file sdpneg.h  One leg's SDP offer/answer state, on libre's sdp module.
 *
 * The PBX anchors media, so each leg negotiates with the PBX alone: what
 * the leg declared tells which payload types to send it, what we declared
 * tells which ones it sends us.
 */

struct sdpneg;

enum { SDPNEG_TELEV_PT = 101 };

int  sdpneg_alloc(struct sdpneg **np, const struct sa *laddr, uint16_t port,
		  const uint8_t *codecs);
int  sdpneg_decode(struct sdpneg *n, struct mbuf *mb, bool offer);
int  sdpneg_encode(struct sdpneg *n, bool offer, struct mbuf **mbp);
void sdpneg_keep_only(struct sdpneg *n, enum codec_id codec);
size_t sdpneg_remote_codecs(const struct sdpneg *n, uint8_t *out, size_t max);
enum codec_id sdpneg_answered_codec(const struct sdpneg *n);
int  sdpneg_tx_pt(const struct sdpneg *n, enum codec_id codec);
int  sdpneg_rx_pt(const struct sdpneg *n, enum codec_id codec);
int  sdpneg_tx_telev_pt(const struct sdpneg *n);
int  sdpneg_rx_telev_pt(const struct sdpneg *n);
bool sdpneg_remote_addr(const struct sdpneg *n, struct sa *rtp,
			struct sa *rtcp);
enum sdp_dir sdpneg_remote_dir(const struct sdpneg *n);
void sdpneg_set_local_dir(struct sdpneg *n, enum sdp_dir dir);
void sdpneg_set_port(struct sdpneg *n, uint16_t port);
bool sdpneg_rtcp_mux(const struct sdpneg *n, bool video);

/* video: relayed as negotiated, never transcoded */
bool sdpneg_video_offered(const struct sdpneg *n);
bool sdpneg_video_active(const struct sdpneg *n);
int  sdpneg_video_offer(struct sdpneg *n, const struct sdpneg *src);
int  sdpneg_video_answer(struct sdpneg *n, const struct sdpneg *accepted);
void sdpneg_video_off(struct sdpneg *n);
bool sdpneg_video_restrict(struct sdpneg *n, const struct sdpneg *other);
size_t sdpneg_video_pt_map(const struct sdpneg *x, const struct sdpneg *y,
			   uint8_t (*pairs)[2], size_t max);
int  sdpneg_video_print(struct re_printf *pf, const struct sdpneg *n);
bool sdpneg_video_remote_addr(const struct sdpneg *n, struct sa *rtp,
			      struct sa *rtcp);
enum sdp_dir sdpneg_video_remote_dir(const struct sdpneg *n);
void sdpneg_video_set_dir(struct sdpneg *n, enum sdp_dir dir);
void sdpneg_set_vport(struct sdpneg *n, uint16_t port);
