/**
 * @file sandbox.h  What a generation of Lua code sees: the base library
 * (Lua's, less what could block or exit the PBX, plus _core) and a fresh
 * environment with its own require().  Used by runtime.c only.
 */

struct luart;

void sandbox_build_base(lua_State *L, struct luart *rt);
void sandbox_push_env(lua_State *L, const char *lib_dir, const char *cfg_dir);
