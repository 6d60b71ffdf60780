/**
 * @file leg_priv.h  The leg's own fields, shared by the files of the leg
 * module only: leg.c (its life and its SIP dialog), leg_sdp.c (re-offers,
 * hold, codecs), leg_watch.c (who hears its events), leg_get.c (what it
 * says of itself), leg_video.c (its video), leg_refer.c (transfer
 * requests), leg_dialog.c, leg_timer.c, leg_stats.c.  Everything else
 * sees leg.h.
 */

struct leg {
	struct le le;              /**< in the list of every leg       */
	struct pbx *pbx;
	uint64_t id;
	uint64_t started;          /**< tmr_jiffies() at its INVITE     */
	uint64_t answered;         /**< tmr_jiffies() at its 200; 0: not */
	enum leg_state state;
	bool inbound;
	bool late_offer;           /**< its INVITE had no SDP: we offer */
	bool established;
	bool closed;
	bool capture;              /**< its RTP goes to the pcap capture */
	bool no_transfer;          /**< REFER and transfer keys refused  */
	bool progress_sdp;         /**< its last 18x carried SDP         */
	uint16_t progress_code;
	uint16_t code;             /**< the final failure code          */

	struct sipsess *sess;
	struct sip_strans *st;     /**< incoming: until the first reply */
	struct sip_msg *invite;    /**< incoming: its INVITE (ref)      */
	struct sdpneg *sdp;
	struct stream *stream;     /**< forks of one dial share it      */
	struct stream *vstream;    /**< video, while negotiated         */
	struct endpoint *ep;       /**< the caller, or what was dialled */
	char *uri;
	char *cid_num, *cid_name;
	char *callid, *ltag, *rtag;  /**< its dialog (leg_dialog.c)     */
	char *far_num, *far_name;  /**< the other end, as its dialog
					shows it: the caller of a leg we
					dialled, the number a phone dialled */
	enum codec_id codec;       /**< what this leg sends and gets    */

	struct {
		leg_event_h *h;
		void *arg;
	} w[LEG_W_MAX];
	leg_media_h *mediah;
	void *media_arg;
	leg_info_h *infoh;
	void *info_arg;
	void *holder;
	void *bridge;
	struct legmedia *media;

	struct leg_stats *final_stats;  /**< kept when its sockets went */
	uint32_t se;               /**< session timer interval, s (0: none) */
	bool se_ours;              /**< the PBX refreshes               */
	char se_hdrs[80];          /**< what our 200 says of it         */
	struct tmr se_tmr;
	uint64_t rx_count;         /**< RTP packets at the last change  */
	uint64_t rx_since;         /**< when that count changed         */

	struct leg_refer *refer;   /**< the transfer request under way  */
	struct sipnot *not;        /**< its NOTIFYs (message/sipfrag)   */
};

/* leg_video.c */
int  legvideo_fork_offer(struct leg *leg, struct stream *vs,
			 const struct sdpneg *src);
void legvideo_own_media(struct leg *leg);
int  legvideo_media(struct leg *leg);
void legvideo_offer_alone(struct leg *leg);

/* leg_stats.c */
void legstats_close(struct leg *leg);

/* leg_watch.c */
void legwatch_observe(struct leg *leg, enum leg_event ev);

/* leg_dialog.c */
int  legdlg_incoming(struct leg *leg, const struct sip_msg *invite);
int  legdlg_outgoing(struct leg *leg, const struct leg_dial *d);
void legdlg_learn(struct leg *leg, const struct sip_msg *msg);

/* leg_timer.c */
int  legtimer_incoming(struct leg *leg, const struct sip_msg *msg,
		       struct sip *sip);
int  legtimer_request(const struct pbx *pbx, char *buf, size_t sz);
void legtimer_answer(struct leg *leg, const struct sip_msg *msg);
void legtimer_start(struct leg *leg);
void legtimer_refreshed(struct leg *leg);
void legtimer_stop(struct leg *leg);

/* leg_refer.c */
void legrefer_handler(struct sip *sip, const struct sip_msg *msg, void *arg);
void legrefer_close(struct leg *leg);
