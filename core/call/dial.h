/**
 * @file dial.h  A dial: ring every contact of some targets at once, tell
 * the caller leg (when there is one) how it goes, and when one answers,
 * bridge it with the caller; or say how it failed, in Asterisk's
 * DIALSTATUS words.
 *
 * The caller hears what the far end sends (180 relayed, early media),
 * or, already answered, a ringback tone.  A caller that hangs up does not
 * stop the dial by itself: the owner is told (dial_caller_gone) and
 * decides (cancel it, or give the dial another caller: a transfer).
 *
 * Another phone may take a dial that rings (dial_pickup: Asterisk's
 * pickup): the forks are cancelled and the picker plays the part of the
 * callee who answered.
 */

struct bridge;
struct dial;
struct featmap;
struct leg;
struct pbx;

/** Asterisk's DIALSTATUS vocabulary. */
enum dial_status {
	DIAL_NONE = 0,        /**< still ringing                        */
	DIAL_ANSWER,
	DIAL_BUSY,
	DIAL_NOANSWER,
	DIAL_CANCEL,
	DIAL_CHANUNAVAIL,
	DIAL_CONGESTION,
};

struct dial_opts {
	uint32_t timeout_ms;       /**< ring at most this long; 0 = 60 s  */
	const char *caller_name;   /**< the caller id shown; NULL: the
				        caller leg's                       */
	const char *caller_num;
	const char *number;        /**< trunks: the number to ask for     */
	const char *xhdrs;         /**< headers added, CRLF-ended lines   */
	const char *ringback;      /**< tone for an answered caller
				        (indications syntax); NULL: none   */
	struct featmap *caller_keys;  /**< in the bridge: the caller's    */
	struct featmap *callee_keys;  /**< and the callee's feature keys  */
	bool capture;              /**< the legs' RTP to the pcap capture */
};

/** The dial ended, or its caller hung up: the owner looks. */
typedef void (dial_event_h)(struct dial *d, void *owner);

int  dial_start(struct dial **dp, struct pbx *pbx, struct leg *caller,
		const char **targets, size_t n, const struct dial_opts *opts,
		dial_event_h *h, void *owner);
void dial_cancel(struct dial *d);
int  dial_set_caller(struct dial *d, struct leg *caller);
void dial_set_owner(struct dial *d, dial_event_h *h, void *owner);
bool dial_done(const struct dial *d);
bool dial_caller_gone(const struct dial *d);
enum dial_status dial_status(const struct dial *d, uint16_t *code);
struct leg *dial_answered(const struct dial *d);
struct bridge *dial_bridge(const struct dial *d);
uint32_t dial_ringing(const struct dial *d);
uint64_t dial_id(const struct dial *d);
const char *dial_target(const struct dial *d);
const char *dial_status_name(enum dial_status st);

/* who rings, and picking it up (dial_pickup.c) */
typedef bool (dial_apply_h)(struct dial *d, void *arg);
struct dial *dial_apply(dial_apply_h *h, void *arg);
struct dial *dial_of_leg(const struct leg *leg);
struct leg *dial_caller(const struct dial *d);
struct leg *dial_fork(const struct dial *d, uint32_t i);
uint64_t dial_started(const struct dial *d);
int  dial_pickup(struct dial *d, struct leg *picker);
