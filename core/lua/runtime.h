/**
 * @file runtime.h  The Lua side of the PBX: one lua_State, one coroutine
 * per call, and configuration generations.
 *
 * A generation is the configuration compiled in a fresh environment.  A
 * reload makes a new one and switches to it only when it compiled and ran
 * without error; a call keeps the generation it started with until it
 * ends, since its coroutine holds that generation's functions.
 */
#include <lua.h>
#include <lauxlib.h>

/* leg:redirect(fn, ..., vars): what the next script started runs */
#define LUART_REDIRECT "lunapbx.redirect"

struct luart;
struct bridge;
struct call;
struct dial;
struct featmap;
struct leg;
struct pbx;

int  luart_alloc(struct luart **rtp, struct pbx *pbx);
int  luart_load(struct luart *rt, const char *path, char *errbuf,
		size_t errsz);
lua_State *luart_state(const struct luart *rt);
uint32_t luart_generation(const struct luart *rt);
size_t luart_memory(const struct luart *rt);
size_t luart_memory_limit(const struct luart *rt);
int  luart_pcall(struct luart *rt, int nargs, int nresults);
int  luart_require(struct luart *rt, const char *name);
void luart_push_generation(struct luart *rt, lua_State *L);
size_t luart_script_info(const void *script, char *func, size_t fsz,
			 char *line, size_t lsz);

/* for the bindings */
/** What a waiting primitive waits for: push the results and return
 *  their count, or -1 when it is not there yet. */
typedef int (luart_ready_h)(lua_State *L, struct call *call,
			    lua_KContext ctx);
int  luart_await(lua_State *L, uint32_t timeout_ms, const char *what,
		 luart_ready_h *ready, lua_KContext ctx);
struct pbx *luart_pbx(lua_State *L);
struct call *luart_current_call(lua_State *L);
int  luart_push_call(lua_State *L, struct call *call);
void luart_open_call(lua_State *L);
void luart_call_methods(lua_State *L, const luaL_Reg *fns);
struct call *luart_check_own_call(lua_State *L, const char *own);
void luart_open_media(lua_State *L);
void luart_open_cdr(lua_State *L);
int  luart_push_cdr(lua_State *L, struct call *call);
struct player;
struct recorder;
struct player *luart_sounds(lua_State *L, int idx, const char *what,
			    const char *lang, uint64_t *samples);
struct recorder *luart_recorder(lua_State *L, const char *rel, int opts,
				uint32_t hold, const char *what);
struct call *luart_check_call(lua_State *L, int idx);
void luart_open_capture(lua_State *L);
void luart_open_voicemail(lua_State *L);
struct hash;
int  bind_vm_config(lua_State *L, int idx, struct hash **boxesp,
		    char *errbuf, size_t errsz);
void luart_open_stats(lua_State *L);
void luart_open_core(lua_State *L, struct luart *rt);
struct luart *luart_from_state(lua_State *L);
void luart_forget_call(lua_State *L, struct call *call);
struct call *luart_test_call(lua_State *L, int idx);

/* legs, dials, bridges (bind_leg.c, bind_dial.c, bind_bridge.c) */
void luart_open_leg(lua_State *L);
void luart_open_leg_core(lua_State *L);
void luart_leg_methods(lua_State *L, const luaL_Reg *fns);
int  luart_push_leg(lua_State *L, struct leg *leg);
struct leg *luart_check_leg(lua_State *L, int idx);
struct leg *luart_check_own_leg(lua_State *L, const char *what);
struct leg *luart_acting_leg(lua_State *L, int idx);
const char *luart_endpoint_name(const struct leg *leg);
int  luart_result(lua_State *L, int err);
void luart_open_dial(lua_State *L);
void luart_open_calldial(lua_State *L);
int  luart_push_dial(lua_State *L, struct dial *d);
struct dial *luart_test_dial(lua_State *L, int idx);
int  luart_dial_result(lua_State *L, struct dial *d);
struct featmap *luart_featmap(lua_State *L, int idx, const char *what);
size_t luart_targets(lua_State *L, int idx, const char **t, size_t max);
void luart_open_bridge(lua_State *L);
int  luart_push_bridge(lua_State *L, struct bridge *br);
struct bridge *luart_test_bridge(lua_State *L, int idx);
int  luart_bridge_event(lua_State *L, struct bridge *br);
struct bridge *luart_check_bridge(lua_State *L, int idx);
void luart_open_room(lua_State *L);
void luart_open_wait(lua_State *L);
void luart_open_store(lua_State *L);
void luart_open_signal(lua_State *L);
void luart_open_presence(lua_State *L);
struct signal *luart_test_signal(lua_State *L, int idx);
int  luart_signal_take(lua_State *L, int idx);
uint64_t luart_signal_call(lua_State *L, int idx);
void luart_open_events(lua_State *L);
void luart_open_api(lua_State *L);
void luart_events_apply(lua_State *L, int idx);
