/**
 * @file luajson.h  Lua values to and from libre's odict (JSON): events
 * for pbx.on handlers and from pbx.emit, HTTP commands and their results.
 */
#include <lua.h>

struct odict;

void luajson_push(lua_State *L, const struct odict *o);
int  luajson_to_odict(lua_State *L, int idx, struct odict **op,
		      char *errbuf, size_t errsz);
int  luajson_add(lua_State *L, int idx, struct odict *o, const char *key,
		 char *errbuf, size_t errsz);
