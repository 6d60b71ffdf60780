/**
 * @file callev.h  The call model's events on the bus (core/event): what
 * a WebSocket client and pbx.on see of calls, legs and bridges.  Each
 * function costs one test when nobody listens.
 *
 * Include call/leg.h first.
 */

struct bridge;
struct call;
struct leg;

void callev_leg(const struct leg *leg, enum leg_event ev);
void callev_leg_state(const struct leg *leg, const char *name);
void callev_call(const struct call *call, const char *name);
void callev_bridged(const struct bridge *br, const struct leg *leg);
void callev_transferred(const struct leg *leg, const struct call *from,
			const struct call *to, const char *how);
void callev_dtmf(const struct leg *leg, char digit, const char *src);

/** What the call model counted since the start (Prometheus metrics). */
enum { CALLEV_JITTER_BUCKETS = 6 };
struct callev_counters {
	uint64_t calls;            /**< calls started (newcall)         */
	uint64_t answered;         /**< legs answered                   */
	uint64_t legs_ended;       /**< legs hung up, failed, cancelled */
	uint64_t ended_by[5];      /**< normal busy cancelled noanswer failed */
	uint64_t bridged;          /**< legs joined to a bridge of 2+   */
	uint64_t transfers;
	uint64_t dtmf;
	uint64_t rtp_rx, rtp_lost; /**< audio of the legs that ended    */
	uint64_t jitter_legs;      /**< legs whose jitter is counted    */
	double jitter_sum;         /**< s                               */
	uint64_t jitter_le[CALLEV_JITTER_BUCKETS];   /**< cumulative    */
	double cps;                /**< calls a second, the last 10 s   */
};
extern const double callev_jitter_bounds[CALLEV_JITTER_BUCKETS];
extern const char *const callev_causes[5];
void callev_counters(struct callev_counters *c);
