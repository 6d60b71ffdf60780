/**
 * @file call_priv.h  What call.c and dial.c share about a call.  Nothing
 * else includes this: the rest of the PBX sees call.h.
 */

/** One SIP dialog of a call, with its media. */
struct leg {
	struct le le;              /**< in call->forks while ringing   */
	struct call *call;
	struct sipsess *sess;
	struct sdpneg *sdp;
	struct stream *stream;     /**< forks of one dial share it     */
	struct stream *vstream;    /**< video, while negotiated        */
	struct endpoint *ep;       /**< the endpoint dialled (ref)     */
	char *uri;
	enum codec_id codec;       /**< what this leg sends and gets   */
	bool inbound;
	bool late_offer;           /**< its INVITE had no SDP: we offer */
	bool established;
	bool closed;
	uint16_t scode;            /**< its final failure code         */
};

struct call {
	struct le le;              /**< in pbx->calls                  */
	struct pbx *pbx;
	uint64_t id;
	uint64_t started;          /**< tmr_jiffies() at INVITE        */
	enum call_state state;
	struct leg a;              /**< the caller                     */
	struct sip_msg *invite;    /**< the caller's INVITE (ref)      */
	struct sip_strans *st;     /**< its transaction, until accepted */
	struct endpoint *ep;       /**< the caller's endpoint, or NULL */
	char *context, *exten;
	char *cid_num, *cid_name;
	struct mbuf *xhdrs;        /**< headers added to dialled legs  */
	uint16_t final_code;       /**< answer for an unanswered end   */
	bool capture;              /**< its RTP goes to the pcap capture */

	/* what the coroutine waits for */
	enum call_wait wait;
	struct tmr wait_tmr;
	void *script;              /**< owned by the Lua runtime       */
	bool script_done;

	/* dialling and the bridge */
	struct list forks;         /**< struct leg, still ringing      */
	struct leg *peer;          /**< the answered far leg           */
	struct stream *fork_stream;
	struct stream *fork_vstream;
	struct leg_stats *callee_stats;  /**< of the last bridged callee */
	struct tmr dial_tmr;
	enum dial_status dial_status;
	uint16_t dial_code;
	bool ringing_sent;

	struct callmedia *media;   /**< PBX-terminated media (callmedia.c) */
	void *outbound;            /**< originate.c's, freed with it   */
};

int  call_reply(struct call *call, uint16_t scode, const char *reason,
		struct mbuf *desc);
int  call_reply_sdp(struct call *call, uint16_t scode, const char *reason,
		    bool own_media);
int  leg_media_alloc(struct call *call, struct leg *leg);
void leg_close(struct leg *leg);
void call_wake(struct call *call);
void call_maybe_free(struct call *call);
void dial_relink_media(struct call *call);
void caller_gone(struct call *call);
int  a_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
		     void *arg);
int  a_answer_handler(const struct sip_msg *msg, void *arg);
void a_close_handler(int err, const struct sip_msg *msg, void *arg);
int  call_outbound(struct call **callp, struct pbx *pbx,
		   struct endpoint *ep, const char *context,
		   const char *exten);
void dial_abort(struct call *call, enum dial_status st, uint16_t code);
void dial_caller_gone(struct call *call);
int  dial_mirror_offer(struct leg *from, struct leg *to);
void dial_free(struct call *call);

/* legstats.c */
void legstats_leg_end(struct call *call, const struct leg *leg);

/* video.c */
int  video_dial_start(struct call *call);
int  video_fork_offer(struct call *call, struct leg *leg);
void video_bridge(struct call *call, struct leg *b);
void video_offer_in(struct call *call, struct leg *x);
void video_mirror(struct call *call, struct leg *from, struct leg *to);
void video_answer_in(struct call *call, struct leg *y);
void video_own_media(struct call *call);
