/**
 * @file event.c  Spec of the event bus (core/event/) and of Lua tables to
 * and from JSON (core/lua/luajson.c), which pbx.emit and pbx.on use.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include <lualib.h>
#include "event/event.h"
#include "lua/luajson.h"
#include "tap.h"

struct seen {
	unsigned n;
	char names[8][64];
	char json[512];
	struct event *kept;
};


static void handler(struct event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		str_ncpy(s->names[s->n], event_name(ev), sizeof(s->names[0]));
	++s->n;
	str_ncpy(s->json, event_json(ev, NULL), sizeof(s->json));
	if (!s->kept)
		s->kept = mem_ref(ev);   /* a subscriber may keep one */
}


static void test_bus(void)
{
	struct event_sub *a = NULL, *b = NULL;
	struct seen sa, sb;
	struct event *ev;
	uint64_t seq0 = event_published();

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	ok(!event_wanted(), "nobody subscribed: no event is wanted");

	ok(0 == event_subscribe(&a, handler, &sa), "a subscribes");
	ok(0 == event_subscribe(&b, handler, &sb), "b subscribes");
	is_int(event_subscribers(), 2, "two subscribers");
	ok(event_wanted(), "now events are wanted");

	ok(0 == event_alloc(&ev, "hangup"), "an event named hangup");
	ok(0 == event_int(ev, "leg", 12) && 0 == event_str(ev, "cause",
	   "busy \"x\"") && 0 == event_str(ev, "none", NULL) &&
	   0 == event_bool(ev, "in", true) && 0 == event_double(ev, "d", 0.5),
	   "fields: int, string (quotes), NULL (nothing), bool, double");
	event_publish(ev);
	is_int(sa.n, 1, "a heard it once");
	is_int(sb.n, 1, "b heard it once");
	is_str(sa.names[0], "hangup", "by its name");
	is_int(event_published(), seq0 + 1, "one more published");
	ok(strstr(sa.json, "\"event\":\"hangup\"") &&
	   strstr(sa.json, "\"leg\":12") &&
	   strstr(sa.json, "\"cause\":\"busy \\\"x\\\"\"") &&
	   strstr(sa.json, "\"in\":true") && !strstr(sa.json, "none") &&
	   strstr(sa.json, "\"seq\":") && strstr(sa.json, "\"time\":"),
	   "its JSON: event, seq, time and the fields, escaped: %s", sa.json);
	ok(sa.kept == sb.kept, "both got the same event (JSON made once)");

	b = mem_deref(b);
	ok(0 == event_alloc(&ev, "answered"), "another event");
	event_publish(ev);
	is_int(sa.n, 2, "a hears it");
	is_int(sb.n, 1, "b, unsubscribed, does not");

	ok(EINVAL == event_alloc(&ev, "bad name"), "a name with a space is"
	   " refused");
	ok(EINVAL == event_alloc(&ev, ""), "an empty name is refused");
	ok(event_name_valid("wallboard.agent-state_2"), "letters, digits,"
	   " . _ - are fine");

	a = mem_deref(a);
	ok(!event_wanted(), "the last one left: no event wanted");
	mem_deref(sa.kept);
	mem_deref(sb.kept);
}


static void test_luajson(void)
{
	lua_State *L = luaL_newstate();
	struct odict *o = NULL;
	char err[128] = "", *json = NULL;

	luaL_openlibs(L);
	(void)luaL_dostring(L, "return { a = 1, b = 'x', c = true, d = 1.5,"
			    " list = { 1, 'two', { k = 'v' } }, obj = { z = 0 } }");
	ok(0 == luajson_to_odict(L, -1, &o, err, sizeof(err)),
	   "a nested table converts (%s)", err);
	ok(0 == re_sdprintf(&json, "%H", json_encode_odict, o), "and encodes");
	ok(json && strstr(json, "\"list\":[1,\"two\",{\"k\":\"v\"}]") &&
	   strstr(json, "\"a\":1") && strstr(json, "\"c\":true") &&
	   strstr(json, "\"d\":1.5"), "arrays stay arrays, objects objects:"
	   " %s", json);
	json = mem_deref(json);

	luajson_push(L, o);
	lua_setglobal(L, "t");
	(void)luaL_dostring(L, "return t.list[3].k == 'v' and t.a == 1 and"
			    " math.type(t.a) == 'integer' and t.d == 1.5 and"
			    " t.c == true and #t.list == 3");
	ok(lua_toboolean(L, -1), "and back to Lua: the same values, types");
	o = mem_deref(o);

	(void)luaL_dostring(L, "local t = {} t.self = t return t");
	ok(EINVAL == luajson_to_odict(L, -1, &o, err, sizeof(err)) && !o,
	   "a cycle is refused: %s", err);
	(void)luaL_dostring(L, "return { f = print }");
	ok(EINVAL == luajson_to_odict(L, -1, &o, err, sizeof(err)),
	   "a function is refused: %s", err);

	lua_close(L);
}


int main(void)
{
	struct leakcheck lc;

	leak_begin(&lc);
	test_bus();
	leak_end(&lc, "the bus, its events and subscriptions");

	leak_begin(&lc);
	test_luajson();
	leak_end(&lc, "tables to and from odicts");

	return done_testing();
}
