/**
 * @file cdr.c  Spec of the call records' storage (core/cdr/): the schema
 * in the state database, a party's records written all or none, read
 * back by cdr_last and cdr_vars, Master.csv's columns and quoting,
 * Asterisk's dispositions and the names a dialplan may use.  How records
 * follow legs, calls and bridges is the end-to-end tests' (68, 69).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "pbx.h"
#include "store/store.h"
#include "call/dial.h"
#include "cdr/cdr.h"
#include "cdr/cdr_priv.h"
#include "tap.h"
#include "tmpstore.h"

struct pbx *pbx_instance;  /* core/main.c's, which is not linked in */

static char dir[64], dbpath[96], csvpath[96];


/* A record as cdr.c would have closed it: times in ms of the wall clock. */
static struct cdr_rec *rec(struct cdr_party *p, uint64_t start,
			   uint64_t answer, uint64_t end, const char *disp,
			   const char *userfield)
{
	struct cdr_rec *r = cdr_rec_alloc();

	r->start = start;
	r->answer = answer;
	r->end = end;
	(void)str_dup(&r->src, "203");
	(void)str_dup(&r->dst, "201");
	(void)str_dup(&r->context, "internal");
	(void)str_dup(&r->clid, "\"Carol \"C\"\" <203>");
	(void)str_dup(&r->channel, "SIP/carol-0000000a");
	(void)str_dup(&r->dstchannel, answer ? "SIP/alice-0000000b" : "");
	(void)str_dup(&r->accountcode, "acme");
	(void)str_dup(&r->userfield, userfield);
	r->disposition = disp;
	list_append(&p->recs, &r->le, r);

	return r;
}


static void var(struct cdr_rec *r, const char *name, const char *value)
{
	(void)cdr_rec_var(r, name, value);
}


struct got {
	unsigned n;
	int64_t seq[8];
	int64_t billsec[8], duration[8];
	char answer[8][24], start[8][24], disp[8][16], user[8][16];
	char uniq[8][32];
};


static bool collect(const struct cdr_row *row, void *arg)
{
	struct got *g = arg;

	if (g->n < 8) {
		g->seq[g->n] = row->sequence;
		g->billsec[g->n] = row->billsec;
		g->duration[g->n] = row->duration;
		str_ncpy(g->answer[g->n], row->answer, 24);
		str_ncpy(g->start[g->n], row->start, 24);
		str_ncpy(g->disp[g->n], row->disposition, 16);
		str_ncpy(g->user[g->n], row->userfield, 16);
		str_ncpy(g->uniq[g->n], row->uniqueid, 32);
	}
	++g->n;

	return false;
}


static void vars_of(const char *name, const char *value, void *arg)
{
	char *buf = arg;

	strcat(buf, name);
	strcat(buf, "=");
	strcat(buf, value);
	strcat(buf, ";");
}


static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = 0;
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;

	return buf;
}


/* 2026-01-02 03:04:05 UTC, in ms */
#define T0 1767323045000ULL


static void test_write_read(void)
{
	struct store *st = NULL;
	struct cdr *cdr = NULL;
	struct cdr_party *p;
	struct cdr_rec *r;
	struct got g;
	struct list l = LIST_INIT;
	char vars[256] = "";

	(void)store_open(&st, dbpath);
	ok(!cdr_alloc(&cdr, NULL, st), "cdr_alloc makes its tables");
	memset(&g, 0, sizeof(g));
	ok(!cdr_last(cdr, 10, collect, &g) && g.n == 0, "no record yet");

	p = cdr_party_alloc();
	str_ncpy(p->uniqueid, "1767323045.10", sizeof(p->uniqueid));
	str_ncpy(p->linkedid, "1767323045.10", sizeof(p->linkedid));
	r = rec(p, T0, T0 + 4200, T0 + 6999, "ANSWERED", "vip");
	var(r, "campaign", "x,\"mas\"");
	var(r, "agent", "7");
	(void)rec(p, T0 + 7000, 0, T0 + 9500, "NO ANSWER", "");
	list_append(&l, &p->le, p);

	ok(!cdrdb_write(cdr, &l), "a party's two records are written");
	memset(&g, 0, sizeof(g));
	ok(!cdr_last(cdr, 10, collect, &g) && g.n == 2, "two records read"
	   " back");
	ok(g.seq[0] == 1 && g.seq[1] == 2, "numbered 1 and 2, oldest first");
	is_str(g.start[0], "2026-01-02 03:04:05", "start in UTC,"
	       " YYYY-MM-DD HH:MM:SS");
	is_str(g.answer[0], "2026-01-02 03:04:09", "answer");
	ok(g.duration[0] == 6 && g.billsec[0] == 2, "duration 6, billsec 2"
	   " (6.999 s and 2.799 s rounded down, as Asterisk)");
	ok(g.answer[1][0] == 0 && g.billsec[1] == 0 && g.duration[1] == 2,
	   "not answered: no answer time, billsec 0");
	ok(!strcmp(g.disp[0], "ANSWERED") && !strcmp(g.disp[1], "NO ANSWER")
	   && !strcmp(g.user[0], "vip") && !strcmp(g.uniq[1],
						   "1767323045.10"),
	   "disposition, userfield and uniqueid kept");
	ok(!cdr_vars(cdr, 1, vars_of, vars), "the dialplan's variables");
	is_str(vars, "agent=7;campaign=x,\"mas\";", "... by name");

	memset(&g, 0, sizeof(g));
	ok(!cdr_last(cdr, 1, collect, &g) && g.n == 1 && g.seq[0] == 2,
	   "cdr_last(1): the last one only");

	/* a write that fails writes nothing: its numbers are taken */
	cdr->seq = 1;
	ok(cdrdb_write(cdr, &l) == EEXIST, "a record whose number exists:"
	   " EEXIST");
	memset(&g, 0, sizeof(g));
	ok(!cdr_last(cdr, 10, collect, &g) && g.n == 2, "... and neither"
	   " record of the transaction was written");
	is_int(cdr->seq, 1, "... the number in hand is unchanged");

	/* the CSV file, from the next write on */
	cdr->seq = 2;
	ok(!cdr_set_csv(cdr, csvpath), "Master.csv asked for");
	ok(!cdrdb_write(cdr, &l), "written again (3, 4)");
	is_str(slurp(csvpath),
	       "\"acme\",\"203\",\"201\",\"internal\","
	       "\"\"\"Carol \"\"C\"\"\"\" <203>\",\"SIP/carol-0000000a\","
	       "\"SIP/alice-0000000b\",\"Dial\",\"\","
	       "\"2026-01-02 03:04:05\",\"2026-01-02 03:04:09\","
	       "\"2026-01-02 03:04:11\",\"6\",\"2\",\"ANSWERED\","
	       "\"DOCUMENTATION\",\"1767323045.10\",\"vip\","
	       "\"1767323045.10\",\"3\",\"campaign=x,\"\"mas\"\"\","
	       "\"agent=7\"\n"
	       "\"acme\",\"203\",\"201\",\"internal\","
	       "\"\"\"Carol \"\"C\"\"\"\" <203>\",\"SIP/carol-0000000a\","
	       "\"\",\"\",\"\","
	       "\"2026-01-02 03:04:12\",\"\","
	       "\"2026-01-02 03:04:14\",\"2\",\"0\",\"NO ANSWER\","
	       "\"DOCUMENTATION\",\"1767323045.10\",\"\","
	       "\"1767323045.10\",\"4\"\n",
	       "Master.csv: Asterisk's columns, quotes doubled, then"
	       " linkedid, sequence, the variables");
	ok(!cdr_set_csv(cdr, NULL), "no CSV any more");

	/* two parties (calls that ended in the same commit window): one
	 * transaction */
	{
		struct cdr_party *q = cdr_party_alloc();

		str_ncpy(q->uniqueid, "1767323046.12", sizeof(q->uniqueid));
		str_ncpy(q->linkedid, "1767323046.12", sizeof(q->linkedid));
		(void)rec(q, T0 + 1000, T0 + 2000, T0 + 3000, "ANSWERED", "q");
		list_append(&l, &q->le, q);
		ok(!cdrdb_write(cdr, &l), "two parties' three records in one"
		   " write (5, 6, 7)");
		memset(&g, 0, sizeof(g));
		ok(!cdr_last(cdr, 3, collect, &g) && g.n == 3 &&
		   g.seq[2] == 7 && !strcmp(g.uniq[2], "1767323046.12") &&
		   !strcmp(g.user[2], "q"), "... the second party's last");
		/* a record numbered 10 is there: 8 and 9 go in, 10 clashes */
		ok(!store_exec(st, "INSERT INTO cdr (sequence, start, \"end\","
			       " duration, billsec, disposition, uniqueid,"
			       " linkedid) VALUES (10, 'x', 'x', 0, 0, 'FAILED',"
			       " 'u', 'l')", ""), "(a record 10 put there)");
		ok(cdrdb_write(cdr, &l) == EEXIST && cdr->seq == 7, "a clash"
		   " in the second party's record: EEXIST, nothing numbered");
		memset(&g, 0, sizeof(g));
		ok(!cdr_last(cdr, 100, collect, &g) && g.n == 8 &&
		   g.seq[7] == 10, "... and the first party's records (8, 9)"
		   " of that write are not there either");
		(void)store_exec(st, "DELETE FROM cdr WHERE sequence = 10", "");
	}

	list_flush(&l);
	mem_deref(cdr);

	ok(!cdr_alloc(&cdr, NULL, st) && cdr->seq == 7, "opened again: it"
	   " numbers on from 7");
	mem_deref(cdr);
	mem_deref(st);
}


static void test_words(void)
{
	ok(cdr_name_valid("campaign") && cdr_name_valid("_x1") &&
	   cdr_name_valid("Agent_2"), "names of the dialplan's own");
	ok(!cdr_name_valid("") && !cdr_name_valid("1x") &&
	   !cdr_name_valid("a-b") && !cdr_name_valid("a b") &&
	   !cdr_name_valid("abcdefghijklmnopqrstuvwxyz0123456"),
	   "bad names: empty, a digit first, signs, over 32");
	ok(!cdr_name_valid("src") && !cdr_name_valid("BILLSEC") &&
	   !cdr_name_valid("disposition"), "the PBX's own fields are not"
	   " the dialplan's");

	is_str(cdr_disposition(true, DIAL_BUSY, 486), "ANSWERED", "answered"
	       " wins");
	is_str(cdr_disposition(false, DIAL_BUSY, 0), "BUSY", "a dial: BUSY");
	is_str(cdr_disposition(false, DIAL_NOANSWER, 0), "NO ANSWER",
	       "NOANSWER: NO ANSWER");
	is_str(cdr_disposition(false, DIAL_CANCEL, 0), "NO ANSWER", "CANCEL:"
	       " NO ANSWER");
	is_str(cdr_disposition(false, DIAL_CHANUNAVAIL, 0), "FAILED",
	       "CHANUNAVAIL: FAILED");
	is_str(cdr_disposition(false, DIAL_CONGESTION, 0), "FAILED",
	       "CONGESTION: FAILED");
	is_str(cdr_disposition(false, 0, 486), "BUSY", "no dial, 486: BUSY");
	is_str(cdr_disposition(false, 0, 487), "NO ANSWER", "no dial, the"
	       " caller gave up (487): NO ANSWER");
	is_str(cdr_disposition(false, 0, 0), "NO ANSWER", "no dial, no"
	       " code: NO ANSWER");
	is_str(cdr_disposition(false, 0, 404), "FAILED", "no dial, 404:"
	       " FAILED");
}


static void test_args(void)
{
	struct cdr *cdr = NULL;
	char buf[8];

	is_int(cdr_alloc(&cdr, NULL, NULL), EINVAL, "cdr_alloc without a"
	       " store: EINVAL");
	is_int(cdr_set(NULL, NULL, "userfield", "x"), EINVAL, "cdr_set"
	       " without a module: EINVAL");
	is_int(cdr_get(NULL, NULL, "src", buf, sizeof(buf)), EINVAL,
	       "cdr_get without a module: EINVAL");
	is_int(cdr_last(NULL, 1, collect, NULL), EINVAL, "cdr_last without"
	       " a module: EINVAL");
	is_int(cdr_open_count(NULL), 0, "cdr_open_count(NULL): 0");
}


int main(void)
{
	struct leakcheck lc;
	char cmd[160];

	libre_init();
	if (tmpstore_init(dir, sizeof(dir), "cdr"))
		return 1;
	re_snprintf(dbpath, sizeof(dbpath), "%s/test.db", dir);
	re_snprintf(csvpath, sizeof(csvpath), "%s/cdr-csv/Master.csv", dir);

	/* SQLite sets up a few things for good on the first queries of some
	 * kinds (sorting into a temporary table): a first run warms up */
	test_write_read();
	re_snprintf(cmd, sizeof(cmd), "rm -rf %s/cdr-csv %s", dir, dbpath);
	(void)system(cmd);

	leak_begin(&lc);
	test_write_read();
	leak_end(&lc, "write and read records");

	leak_begin(&lc);
	test_words();
	leak_end(&lc, "names and dispositions");

	leak_begin(&lc);
	test_args();
	leak_end(&lc, "bad arguments");

	tmpstore_remove(dir);
	libre_close();

	return done_testing();
}
