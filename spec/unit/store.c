/**
 * @file store.c  Spec of the storage module (core/store/store.h): schema
 * versions per module, typed parameters and rows, transactions, errors
 * as errno values, and durability: a process killed with SIGKILL in the
 * middle of a transaction loses none of the rows it committed and keeps
 * none of the rest.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <re.h>
#include "pbx.h"
#include "store/store.h"
#include "tap.h"
#include "tmpstore.h"

struct pbx *pbx_instance;  /* core/main.c's, which is not linked in */

static char dir[64], dbpath[96];

static const char * const steps[] = {
	"CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL"
	" UNIQUE, qty INTEGER, price REAL)",
	"ALTER TABLE item ADD COLUMN note TEXT;"
	"CREATE INDEX item_qty ON item(qty)",
};


struct rows {
	unsigned n;
	char names[8][32];
	int64_t qty[8];
	double price[8];
	bool null_note[8];
	unsigned stop_after;
};


static bool collect(const struct store_row *row, void *arg)
{
	struct rows *r = arg;

	if (r->n < 8) {
		str_ncpy(r->names[r->n], store_row_text(row, 0), 32);
		r->qty[r->n] = store_row_int(row, 1);
		r->price[r->n] = store_row_double(row, 2);
		r->null_note[r->n] = store_row_isnull(row, 3);
	}
	++r->n;

	return r->stop_after && r->n >= r->stop_after;
}


static bool first_int(const struct store_row *row, void *arg)
{
	*(int64_t *)arg = store_row_int(row, 0);

	return true;
}


/* The one integer a query returns (-1 on error). */
static int64_t count(struct store *st, const char *sql)
{
	int64_t n = -1;

	if (store_query(st, first_int, &n, sql, NULL))
		n = -1;

	return n;
}


static void test_schema(void)
{
	struct store *st = NULL;
	int v = -1;

	ok(!store_open(&st, dbpath), "open creates the database");
	ok(!store_version(st, "shop", &v) && v == 0, "a module never seen"
	   " is at version 0");
	ok(!store_migrate(st, "shop", steps, 1), "migrate to version 1");
	ok(!store_version(st, "shop", &v) && v == 1, "... now version 1");
	ok(!store_migrate(st, "shop", steps, 2), "then to version 2 (two"
	   " statements in one step)");
	ok(!store_migrate(st, "shop", steps, 2), "migrating again does"
	   " nothing");
	ok(!store_migrate(st, "other", steps, 0) &&
	   !store_version(st, "other", &v) && v == 0, "modules have versions"
	   " of their own");
	mem_deref(st);

	ok(!store_open(&st, dbpath) && !store_version(st, "shop", &v) &&
	   v == 2, "reopened: version 2 kept");
	is_int(store_migrate(st, "shop", steps, 1), EPROTO, "a program that"
	       " knows only version 1: EPROTO, nothing changed");
	diag("%s", store_errmsg(st));

	const char * const bad[] = { steps[0], steps[1],
				     "CREATE TABLE oops (x INTEGER);"
				     "THIS IS NOT SQL" };
	ok(store_migrate(st, "shop", bad, 3) == EINVAL &&
	   !store_version(st, "shop", &v) && v == 2, "a failing step: an"
	   " error, the version stays 2");
	ok(count(st, "SELECT count(*) FROM sqlite_master WHERE"
		 " name = 'oops'") == 0, "... and its first statement was"
	   " rolled back with it");
	mem_deref(st);
}


static void test_rows(void)
{
	struct store *st = NULL;
	struct rows r = { 0 };

	(void)store_open(&st, dbpath);
	ok(!store_exec(st, "INSERT INTO item(name, qty, price, note)"
		       " VALUES (?, ?, ?, ?)", "sids", "apple", (int64_t)3,
		       0.5, "red"), "insert with text, integer, real");
	is_int(store_changes(st), 1, "one row changed");
	ok(!store_exec(st, "INSERT INTO item(name, qty, price, note)"
		       " VALUES (?, ?, ?, ?)", "sids", "pear",
		       (int64_t)1 << 40, 1.25, NULL), "a 64-bit integer and"
	   " a NULL");
	ok(!store_query(st, collect, &r, "SELECT name, qty, price, note FROM"
			" item ORDER BY name", NULL), "query");
	is_int(r.n, 2, "two rows");
	is_str(r.names[0], "apple", "text read back");
	ok(r.qty[0] == 3 && r.price[0] == 0.5 && !r.null_note[0],
	   "integer and real read back");
	ok(r.qty[1] == (int64_t)1 << 40 && r.null_note[1], "64 bits and"
	   " NULL read back");

	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	ok(!store_query(st, collect, &r, "SELECT name, qty, price, note FROM"
			" item WHERE qty > ? ORDER BY name", "i", (int64_t)0)
	   && r.n == 1, "a row handler may stop the query");

	is_int(store_exec(st, "INSERT INTO item(name) VALUES (?)", "s",
			  "apple"), EEXIST, "a duplicate key: EEXIST");
	is_int(store_exec(st, "INSERT INTO item(name) VALUES (?)", "s", NULL),
	       EEXIST, "a NOT NULL column given NULL: EEXIST (constraint)");
	is_int(store_exec(st, "SELEC 1", NULL), EINVAL, "bad SQL: EINVAL");
	ok(strstr(store_errmsg(st), "syntax") != NULL, "... and the message"
	   " says why (%s)", store_errmsg(st));
	is_int(store_exec(st, "SELECT ?, ?", "s", "x"), EINVAL,
	       "fewer parameters than '?': EINVAL");
	is_int(store_exec(st, "SELECT ?", "x", 1), EINVAL,
	       "an unknown parameter letter: EINVAL");
	ok(!store_exec(st, "UPDATE item SET qty = qty + 1", NULL) &&
	   store_changes(st) == 2, "an UPDATE counts its rows");
	mem_deref(st);
}


static void test_transactions(void)
{
	struct store *st = NULL;

	(void)store_open(&st, dbpath);
	ok(!store_begin(st), "begin");
	is_int(store_begin(st), EALREADY, "transactions do not nest");
	(void)store_exec(st, "INSERT INTO item(name) VALUES ('plum')", NULL);
	store_rollback(st);
	is_int(count(st, "SELECT count(*) FROM item WHERE name = 'plum'"), 0,
	       "rolled back: the row is not there");

	ok(!store_begin(st), "begin again");
	(void)store_exec(st, "INSERT INTO item(name) VALUES ('fig')", NULL);
	ok(!store_commit(st), "commit");
	is_int(count(st, "SELECT count(*) FROM item WHERE name = 'fig'"), 1,
	       "committed: the row is there");
	is_int(store_commit(st), EINVAL, "commit without a transaction:"
	       " EINVAL");

	ok(!store_begin(st), "a transaction whose statement fails ...");
	ok(store_exec(st, "INSERT INTO item(name) VALUES ('fig')", NULL) ==
	   EEXIST, "... (a duplicate)");
	store_rollback(st);
	ok(!store_begin(st), "... can be rolled back and another begun");
	store_rollback(st);
	mem_deref(st);
}


/* In a child: commit @a n rows one by one, then start a transaction,
 * write more, tell the parent, and wait to be killed. */
static void child(int fd, int n)
{
	struct store *st = NULL;
	char ready = 'r';

	if (store_open(&st, dbpath))
		_exit(2);
	for (int i = 0; i < n; i++) {
		char name[32];

		re_snprintf(name, sizeof(name), "kill-%d", i);
		if (store_exec(st, "INSERT INTO item(name, qty) VALUES (?, ?)",
			       "si", name, (int64_t)i))
			_exit(3);
	}
	if (store_begin(st))
		_exit(4);
	for (int i = 0; i < 2000; i++) {
		char name[32];

		re_snprintf(name, sizeof(name), "open-%d", i);
		(void)store_exec(st, "INSERT INTO item(name, qty) VALUES (?,"
				 " ?)", "si", name, (int64_t)i);
	}
	(void)write(fd, &ready, 1);
	pause();
	_exit(5);
}


static void test_kill9(void)
{
	struct store *st = NULL;
	int fds[2], status = 0;
	char c = 0;
	pid_t pid;

	if (pipe(fds)) {
		ok(false, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], 50);
	}
	close(fds[1]);
	ok(read(fds[0], &c, 1) == 1 && c == 'r', "a child process committed"
	   " 50 rows and holds a transaction of 2000 more");
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "it was"
	   " killed with SIGKILL");

	ok(!store_open(&st, dbpath), "the database opens after the kill");
	is_int(count(st, "SELECT count(*) FROM item WHERE name LIKE"
		     " 'kill-%'"), 50, "every committed row is there");
	is_int(count(st, "SELECT count(*) FROM item WHERE name LIKE"
		     " 'open-%'"), 0, "none of the uncommitted transaction");
	is_int(count(st, "SELECT sum(qty) FROM item WHERE name LIKE"
		     " 'kill-%'"), 49 * 50 / 2, "the committed rows are"
	       " whole");
	mem_deref(st);
}


/* Lazy commits (store_begin_lazy): no fsync each, yet a kill -9 right
 * after them loses none; store_sync() then takes them to the disk. */
static void lazy_child(int fd)
{
	struct store *st = NULL;
	char ready = 'r';

	if (store_open(&st, dbpath))
		_exit(2);
	for (int i = 0; i < 200; i++) {
		char name[32];

		re_snprintf(name, sizeof(name), "lazy-%d", i);
		if (store_begin_lazy(st) ||
		    store_exec(st, "INSERT INTO item(name, qty) VALUES (?, ?)",
			       "si", name, (int64_t)i) ||
		    store_commit(st))
			_exit(3);
	}
	(void)write(fd, &ready, 1);
	pause();
	_exit(5);
}


static void test_lazy(void)
{
	struct store *st = NULL;
	int fds[2], status = 0;
	char c = 0;
	pid_t pid;

	(void)store_open(&st, dbpath);
	ok(!store_begin_lazy(st) && store_begin_lazy(st) == EALREADY &&
	   store_begin(st) == EALREADY, "a lazy transaction; none other"
	   " while it is open");
	ok(!store_exec(st, "INSERT INTO item(name, qty) VALUES ('l1', 1)",
		       NULL) && !store_commit(st), "... committed");
	is_int(store_sync(st), 0, "store_sync: the log to the disk");
	ok(!store_begin(st) && store_sync(st) == EINVAL, "no sync inside a"
	   " transaction: EINVAL");
	store_rollback(st);
	ok(!store_begin_lazy(st) && !store_exec(st, "INSERT INTO item(name,"
	   " qty) VALUES ('l2', 2)", NULL), "a lazy transaction ...");
	store_rollback(st);
	is_int(count(st, "SELECT count(*) FROM item WHERE name IN ('l1',"
		     " 'l2')"), 1, "... rolled back: only the committed row");
	mem_deref(st);

	if (pipe(fds)) {
		ok(false, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		lazy_child(fds[1]);
	}
	close(fds[1]);
	ok(read(fds[0], &c, 1) == 1 && c == 'r', "a child process made 200"
	   " lazy commits, no sync");
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(!store_open(&st, dbpath), "killed with SIGKILL: the database"
	   " opens");
	is_int(count(st, "SELECT count(*) FROM item WHERE name LIKE"
		     " 'lazy-%'"), 200, "every lazy commit is there");
	mem_deref(st);
}


struct named {
	char cols[4][16];
	char types[4];
	unsigned n;
};


static bool named_row(const struct store_row *row, void *arg)
{
	struct named *r = arg;

	r->n = store_row_columns(row);
	for (unsigned c = 0; c < r->n && c < 4; c++) {
		str_ncpy(r->cols[c], store_row_name(row, c), 16);
		r->types[c] = store_row_type(row, c);
	}

	return true;
}


/* Parameters as values (a binding's), column names and types, and the
 * log writes that do not wait for the disk. */
static void test_values(void)
{
	struct store *st = NULL;
	struct named r;
	struct store_val v[4] = {
		{ 's', { .s = "plum" } }, { 'i', { .i = 7 } },
		{ 'd', { .d = 2.5 } }, { 0, { .s = NULL } },
	};

	memset(&r, 0, sizeof(r));
	(void)store_open(&st, dbpath);
	ok(!store_execv(st, NULL, NULL, "INSERT INTO item(name, qty, price,"
			" note) VALUES (?, ?, ?, ?)", v, 4), "store_execv:"
	   " text, integer, real, NULL");
	ok(!store_execv(st, named_row, &r, "SELECT name, qty AS q, price,"
			" note FROM item WHERE name = ?", v, 1) && r.n == 4,
	   "a query with values");
	ok(!strcmp(r.cols[1], "q") && !strcmp(r.cols[3], "note"),
	   "column names (%s, %s)", r.cols[1], r.cols[3]);
	ok(r.types[0] == 's' && r.types[1] == 'i' && r.types[2] == 'd' &&
	   r.types[3] == 0, "column types: s, i, d, NULL");
	is_int(store_execv(st, NULL, NULL, "SELECT ?, ?", v, 1), EINVAL,
	       "fewer values than '?': EINVAL");
	ok(!store_append(st, "INSERT INTO item(name, qty) VALUES (?, ?)",
			 (struct store_val[]){ { 's', { .s = "fig" } },
					       { 'i', { .i = 1 } } }, 2),
	   "store_append");
	is_int(count(st, "SELECT qty FROM item WHERE name = 'fig'"), 1,
	       "... the row is there");
	is_int(store_append(st, "INSERT INTO item(name) VALUES (?)",
			    v, 1), EEXIST, "... and its errors are errno"
	       " values (EEXIST)");
	ok(!store_exec(st, "DELETE FROM item WHERE name IN ('plum', 'fig')",
		       NULL), "clean up");
	mem_deref(st);
}


static void test_args(void)
{
	struct store *st = NULL;
	char path[128];

	is_int(store_open(&st, ""), EINVAL, "open without a path: EINVAL");
	re_snprintf(path, sizeof(path), "%s/no/such/dir/x.db", dir);
	ok(store_open(&st, path) != 0 && st == NULL, "a folder that does"
	   " not exist: an error, no store");
	is_int(store_exec(NULL, "SELECT 1", NULL), EINVAL, "no store:"
	       " EINVAL");
}


int main(void)
{
	struct leakcheck lc;

	libre_init();
	if (tmpstore_init(dir, sizeof(dir), "store"))
		return 1;
	re_snprintf(dbpath, sizeof(dbpath), "%s/test.db", dir);

	leak_begin(&lc);
	test_schema();
	leak_end(&lc, "schema versions");

	leak_begin(&lc);
	test_rows();
	leak_end(&lc, "parameters and rows");

	leak_begin(&lc);
	test_values();
	leak_end(&lc, "values, names, types, append");

	leak_begin(&lc);
	test_transactions();
	leak_end(&lc, "transactions");

	leak_begin(&lc);
	test_kill9();
	leak_end(&lc, "kill -9");

	leak_begin(&lc);
	test_lazy();
	leak_end(&lc, "lazy commits");

	leak_begin(&lc);
	test_args();
	leak_end(&lc, "bad arguments");

	tmpstore_remove(dir);
	libre_close();

	return done_testing();
}
