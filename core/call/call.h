/**
 * @file call.h  A call, as the dialplan sees it: a script (a coroutine of
 * the Lua runtime) and the legs, dials and bridges it holds.
 *
 * A call starts with one leg (the caller, or the phone an originate rang)
 * and runs the dialplan for its extension.  It may hold several legs at
 * once (the caller on hold with music while it dials a transfer target),
 * give a leg to a call of its own (leg:redirect: a blind transfer), or
 * take one from another call.  When its script ends, the legs it holds
 * that are in no bridge are hung up, its dials cancelled, its bridges
 * left to go on by themselves.
 *
 * Waiting is per operation: a script waits for a dial, a bridge's event,
 * a leg's digit or hang-up, a media operation or a time, or the first of
 * several; whatever concerns what the call holds pokes its script, which
 * looks again at what it waits for (call_poke()).
 *
 * Include call/dial.h first.
 */

struct bridge;
struct call;
struct dial;
struct dial_opts;
struct endpoint;
struct leg;
struct pbx;
struct sip_msg;

/** How the PBX runs scripts (the Lua runtime registers itself). */
struct call_runner {
	int  (*start)(struct call *call, void *arg);  /**< may end at once */
	void (*wake)(void *script, void *arg);  /**< resume, next loop turn */
	void (*stop)(void *script, void *arg);  /**< drop it (shutdown)  */
	void *arg;
};

void call_set_runner(const struct call_runner *r);

/** What a call did, for the observers of every call (call records). */
enum call_obs {
	CALL_OBS_RUN = 0,   /**< its script starts, call_leg() its caller  */
	CALL_OBS_DIAL,      /**< a dial of its ended (@a d, dial_status)   */
	CALL_OBS_END,       /**< its script is over                        */
};

typedef void (call_obs_h)(struct call *call, enum call_obs ev,
			  struct dial *d, void *arg);

int  call_observe(call_obs_h *h, void *arg);
void call_unobserve(call_obs_h *h, void *arg);

int  call_incoming(struct pbx *pbx, const struct sip_msg *msg,
		   struct endpoint *ep, const char *context);
int  call_alloc(struct call **callp, struct pbx *pbx, const char *context,
		const char *exten);
int  call_run(struct call *call, struct leg *leg);
int  call_redirect(struct leg *leg, const char *context, const char *exten);
void call_script_done(struct call *call, bool failed);
void call_terminate(struct call *call, uint16_t code);
void call_close_all(void);

/* what it holds */
int  call_hold(struct call *call, struct leg *leg);
void call_release(struct call *call, struct leg *leg);
bool call_holds(const struct call *call, const struct leg *leg);
struct leg *call_leg(const struct call *call);
int  call_dial(struct call *call, struct leg *caller, const char **targets,
	       size_t n, const struct dial_opts *opts, struct dial **dp);
int  call_own_bridge(struct call *call, struct bridge *br);
void call_disown_bridge(struct call *call, struct bridge *br);

/* waiting */
void call_poke(struct call *call);
void call_wait(struct call *call, uint32_t timeout_ms, const char *what);
void call_wait_again(struct call *call);
void call_wait_end(struct call *call);
bool call_waiting(const struct call *call);
bool call_timed_out(const struct call *call);
const char *call_wait_what(const struct call *call);

/* facts and settings */
uint64_t call_id(const struct call *call);
struct pbx *call_pbx(const struct call *call);
const char *call_exten(const struct call *call);
const char *call_context(const struct call *call);
uint64_t call_started(const struct call *call);
bool call_originated(const struct call *call);
void call_set_originated(struct call *call);
void *call_script(const struct call *call);
void call_set_script(struct call *call, void *script);
int  call_add_header(struct call *call, const char *name, const char *value);
const char *call_headers(const struct call *call);
void call_set_capture(struct call *call, bool on);
bool call_capture(const struct call *call);
void call_set_final_code(struct call *call, uint16_t code);
void call_set_replaces(struct call *call, struct dial *d);
struct dial *call_replaces(const struct call *call);
void call_note_dial(struct call *call, struct dial *d);
enum dial_status call_last_dial(const struct call *call, uint16_t *code);
struct leg *call_last_callee(const struct call *call);
uint32_t call_ringing(const struct call *call);
uint32_t call_legs(const struct call *call);

typedef bool (call_apply_h)(struct call *call, void *arg);
struct call *call_apply(call_apply_h *h, void *arg);
struct call *call_find(uint64_t id);
uint32_t call_count(void);
