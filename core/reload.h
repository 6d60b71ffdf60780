/**
 * @file reload.h  Reloading the configuration: on SIGHUP, from the console
 * (reload()), and when a Lua file of its folder changes (the setting
 * reload_on_change).  On any error the running configuration stays.
 */

struct pbx;

int  reload_now(struct pbx *pbx, char *errbuf, size_t errsz,
		uint32_t *usec);
void reload_watch_update(struct pbx *pbx);
void reload_close(void);
