/**
 * @file runtime.c  The Lua state, generations (the sandbox each one runs
 * in: sandbox.c), and the
 * scheduler that runs each call's dialplan in its own coroutine.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include <lualib.h>
#include "log.h"
#include "pbx.h"
#include "lua/luamem.h"
#include "lua/runtime.h"
#include "lua/settings.h"
#include "lua/sandbox.h"
#include "call/call.h"

/* A run (a call's coroutine until it yields, a configuration load, a
 * console chunk) that executes this many VM instructions is stopped: a
 * loop must never stall the event loop (and the other calls). */
enum { HOOK_STEP = 10000 };
static const uint64_t INSN_LIMIT = 50000000;

struct luart {
	struct pbx *pbx;
	lua_State *L;
	int gen_ref;             /* the generation in force (export table) */
	uint32_t gen;
	struct luamem mem;
	uint64_t insn;           /* instructions of the run in progress */
	bool stopping;           /* the run is over its limit */
};

/* The run a nested one interrupts (a reload from the console). */
struct run {
	uint64_t insn;
	bool stopping;
	bool enforce;
};

/* What a call's coroutine carries. */
struct script {
	struct luart *rt;
	struct call *call;
	lua_State *co;
	int co_ref;
	struct tmr tmr;
	uint32_t acct;           /* its share of Lua memory (luamem.h) */
	luart_ready_h *ready;    /* what it waits for (luart_await)    */
};


static int  script_start(struct call *call, void *arg);
static void script_wake(void *script, void *arg);
static void script_stop(void *script, void *arg);


static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct luart *rt = ud;

	return luamem_alloc(&rt->mem, ptr, osize, nsize);
}


struct luart *luart_from_state(lua_State *L)
{
	struct luart *rt;

	(void)lua_getallocf(L, (void **)&rt);

	return rt;
}


static struct script *script_of(lua_State *L)
{
	return *(struct script **)lua_getextraspace(L);
}


/*
 * Every thread has this hook (a thread inherits its creator's), and every
 * instruction of a run counts, in whatever coroutine it executes.  Over
 * the limit, the thread is hooked at each instruction and each raises: a
 * pcall around the loop catches one error, not the next one.
 */
static void count_hook(lua_State *L, lua_Debug *ar)
{
	struct luart *rt = luart_from_state(L);
	(void)ar;

	if (!rt->stopping && lua_gethookcount(L) == 1) {
		/* left over from a run stopped earlier */
		lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
		return;
	}

	rt->insn += HOOK_STEP;
	if (!rt->stopping && rt->insn <= INSN_LIMIT)
		return;

	if (!rt->stopping) {
		rt->stopping = true;
		lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
	}
	luaL_where(L, 0);   /* the line that loops */
	lua_pushfstring(L, "script stopped: ran %I instructions without"
			" yielding (an endless loop?)", (lua_Integer)INSN_LIMIT);
	lua_concat(L, 2);
	lua_error(L);
}


/* A run starts on thread L, with a budget of its own... */
static void run_enter(struct luart *rt, lua_State *L, struct run *outer)
{
	outer->insn = rt->insn;
	outer->stopping = rt->stopping;
	outer->enforce = rt->mem.enforce;
	rt->insn = 0;
	rt->stopping = false;
	rt->mem.enforce = true;   /* the memory caps hold while Lua runs */
	lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
}


/* ... and what it ran counts in the run it interrupted: a console chunk
 * that reloads in a loop is stopped too. */
static void run_leave(struct luart *rt, lua_State *L, const struct run *outer)
{
	if (rt->stopping)
		lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
	rt->insn += outer->insn;
	rt->stopping = outer->stopping;
	rt->mem.enforce = outer->enforce;
}


/*
 * Call the function under @a nargs arguments on top of the stack as a run
 * of its own, in a thread of its own (its traceback shows its own frames,
 * even when it runs inside another run).  As lua_pcall: @a nresults
 * results, or the error message and its traceback, replace them.
 */
static int run_thread(struct luart *rt, int nargs, int nresults)
{
	lua_State *L = rt->L;
	lua_State *co = lua_newthread(L);
	int base = lua_gettop(L) - nargs - 1;
	struct run outer;
	int status, nres;

	lua_insert(L, base);                   /* the thread under it all */
	lua_xmove(L, co, nargs + 1);

	run_enter(rt, co, &outer);
	status = lua_resume(co, L, nargs, &nres);
	run_leave(rt, co, &outer);

	if (status == LUA_YIELD) {
		status = LUA_ERRRUN;
		lua_pushliteral(co, "it cannot wait here (it yielded)");
	}
	if (status == LUA_OK) {
		lua_xmove(co, L, nres);
		if (nresults != LUA_MULTRET)
			lua_settop(L, base + nresults);
	}
	else {
		const char *msg = lua_tostring(co, -1);

		luaL_traceback(L, co, msg ? msg : "(error object)", 0);
	}
	lua_remove(L, base);

	return status;
}


struct pbx *luart_pbx(lua_State *L)
{
	return luart_from_state(L)->pbx;
}


struct call *luart_current_call(lua_State *L)
{
	struct script *sc = script_of(L);

	return sc ? sc->call : NULL;
}


static void destructor(void *arg)
{
	struct luart *rt = arg;

	call_set_runner(NULL);
	if (rt->L)
		lua_close(rt->L);
	luamem_close(&rt->mem);
}


int luart_alloc(struct luart **rtp, struct pbx *pbx)
{
	struct luart *rt;

	rt = mem_zalloc(sizeof(*rt), destructor);
	if (!rt)
		return ENOMEM;

	rt->pbx = pbx;
	rt->gen_ref = LUA_NOREF;
	if (luamem_init(&rt->mem, (size_t)512 << 20)) {
		mem_deref(rt);
		return ENOMEM;
	}
	rt->mem.enforce = false;   /* outside runs: see luamem.h */
	rt->L = lua_newstate(l_alloc, rt);
	if (!rt->L) {
		mem_deref(rt);
		return ENOMEM;
	}

	*(struct script **)lua_getextraspace(rt->L) = NULL;
	lua_sethook(rt->L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
	{
		const struct call_runner r = { script_start, script_wake,
					       script_stop, rt };

		call_set_runner(&r);
	}
	luaL_openlibs(rt->L);
	luart_open_call(rt->L);
	luart_open_leg(rt->L);
	luart_open_calldial(rt->L);
	luart_open_stats(rt->L);
	sandbox_build_base(rt->L, rt);

	*rtp = rt;

	return 0;
}


static void set_err(char *buf, size_t sz, const char *msg)
{
	if (buf && sz)
		str_ncpy(buf, msg ? msg : "unknown error", sz);
}


/* Run the configuration chunk, then ask the generation's lunapbx module
 * for what it declared.  Leaves the export table on the stack. */
static int run_config(struct luart *rt, const char *path, char *errbuf,
		      size_t errsz)
{
	lua_State *L = rt->L;
	char dir[512];
	const char *slash = strrchr(path, '/');
	int top = lua_gettop(L), status;

	str_ncpy(dir, path, sizeof(dir));
	if (slash && (size_t)(slash - path) < sizeof(dir))
		dir[slash - path] = 0;
	else
		str_ncpy(dir, ".", sizeof(dir));

	sandbox_push_env(L, rt->pbx->lib_dir, dir);            /* env */

	if (luaL_loadfilex(L, path, "t") != LUA_OK)
		goto fail;
	lua_pushvalue(L, -2);
	lua_setupvalue(L, -2, 1);

	status = run_thread(rt, 0, 0);
	if (status == LUA_OK) {
		/* env.require("lunapbx")._export() */
		lua_getfield(L, top + 1, "require");
		lua_pushliteral(L, "lunapbx");
		status = run_thread(rt, 1, 1);
	}
	if (status == LUA_OK && lua_istable(L, -1)) {
		lua_getfield(L, -1, "_export");
		lua_remove(L, -2);
		status = run_thread(rt, 0, 1);
	}
	if (status != LUA_OK)
		goto fail;
	if (!lua_istable(L, -1)) {
		lua_pushliteral(L, "lunapbx: no declarations to export");
		goto fail;
	}

	/* the console looks at the generation's globals */
	lua_pushvalue(L, top + 1);
	lua_setfield(L, -2, "_env");
	lua_replace(L, top + 1);
	lua_settop(L, top + 1);
	return 0;

 fail:
	set_err(errbuf, errsz, lua_tostring(L, -1));
	lua_settop(L, top);
	return EINVAL;
}


/**
 * Compile and run a configuration as a new generation.  On any error the
 * generation in force stays, and @a errbuf says file:line.
 */
int luart_load(struct luart *rt, const char *path, char *errbuf,
	       size_t errsz)
{
	lua_State *L = rt->L;
	struct run outer;
	int err;

	err = run_config(rt, path, errbuf, errsz);
	if (err)
		return err;

	err = settings_apply(L, lua_gettop(L), rt->pbx, rt->gen == 0,
			     errbuf, errsz);
	if (err) {
		lua_pop(L, 1);
		return err;
	}

	luaL_unref(L, LUA_REGISTRYINDEX, rt->gen_ref);
	rt->gen_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	++rt->gen;
	luart_push_generation(rt, L);   /* its pbx.on handlers, if any */
	luart_events_apply(L, lua_gettop(L));
	lua_pop(L, 1);
	rt->mem.limit = (size_t)rt->pbx->set.lua_mem_mb << 20;
	rt->mem.acct_limit = (size_t)rt->pbx->set.call_mem_mb << 20;

	/* finalizers may run: they are Lua code, under the limit too */
	run_enter(rt, L, &outer);
	lua_gc(L, LUA_GCCOLLECT);
	run_leave(rt, L, &outer);

	return 0;
}


static void script_destructor(void *arg)
{
	struct script *sc = arg;

	tmr_cancel(&sc->tmr);
	if (sc->co)
		*(struct script **)lua_getextraspace(sc->co) = NULL;
	luaL_unref(sc->rt->L, LUA_REGISTRYINDEX, sc->co_ref);
	luamem_release(&sc->rt->mem, sc->acct);
}


static void script_end(struct script *sc, bool failed)
{
	struct call *call = sc->call;

	call_set_script(call, NULL);
	luart_forget_call(sc->rt->L, call);
	mem_deref(sc);
	call_script_done(call, failed);
}


static void script_resume(struct script *sc, int nargs)
{
	struct luart *rt = sc->rt;
	lua_State *co = sc->co;
	struct call *call = sc->call;
	struct run outer;
	uint32_t acct;
	int nres, status;

	run_enter(rt, co, &outer);
	acct = luamem_switch(&rt->mem, sc->acct);
	status = lua_resume(co, rt->L, nargs, &nres);
	(void)luamem_switch(&rt->mem, acct);
	run_leave(rt, co, &outer);

	if (status == LUA_YIELD) {
		lua_pop(co, nres);
		if (call_waiting(call))
			return;
		log_error("call %llu: coroutine.yield() outside a PBX"
			  " primitive; the call ends", call_id(call));
		script_end(sc, true);
		return;
	}

	if (status == LUA_ERRMEM)
		log_error("call %llu: out of Lua memory: the call holds %zu KB"
			  " (cap call_memory_mb), Lua %zu KB (cap"
			  " lua_memory_mb)", call_id(call),
			  luamem_live(&rt->mem, sc->acct) / 1024,
			  rt->mem.used / 1024);

	if (status != LUA_OK) {
		const char *msg = lua_tostring(co, -1);

		luaL_traceback(sc->rt->L, co, msg ? msg : "(error object)",
			       0);
		log_error("call %llu: dialplan error: %s", call_id(call),
			  lua_tostring(sc->rt->L, -1));
		lua_pop(sc->rt->L, 1);
	}

	script_end(sc, status != LUA_OK);
}


static void wake_handler(void *arg)
{
	script_resume(arg, 0);
}


/* The PBX stops: the coroutine is dropped where it waits. */
static void script_stop(void *script, void *arg)
{
	struct script *sc = script;
	(void)arg;

	if (sc)
		script_end(sc, false);
}


/* Resume the call's coroutine on the next loop turn, never from inside
 * a handler that Lua itself may be running under. */
static void script_wake(void *script, void *arg)
{
	struct script *sc = script;
	(void)arg;

	if (sc)
		tmr_start(&sc->tmr, 0, wake_handler, sc);
}


/*
 * The continuation of every waiting primitive: what it waits for is
 * looked at again; not there yet, the coroutine waits on.
 */
static int await_k(lua_State *L, int status, lua_KContext ctx)
{
	struct script *sc = script_of(L);
	struct call *call = sc ? sc->call : NULL;
	int n;
	(void)status;

	if (!call)
		return luaL_error(L, "the call ended while it waited");

	n = sc->ready(L, call, ctx);
	if (n >= 0) {
		call_wait_end(call);
		return n;
	}

	call_wait_again(call);   /* its timer runs on */
	return lua_yieldk(L, 0, ctx, await_k);
}


/**
 * Wait, in the current call's coroutine, until @a ready says what it
 * waits for is there (it pushes the results and returns how many; -1:
 * not yet).  @a ready is asked at once, and again each time something
 * concerning the call happens; @a timeout_ms (0: none) makes
 * call_timed_out() true for it.  @a what names the wait for the console.
 */
int luart_await(lua_State *L, uint32_t timeout_ms, const char *what,
		luart_ready_h *ready, lua_KContext ctx)
{
	struct script *sc = script_of(L);
	int n;

	if (!sc || !sc->call)
		return luaL_error(L, "%s waits in a call's dialplan; there is"
				  " no call here", what);

	n = ready(L, sc->call, ctx);
	if (n >= 0)
		return n;

	sc->ready = ready;
	call_wait(sc->call, timeout_ms, what);

	return lua_yieldk(L, 0, ctx, await_k);
}


/*
 * A call leg:redirect() starts: the function it runs instead of the
 * generation's handler (replacing it under the call object on top of
 * @a co's stack), and the vars it starts with.  Taken once.
 */
static void take_redirect(lua_State *co)
{
	if (lua_getfield(co, LUA_REGISTRYINDEX, LUART_REDIRECT) != LUA_TTABLE) {
		lua_pop(co, 1);
		return;
	}
	lua_pushnil(co);
	lua_setfield(co, LUA_REGISTRYINDEX, LUART_REDIRECT);

	if (lua_getfield(co, -1, "fn") == LUA_TFUNCTION)
		lua_replace(co, -4);                  /* the handler */
	else
		lua_pop(co, 1);

	if (lua_getfield(co, -1, "vars") == LUA_TTABLE) {
		lua_getiuservalue(co, -3, 1);         /* call.vars */
		lua_pushnil(co);
		while (lua_next(co, -3)) {
			lua_pushvalue(co, -2);
			lua_insert(co, -2);
			lua_rawset(co, -4);
		}
		lua_pop(co, 1);
	}
	lua_pop(co, 2);
}


/*
 * Run the dialplan for a new call: the generation's handler, in a new
 * coroutine, with the call object as argument.
 */
static int script_start(struct call *call, void *arg)
{
	struct luart *rt = arg;
	lua_State *L = rt->L;
	struct script *sc;

	if (rt->gen_ref == LUA_NOREF)
		return ENOENT;

	sc = mem_zalloc(sizeof(*sc), script_destructor);
	if (!sc)
		return ENOMEM;

	sc->rt = rt;
	sc->call = call;
	tmr_init(&sc->tmr);
	sc->co = lua_newthread(L);
	sc->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	sc->acct = luamem_open(&rt->mem);
	*(struct script **)lua_getextraspace(sc->co) = sc;

	lua_rawgeti(sc->co, LUA_REGISTRYINDEX, rt->gen_ref);
	lua_getfield(sc->co, -1, "handler");
	lua_remove(sc->co, -2);
	luart_push_call(sc->co, call);
	take_redirect(sc->co);
	lua_rawgeti(sc->co, LUA_REGISTRYINDEX, rt->gen_ref);
	lua_getfield(sc->co, -1, "call_methods");   /* written in Lua */
	lua_setiuservalue(sc->co, -3, 2);
	lua_pop(sc->co, 1);
	call_set_script(call, sc);

	script_resume(sc, 1);

	return 0;
}


lua_State *luart_state(const struct luart *rt)
{
	return rt ? rt->L : NULL;
}


uint32_t luart_generation(const struct luart *rt)
{
	return rt ? rt->gen : 0;
}


size_t luart_memory(const struct luart *rt)
{
	return rt ? rt->mem.used : 0;
}


size_t luart_memory_limit(const struct luart *rt)
{
	return rt ? rt->mem.limit : 0;
}


/**
 * Call the function under @a nargs arguments on top of the stack as a
 * run of its own (the console's chunks), in a coroutine of its own, under
 * the instruction limit: lua_pcall's results, or the error and its
 * traceback.
 */
int luart_pcall(struct luart *rt, int nargs, int nresults)
{
	return run_thread(rt, nargs, nresults);
}


/** require() a module of the PBX's lua/ folder in an environment of its
 *  own (not a generation's); the module or the error on the stack. */
int luart_require(struct luart *rt, const char *name)
{
	lua_State *L = rt->L;

	sandbox_push_env(L, rt->pbx->lib_dir, rt->pbx->lib_dir);
	lua_getfield(L, -1, "require");
	lua_remove(L, -2);
	lua_pushstring(L, name);

	return luart_pcall(rt, 1, 1);
}


/** Push onto @a L the generation in force: the table its lunapbx module
 *  exported, with its environment in _env; nil before the first load. */
void luart_push_generation(struct luart *rt, lua_State *L)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, rt->gen_ref);
}


static bool in_lib(const struct luart *rt, const char *source)
{
	size_t n = str_len(rt->pbx->lib_dir);

	return source[0] != '@' || 0 == strncmp(source + 1, rt->pbx->lib_dir,
						  n);
}


/**
 * Where a call's dialplan stands: the function of the extension (the
 * outermost frame of the configuration's files, file:line of its
 * definition) and the line it runs or waits at (the innermost one).
 * Returns the Lua memory charged to the call.
 */
size_t luart_script_info(const void *script, char *func, size_t fsz,
			 char *line, size_t lsz)
{
	const struct script *sc = script;
	lua_Debug ar;

	if (fsz)
		func[0] = 0;
	if (lsz)
		line[0] = 0;
	if (!sc)
		return 0;

	for (int lvl = 0; lua_getstack(sc->co, lvl, &ar); lvl++) {
		if (!lua_getinfo(sc->co, "Sl", &ar) || in_lib(sc->rt,
							      ar.source))
			continue;
		if (!line[0])
			re_snprintf(line, lsz, "%s:%d", ar.short_src,
				    ar.currentline);
		re_snprintf(func, fsz, "%s:%d", ar.short_src,
			    ar.linedefined);
	}

	return luamem_live(&sc->rt->mem, sc->acct);
}
