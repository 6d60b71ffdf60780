/**
 * @file call.h  A call: the caller's leg, the dialplan coroutine that runs
 * for it, and the legs it dials (a B2BUA with media anchored in the PBX).
 *
 * Waiting primitives (dial, sleep) start here and end with luart_wake(),
 * which resumes the call's coroutine on the next loop turn.
 */

struct call;
struct endpoint;
struct pbx;
struct sip_msg;

enum call_state {
	CALL_INCOMING = 0,   /**< INVITE received, no answer yet */
	CALL_EARLY,          /**< 180/183 sent                   */
	CALL_ANSWERED,       /**< 200 sent                       */
	CALL_ENDED,          /**< caller gone or hung up         */
};

/** Asterisk's DIALSTATUS vocabulary. */
enum dial_status {
	DIAL_NONE = 0,
	DIAL_ANSWER,
	DIAL_BUSY,
	DIAL_NOANSWER,
	DIAL_CANCEL,
	DIAL_CHANUNAVAIL,
	DIAL_CONGESTION,
};

enum call_wait { WAIT_NONE = 0, WAIT_SLEEP, WAIT_DIAL, WAIT_MEDIA };

struct dial_opts {
	uint32_t timeout_s;        /**< ring at most this long; 0 = 60 s */
	const char *caller_name;   /**< override the caller id shown   */
	const char *caller_num;
	const char *number;        /**< trunks: the number to ask for  */
};

/** Where one dialled leg goes when a trunk says so (trunk.c). */
struct dial_route {
	const char *uri;           /**< Request-URI and To             */
	const char *from_uri;      /**< NULL: sip:<caller>@<us>        */
	sip_auth_h *authh;         /**< answers 401/407; NULL: none    */
	void *aarg;                /**< its argument (a mem object)    */
	struct endpoint *ep;       /**< codecs offered, name           */
};

int  call_incoming(struct pbx *pbx, const struct sip_msg *msg,
		   struct endpoint *ep, const char *context);
int  call_answer(struct call *call);
int  call_ringing(struct call *call);
int  call_progress(struct call *call);
void call_hangup(struct call *call, uint16_t code);
int  call_dial(struct call *call, const char **targets, size_t n,
	       const struct dial_opts *opts);
int  dial_fork(struct call *call, const struct dial_route *rt,
	       const struct dial_opts *opts);
int  call_sleep(struct call *call, uint32_t ms);
void call_script_done(struct call *call, bool failed);
int  call_add_header(struct call *call, const char *name, const char *value);
void call_set_capture(struct call *call, bool on);

uint64_t call_id(const struct call *call);
enum call_state call_state(const struct call *call);
const char *call_state_name(enum call_state st);
bool call_hungup(const struct call *call);
enum call_wait call_waiting(const struct call *call);
const char *call_exten(const struct call *call);
const char *call_context(const struct call *call);
const char *call_caller_num(const struct call *call);
const char *call_caller_name(const struct call *call);
const char *call_endpoint_name(const struct call *call);
const struct sip_msg *call_invite(const struct call *call);
enum dial_status call_dial_status(const struct call *call, uint16_t *code);
const char *dial_status_name(enum dial_status st);
uint64_t call_started(const struct call *call);
const char *call_codec_name(const struct call *call);
const char *call_peer_name(const struct call *call);
void *call_script(const struct call *call);
void call_set_script(struct call *call, void *script);
