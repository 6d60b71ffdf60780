/**
 * @file luamem.c  Spec of the Lua allocator (core/lua/luamem.h): the cap,
 * the per-call accounts, and what happens to them when a call ends.
 */
#include <string.h>
#include <re.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "pbx.h"
#include "lua/luamem.h"
#include "tap.h"



/* Whatever moves, the accounts add up to what Lua holds. */
static size_t sum(const struct luamem *m)
{
	size_t n = 0;

	for (uint32_t i = 0; i < m->nacct; i++)
		n += luamem_live(m, i);

	return n;
}


static void test_blocks(void)
{
	struct luamem m;
	uint32_t a, b;
	void *p, *q, *q2;

	ok(0 == luamem_init(&m, 1000), "init with a 1000-byte cap");
	p = luamem_alloc(&m, NULL, 3, 100);   /* 3: a type tag, not a size */
	is_int(m.used, 100, "a new block counts its size (the tag aside)");
	is_int(luamem_live(&m, 0), 100, "... charged to the PBX (account 0)");

	a = luamem_open(&m);
	b = luamem_open(&m);
	ok(a && b && a != b, "two calls get two accounts (%u, %u)", a, b);
	(void)luamem_switch(&m, a);
	q = luamem_alloc(&m, NULL, 0, 200);
	is_int(luamem_live(&m, a), 200, "a block made while call A runs is"
	       " A's");

	(void)luamem_switch(&m, b);
	q = luamem_alloc(&m, q, 200, 300);
	is_int(luamem_live(&m, a), 0, "call B grows A's block: B takes it"
	       " over...");
	is_int(luamem_live(&m, b), 300, "... all 300 bytes of it");

	(void)luamem_switch(&m, 0);
	p = luamem_alloc(&m, p, 100, 150);
	is_int(luamem_live(&m, 0), 150, "the PBX resizing its own block");
	q = luamem_alloc(&m, q, 300, 310);
	is_int(luamem_live(&m, b), 310, "the PBX resizing B's block leaves"
	       " it B's");

	ok(!luamem_alloc(&m, NULL, 0, 600), "over the state's cap: NULL"
	   " (Lua raises \"not enough memory\")");
	is_int(m.used, 460, "... and nothing counted");
	m.enforce = false;
	q2 = luamem_alloc(&m, NULL, 0, 600);
	ok(q2 != NULL, "between runs (enforce off) the C side's allocation"
	   " goes through: no panic outside a protected call");
	(void)luamem_alloc(&m, q2, 600, 0);
	m.enforce = true;

	m.acct_limit = 400;
	(void)luamem_switch(&m, b);
	ok(!luamem_alloc(&m, NULL, 0, 100), "over a call's cap (310 + 100 >"
	   " 400): NULL");
	ok((p = luamem_alloc(&m, p, 150, 50)) != NULL,
	   "shrinking never fails, even for a call over its cap");
	is_int(luamem_live(&m, b), 360, "... B took the block over (310 +"
	       " 50)");
	is_int(sum(&m), m.used, "accounts add up to what Lua holds");

	luamem_release(&m, b);
	is_int(luamem_live(&m, 0), 360, "call B ended: what it held is the"
	       " PBX's");
	is_int(luamem_switch(&m, 0), 0, "... and new blocks are charged to"
	       " the PBX again");
	a = luamem_open(&m);
	ok(a == b, "B's account is reused for the next call");
	(void)luamem_alloc(&m, q, 310, 0);
	is_int(luamem_live(&m, a), 0, "freeing a block of the ended call"
	       " does not credit the new one");
	is_int(luamem_live(&m, 0), 50, "... it credits the PBX");
	(void)luamem_alloc(&m, p, 50, 0);
	is_int(m.used, 0, "everything freed: 0 bytes");
	is_int(sum(&m), 0, "... and every account at 0");

	luamem_release(&m, a);
	luamem_close(&m);
}


static void test_many_accounts(void)
{
	struct luamem m;
	uint32_t ids[100];
	bool distinct = true;

	(void)luamem_init(&m, 1 << 20);
	for (int i = 0; i < 100; i++) {
		ids[i] = luamem_open(&m);
		for (int j = 0; j < i; j++)
			distinct &= ids[i] != ids[j];
	}
	ok(distinct && ids[99], "100 calls at once: 100 accounts (the table"
	   " grows)");
	for (int i = 0; i < 100; i++)
		luamem_release(&m, ids[i]);
	luamem_close(&m);
}


static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	return luamem_alloc(ud, ptr, osize, nsize);
}


static void test_lua(void)
{
	struct luamem m;
	lua_State *L, *co;
	uint32_t a;
	int nres;

	(void)luamem_init(&m, 64 << 20);
	L = lua_newstate(alloc, &m);
	luaL_openlibs(L);
	a = luamem_open(&m);

	co = lua_newthread(L);
	(void)luaL_loadstring(co, "big = string.rep('x', 1000000)"
			      " coroutine.yield() big = nil");
	(void)luamem_switch(&m, a);
	(void)lua_resume(co, L, 0, &nres);
	(void)luamem_switch(&m, 0);
	ok(luamem_live(&m, a) >= 1000000, "a coroutine keeps a 1 MB string:"
	   " its account holds it (%zu bytes)", luamem_live(&m, a));

	(void)luamem_switch(&m, a);
	(void)lua_resume(co, L, 0, &nres);
	(void)luamem_switch(&m, 0);
	lua_gc(L, LUA_GCCOLLECT);
	ok(luamem_live(&m, a) < 100000, "it drops the string, a full GC"
	   " runs (from the PBX): the account is credited (%zu bytes left)",
	   luamem_live(&m, a));

	m.acct_limit = 1 << 20;
	co = lua_newthread(L);
	(void)luaL_loadstring(co, "local t = {} for i = 1, 1e6 do"
			      " t[i] = ('y'):rep(100) .. i end");
	(void)luamem_switch(&m, a);
	ok(lua_resume(co, L, 0, &nres) == LUA_ERRMEM, "a call over its 1 MB"
	   " cap gets \"not enough memory\"");
	(void)luamem_switch(&m, 0);
	lua_settop(L, 0);
	lua_gc(L, LUA_GCCOLLECT);
	ok(luamem_live(&m, a) < 100000, "... and what it built is freed");
	is_int(sum(&m), m.used, "accounts add up to what Lua holds");

	luamem_release(&m, a);
	lua_close(L);
	is_int(m.used, 0, "lua_close: 0 bytes");
	luamem_close(&m);
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_blocks();
	test_many_accounts();
	test_lua();
	leak_end(&lc, "accounts");

	libre_close();

	return done_testing();
}
