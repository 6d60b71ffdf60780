/**
 * @file bind_event.c  The event bus seen from Lua.
 *
 *   _core.emit(name [, fields])   publish a custom event (pbx.emit)
 *
 * and the delivery of events to the generation's pbx.on handlers: the
 * generation in force subscribes to the bus when it has handlers (none:
 * publishers build no events for it), queues what comes, and runs its
 * handlers on the next loop turn, each as a run of its own under the
 * instruction limit, never inside the C code that published (a hang-up
 * half done).  A new generation's handlers replace the old ones at the
 * reload; events queued before it go to the new ones.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "event/event.h"
#include "lua/luajson.h"
#include "lua/runtime.h"

/* Events waiting for the Lua handlers: beyond this, dropped (logged). */
enum { MAX_PENDING = 10000 };

struct pending {
	struct le le;
	struct event *ev;
};

static struct {
	struct luart *rt;
	struct event_sub *sub;
	struct list q;
	uint32_t n;
	uint64_t dropped;
	struct tmr tmr;
} lev;


static void pending_destructor(void *arg)
{
	struct pending *p = arg;

	list_unlink(&p->le);
	mem_deref(p->ev);
}


/* The handlers of @a name (and "*") of the generation in force, for the
 * event table on top of the stack. */
static void run_handlers(lua_State *L, const char *name)
{
	static const char *keys[2];
	int evt = lua_gettop(L);

	keys[0] = name;
	keys[1] = "*";
	luart_push_generation(lev.rt, L);
	if (!lua_istable(L, -1) || lua_getfield(L, -1, "on") != LUA_TTABLE) {
		lua_settop(L, evt - 1);
		return;
	}

	for (int k = 0; k < 2; k++) {
		if (lua_getfield(L, evt + 2, keys[k]) != LUA_TTABLE) {
			lua_pop(L, 1);
			continue;
		}
		for (lua_Integer i = 1; lua_rawgeti(L, -1, i) ==
			     LUA_TFUNCTION; i++) {
			lua_pushvalue(L, evt);
			if (luart_pcall(lev.rt, 1, 0) != LUA_OK) {
				log_warn("pbx.on(\"%s\"): %s", keys[k],
					 lua_tostring(L, -1));
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 2);   /* nil, the list */
	}
	lua_settop(L, evt - 1);
}


static void drain(void *arg)
{
	lua_State *L = luart_state(lev.rt);
	(void)arg;

	/* what the handlers publish waits for the next turn */
	for (uint32_t n = lev.n; n && lev.q.head; n--) {
		struct pending *p = lev.q.head->data;
		struct event *ev = mem_ref(p->ev);

		mem_deref(p);
		--lev.n;
		luajson_push(L, event_fields(ev));
		run_handlers(L, event_name(ev));
		mem_deref(ev);
	}
	if (lev.q.head)
		tmr_start(&lev.tmr, 0, drain, NULL);
}


static void event_handler(struct event *ev, void *arg)
{
	struct pending *p;
	(void)arg;

	if (lev.n >= MAX_PENDING) {
		if (!lev.dropped++)
			log_warn("pbx.on: %u events wait for the Lua handlers:"
				 " dropping (are they slow?)", lev.n);
		return;
	}

	p = mem_zalloc(sizeof(*p), pending_destructor);
	if (!p)
		return;
	p->ev = mem_ref(ev);
	list_append(&lev.q, &p->le, p);
	if (!lev.n++)
		tmr_start(&lev.tmr, 0, drain, NULL);
}


/**
 * A generation comes into force (its export table at @a idx): subscribe
 * when it has pbx.on handlers, else stop hearing events.
 */
void luart_events_apply(lua_State *L, int idx)
{
	bool any = false;

	if (lua_getfield(L, idx, "on") == LUA_TTABLE) {
		lua_pushnil(L);
		if (lua_next(L, -2)) {
			any = true;
			lua_pop(L, 2);
		}
	}
	lua_pop(L, 1);

	if (any && !lev.sub)
		(void)event_subscribe(&lev.sub, event_handler, NULL);
	else if (!any)
		lev.sub = mem_deref(lev.sub);
}


/* pbx.emit(name [, fields]) */
static int l_emit(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	struct event *ev;
	char err[128] = "";
	int e = 0;

	luaL_argcheck(L, event_name_valid(name), 1, "a name of letters,"
		      " digits and ._- (at most 63)");
	if (!lua_isnoneornil(L, 2))
		luaL_checktype(L, 2, LUA_TTABLE);

	if (!event_wanted()) {
		lua_pushboolean(L, 0);   /* nobody listens */
		return 1;
	}

	if (event_alloc(&ev, name))
		return luaL_error(L, "pbx.emit: out of memory");

	if (lua_istable(L, 2)) {
		lua_pushnil(L);
		while (!e && lua_next(L, 2)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ?
				lua_tostring(L, -2) : NULL;

			if (!k || !strcmp(k, "event") || !strcmp(k, "seq") ||
			    !strcmp(k, "time")) {
				re_snprintf(err, sizeof(err), "fields are"
					    " named by strings other than"
					    " event, seq, time");
				e = EINVAL;
			}
			else {
				e = luajson_add(L, -1, event_fields(ev), k,
						err, sizeof(err));
			}
			lua_pop(L, 1);
		}
		if (e)
			lua_pop(L, 1);
	}
	if (e) {
		mem_deref(ev);
		return luaL_error(L, "pbx.emit: %s", err[0] ? err :
				  "out of memory");
	}

	event_publish(ev);
	lua_pushboolean(L, 1);

	return 1;
}


/* The Lua state closes: nothing more is delivered. */
static int l_close(lua_State *L)
{
	(void)L;

	lev.sub = mem_deref(lev.sub);
	tmr_cancel(&lev.tmr);
	list_flush(&lev.q);
	lev.n = 0;
	lev.rt = NULL;

	return 0;
}


/** Add emit to the _core table on top of the stack. */
void luart_open_events(lua_State *L)
{
	lev.rt = luart_from_state(L);
	tmr_init(&lev.tmr);
	list_init(&lev.q);

	lua_pushcfunction(L, l_emit);
	lua_setfield(L, -2, "emit");

	/* closed with the state (a userdata's finalizer, set from C) */
	lua_newuserdatauv(L, 1, 0);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, l_close);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, "lunapbx.events");
}
