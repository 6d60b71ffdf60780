/**
 * @file bind_voicemail.c  `_core.vm`: what the voicemail flows in
 * lua/lunapbx/voicemail.lua cannot do in Lua (core/voicemail/).
 *
 *   vm.incoming()                       -> "voicemail/incoming/in-..."
 *   vm.deposit(box, file, {caller_num=, caller_name=, duration=, folder=})
 *                                       -> id | nil, why
 *   vm.discard(file)                    drop an incoming recording
 *   vm.counts(box)       -> { new=, old=, urgent=, total= } | nil, why
 *   vm.list(box [, folder])  -> { { id=, folder=, caller_num=,
 *                               caller_name=, received=, duration=,
 *                               heard=, file= }, ... } | nil, why
 *   vm.move(box, id, folder)  vm.heard(box, id)  vm.delete(box, id)
 *                                       -> true | nil, why
 *   vm.copy(box, id, to)                -> new id | nil, why
 *   vm.greeting(box, kind)              -> sound name | nil
 *   vm.set_greeting(box, kind, file)    vm.remove_greeting(box, kind)
 *   vm.pin(box) -> pin | nil            vm.set_pin(box, pin)
 *   vm.mwi(box)                         -> the message-summary body
 *   vm.sendmail(command, text [, what]) -> true | nil, why (not waited)
 *   vm.base64(file)                     -> base64 of a recordings file
 *
 * `why` is the system's message ("No space left on device"); a
 * mailbox name or folder that is not one raises an error.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "voicemail/mwi.h"
#include "voicemail/sendmail.h"
#include "voicemail/vmbox.h"

enum { NAME_SZ = 192, MAX_MAIL = 64 << 20, MAX_B64 = 32 << 20 };


static struct vmbox *vb_of(lua_State *L)
{
	struct pbx *pbx = luart_pbx(L);

	return pbx ? pbx->vmbox : NULL;
}


static int push_fail(lua_State *L, int err)
{
	lua_pushnil(L);
	lua_pushstring(L, err == ENODEV ? "voicemail storage unavailable"
		       : strerror(err));

	return 2;
}


static int push_result(lua_State *L, int err)
{
	if (err)
		return push_fail(L, err);
	lua_pushboolean(L, 1);

	return 1;
}


static const char *check_box(lua_State *L, int idx)
{
	const char *box = luaL_checkstring(L, idx);

	if (!vmbox_name_ok(box))
		luaL_error(L, "voicemail: '%s' is not a mailbox name (1 to 32"
			   " letters, digits, _-+)", box);

	return box;
}


static const char *check_folder(lua_State *L, int idx)
{
	const char *f = luaL_checkstring(L, idx);

	if (!vmbox_folder_ok(f))
		luaL_error(L, "voicemail: no folder '%s' (INBOX, Old, Work,"
			   " Family, Friends, Urgent)", f);

	return f;
}


static int64_t check_id(lua_State *L, int idx)
{
	return (int64_t)luaL_checkinteger(L, idx);
}


static int l_incoming(lua_State *L)
{
	char name[NAME_SZ];
	int err;

	err = vb_of(L) ? vmbox_incoming(vb_of(L), name, sizeof(name)) : ENODEV;
	if (err)
		return push_fail(L, err);
	lua_pushstring(L, name);

	return 1;
}


static const char *opt_str(lua_State *L, int t, const char *key)
{
	const char *s = NULL;

	if (lua_getfield(L, t, key) == LUA_TSTRING)
		s = lua_tostring(L, -1);
	lua_pop(L, 1);   /* the table keeps it alive */

	return s;
}


static int l_deposit(lua_State *L)
{
	const char *box = check_box(L, 1);
	const char *file = luaL_checkstring(L, 2);
	struct vmbox_meta meta;
	int64_t id = 0;
	int err;

	luaL_checktype(L, 3, LUA_TTABLE);
	memset(&meta, 0, sizeof(meta));
	meta.caller_num = opt_str(L, 3, "caller_num");
	meta.caller_name = opt_str(L, 3, "caller_name");
	meta.folder = opt_str(L, 3, "folder");
	lua_getfield(L, 3, "duration");
	meta.duration = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (meta.folder && !vmbox_folder_ok(meta.folder))
		return luaL_error(L, "vm.deposit: no folder '%s'", meta.folder);

	err = vb_of(L) ? vmbox_deposit(vb_of(L), box, file, &meta, &id)
		: ENODEV;
	if (err)
		return push_fail(L, err);
	lua_pushinteger(L, (lua_Integer)id);

	return 1;
}


/* An incoming recording that will not be a message (too short). */
static int l_discard(lua_State *L)
{
	const char *file = luaL_checkstring(L, 1);
	char path[512];

	if (!vb_of(L) || strncmp(file, "voicemail/incoming/", 19) ||
	    strstr(file, ".."))
		return luaL_error(L, "vm.discard: '%s' is not an incoming"
				  " recording", file);

	re_snprintf(path, sizeof(path), "%s/%s", vmbox_rec_dir(vb_of(L)),
		    file);

	return push_result(L, unlink(path) ? errno : 0);
}


static int l_counts(lua_State *L)
{
	const char *box = check_box(L, 1);
	struct vmbox_counts c;
	int err;

	err = vb_of(L) ? vmbox_counts(vb_of(L), box, &c) : ENODEV;
	if (err)
		return push_fail(L, err);

	lua_createtable(L, 0, 4);
	luafield_int(L, "new", c.new_msgs);
	luafield_int(L, "old", c.old_msgs);
	luafield_int(L, "urgent", c.urgent);
	luafield_int(L, "total", c.total);

	return 1;
}


static bool list_row(const struct vmbox_msg *m, void *arg)
{
	lua_State *L = arg;

	lua_createtable(L, 0, 9);
	luafield_int(L, "id", (lua_Integer)m->id);
	luafield_str(L, "mailbox", m->mailbox);
	luafield_str(L, "folder", m->folder);
	if (m->caller_num)
		luafield_str(L, "caller_num", m->caller_num);
	if (m->caller_name)
		luafield_str(L, "caller_name", m->caller_name);
	luafield_int(L, "received", (lua_Integer)m->received);
	luafield_num(L, "duration", m->duration);
	luafield_bool(L, "heard", m->heard);
	luafield_str(L, "file", m->file);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);

	return false;
}


static int l_list(lua_State *L)
{
	const char *box = check_box(L, 1);
	const char *folder = lua_isnoneornil(L, 2) ? NULL : check_folder(L, 2);
	int err;

	lua_settop(L, 2);
	lua_newtable(L);
	err = vb_of(L) ? vmbox_list(vb_of(L), box, folder, list_row, L)
		: ENODEV;
	if (err)
		return push_fail(L, err);

	return 1;
}


static int l_move(lua_State *L)
{
	const char *box = check_box(L, 1);
	int64_t id = check_id(L, 2);
	const char *folder = check_folder(L, 3);

	return push_result(L, vb_of(L) ? vmbox_move(vb_of(L), box, id, folder)
			   : ENODEV);
}


static int l_heard(lua_State *L)
{
	const char *box = check_box(L, 1);
	int64_t id = check_id(L, 2);

	return push_result(L, vb_of(L) ? vmbox_heard(vb_of(L), box, id)
			   : ENODEV);
}


static int l_delete(lua_State *L)
{
	const char *box = check_box(L, 1);
	int64_t id = check_id(L, 2);

	return push_result(L, vb_of(L) ? vmbox_delete(vb_of(L), box, id)
			   : ENODEV);
}


static int l_copy(lua_State *L)
{
	const char *box = check_box(L, 1);
	int64_t id = check_id(L, 2), nid = 0;
	const char *to = check_box(L, 3);
	int err;

	err = vb_of(L) ? vmbox_copy(vb_of(L), box, id, to, &nid) : ENODEV;
	if (err)
		return push_fail(L, err);
	lua_pushinteger(L, (lua_Integer)nid);

	return 1;
}


static const char *check_kind(lua_State *L, int idx)
{
	static const char *const kinds[] = { "unavail", "busy", "temp",
					      "name", NULL };

	return kinds[luaL_checkoption(L, idx, NULL, kinds)];
}


/* What a getter wrote into buf; nothing (nil) when the storage is
 * unavailable or it has no such value. */
static int push_value(lua_State *L, int err, const char *buf)
{
	if (err)
		return 0;
	lua_pushstring(L, buf);

	return 1;
}


static int l_greeting(lua_State *L)
{
	const char *box = check_box(L, 1);
	const char *kind = check_kind(L, 2);
	struct vmbox *vb = vb_of(L);
	char name[NAME_SZ];

	return push_value(L, vb ? vmbox_greeting(vb, box, kind, name,
						 sizeof(name)) : ENODEV,
			  name);
}


static int l_set_greeting(lua_State *L)
{
	const char *box = check_box(L, 1);
	const char *kind = check_kind(L, 2);
	const char *file = luaL_checkstring(L, 3);

	return push_result(L, vb_of(L) ? vmbox_greeting_set(vb_of(L), box,
							    kind, file)
			   : ENODEV);
}


static int l_remove_greeting(lua_State *L)
{
	const char *box = check_box(L, 1);
	const char *kind = check_kind(L, 2);

	return push_result(L, vb_of(L) ? vmbox_greeting_remove(vb_of(L), box,
							       kind)
			   : ENODEV);
}


static int l_pin(lua_State *L)
{
	const char *box = check_box(L, 1);
	struct vmbox *vb = vb_of(L);
	char pin[64];

	return push_value(L, vb ? vmbox_pin(vb, box, pin, sizeof(pin)) : ENODEV,
			  pin);
}


static int l_set_pin(lua_State *L)
{
	const char *box = check_box(L, 1);
	const char *pin = luaL_checkstring(L, 2);

	luaL_argcheck(L, *pin && strlen(pin) <= 32 &&
		      strspn(pin, "0123456789") == strlen(pin), 2,
		      "1 to 32 digits");

	return push_result(L, vb_of(L) ? vmbox_set_pin(vb_of(L), box, pin)
			   : ENODEV);
}


static int l_mwi(lua_State *L)
{
	const char *box = check_box(L, 1);
	struct pbx *pbx = luart_pbx(L);
	struct mbuf *mb;
	int err;

	if (!pbx || !pbx->mwi)
		return push_fail(L, ENODEV);

	mb = mbuf_alloc(256);
	if (!mb)
		return luaL_error(L, "out of memory");
	err = mwi_body(mb, pbx->mwi, box);
	if (!err)
		lua_pushlstring(L, (const char *)mb->buf, mb->end);
	mem_deref(mb);

	return err ? push_fail(L, err) : 1;
}


static int l_sendmail(lua_State *L)
{
	const char *cmd = luaL_checkstring(L, 1);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);
	const char *what = luaL_optstring(L, 3, "mail");

	luaL_argcheck(L, len <= MAX_MAIL, 2, "at most 64 MB");

	return push_result(L, sendmail_send(cmd, text, len, what));
}


/* Base64 of a recordings file (an attachment), in lines of 76. */
static int l_base64(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	char path[512], out[80];
	uint8_t in[57];
	luaL_Buffer b;
	struct stat sb;
	ssize_t n;
	int fd;

	if (!vb_of(L) || name[0] == '/' || strstr(name, ".."))
		return luaL_error(L, "vm.base64: '%s' is not a recording",
				  name);
	re_snprintf(path, sizeof(path), "%s/%s", vmbox_rec_dir(vb_of(L)),
		    name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return push_fail(L, errno);
	if (fstat(fd, &sb) || sb.st_size > MAX_B64) {
		close(fd);
		return push_fail(L, EFBIG);
	}

	luaL_buffinit(L, &b);
	while ((n = read(fd, in, sizeof(in))) > 0) {
		size_t olen = sizeof(out);

		if (base64_encode(in, (size_t)n, out, &olen))
			break;
		luaL_addlstring(&b, out, olen);
		luaL_addstring(&b, "\r\n");
	}
	close(fd);
	luaL_pushresult(&b);

	return 1;
}


static const char *table_str(lua_State *L, int t, const char *key)
{
	const char *s;

	lua_getfield(L, t, key);
	s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);

	return s;
}


/* One mailbox of the export table: { number=, endpoints={...} }. */
static int add_box(lua_State *L, int t, struct hash *boxes, char *errbuf,
		   size_t errsz)
{
	const char *eps[16];
	const char *box = table_str(L, t, "number");
	size_t n = 0;
	int e, err = 0;

	if (!box || !vmbox_name_ok(box)) {
		re_snprintf(errbuf, errsz, "mailbox '%s': a number of 1 to 32"
			    " letters, digits, _-+", box ? box : "?");
		return EINVAL;
	}

	lua_getfield(L, t, "endpoints");
	e = lua_gettop(L);   /* holds the names while they are copied */
	for (lua_Integer i = 1; !err && lua_istable(L, e) &&
	     lua_rawgeti(L, e, i) == LUA_TSTRING; i++) {
		if (n == ARRAY_SIZE(eps)) {
			re_snprintf(errbuf, errsz, "mailbox '%s': at most 16"
				    " endpoints", box);
			err = EINVAL;
		}
		else {
			eps[n++] = lua_tostring(L, -1);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, e);
	if (!err)
		err = mwi_boxes_add(boxes, box, eps, n);
	lua_settop(L, e - 1);

	return err;
}


/**
 * The mailboxes a configuration declared (export table field
 * `mailboxes`), for MWI: which endpoints each one lights.
 */
int bind_vm_config(lua_State *L, int idx, struct hash **boxesp,
		   char *errbuf, size_t errsz)
{
	struct hash *boxes;
	int list, err;

	err = mwi_boxes_alloc(&boxes);
	if (err)
		return err;

	lua_getfield(L, idx, "mailboxes");
	list = lua_gettop(L);
	for (lua_Integer i = 1; !err && lua_istable(L, list) &&
	     lua_rawgeti(L, list, i) == LUA_TTABLE; i++) {
		err = add_box(L, lua_gettop(L), boxes, errbuf, errsz);
		lua_pop(L, 1);
	}
	lua_settop(L, list - 1);

	if (err) {
		hash_flush(boxes);
		mem_deref(boxes);
	}
	else
		*boxesp = boxes;

	return err;
}


void luart_open_voicemail(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{ "incoming",        l_incoming },
		{ "deposit",         l_deposit },
		{ "discard",         l_discard },
		{ "counts",          l_counts },
		{ "list",            l_list },
		{ "move",            l_move },
		{ "heard",           l_heard },
		{ "delete",          l_delete },
		{ "copy",            l_copy },
		{ "greeting",        l_greeting },
		{ "set_greeting",    l_set_greeting },
		{ "remove_greeting", l_remove_greeting },
		{ "pin",             l_pin },
		{ "set_pin",         l_set_pin },
		{ "mwi",             l_mwi },
		{ "sendmail",        l_sendmail },
		{ "base64",          l_base64 },
		{ NULL, NULL }
	};

	luaL_newlib(L, funcs);
	lua_setfield(L, -2, "vm");
}
