/**
 * @file console.h  The console: `lunapbx -r` talks to the running PBX over
 * a Unix socket in its state folder (owner only) and gets a Lua prompt
 * evaluated inside the PBX, on its event loop.
 *
 * The server (console.c) moves frames (frame.h); what a chunk means, how
 * values print and what completes is Lua's business (lua/lunapbx/
 * console.lua), on C functions from bind_console.c.  The client is
 * client.c.
 */

#include <lua.h>

struct console;
struct pbx;

int  console_alloc(struct console **conp, struct pbx *pbx);
int  console_write(struct console *con, const char *s, size_t n);
bool console_follow(struct console *con, int on);
void console_open_lib(lua_State *L, struct console *con);

int  console_client(const char *state_dir, const char *code, bool follow);
