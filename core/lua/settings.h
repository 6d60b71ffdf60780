/**
 * @file settings.h  From a generation's declarations (the table its
 * lunapbx module exports) to the C side: settings and endpoints.
 */
#include <lua.h>

struct pbx;

int settings_apply(lua_State *L, int idx, struct pbx *pbx, bool initial,
		   char *errbuf, size_t errsz);
int settings_parse_callerid(const char *s, char **name, char **num);
struct endpoint;
int settings_endpoint(lua_State *L, int t, struct endpoint **epp,
		      char *errbuf, size_t errsz);
struct pbx_http;
int settings_http(lua_State *L, int t, struct pbx_http *h, char *errbuf,
		  size_t errsz);
