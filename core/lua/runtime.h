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

struct luart;
struct call;
struct pbx;

int  luart_alloc(struct luart **rtp, struct pbx *pbx);
int  luart_load(struct luart *rt, const char *path, char *errbuf,
		size_t errsz);
int  luart_call_start(struct luart *rt, struct call *call);
void luart_wake(void *script);
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
struct call *luart_current_call(lua_State *L);
int  luart_push_call(lua_State *L, struct call *call);
void luart_open_call(lua_State *L);
void luart_call_methods(lua_State *L, const luaL_Reg *fns);
struct call *luart_check_own_call(lua_State *L, const char *own);
void luart_open_media(lua_State *L);
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
