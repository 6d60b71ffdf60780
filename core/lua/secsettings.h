/**
 * @file secsettings.h  pbx.settings { security = {...} } and the
 * endpoints' permit, deny and call_limit, checked and turned into the C
 * side's settings (README, Security).
 */
#include <lua.h>

struct acl;
struct endpoint;
struct sec_settings;

void secsettings_defaults(struct sec_settings *sec);
int  secsettings_read(lua_State *L, int settings, struct sec_settings *sec,
		      struct acl **trusted, struct acl **guest,
		      char *errbuf, size_t errsz);
int  secsettings_endpoint(lua_State *L, int t, struct endpoint *ep,
			  char *errbuf, size_t errsz);
