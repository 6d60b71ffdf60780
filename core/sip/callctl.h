/**
 * @file callctl.h  Calls seen and steered from outside their dialplan, by
 * the console: what calls() shows, hangup(id), originate{...}.
 */

struct call;
struct pbx;

/** A call at a glance; the strings belong to the call. */
struct call_info {
	uint64_t id;
	const char *state;       /**< "ringing" while an originate rings */
	bool originated;         /**< the PBX placed it                  */
	uint64_t age_ms;
	const char *codec;       /**< of the caller's leg                */
	const char *peer_codec;  /**< of the bridged leg                 */
	const char *caller, *caller_name, *endpoint;
	const char *exten, *context;
	const char *peer;        /**< the bridged leg's endpoint         */
	const char *peer_uri;
	const char *wait;        /**< "dial", "sleep" or NULL            */
	uint32_t ringing;        /**< legs ringing now                   */
	const void *script;      /**< its coroutine (luart_script_info)  */
};

struct call *call_find(const struct pbx *pbx, uint64_t id);
void call_info(const struct call *call, struct call_info *ci);
void call_terminate(struct call *call, uint16_t code);

struct originate_opts {
	const char *context;     /**< NULL: the endpoint's               */
	const char *exten;
	uint32_t timeout_s;      /**< ring at most this long; 0 = 30 s   */
	const char *caller_name; /**< what the phone shows               */
	const char *caller_num;
};

int  originate_start(struct pbx *pbx, const char *target,
		     const struct originate_opts *opts, uint64_t *idp,
		     char *errbuf, size_t errsz);
bool originate_cancel(struct call *call, uint16_t code);
uint32_t originate_ringing(const struct call *call);
