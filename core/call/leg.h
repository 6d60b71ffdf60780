/**
 * @file leg.h  A leg: one SIP dialog of the PBX and its media (RTP stream,
 * video stream, negotiated codec, hold state).
 *
 * A leg is made by an incoming INVITE (leg_incoming) or by the PBX dialling
 * out (leg_connect).  It does not belong to a coroutine: a call holds it
 * (leg_set_holder), a bridge may join it to others (leg_set_bridge), and
 * it moves between them.  A leg that nothing holds and no bridge has is
 * hung up: nothing is ever left ringing or talking to nobody.
 *
 * Whoever cares about a leg watches it (leg_watch, one slot each).  The
 * one that decides how the leg's SDP relates to another leg's (its bridge)
 * sets the media handler, asked before a re-INVITE is answered.
 *
 * Include media/codec.h first.
 */

struct leg;
struct endpoint;
struct legmedia;
struct mbuf;
struct pbx;
struct sdpneg;
struct sip;
struct sip_msg;
struct sipsess;
struct stream;

enum leg_state {
	LEG_NEW = 0,     /**< INVITE received, or sent, no answer yet     */
	LEG_EARLY,       /**< 18x sent or received                        */
	LEG_ANSWERED,    /**< 200 sent or received                        */
	LEG_ENDED,       /**< hung up, cancelled or failed                */
};

enum leg_event {
	LEG_EV_PROGRESS = 0, /**< outgoing: a 18x (leg_progress_sdp: with SDP) */
	LEG_EV_ANSWER,       /**< outgoing: answered                          */
	LEG_EV_MEDIA,        /**< the far end changed its media (re-INVITE,
				  the ACK of a late offer)                    */
	LEG_EV_DTMF,         /**< a digit (legmedia: queued, or to a sink)    */
	LEG_EV_OP_DONE,      /**< a media operation ended (legmedia)          */
	LEG_EV_REFER,        /**< a transfer request arrived (leg_refer)      */
	LEG_EV_CLOSED,       /**< the dialog is over (leg_code says why)      */
	LEG_EV_BRIDGE,       /**< news of its (mixing) bridge for its holder:
				  it left it, talks, was sent a note          */
	LEG_EV_STATE,        /**< its state changed (to observers only: the
				  dialog's trying/early/confirmed for BLF)    */
};

typedef void (leg_event_h)(struct leg *leg, enum leg_event ev, void *arg);

/**
 * Who hears a leg's events, in this order: its terminated media (which
 * routes digits), the dial that rings it, the bridge it is in, the call
 * that holds it.  One watcher per slot; the slot is read again before each
 * delivery, so a watcher that leaves during an event is not called.
 */
enum leg_slot { LEG_W_MEDIA = 0, LEG_W_DIAL, LEG_W_BRIDGE, LEG_W_HOLDER,
		LEG_W_MAX };

/**
 * The far end offers new media (a re-INVITE) or answers ours: the media
 * handler (a bridge) shapes the answer before it goes (@a offer true) and
 * follows what was agreed (@a offer false).
 */
typedef void (leg_media_h)(struct leg *leg, bool offer, void *arg);

/** SIP INFO in the leg's dialog (DTMF relay): the handler replies. */
typedef void (leg_info_h)(struct leg *leg, struct sip *sip,
			  const struct sip_msg *msg, void *arg);

/** A transfer request (REFER) of the leg's party, accepted with 202. */
struct leg_refer {
	char *to;                  /**< Refer-To URI, without its headers  */
	char *user;                /**< its user part ("" when none)       */
	struct pl callid;          /**< Replaces, when an attended transfer */
	struct pl to_tag, from_tag;
	bool replaces;
	bool subscribed;           /**< NOTIFYs expected (not Refer-Sub: false) */
	char *buf;                 /**< what the pl point into             */
};

/** What a leg dialled by the PBX is (leg_connect). */
struct leg_dial {
	const char *uri;           /**< Request-URI and To                 */
	const char *from_uri;      /**< NULL: sip:<from_num>@<us>          */
	const char *from_num;
	const char *from_name;
	const uint8_t *codecs;     /**< to offer, CODEC_NONE ends          */
	struct stream *stream;     /**< shared by the forks of one dial    */
	struct stream *vstream;    /**< NULL: no video offered             */
	const struct sdpneg *video_src;  /**< the video formats to offer   */
	sip_auth_h *authh;         /**< answers 401/407; NULL: none        */
	void *aarg;
	const char *xhdrs;         /**< extra headers, CRLF-ended lines    */
	struct endpoint *ep;       /**< what is dialled (codecs, name)     */
};

int  leg_incoming(struct leg **legp, struct pbx *pbx,
		  const struct sip_msg *msg, struct endpoint *ep);
int  leg_connect(struct leg **legp, struct pbx *pbx,
		 const struct leg_dial *d);

/* answering an incoming leg, and ending any leg */
int  leg_ringing(struct leg *leg);
int  leg_progress(struct leg *leg);
int  leg_answer(struct leg *leg);
int  leg_answer_sdp(struct leg *leg, uint16_t scode);
void leg_hangup(struct leg *leg, uint16_t code);

/** The dialog a leg is, as RFC 4235 and RFC 3891 name it: NULL for a
 *  part not known yet (our tag of an incoming leg comes with its ACK). */
struct leg_dialog_id {
	const char *callid;
	const char *ltag;          /**< the PBX's tag                       */
	const char *rtag;          /**< the phone's tag                     */
};

/* watching */
void leg_watch(struct leg *leg, enum leg_slot slot, leg_event_h *h,
	       void *arg);
void leg_unwatch(struct leg *leg, enum leg_slot slot, void *arg);
int  leg_observe(leg_event_h *h, void *arg);
void leg_unobserve(leg_event_h *h, void *arg);
void leg_set_media_handler(struct leg *leg, leg_media_h *h, void *arg);
void leg_set_info_handler(struct leg *leg, leg_info_h *h, void *arg);
void leg_emit(struct leg *leg, enum leg_event ev);

/* who has it */
void leg_set_holder(struct leg *leg, void *holder);
void *leg_holder(const struct leg *leg);
void leg_set_bridge(struct leg *leg, void *bridge);
void *leg_bridge(const struct leg *leg);

/* media, for bridges and dials */
int  leg_media_alloc(struct leg *leg);
int  leg_match(struct leg *a, struct leg *b);
int  leg_reoffer(struct leg *leg);
int  leg_mirror_offer(struct leg *from, struct leg *to);
bool leg_remote_holds(const struct leg *leg);
void leg_set_local_dir(struct leg *leg, enum sdp_dir dir);
int  leg_early_sdp(struct leg *leg, const struct sip_msg *msg);
void leg_set_codec(struct leg *leg, enum codec_id codec);
void leg_keep_codec(struct leg *leg, enum codec_id codec);
bool leg_offered(const struct leg *leg, enum codec_id codec);
size_t leg_offered_codecs(const struct leg *leg, uint8_t *out, size_t max);
void leg_set_capture(struct leg *leg, bool on);

/* video between two legs (leg_video.c) */
int  leg_video_dial_stream(const struct leg *caller, struct stream **vsp);
void leg_video_bridge(struct leg *a, struct leg *b);
void leg_video_connect(struct leg *a, struct leg *b);
void leg_video_offer_in(struct leg *x, struct leg *y);
void leg_video_mirror(struct leg *from, struct leg *to);
void leg_video_answer_in(struct leg *y, struct leg *x);

/* media statistics (leg_stats.c; include media/rtpstat.h first) */
struct leg_stats;
int  leg_stats(const struct leg *leg, struct leg_stats *ls);

/* transfer requests (leg_refer.c) */
const struct leg_refer *leg_refer(const struct leg *leg);
int  leg_replaces_parse(const struct pl *s, struct pl *callid,
			struct pl *to_tag, struct pl *from_tag);
int  leg_refer_notify(struct leg *leg, uint16_t scode, const char *reason);
void leg_set_transfer(struct leg *leg, bool allowed);
bool leg_transfer_allowed(const struct leg *leg);

/* facts */
uint64_t leg_id(const struct leg *leg);
enum leg_state leg_state(const struct leg *leg);
const char *leg_state_name(enum leg_state st);
bool leg_closed(const struct leg *leg);
bool leg_inbound(const struct leg *leg);
bool leg_late_offer(const struct leg *leg);
uint16_t leg_code(const struct leg *leg);
uint16_t leg_progress_code(const struct leg *leg);
bool leg_progress_sdp(const struct leg *leg);
enum codec_id leg_codec(const struct leg *leg);
struct sdpneg *leg_sdp(const struct leg *leg);
struct stream *leg_stream(const struct leg *leg);
struct stream *leg_vstream(const struct leg *leg);
struct sipsess *leg_sess(const struct leg *leg);
struct endpoint *leg_endpoint(const struct leg *leg);
struct pbx *leg_pbx(const struct leg *leg);
const char *leg_uri(const struct leg *leg);
const char *leg_cid_num(const struct leg *leg);
const char *leg_cid_name(const struct leg *leg);
const struct sip_msg *leg_invite(const struct leg *leg);
struct legmedia *leg_media(const struct leg *leg);
void leg_set_media(struct leg *leg, struct legmedia *lm);
uint64_t leg_started(const struct leg *leg);
uint64_t leg_answered(const struct leg *leg);
bool leg_rx_seen(struct leg *leg, uint64_t rx, uint64_t now);
uint64_t leg_rx_since(const struct leg *leg);

/* which dialog it is (leg_dialog.c) */
bool leg_matches_dialog(const struct leg *leg, const struct pl *callid,
			const struct pl *tag1, const struct pl *tag2);
void leg_dialog_id(const struct leg *leg, struct leg_dialog_id *id);
const char *leg_far_num(const struct leg *leg);
const char *leg_far_name(const struct leg *leg);
int  leg_set_cid(struct leg *leg, const char *num, const char *name);

/* every live leg (the console; INVITE/Replaces and REFER look them up) */
typedef bool (leg_apply_h)(struct leg *leg, void *arg);
struct leg *leg_apply(leg_apply_h *h, void *arg);
uint32_t leg_count(void);
struct leg *leg_find(uint64_t id);
