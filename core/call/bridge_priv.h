/**
 * @file bridge_priv.h  What bridge.c (legs, relay, hold, digits) and
 * bridge_mix.c (rooms, the mixer, what a room plays and records) share.
 * Nothing outside core/call/bridge*.c includes this.
 */

enum {
	BRIDGE_EVQ = 8,     /**< the owner's events not taken yet        */
	MEMBER_EVQ = 8,     /**< a mixed leg's, for its holder           */
};

struct mixer;
struct mixer_member;

struct bridge {
	struct le le;              /**< in the list of every bridge     */
	uint64_t id;
	struct list members;       /**< struct member                   */
	bridge_event_h *ownerh;
	void *owner;
	struct bridge_event evq[BRIDGE_EVQ];
	unsigned head, n;
	bool linked;               /**< the relay runs                  */
	bool self_ref;             /**< it holds itself while it has legs */

	/* mixing (bridge_mix.c) */
	struct le room_le;         /**< in the list of rooms            */
	char *room;                /**< a room's name: mixed at any count */
	bool ended;                /**< a room that emptied: name free  */
	struct mixer *mixer;       /**< NULL: relayed (or nobody)       */
	struct list annq;          /**< announcements to play (struct ann) */
	struct mixer_member *ann_mb;   /**< plays them into the mix     */
	struct player *ann_cur;
	uint32_t ann_ts, ann_idle;
	struct recorder *rec;      /**< the room's recording            */
	struct mixer_member *rec_mb;
};

struct member {
	struct le le;
	struct bridge *br;
	struct leg *leg;
	struct featmatch *fm;
	bool moh;                  /**< hears music (held, or a room's) */
	bool info_set;             /**< its INFO handler is ours        */

	/* mixing (bridge_mix.c) */
	struct mixer_member *mm;   /**< NULL: not (yet) in the mixer    */
	bool muted, deaf;
	int vol[2];                /**< talk, listen: 3 dB steps        */
	uint64_t joined;           /**< jiffies                         */
	uint64_t talk_frames;      /**< of mixers it left               */
	struct bridge_mevent evq[MEMBER_EVQ];
	unsigned eh, en;
};

/* bridge.c */
void bridge_push_event(struct bridge *br, enum bridge_ev type,
		       struct leg *leg, const char *feature, bool talking);
struct member *bridge_member_of(const struct bridge *br,
				const struct leg *leg);
int  bridge_music(struct member *m, const char *cls, char *errbuf,
		  size_t errsz);
void bridge_music_stop(struct member *m);
void bridge_relink(struct bridge *br);
struct bridge *bridge_list_apply(const struct list *lst, bridge_apply_h *h,
				 void *arg);

/* bridge_mix.c */
bool bmix_wanted(const struct bridge *br);
void bmix_added(struct bridge *br, struct member *m);
void bmix_unplug(struct member *m);
bool bmix_settle(struct bridge *br);
void bmix_media(struct member *m);
void bmix_close(struct bridge *br);
