/**
 * @file bridge.h  A bridge: legs that hear each other.
 *
 * Two legs are joined by the RTP relay (steered, raw sends: the fast
 * path).  Three and more are mixed (media/mixer.h: each hears the others,
 * never itself), and so is a room (bridge_room(): a named bridge, a
 * conference, mixed whatever its count); a plain bridge back to two legs
 * goes back to the relay.  A mixed leg's RTP goes through its terminated
 * media (call/legmedia.h), whose own prompts take the mix's place while
 * they play.
 *
 * A bridge follows its legs: a re-INVITE of one is answered and passed on
 * to the other (video narrowed to what both accept), a hold gives the
 * other party music on hold (or is passed through, per endpoint), digits
 * are relayed, and the feature keys of a leg that has a feature map are
 * caught (relayed bridges; a room's digits queue on each leg for its own
 * script).  What calls for a decision (a leg hung up, keyed a feature or
 * asked to transfer; in a mixing bridge also: started or stopped talking;
 * in a room: joined, was removed) is queued as an event for the bridge's
 * owner (a call's script); a bridge that no script owns any more keeps
 * its legs talking and ends when one of them leaves (a room: when the
 * last one does).
 *
 * In a mixing bridge each leg also has events of its own for whoever
 * holds it (a room's participant script, bridge_next_member_event()):
 * its talking on and off, and notes other scripts send it
 * (bridge_notify()); its holder is told with LEG_EV_BRIDGE, and when the
 * leg leaves the bridge.
 */

struct bridge;
struct featmap;
struct leg;
struct player;
struct recorder;

enum bridge_ev {
	BRIDGE_EV_HANGUP = 1,  /**< a leg hung up and left                */
	BRIDGE_EV_LEFT,        /**< a leg was taken into another bridge   */
	BRIDGE_EV_FEATURE,     /**< a leg keyed a feature (.feature)      */
	BRIDGE_EV_REFER,       /**< a leg asked for a transfer (REFER)    */
	BRIDGE_EV_JOIN,        /**< a room: a leg joined                  */
	BRIDGE_EV_TALK,        /**< mixing: a leg talks, or stops (.talking) */
};

struct bridge_event {
	enum bridge_ev type;
	struct leg *leg;           /**< a reference: mem_deref() it       */
	char feature[24];
	bool talking;
};

/** What one leg of a mixing bridge is told (its holder's script). */
enum bridge_mev {
	BRIDGE_MEV_TALK = 1,   /**< it talks, or stops (.talking)         */
	BRIDGE_MEV_NOTE,       /**< another script sent it a note          */
};

struct bridge_mevent {
	enum bridge_mev type;
	bool talking;
	char note[32];
};

/** One leg of a mixing bridge, at a glance. */
struct bridge_member_info {
	bool mixed;                /**< its media is in the mixer           */
	bool muted, deaf, talking, moh;
	int talk_volume, listen_volume;   /**< 3 dB steps, -4..4         */
	uint64_t joined_ms;        /**< in the bridge this long            */
	uint64_t talk_ms;          /**< talking this long (muted or not)   */
};

/** An event was queued (bridge_next_event() takes it). */
typedef void (bridge_event_h)(struct bridge *br, void *arg);

/** A leg joined (@a joined) or left a bridge: the observers of every
 *  bridge (call records) are told after the bridge changed. */
typedef void (bridge_obs_h)(struct bridge *br, struct leg *leg, bool joined,
			    void *arg);

int  bridge_observe(bridge_obs_h *h, void *arg);
void bridge_unobserve(bridge_obs_h *h, void *arg);
int  bridge_alloc(struct bridge **brp);
int  bridge_add(struct bridge *br, struct leg *leg, struct featmap *map);
int  bridge_remove(struct bridge *br, struct leg *leg);
int  bridge_replace(struct bridge *br, struct leg *old, struct leg *leg);
void bridge_hangup(struct bridge *br, uint16_t code);
void bridge_set_owner(struct bridge *br, bridge_event_h *h, void *owner);
void *bridge_owner(const struct bridge *br);
bool bridge_next_event(struct bridge *br, struct bridge_event *ev);
bool bridge_has_event(const struct bridge *br);
uint32_t bridge_count(const struct bridge *br);
struct leg *bridge_leg(const struct bridge *br, uint32_t i);
struct leg *bridge_other(const struct bridge *br, const struct leg *leg);
uint64_t bridge_id(const struct bridge *br);
uint32_t bridge_total(void);
typedef bool (bridge_apply_h)(struct bridge *br, void *arg);
struct bridge *bridge_apply(bridge_apply_h *h, void *arg);

/* rooms and mixing (bridge_mix.c) */
int  bridge_room(struct bridge **brp, const char *name);
struct bridge *bridge_find_room(const char *name);
struct bridge *bridge_room_apply(bridge_apply_h *h, void *arg);
const char *bridge_room_name(const struct bridge *br);
bool bridge_ended(const struct bridge *br);
bool bridge_mixing(const struct bridge *br);
int  bridge_mute(struct bridge *br, struct leg *leg, bool on);
int  bridge_deaf(struct bridge *br, struct leg *leg, bool on);
int  bridge_set_volume(struct bridge *br, struct leg *leg, bool listen,
		       int step);
int  bridge_member(const struct bridge *br, const struct leg *leg,
		   struct bridge_member_info *mi);
int  bridge_member_moh(struct bridge *br, struct leg *leg, const char *cls,
		       char *errbuf, size_t errsz);
int  bridge_notify(struct bridge *br, struct leg *leg, const char *note);
bool bridge_next_member_event(struct bridge *br, const struct leg *leg,
			      struct bridge_mevent *ev);
int  bridge_play(struct bridge *br, struct player *p);
uint32_t bridge_playing(const struct bridge *br);
int  bridge_record(struct bridge *br, struct recorder *rec);
int  bridge_record_stop(struct bridge *br);
const char *bridge_recording(const struct bridge *br);
uint32_t bridge_mixer_members(const struct bridge *br);
