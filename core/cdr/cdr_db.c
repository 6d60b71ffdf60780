/**
 * @file cdr_db.c  Call records in the state database (tables cdr and
 * cdr_var, through core/store/) and in Asterisk's Master.csv.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "store/store.h"
#include "cdr/cdr.h"
#include "cdr/cdr_priv.h"

/* Asterisk's column names ("end" is an SQL word: quoted everywhere). */
static const char * const schema[] = {
	"CREATE TABLE cdr ("
	" sequence INTEGER NOT NULL PRIMARY KEY,"
	" start TEXT NOT NULL, answer TEXT, \"end\" TEXT NOT NULL,"
	" duration INTEGER NOT NULL, billsec INTEGER NOT NULL,"
	" src TEXT, dst TEXT, context TEXT, clid TEXT,"
	" channel TEXT, dstchannel TEXT, disposition TEXT NOT NULL,"
	" accountcode TEXT, uniqueid TEXT NOT NULL, linkedid TEXT NOT NULL,"
	" userfield TEXT);"
	"CREATE INDEX cdr_start ON cdr(start);"
	"CREATE INDEX cdr_linkedid ON cdr(linkedid);"
	"CREATE TABLE cdr_var ("
	" sequence INTEGER NOT NULL REFERENCES cdr(sequence)"
	" ON DELETE CASCADE,"
	" name TEXT NOT NULL, value TEXT,"
	" PRIMARY KEY (sequence, name))",
};

#define COLUMNS "sequence, start, answer, \"end\", duration, billsec," \
	" src, dst, context, clid, channel, dstchannel, disposition," \
	" accountcode, uniqueid, linkedid, userfield"


/** @a ms of the wall clock as "YYYY-MM-DD HH:MM:SS", UTC. */
void cdrdb_time(char *buf, size_t sz, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (!strftime(buf, sz, "%Y-%m-%d %H:%M:%S", &tm) && sz)
		buf[0] = 0;
}


static bool max_seq(const struct store_row *row, void *arg)
{
	*(int64_t *)arg = store_row_int(row, 0);

	return true;
}


int cdrdb_open(struct cdr *cdr)
{
	int err;

	err = store_migrate(cdr->st, "cdr", schema, ARRAY_SIZE(schema));
	if (!err)
		err = store_query(cdr->st, max_seq, &cdr->seq,
				  "SELECT MAX(sequence) FROM cdr", "");
	if (err)
		log_error("cdr: %s", store_errmsg(cdr->st));

	return err;
}


/* The whole seconds from @a from to @a to, rounded down. */
static int64_t secs(uint64_t from, uint64_t to)
{
	return from && to > from ? (int64_t)((to - from) / 1000) : 0;
}


static int insert(struct cdr *cdr, const struct cdr_party *p,
		  const struct cdr_rec *r, int64_t seq)
{
	char start[24], answer[24], end[24];
	int err;

	cdrdb_time(start, sizeof(start), r->start);
	cdrdb_time(answer, sizeof(answer), r->answer);
	cdrdb_time(end, sizeof(end), r->end);

	err = store_exec(cdr->st, "INSERT INTO cdr (" COLUMNS ") VALUES"
			 " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 "isssiisssssssssss", seq, start,
			 r->answer ? answer : NULL, end,
			 secs(r->start, r->end), secs(r->answer, r->end),
			 r->src, r->dst, r->context, r->clid, r->channel,
			 r->dstchannel, r->disposition, r->accountcode,
			 p->uniqueid, p->linkedid, r->userfield);

	for (struct le *le = list_head(&r->vars); le && !err; le = le->next) {
		const struct cdr_var *v = le->data;

		err = store_exec(cdr->st, "INSERT INTO cdr_var (sequence,"
				 " name, value) VALUES (?, ?, ?)", "iss", seq,
				 v->name, v->value);
	}

	return err;
}


/* A CSV field, quoted as Asterisk does ("" for a quote inside). */
static int csv_field(struct mbuf *mb, const char *s, bool first)
{
	int err = first ? 0 : mbuf_write_u8(mb, ',');

	err |= mbuf_write_u8(mb, '"');
	for (; s && *s && !err; s++) {
		if (*s == '"')
			err |= mbuf_write_u8(mb, '"');
		err |= mbuf_write_u8(mb, *s == '\n' || *s == '\r' ? ' ' : *s);
	}

	return err | mbuf_write_u8(mb, '"');
}


/* Master.csv's columns (Asterisk's cdr_csv, in its order), then
 * linkedid, sequence and the dialplan's variables as name=value. */
static int csv_line(struct mbuf *mb, const struct cdr_party *p,
		    const struct cdr_rec *r, int64_t seq)
{
	char start[24], answer[24] = "", end[24], num[2][24], sq[24];
	int err;

	cdrdb_time(start, sizeof(start), r->start);
	if (r->answer)
		cdrdb_time(answer, sizeof(answer), r->answer);
	cdrdb_time(end, sizeof(end), r->end);
	re_snprintf(num[0], sizeof(num[0]), "%lld", secs(r->start, r->end));
	re_snprintf(num[1], sizeof(num[1]), "%lld", secs(r->answer, r->end));
	re_snprintf(sq, sizeof(sq), "%lld", seq);

	err  = csv_field(mb, r->accountcode, true);
	err |= csv_field(mb, r->src, false);
	err |= csv_field(mb, r->dst, false);
	err |= csv_field(mb, r->context, false);
	err |= csv_field(mb, r->clid, false);
	err |= csv_field(mb, r->channel, false);
	err |= csv_field(mb, r->dstchannel, false);
	err |= csv_field(mb, r->dstchannel && *r->dstchannel ? "Dial" : "",
			 false);                                   /* lastapp */
	err |= csv_field(mb, "", false);                      /* lastdata */
	err |= csv_field(mb, start, false);
	err |= csv_field(mb, answer, false);
	err |= csv_field(mb, end, false);
	err |= csv_field(mb, num[0], false);
	err |= csv_field(mb, num[1], false);
	err |= csv_field(mb, r->disposition, false);
	err |= csv_field(mb, "DOCUMENTATION", false);         /* amaflags */
	err |= csv_field(mb, p->uniqueid, false);
	err |= csv_field(mb, r->userfield, false);
	err |= csv_field(mb, p->linkedid, false);
	err |= csv_field(mb, sq, false);
	for (struct le *le = list_head(&r->vars); le && !err; le = le->next) {
		const struct cdr_var *v = le->data;
		char *nv = NULL;

		err = re_sdprintf(&nv, "%s=%s", v->name, v->value);
		if (!err)
			err = csv_field(mb, nv, false);
		mem_deref(nv);
	}

	return err | mbuf_write_str(mb, "\n");
}


/* Append (and sync) what the database has just taken; the database is
 * the record: a CSV that cannot be written is a warning. */
static void csv_append(struct cdr *cdr, const struct list *parties,
		       int64_t first)
{
	struct mbuf *mb = mbuf_alloc(512);
	int64_t seq = first;
	char dir[256], *slash;
	int fd, err = 0;

	if (!mb)
		return;

	for (struct le *pl = list_head(parties); pl && !err; pl = pl->next) {
		const struct cdr_party *p = pl->data;

		for (struct le *le = list_head(&p->recs); le && !err;
		     le = le->next)
			err = csv_line(mb, p, le->data, ++seq);
	}

	str_ncpy(dir, cdr->csv_path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		(void)mkdir(dir, 0750);
	}

	/* synced with the database (cdrdb_csv_sync), not line by line */
	fd = err ? -1 : open(cdr->csv_path, O_WRONLY | O_APPEND | O_CREAT |
			     O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, mb->buf, mb->end) != (ssize_t)mb->end)
		log_warn("cdr: %s: %m", cdr->csv_path, err ? err : errno);
	if (fd >= 0)
		close(fd);
	mem_deref(mb);
}


/** What was appended to the CSV file reaches the disk. */
void cdrdb_csv_sync(const struct cdr *cdr)
{
	int fd;

	if (!cdr->csv_path)
		return;

	fd = open(cdr->csv_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		log_warn("cdr: %s: %m", cdr->csv_path, errno);
	if (fd >= 0)
		close(fd);
}


/** Write the records of the parties in @a parties (struct cdr_party),
 *  all or none, in one lazy transaction (store_begin_lazy). */
int cdrdb_write(struct cdr *cdr, const struct list *parties)
{
	int64_t first = cdr->seq, seq = cdr->seq;
	int err;

	err = store_begin_lazy(cdr->st);
	for (struct le *pl = list_head(parties); pl && !err; pl = pl->next) {
		const struct cdr_party *p = pl->data;

		for (struct le *le = list_head(&p->recs); le && !err;
		     le = le->next)
			err = insert(cdr, p, le->data, ++seq);
	}
	if (!err)
		err = store_commit(cdr->st);
	if (err) {
		log_warn("cdr: %s", store_errmsg(cdr->st));
		store_rollback(cdr->st);
		return err;
	}

	cdr->seq = seq;
	if (cdr->csv_path && seq > first)
		csv_append(cdr, parties, first);

	return 0;
}


static const char *text(const struct store_row *row, unsigned col)
{
	const char *s = store_row_text(row, col);

	return s ? s : "";
}


struct last {
	cdr_row_h *h;
	void *arg;
};


static bool last_row(const struct store_row *row, void *arg)
{
	struct last *l = arg;
	struct cdr_row r;

	r.sequence = store_row_int(row, 0);
	r.start = text(row, 1);
	r.answer = text(row, 2);
	r.end = text(row, 3);
	r.duration = store_row_int(row, 4);
	r.billsec = store_row_int(row, 5);
	r.src = text(row, 6);
	r.dst = text(row, 7);
	r.context = text(row, 8);
	r.clid = text(row, 9);
	r.channel = text(row, 10);
	r.dstchannel = text(row, 11);
	r.disposition = text(row, 12);
	r.accountcode = text(row, 13);
	r.uniqueid = text(row, 14);
	r.linkedid = text(row, 15);
	r.userfield = text(row, 16);

	return l->h(&r, l->arg);
}


/** The last @a n records written, oldest first. */
int cdr_last(struct cdr *cdr, uint32_t n, cdr_row_h *rowh, void *arg)
{
	struct last l = { rowh, arg };

	if (!cdr || !rowh)
		return EINVAL;

	return store_query(cdr->st, last_row, &l,
			   "SELECT * FROM (SELECT " COLUMNS " FROM cdr"
			   " ORDER BY sequence DESC LIMIT ?) AS t"
			   " ORDER BY sequence", "i", (int64_t)n);
}


struct vars {
	cdr_var_h *h;
	void *arg;
};


static bool var_row(const struct store_row *row, void *arg)
{
	struct vars *v = arg;

	v->h(text(row, 0), text(row, 1), v->arg);

	return false;
}


/** The dialplan's variables of record @a sequence, by name. */
int cdr_vars(struct cdr *cdr, int64_t sequence, cdr_var_h *varh, void *arg)
{
	struct vars v = { varh, arg };

	if (!cdr || !varh)
		return EINVAL;

	return store_query(cdr->st, var_row, &v, "SELECT name, value FROM"
			   " cdr_var WHERE sequence = ? ORDER BY name", "i",
			   sequence);
}
