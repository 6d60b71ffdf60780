/**
 * @file vmbox.c  Voicemail messages: files synced and renamed into the
 * mailbox, then indexed in one committed row (see vmbox.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "store/store.h"
#include "voicemail/vmbox.h"

enum { PATH_SZ = 512, NAME_SZ = 160, BOX_MAX = 32 };

#define VM_DIR "voicemail"
#define INCOMING VM_DIR "/incoming/"

struct vmbox {
	struct store *st;
	char *rec_dir;              /* <state>/recordings          */
	vmbox_change_h *changeh;
	void *arg;
	uint32_t seq;
};

static const char * const schema[] = {
	/* version 1 */
	"CREATE TABLE vm_message ("
	" id INTEGER PRIMARY KEY,"
	" mailbox TEXT NOT NULL,"
	" folder TEXT NOT NULL,"
	" caller_num TEXT,"
	" caller_name TEXT,"
	" received INTEGER NOT NULL,"
	" duration REAL NOT NULL,"
	" heard INTEGER NOT NULL DEFAULT 0,"
	" file TEXT NOT NULL UNIQUE);"
	"CREATE INDEX vm_message_box ON vm_message (mailbox, folder);"
	"CREATE TABLE vm_pin (mailbox TEXT PRIMARY KEY, pin TEXT NOT NULL)",
};

static const char * const folders[] = {
	"INBOX", "Old", "Work", "Family", "Friends", "Urgent",
};

static const char * const greetings[] = { "unavail", "busy", "temp", "name" };


static void destructor(void *arg)
{
	struct vmbox *vb = arg;

	mem_deref(vb->rec_dir);
}


bool vmbox_name_ok(const char *mailbox)
{
	size_t n = str_len(mailbox);

	return n > 0 && n <= BOX_MAX && mailbox[0] != '.' &&
		strspn(mailbox, "0123456789abcdefghijklmnopqrstuvwxyz"
		       "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-+") == n &&
		strcmp(mailbox, "incoming");
}


bool vmbox_folder_ok(const char *folder)
{
	for (size_t i = 0; folder && i < ARRAY_SIZE(folders); i++)
		if (!strcmp(folder, folders[i]))
			return true;

	return false;
}


static bool kind_ok(const char *kind)
{
	for (size_t i = 0; kind && i < ARRAY_SIZE(greetings); i++)
		if (!strcmp(kind, greetings[i]))
			return true;

	return false;
}


/* "wav" or "gsm", the extension of a recorded file. */
static const char *audio_ext(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && (!strcmp(dot, ".wav") || !strcmp(dot, ".gsm")))
		return dot + 1;

	return NULL;
}


/* A name vmbox_incoming() gave, as call:record() completed it. */
static bool incoming_ok(const char *name)
{
	const char *base;

	if (!name || strncmp(name, INCOMING, strlen(INCOMING)))
		return false;
	base = name + strlen(INCOMING);

	return *base && *base != '.' && !strchr(base, '/') &&
		strspn(base, "0123456789abcdefghijklmnopqrstuvwxyz-_.") ==
		strlen(base) && audio_ext(base);
}


static int sync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd))
		err = errno;
	close(fd);

	return err;
}


static void path_of(const struct vmbox *vb, char *buf, size_t sz,
		    const char *name)
{
	re_snprintf(buf, sz, "%s/%s", vb->rec_dir, name);
}


/* The mailbox's folder, made (and its parent synced) when new. */
static int box_dir(struct vmbox *vb, const char *mailbox, char *dir,
		   size_t sz)
{
	char root[PATH_SZ];

	re_snprintf(root, sizeof(root), "%s/" VM_DIR, vb->rec_dir);
	re_snprintf(dir, sz, "%s/%s", root, mailbox);
	if (0 == mkdir(dir, 0750))
		return sync_path(root, true);

	return errno == EEXIST ? 0 : errno;
}


static int mkdirs(const char *rec_dir)
{
	char path[PATH_SZ];

	if (mkdir(rec_dir, 0750) && errno != EEXIST)
		return errno;
	re_snprintf(path, sizeof(path), "%s/" VM_DIR, rec_dir);
	if (mkdir(path, 0750) && errno != EEXIST)
		return errno;
	re_snprintf(path, sizeof(path), "%s/" INCOMING, rec_dir);
	if (mkdir(path, 0750) && errno != EEXIST)
		return errno;

	return 0;
}


static void changed(struct vmbox *vb, const char *mailbox)
{
	if (vb->changeh)
		vb->changeh(mailbox, vb->arg);
}


static bool found_row(const struct store_row *row, void *arg)
{
	(void)row;
	*(bool *)arg = true;

	return true;
}


static bool indexed(struct vmbox *vb, const char *file)
{
	bool found = false;

	(void)store_query(vb->st, found_row, &found, "SELECT 1 FROM"
			  " vm_message WHERE file = ?", "s", file);

	return found;
}


/* Files a crash left: the incoming ones, and messages renamed into a
 * mailbox whose row never committed. */
static void clean_dir(struct vmbox *vb, const char *sub, bool incoming)
{
	char dir[PATH_SZ];
	struct dirent *de;
	DIR *d;

	re_snprintf(dir, sizeof(dir), "%s/" VM_DIR "/%s", vb->rec_dir, sub);
	d = opendir(dir);
	if (!d)
		return;

	while ((de = readdir(d))) {
		char name[NAME_SZ], path[PATH_SZ];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		re_snprintf(name, sizeof(name), VM_DIR "/%s/%s", sub,
			    de->d_name);
		if (!incoming && (strncmp(de->d_name, "m-", 2) ||
				  indexed(vb, name)))
			continue;
		path_of(vb, path, sizeof(path), name);
		if (0 == unlink(path))
			log_warn("voicemail: removed %s, %s", name, incoming ?
				 "left by a deposit that did not finish" :
				 "a message whose index row never committed");
	}
	closedir(d);
}


struct missing {
	int64_t ids[64];
	size_t n;
	const struct vmbox *vb;
};


static bool check_file(const struct store_row *row, void *arg)
{
	struct missing *m = arg;
	char path[PATH_SZ];
	struct stat sb;

	path_of(m->vb, path, sizeof(path), store_row_text(row, 1));
	if (stat(path, &sb) && m->n < ARRAY_SIZE(m->ids)) {
		log_warn("voicemail: message %lld (%s) has no file: its"
			 " index row goes", (long long)store_row_int(row, 0),
			 store_row_text(row, 1));
		m->ids[m->n++] = store_row_int(row, 0);
	}

	return false;
}


static void clean(struct vmbox *vb)
{
	char root[PATH_SZ];
	struct missing m = { .vb = vb };
	struct dirent *de;
	DIR *d;

	clean_dir(vb, "incoming", true);

	re_snprintf(root, sizeof(root), "%s/" VM_DIR, vb->rec_dir);
	d = opendir(root);
	while (d && (de = readdir(d))) {
		if (vmbox_name_ok(de->d_name))
			clean_dir(vb, de->d_name, false);
	}
	if (d)
		closedir(d);

	/* rows whose file went (removed by hand): they would not play */
	(void)store_query(vb->st, check_file, &m, "SELECT id, file FROM"
			  " vm_message", NULL);
	for (size_t i = 0; i < m.n; i++)
		(void)store_exec(vb->st, "DELETE FROM vm_message WHERE id = ?",
				 "i", m.ids[i]);
}


/**
 * The messages under @a rec_dir/voicemail, indexed in @a st.  Cleans
 * what an interrupted deposit left (see vmbox.h).
 */
int vmbox_open(struct vmbox **vbp, struct store *st, const char *rec_dir)
{
	struct vmbox *vb;
	int err;

	if (!vbp || !st || !rec_dir)
		return EINVAL;

	vb = mem_zalloc(sizeof(*vb), destructor);
	if (!vb)
		return ENOMEM;

	vb->st = st;
	vb->seq = rand_u32() & 0xffff;
	err = str_dup(&vb->rec_dir, rec_dir);
	if (!err)
		err = mkdirs(rec_dir);
	if (!err) {
		err = store_migrate(st, "voicemail", schema,
				    ARRAY_SIZE(schema));
		if (err)
			log_error("voicemail: index: %s", store_errmsg(st));
	}
	if (err) {
		mem_deref(vb);
		return err;
	}

	clean(vb);
	*vbp = vb;

	return 0;
}


void vmbox_set_change_handler(struct vmbox *vb, vmbox_change_h *h,
			      void *arg)
{
	if (!vb)
		return;
	vb->changeh = h;
	vb->arg = arg;
}


const char *vmbox_rec_dir(const struct vmbox *vb)
{
	return vb ? vb->rec_dir : NULL;
}


/** A fresh name for call:record() to write a message or greeting to
 *  (it adds the extension). */
int vmbox_incoming(struct vmbox *vb, char *name, size_t sz)
{
	if (!vb || !name)
		return EINVAL;

	re_snprintf(name, sz, INCOMING "in-%lld-%u-%08x",
		    (long long)time(NULL), ++vb->seq, rand_u32());

	return 0;
}


/* Sync @a incoming, rename it to @a dst_name (in the mailbox's
 * folder), sync that folder. */
static int settle(struct vmbox *vb, const char *mailbox,
		  const char *incoming, const char *dst_name)
{
	char src[PATH_SZ], dst[PATH_SZ], dir[PATH_SZ];
	int err;

	err = box_dir(vb, mailbox, dir, sizeof(dir));
	if (err)
		return err;

	path_of(vb, src, sizeof(src), incoming);
	path_of(vb, dst, sizeof(dst), dst_name);
	err = sync_path(src, false);
	if (err)
		return err;
	if (rename(src, dst))
		return errno;

	return sync_path(dir, true);
}


static bool id_row(const struct store_row *row, void *arg)
{
	*(int64_t *)arg = store_row_int(row, 0);

	return true;
}


static int insert(struct vmbox *vb, const char *mailbox, const char *file,
		  const struct vmbox_meta *meta, int64_t received,
		  int64_t *idp)
{
	int err;

	err = store_exec(vb->st, "INSERT INTO vm_message (mailbox, folder,"
			 " caller_num, caller_name, received, duration, file)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?)", "ssssids", mailbox,
			 meta->folder ? meta->folder : "INBOX",
			 meta->caller_num, meta->caller_name, received,
			 meta->duration, file);
	if (!err && idp)
		err = store_query(vb->st, id_row, idp, "SELECT id FROM"
				  " vm_message WHERE file = ?", "s", file);

	return err;
}


static void message_name(struct vmbox *vb, char *buf, size_t sz,
			 const char *mailbox, const char *ext)
{
	re_snprintf(buf, sz, VM_DIR "/%s/m-%lld-%u-%08x.%s", mailbox,
		    (long long)time(NULL), ++vb->seq, rand_u32(), ext);
}


/**
 * Make the recording @a incoming a message of @a mailbox: synced,
 * renamed, then indexed.  On error nothing of it remains indexed (the
 * incoming file stays for the caller to retry or drop).
 */
int vmbox_deposit(struct vmbox *vb, const char *mailbox,
		  const char *incoming, const struct vmbox_meta *meta,
		  int64_t *idp)
{
	char name[NAME_SZ], path[PATH_SZ];
	const char *ext;
	int err;

	if (!vb || !vmbox_name_ok(mailbox) || !incoming_ok(incoming) ||
	    !meta || (meta->folder && !vmbox_folder_ok(meta->folder)))
		return EINVAL;

	ext = audio_ext(incoming);
	message_name(vb, name, sizeof(name), mailbox, ext);
	err = settle(vb, mailbox, incoming, name);
	if (err)
		return err;

	err = insert(vb, mailbox, name, meta, (int64_t)time(NULL), idp);
	if (err) {
		log_error("voicemail: %s: cannot index %s: %s", mailbox, name,
			  store_errmsg(vb->st));
		path_of(vb, path, sizeof(path), name);
		(void)unlink(path);
		return err;
	}

	changed(vb, mailbox);

	return 0;
}


static bool count_row(const struct store_row *row, void *arg)
{
	struct vmbox_counts *c = arg;
	const char *folder = store_row_text(row, 0);
	uint32_t n = (uint32_t)store_row_int(row, 1);

	if (!strcmp(folder, "INBOX") || !strcmp(folder, "Urgent"))
		c->new_msgs += n;
	if (!strcmp(folder, "Urgent"))
		c->urgent += n;
	if (!strcmp(folder, "Old"))
		c->old_msgs += n;
	c->total += n;

	return false;
}


/** New (INBOX and Urgent) and old messages, as Asterisk counts them. */
int vmbox_counts(struct vmbox *vb, const char *mailbox,
		 struct vmbox_counts *c)
{
	if (!vb || !mailbox || !c)
		return EINVAL;

	memset(c, 0, sizeof(*c));

	return store_query(vb->st, count_row, c, "SELECT folder, count(*)"
			   " FROM vm_message WHERE mailbox = ? GROUP BY"
			   " folder", "s", mailbox);
}


struct list_ctx {
	vmbox_msg_h *h;
	void *arg;
};


static bool msg_row(const struct store_row *row, void *arg)
{
	struct list_ctx *ctx = arg;
	struct vmbox_msg m;

	m.id = store_row_int(row, 0);
	m.mailbox = store_row_text(row, 1);
	m.folder = store_row_text(row, 2);
	m.caller_num = store_row_text(row, 3);
	m.caller_name = store_row_text(row, 4);
	m.received = store_row_int(row, 5);
	m.duration = store_row_double(row, 6);
	m.heard = store_row_int(row, 7) != 0;
	m.file = store_row_text(row, 8);

	return ctx->h(&m, ctx->arg);
}


#define MSG_COLS "SELECT id, mailbox, folder, caller_num, caller_name," \
	" received, duration, heard, file FROM vm_message"


/** The messages of a folder (every folder when NULL), oldest first. */
int vmbox_list(struct vmbox *vb, const char *mailbox, const char *folder,
	       vmbox_msg_h *h, void *arg)
{
	struct list_ctx ctx = { h, arg };

	if (!vb || !mailbox || !h || (folder && !vmbox_folder_ok(folder)))
		return EINVAL;

	if (folder)
		return store_query(vb->st, msg_row, &ctx, MSG_COLS " WHERE"
				   " mailbox = ? AND folder = ? ORDER BY"
				   " received, id", "ss", mailbox, folder);

	return store_query(vb->st, msg_row, &ctx, MSG_COLS " WHERE mailbox"
			   " = ? ORDER BY received, id", "s", mailbox);
}


static int update(struct vmbox *vb, const char *mailbox, const char *sql,
		  const char *fmt, const char *a, int64_t id)
{
	int err;

	err = store_exec(vb->st, sql, fmt, a, id, mailbox);
	if (!err && !store_changes(vb->st))
		err = ENOENT;
	if (!err)
		changed(vb, mailbox);

	return err;
}


/** Save a message to another folder. */
int vmbox_move(struct vmbox *vb, const char *mailbox, int64_t id,
	       const char *folder)
{
	if (!vb || !mailbox || !vmbox_folder_ok(folder))
		return EINVAL;

	return update(vb, mailbox, "UPDATE vm_message SET folder = ? WHERE"
		      " id = ? AND mailbox = ?", "sis", folder, id);
}


/** Listened to: heard, and out of INBOX into Old (as Asterisk). */
int vmbox_heard(struct vmbox *vb, const char *mailbox, int64_t id)
{
	if (!vb || !mailbox)
		return EINVAL;

	return update(vb, mailbox, "UPDATE vm_message SET heard = 1, folder"
		      " = CASE WHEN folder = ? THEN 'Old' ELSE folder END"
		      " WHERE id = ? AND mailbox = ?", "sis", "INBOX", id);
}


struct file_ctx {
	char file[NAME_SZ];
	struct vmbox_meta meta;
	int64_t received;
	char num[64], name[128];
	bool found;
};


static bool file_row(const struct store_row *row, void *arg)
{
	struct file_ctx *f = arg;

	str_ncpy(f->file, store_row_text(row, 0), sizeof(f->file));
	if (!store_row_isnull(row, 1)) {
		str_ncpy(f->num, store_row_text(row, 1), sizeof(f->num));
		f->meta.caller_num = f->num;
	}
	if (!store_row_isnull(row, 2)) {
		str_ncpy(f->name, store_row_text(row, 2), sizeof(f->name));
		f->meta.caller_name = f->name;
	}
	f->meta.duration = store_row_double(row, 3);
	f->received = store_row_int(row, 4);
	f->found = true;

	return true;
}


static int find_file(struct vmbox *vb, const char *mailbox, int64_t id,
		     struct file_ctx *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	err = store_query(vb->st, file_row, f, "SELECT file, caller_num,"
			  " caller_name, duration, received FROM vm_message"
			  " WHERE id = ? AND mailbox = ?", "is", id, mailbox);

	return err ? err : f->found ? 0 : ENOENT;
}


/** The row goes first (committed), then the file: a crash between the
 *  two leaves a file that the next start removes. */
int vmbox_delete(struct vmbox *vb, const char *mailbox, int64_t id)
{
	char path[PATH_SZ];
	struct file_ctx f;
	int err;

	if (!vb || !mailbox)
		return EINVAL;

	err = find_file(vb, mailbox, id, &f);
	if (!err)
		err = store_exec(vb->st, "DELETE FROM vm_message WHERE id = ?"
				 " AND mailbox = ?", "is", id, mailbox);
	if (err)
		return err;

	path_of(vb, path, sizeof(path), f.file);
	if (unlink(path))
		log_warn("voicemail: %s: %m", path, errno);
	changed(vb, mailbox);

	return 0;
}


/** Forward: a new message of @a to, the same audio (a hard link), caller
 *  and time received (as Asterisk copies the message's envelope), new. */
int vmbox_copy(struct vmbox *vb, const char *mailbox, int64_t id,
	       const char *to, int64_t *idp)
{
	char name[NAME_SZ], src[PATH_SZ], dst[PATH_SZ], dir[PATH_SZ];
	struct file_ctx f;
	int err;

	if (!vb || !mailbox || !vmbox_name_ok(to))
		return EINVAL;

	err = find_file(vb, mailbox, id, &f);
	if (err)
		return err;

	err = box_dir(vb, to, dir, sizeof(dir));
	if (err)
		return err;
	message_name(vb, name, sizeof(name), to, audio_ext(f.file));
	path_of(vb, src, sizeof(src), f.file);
	path_of(vb, dst, sizeof(dst), name);
	if (link(src, dst))
		return errno;
	err = sync_path(dir, true);
	if (!err)
		err = insert(vb, to, name, &f.meta, f.received, idp);
	if (err) {
		(void)unlink(dst);
		return err;
	}
	changed(vb, to);

	return 0;
}


static void greeting_name(char *buf, size_t sz, const char *mailbox,
			  const char *kind, const char *ext)
{
	re_snprintf(buf, sz, VM_DIR "/%s/greet-%s.%s", mailbox, kind, ext);
}


/** The recorded greeting @a kind (unavail, busy, temp, name): its sound
 *  name, or ENOENT. */
int vmbox_greeting(struct vmbox *vb, const char *mailbox, const char *kind,
		   char *name, size_t sz)
{
	static const char *exts[] = { "wav", "gsm" };

	if (!vb || !vmbox_name_ok(mailbox) || !kind_ok(kind))
		return EINVAL;

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		char path[PATH_SZ];
		struct stat sb;

		greeting_name(name, sz, mailbox, kind, exts[i]);
		path_of(vb, path, sizeof(path), name);
		if (0 == stat(path, &sb))
			return 0;
	}

	return ENOENT;
}


int vmbox_greeting_remove(struct vmbox *vb, const char *mailbox,
			  const char *kind)
{
	char name[NAME_SZ], path[PATH_SZ];
	int err;

	err = vmbox_greeting(vb, mailbox, kind, name, sizeof(name));
	if (err)
		return err;

	path_of(vb, path, sizeof(path), name);

	return unlink(path) ? errno : 0;
}


/** Replace greeting @a kind by the recording @a incoming (atomic: the
 *  old one plays until the new one is whole on the disk). */
int vmbox_greeting_set(struct vmbox *vb, const char *mailbox,
		       const char *kind, const char *incoming)
{
	char name[NAME_SZ], old[NAME_SZ];

	if (!vb || !vmbox_name_ok(mailbox) || !kind_ok(kind) ||
	    !incoming_ok(incoming))
		return EINVAL;

	greeting_name(name, sizeof(name), mailbox, kind, audio_ext(incoming));
	if (0 == vmbox_greeting(vb, mailbox, kind, old, sizeof(old)) &&
	    strcmp(old, name))
		(void)vmbox_greeting_remove(vb, mailbox, kind);

	return settle(vb, mailbox, incoming, name);
}


struct pin_ctx {
	char *buf;
	size_t sz;
	bool found;
};


static bool pin_copy(const struct store_row *row, void *arg)
{
	struct pin_ctx *p = arg;

	str_ncpy(p->buf, store_row_text(row, 0), p->sz);
	p->found = true;

	return true;
}


/** The PIN the mailbox's owner set (ENOENT: none, the configured one
 *  holds). */
int vmbox_pin(struct vmbox *vb, const char *mailbox, char *pin, size_t sz)
{
	struct pin_ctx p = { pin, sz, false };
	int err;

	if (!vb || !mailbox || !pin || !sz)
		return EINVAL;

	err = store_query(vb->st, pin_copy, &p, "SELECT pin FROM vm_pin"
			  " WHERE mailbox = ?", "s", mailbox);

	return err ? err : p.found ? 0 : ENOENT;
}


int vmbox_set_pin(struct vmbox *vb, const char *mailbox, const char *pin)
{
	if (!vb || !vmbox_name_ok(mailbox) || !str_isset(pin))
		return EINVAL;

	return store_exec(vb->st, "INSERT INTO vm_pin (mailbox, pin) VALUES"
			  " (?, ?) ON CONFLICT (mailbox) DO UPDATE SET pin ="
			  " excluded.pin", "ss", mailbox, pin);
}
