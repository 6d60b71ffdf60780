/**
 * @file bind_trunk.h  Trunks between Lua and C: what a configuration
 * declared (pbx.register, pbx.peer, qualify on endpoints) read into a
 * struct trunk_cfg, and `_core.trunks()`, their state.
 */
#include <lua.h>

struct trunk_cfg;

int  bind_trunk_config(lua_State *L, int idx, struct trunk_cfg **cfgp,
		       char *errbuf, size_t errsz);
void luart_open_trunks(lua_State *L);
