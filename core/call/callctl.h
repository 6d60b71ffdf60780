/**
 * @file callctl.h  Calls seen and steered from outside their dialplan, by
 * the console: what calls() shows, hangup(id), originate{...}.
 */

struct call;
struct pbx;

/** A call at a glance; the strings belong to the call and its legs. */
struct call_info {
	uint64_t id;
	const char *state;       /**< its caller leg's; "ringing" while an
				      originate rings                    */
	bool originated;         /**< the PBX placed it                  */
	uint64_t age_ms;
	uint64_t leg;            /**< its caller leg's id (0: none yet)  */
	const char *codec;       /**< of the caller's leg                */
	const char *peer_codec;  /**< of the leg bridged with it         */
	const char *caller, *caller_name, *endpoint;
	const char *exten, *context;
	const char *peer;        /**< the bridged leg's endpoint         */
	const char *peer_uri;
	uint64_t bridge;         /**< the caller leg's bridge (0: none)  */
	const char *wait;        /**< what its script waits for, or NULL */
	uint32_t ringing;        /**< legs its dials ring now            */
	uint32_t legs;           /**< legs it holds                      */
	const void *script;      /**< its coroutine (luart_script_info)  */
};

void call_info(const struct call *call, struct call_info *ci);

/** A leg at a glance. */
struct leg_info {
	uint64_t id;
	const char *state;
	bool inbound;
	uint64_t age_ms;
	const char *uri;
	const char *endpoint;
	const char *codec;
	uint64_t call;           /**< the call that holds it (0: none)   */
	uint64_t bridge;         /**< its bridge (0: none)               */
	bool held;               /**< its phone holds the PBX            */
};

struct leg;
void leg_info(const struct leg *leg, struct leg_info *li);

struct originate_opts {
	const char *context;     /**< NULL: the endpoint's               */
	const char *exten;
	uint32_t timeout_ms;     /**< ring at most this long; 0 = 30 s   */
	const char *caller_name; /**< what the phone shows               */
	const char *caller_num;
};

int  originate_start(struct pbx *pbx, const char *target,
		     const struct originate_opts *opts, uint64_t *idp,
		     char *errbuf, size_t errsz);
