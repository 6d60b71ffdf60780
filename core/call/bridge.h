/**
 * @file bridge.h  A bridge: legs that hear each other.
 *
 * Two legs are joined by the RTP relay (steered, raw sends: the fast
 * path); the API takes any number so that a mixer can serve three and
 * more (conference rooms) behind it without the services changing.
 *
 * A bridge follows its legs: a re-INVITE of one is answered and passed on
 * to the other (video narrowed to what both accept), a hold gives the
 * other party music on hold (or is passed through, per endpoint), digits
 * are relayed, and the feature keys of a leg that has a feature map are
 * caught.  What calls for a decision (a leg hung up, keyed a feature or
 * asked to transfer) is queued as an event for the bridge's owner (a
 * call's script); a bridge that no script owns any more keeps its legs
 * talking and ends when one of them leaves.
 */

struct bridge;
struct featmap;
struct leg;

enum bridge_ev {
	BRIDGE_EV_HANGUP = 1,  /**< a leg hung up and left                */
	BRIDGE_EV_LEFT,        /**< a leg was taken into another bridge   */
	BRIDGE_EV_FEATURE,     /**< a leg keyed a feature (.feature)      */
	BRIDGE_EV_REFER,       /**< a leg asked for a transfer (REFER)    */
};

struct bridge_event {
	enum bridge_ev type;
	struct leg *leg;           /**< a reference: mem_deref() it       */
	char feature[24];
};

/** An event was queued (bridge_next_event() takes it). */
typedef void (bridge_event_h)(struct bridge *br, void *arg);

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
