/**
 * @file console.c  The console server: a Unix socket in the state folder,
 * one connection per `lunapbx -r`, each with a Lua session of its own
 * (its globals), run by the lunapbx.console module under the same
 * instruction limit as the dialplans.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "pbx.h"
#include "lua/runtime.h"
#include "console/console.h"
#include "console/frame.h"

enum {
	OUT_MAX = 8 << 20,     /* a client that reads no more loses log lines */
	READ_CHUNK = 4096,
};

struct console {
	struct pbx *pbx;
	int fd;
	char *path;
	struct list conns;
	int mod_ref;           /* the lunapbx.console module */
	struct conn *cur;      /* whose chunk runs now */
};

struct conn {
	struct le le;
	struct console *con;
	int fd;
	struct mbuf *in, *out;
	int session_ref;
	bool follow;           /* every log line, not only its own */
	bool dead;
	uint32_t dropped;      /* log lines it could not take */
	struct tmr close_tmr;
};


static void conn_destructor(void *arg)
{
	struct conn *c = arg;

	tmr_cancel(&c->close_tmr);
	list_unlink(&c->le);
	if (c->fd >= 0) {
		fd_close(c->fd);
		(void)close(c->fd);
	}
	luaL_unref(luart_state(c->con->pbx->lua), LUA_REGISTRYINDEX,
		   c->session_ref);
	mem_deref(c->in);
	mem_deref(c->out);
}


static void close_later(void *arg)
{
	mem_deref(arg);
}


/* Never free a connection from under the code that writes to it. */
static void conn_kill(struct conn *c)
{
	if (c->dead)
		return;

	c->dead = true;
	tmr_start(&c->close_tmr, 0, close_later, c);
}


static void conn_handler(int flags, void *arg);


static void conn_flush(struct conn *c)
{
	struct mbuf *mb = c->out;

	while (mbuf_get_left(mb)) {
		ssize_t n = write(c->fd, mbuf_buf(mb), mbuf_get_left(mb));

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_kill(c);
			return;
		}
		mb->pos += (size_t)n;
	}

	if (!mbuf_get_left(mb))
		mbuf_rewind(mb);

	(void)fd_listen(c->fd, FD_READ | (mbuf_get_left(mb) ? FD_WRITE : 0),
			conn_handler, c);
}


static void conn_send(struct conn *c, char type, const void *p, size_t n)
{
	size_t queued = mbuf_get_left(c->out);

	if (c->dead)
		return;

	if (type == 'L' && queued + n > OUT_MAX / 2) {
		++c->dropped;
		return;
	}
	if (type == 'L' && c->dropped) {
		char note[80];
		int len = re_snprintf(note, sizeof(note), "(console: %u log"
				      " lines dropped, it read too slowly)",
				      c->dropped);

		c->dropped = 0;
		(void)frame_encode(c->out, 'L', note, (size_t)len);
	}
	if (queued + n > OUT_MAX || frame_encode(c->out, type, p, n)) {
		conn_kill(c);
		return;
	}

	conn_flush(c);
}


/* Push module[fn] and the connection's session. */
static void push_fn(struct conn *c, const char *fn)
{
	lua_State *L = luart_state(c->con->pbx->lua);

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->con->mod_ref);
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	lua_rawgeti(L, LUA_REGISTRYINDEX, c->session_ref);
}


/* module[fn](session, arg) as a run of its own: its result on the stack,
 * or the error message and -1. */
static int call_module(struct conn *c, const char *fn, const char *arg,
		       size_t len)
{
	lua_State *L = luart_state(c->con->pbx->lua);

	push_fn(c, fn);
	lua_pushlstring(L, arg, len);

	return luart_pcall(c->con->pbx->lua, 2, 1) == LUA_OK ? 0 : -1;
}


/* 'R': what the module answered ("o..." | "e..." | "i"), or its error. */
static void send_result(struct conn *c, bool failed)
{
	lua_State *L = luart_state(c->con->pbx->lua);
	size_t len;
	const char *s;

	/* the console module itself failed: the message, its traceback
	 * only in the log */
	if (failed) {
		const char *tb;

		s = luaL_tolstring(L, -1, &len);
		log_debug("console: %s", s);
		tb = strstr(s, "\nstack traceback:");
		lua_pushfstring(L, "e%s", s);
		if (tb)
			lua_pushlstring(L, lua_tostring(L, -1), (size_t)(tb - s)
					+ 1);
	}
	s = lua_tolstring(L, -1, &len);
	if (!s || !len)
		conn_send(c, 'R', "econsole: no answer", 19);
	else
		conn_send(c, 'R', s, len);
}


/*
 * A chunk: compiled by the module, run here as a run of its own (in its
 * own coroutine, under the instruction limit, so that an error or a stop
 * names the chunk's own line), shown by the module.
 */
static void eval(struct conn *c, const struct pl *src)
{
	struct luart *rt = c->con->pbx->lua;
	lua_State *L = luart_state(rt);
	int base = lua_gettop(L), n;

	if (call_module(c, "compile", src->p, src->l) < 0) {
		send_result(c, true);
		return;
	}
	if (!lua_isfunction(L, -1)) {
		send_result(c, false);   /* "i", or "e" and the syntax error */
		return;
	}

	if (luart_pcall(rt, 0, LUA_MULTRET) != LUA_OK) {
		push_fn(c, "fail");
		lua_rotate(L, base + 1, 2);          /* fail, session, error */
		send_result(c, luart_pcall(rt, 2, 1) != LUA_OK);
		return;
	}

	n = lua_gettop(L) - base;
	push_fn(c, "show");
	lua_rotate(L, base + 1, 2);                  /* show, session, ... */
	send_result(c, luart_pcall(rt, n + 1, 1) != LUA_OK);
}


static void on_frame(struct conn *c, char type, const struct pl *pl)
{
	struct console *con = c->con;
	lua_State *L = luart_state(con->pbx->lua);
	int top = lua_gettop(L);
	const char *s;
	size_t len;

	con->cur = c;   /* its output and log lines go to it */

	switch (type) {

	case 'H':
		send_result(c, call_module(c, "banner", pl->p, pl->l) < 0);
		break;

	case 'E':
		eval(c, pl);
		break;

	case 'C':
		if (call_module(c, "complete", pl->p, pl->l) < 0)
			lua_pushliteral(L, "");
		s = lua_tolstring(L, -1, &len);
		conn_send(c, 'M', s, s ? len : 0);
		break;

	default:
		conn_kill(c);
		break;
	}

	con->cur = NULL;
	lua_settop(L, top);
}


static void conn_read(struct conn *c)
{
	struct mbuf *in = c->in;
	struct pl pl;
	ssize_t n;
	char type;
	int err = 0;

	if (mbuf_resize(in, in->end + READ_CHUNK)) {
		conn_kill(c);
		return;
	}
	n = read(c->fd, in->buf + in->end, READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_kill(c);   /* the client went away */
		return;
	}
	in->end += (size_t)n;

	while (!c->dead && !(err = frame_decode(in, &type, &pl)))
		on_frame(c, type, &pl);

	if (err == EBADMSG)
		conn_kill(c);

	/* keep only the incomplete frame */
	if (mbuf_get_left(in)) {
		memmove(in->buf, mbuf_buf(in), mbuf_get_left(in));
		in->end = mbuf_get_left(in);
		in->pos = 0;
	}
	else {
		mbuf_rewind(in);
	}
}


static void conn_handler(int flags, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (flags & FD_WRITE)
		conn_flush(c);
	if (!c->dead && (flags & (FD_READ | FD_EXCEPT)))
		conn_read(c);
}


/* Only the PBX's own user (or root) may talk to it. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;

	return cred.uid == geteuid() || cred.uid == 0;
}


static void accept_handler(int flags, void *arg)
{
	struct console *con = arg;
	lua_State *L = luart_state(con->pbx->lua);
	struct conn *c;
	int fd;
	(void)flags;

	fd = accept4(con->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		log_warn("console: connection from another user refused");
		(void)close(fd);
		return;
	}

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c) {
		(void)close(fd);
		return;
	}
	c->con = con;
	c->fd = fd;
	c->session_ref = LUA_NOREF;
	tmr_init(&c->close_tmr);
	c->in = mbuf_alloc(READ_CHUNK);
	c->out = mbuf_alloc(READ_CHUNK);
	list_append(&con->conns, &c->le, c);
	if (!c->in || !c->out ||
	    fd_listen(fd, FD_READ, conn_handler, c)) {
		mem_deref(c);
		return;
	}

	/* the session: this console's own globals */
	lua_rawgeti(L, LUA_REGISTRYINDEX, con->mod_ref);
	lua_getfield(L, -1, "session");
	lua_remove(L, -2);
	if (luart_pcall(con->pbx->lua, 0, 1) != LUA_OK) {
		log_error("console: no session: %s", lua_tostring(L, -1));
		lua_pop(L, 1);
		mem_deref(c);
		return;
	}
	c->session_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	log_debug("console: client connected (%u)", list_count(&con->conns));
}


/* Every log line: to the consoles that follow the log, and to the one
 * whose chunk runs (it sees what its own commands log). */
static void log_sink(enum log_level level, const char *line, void *arg)
{
	struct console *con = arg;
	(void)level;

	for (struct le *le = list_head(&con->conns); le; le = le->next) {
		struct conn *c = le->data;

		if (c->follow || c == con->cur)
			conn_send(c, 'L', line, strlen(line));
	}
}


/** print() of the console: to the console whose chunk runs. */
int console_write(struct console *con, const char *s, size_t n)
{
	if (!con || !con->cur)
		return ENOENT;

	conn_send(con->cur, 'O', s, n);

	return 0;
}


/** The running console follows the log (1), stops (0); -1 asks. */
bool console_follow(struct console *con, int on)
{
	if (!con || !con->cur)
		return false;
	if (on >= 0)
		con->cur->follow = on;

	return con->cur->follow;
}


static void console_destructor(void *arg)
{
	struct console *con = arg;

	log_remove_sink(log_sink, con);
	list_flush(&con->conns);
	if (con->fd >= 0) {
		fd_close(con->fd);
		(void)close(con->fd);
		(void)unlink(con->path);
	}
	if (con->pbx->lua)
		luaL_unref(luart_state(con->pbx->lua), LUA_REGISTRYINDEX,
			   con->mod_ref);
	mem_deref(con->path);
}


/* A socket file left by a PBX that died is removed; one that answers
 * belongs to a PBX still running on this state folder. */
static int clear_stale(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return errno;
	if (0 == connect(fd, (const struct sockaddr *)sun, sizeof(*sun)))
		err = EADDRINUSE;
	else if (errno != ENOENT)
		(void)unlink(sun->sun_path);
	(void)close(fd);

	return err;
}


static int listen_unix(struct console *con)
{
	struct sockaddr_un sun;
	mode_t mask;
	int err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_len(con->path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	str_ncpy(sun.sun_path, con->path, sizeof(sun.sun_path));

	err = clear_stale(&sun);
	if (err)
		return err;

	con->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (con->fd < 0)
		return errno;

	mask = umask(0177);   /* the socket file: owner only, from birth */
	err = bind(con->fd, (struct sockaddr *)&sun, sizeof(sun)) ? errno : 0;
	(void)umask(mask);
	if (!err && listen(con->fd, 16))
		err = errno;
	if (!err)
		err = fd_listen(con->fd, FD_READ, accept_handler, con);
	if (err) {
		(void)close(con->fd);
		con->fd = -1;
	}

	return err;
}


/* lunapbx.console, given the C functions only it may use. */
static int load_module(struct console *con)
{
	struct luart *rt = con->pbx->lua;
	lua_State *L = luart_state(rt);

	if (luart_require(rt, "lunapbx.console") != LUA_OK)
		goto fail;
	lua_getfield(L, -1, "init");
	console_open_lib(L, con);
	if (luart_pcall(rt, 1, 0) != LUA_OK)
		goto fail;

	con->mod_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;

 fail:
	log_error("console: %s", lua_tostring(L, -1));
	lua_settop(L, 0);
	return EINVAL;
}


int console_alloc(struct console **conp, struct pbx *pbx)
{
	struct console *con;
	int err;

	con = mem_zalloc(sizeof(*con), console_destructor);
	if (!con)
		return ENOMEM;

	con->pbx = pbx;
	con->fd = -1;
	con->mod_ref = LUA_NOREF;
	list_init(&con->conns);

	err = re_sdprintf(&con->path, "%s/console.sock", pbx->state_dir);
	if (!err)
		err = load_module(con);
	if (!err) {
		err = listen_unix(con);
		if (err)
			log_warn("console: cannot listen on %s: %m", con->path,
				 err);
	}

	if (err) {
		mem_deref(con);
		return err;
	}

	log_add_sink(log_sink, con);
	*conp = con;

	return 0;
}
