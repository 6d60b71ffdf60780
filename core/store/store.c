/**
 * @file store.c  The store over SQLite (see store.h for the contract).
 */
#include <stdarg.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/store.h"

enum { STMT_CACHE = 64, BUSY_MS = 5000 };

/* A prepared statement kept for the next call with the same SQL. */
struct cached {
	struct le le;
	char *sql;
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	char *path;
	struct list cache;        /* most recently used first */
	uint64_t changes;
	bool in_tx;
	bool lazy;                /* this transaction's commit: no fsync */
	bool relaxed;       /* synchronous=NORMAL in force (store_append) */
	char errmsg[256];
};

struct store_row {
	sqlite3_stmt *stmt;
};


static void cached_destructor(void *arg)
{
	struct cached *c = arg;

	list_unlink(&c->le);
	sqlite3_finalize(c->stmt);
	mem_deref(c->sql);
}


static void destructor(void *arg)
{
	struct store *st = arg;

	list_flush(&st->cache);
	if (st->db)
		sqlite3_close(st->db);   /* checkpoints the write-ahead log */
	mem_deref(st->path);
}


static int errno_of(int rc)
{
	switch (rc & 0xff) {

	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:      return 0;
	case SQLITE_CONSTRAINT: return EEXIST;
	case SQLITE_FULL:      return ENOSPC;
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:    return EIO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:    return EBUSY;
	case SQLITE_NOMEM:     return ENOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:  return EACCES;
	default:               return EINVAL;
	}
}


/* Remember what went wrong (for store_errmsg) and say it as an errno. */
static int fail(struct store *st, int rc, const char *what)
{
	re_snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", what,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));

	return errno_of(rc) ? errno_of(rc) : EINVAL;
}


static int pragma(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(st, rc, sql);
}


/**
 * Open (or create) the database at @a path, durable as store.h says.
 */
int store_open(struct store **stp, const char *path)
{
	struct store *st;
	int rc, err;

	if (!stp || !path || !*path)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;

	err = str_dup(&st->path, path);
	if (err)
		goto out;

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = fail(st, rc, path);
		goto out;
	}
	sqlite3_busy_timeout(st->db, BUSY_MS);

	/* The write-ahead log makes a commit one append and one fsync;
	 * FULL syncs the log at every commit, so a commit that returned
	 * survives a power cut, not only a crash of the process. */
	err = pragma(st, "PRAGMA journal_mode=WAL");
	err = err ? err : pragma(st, "PRAGMA synchronous=FULL");
	err = err ? err : pragma(st, "PRAGMA foreign_keys=ON");
	err = err ? err : pragma(st, "CREATE TABLE IF NOT EXISTS store_schema"
				 " (module TEXT PRIMARY KEY,"
				 " version INTEGER NOT NULL)");
 out:
	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


static sqlite3_stmt *prepare(struct store *st, const char *sql, int *errp)
{
	struct cached *c;
	sqlite3_stmt *stmt;
	int rc;

	for (struct le *le = st->cache.head; le; le = le->next) {
		c = le->data;
		if (strcmp(c->sql, sql))
			continue;
		list_unlink(&c->le);               /* to the front */
		list_prepend(&st->cache, &c->le, c);
		return c->stmt;
	}

	rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		*errp = fail(st, rc, "prepare");
		return NULL;
	}

	if (list_count(&st->cache) >= STMT_CACHE)
		mem_deref(list_tail(&st->cache)->data);

	c = mem_zalloc(sizeof(*c), cached_destructor);
	if (!c || str_dup(&c->sql, sql)) {
		sqlite3_finalize(stmt);
		mem_deref(c);
		*errp = ENOMEM;
		return NULL;
	}
	c->stmt = stmt;
	list_prepend(&st->cache, &c->le, c);

	return stmt;
}


static int bind_params(struct store *st, sqlite3_stmt *stmt,
		       const char *fmt,
		va_list ap)
{
	int n = sqlite3_bind_parameter_count(stmt);
	int i = 0, rc = SQLITE_OK;

	for (const char *f = fmt ? fmt : ""; *f && rc == SQLITE_OK; f++) {
		const char *s;

		++i;
		switch (*f) {

		case 's':
			s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(stmt, i, s, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(stmt, i);
			break;

		case 'i':
			rc = sqlite3_bind_int64(stmt, i, va_arg(ap, int64_t));
			break;

		case 'd':
			rc = sqlite3_bind_double(stmt, i, va_arg(ap, double));
			break;

		default:
			re_snprintf(st->errmsg, sizeof(st->errmsg),
				    "parameter %d: unknown type '%c'", i, *f);
			return EINVAL;
		}
	}

	if (rc != SQLITE_OK)
		return fail(st, rc, "bind");
	if (i != n) {
		re_snprintf(st->errmsg, sizeof(st->errmsg), "%d parameters"
			    " given, the statement has %d", i, n);
		return EINVAL;
	}

	return 0;
}


/* The bound statement's rows to @a rowh, then the statement reset. */
static int steps(struct store *st, sqlite3_stmt *stmt, store_row_h *rowh,
		 void *arg, const char *sql, int err)
{
	struct store_row row;
	int rc;

	row.stmt = stmt;
	while (!err) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			err = fail(st, rc, sql);
			break;
		}
		if (rowh && rowh(&row, arg))
			break;
	}

	if (!err)
		st->changes = (uint64_t)sqlite3_changes(st->db);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);

	return err;
}


static int run(struct store *st, store_row_h *rowh, void *arg,
	       const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *stmt;
	int err = 0;

	if (!st || !sql)
		return EINVAL;

	stmt = prepare(st, sql, &err);
	if (!stmt)
		return err;

	err = bind_params(st, stmt, fmt, ap);
	return steps(st, stmt, rowh, arg, sql, err);
}


/** Run one statement; its rows, if any, are dropped. */
int store_exec(struct store *st, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = run(st, NULL, NULL, sql, fmt, ap);
	va_end(ap);

	return err;
}


/** Run one statement; @a rowh sees each row. */
int store_query(struct store *st, store_row_h *rowh, void *arg,
		const char *sql, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = run(st, rowh, arg, sql, fmt, ap);
	va_end(ap);

	return err;
}


/* Parameters as values: the same checks as the format string's. */
static int bind_vals(struct store *st, sqlite3_stmt *stmt,
		     const struct store_val *vals, size_t n)
{
	int want = sqlite3_bind_parameter_count(stmt);
	int rc = SQLITE_OK;

	for (size_t k = 0; k < n && rc == SQLITE_OK; k++) {
		const struct store_val *v = &vals[k];
		int i = (int)k + 1;

		switch (v->type) {

		case 0:   rc = sqlite3_bind_null(stmt, i); break;
		case 's': rc = sqlite3_bind_text(stmt, i, v->u.s, -1,
						 SQLITE_TRANSIENT); break;
		case 'i': rc = sqlite3_bind_int64(stmt, i, v->u.i); break;
		case 'd': rc = sqlite3_bind_double(stmt, i, v->u.d); break;
		default:
			re_snprintf(st->errmsg, sizeof(st->errmsg),
				    "parameter %d: unknown type '%c'", i,
				    v->type);
			return EINVAL;
		}
	}

	if (rc != SQLITE_OK)
		return fail(st, rc, "bind");
	if ((int)n != want) {
		re_snprintf(st->errmsg, sizeof(st->errmsg), "%zu parameters"
			    " given, the statement has %d", n, want);
		return EINVAL;
	}

	return 0;
}


/**
 * Run one statement whose parameters are values (a script's arguments);
 * @a rowh (may be NULL) sees each row.
 */
int store_execv(struct store *st, store_row_h *rowh, void *arg,
		const char *sql, const struct store_val *vals, size_t n)
{
	sqlite3_stmt *stmt;
	int err = 0;

	if (!st || !sql || (n && !vals))
		return EINVAL;

	stmt = prepare(st, sql, &err);
	if (!stmt)
		return err;

	err = bind_vals(st, stmt, vals, n);
	return steps(st, stmt, rowh, arg, sql, err);
}


/* FULL (every commit on the disk) or NORMAL (in the OS's hands at each
 * commit, on the disk at the next FULL commit or checkpoint). */
static int set_relaxed(struct store *st, bool relaxed)
{
	if (st->relaxed == relaxed)
		return 0;
	st->relaxed = relaxed;

	return pragma(st, relaxed ? "PRAGMA synchronous=NORMAL"
		      : "PRAGMA synchronous=FULL");
}


/**
 * A statement whose commit does not wait for the disk: for logs written
 * at a high rate (the queue log, call records).  What it wrote survives a
 * crash or a kill -9 of the PBX (the operating system has it when this
 * returns), and reaches the disk with the next durable commit or
 * checkpoint; a power cut may lose the last of them, never the database's
 * consistency.  Costs a write, not an fsync.  Inside a transaction it is
 * as durable as the transaction's commit.
 */
int store_append(struct store *st, const char *sql,
		 const struct store_val *vals, size_t n)
{
	int err, err2;

	if (!st)
		return EINVAL;
	if (st->in_tx)
		return store_execv(st, NULL, NULL, sql, vals, n);

	err = set_relaxed(st, true);
	if (err)
		return err;
	err = store_execv(st, NULL, NULL, sql, vals, n);
	err2 = set_relaxed(st, false);

	return err ? err : err2;
}


/** A transaction: nothing it writes is seen or kept until committed.
 *  Not nested (EALREADY). */
int store_begin(struct store *st)
{
	int err;

	if (!st)
		return EINVAL;
	if (st->in_tx)
		return EALREADY;

	err = store_exec(st, "BEGIN IMMEDIATE", NULL);
	if (!err)
		st->in_tx = true;

	return err;
}


/**
 * A transaction whose commit does not wait for the disk (PostgreSQL's
 * synchronous_commit = off): once store_commit() returns, it survives a
 * crash of the process (kill -9: the log is the kernel's), and a power
 * cut once store_sync() or a later synced commit has returned.  For
 * records written at a rate that one fsync each would hold the loop up.
 */
int store_begin_lazy(struct store *st)
{
	int err;

	if (!st)
		return EINVAL;
	if (st->in_tx)
		return EALREADY;

	/* SQLite takes the level only between transactions */
	err = set_relaxed(st, true);
	if (!err)
		err = store_begin(st);
	if (err)
		(void)set_relaxed(st, false);
	else
		st->lazy = true;

	return err;
}


/* Back to synced commits, after a lazy transaction. */
static void end_tx(struct store *st)
{
	st->in_tx = false;
	if (st->lazy) {
		st->lazy = false;
		(void)set_relaxed(st, false);
	}
}


/** On error the transaction is rolled back: nothing of it is kept. */
int store_commit(struct store *st)
{
	int err;

	if (!st || !st->in_tx)
		return EINVAL;

	err = store_exec(st, "COMMIT", NULL);
	if (err)
		store_rollback(st);
	end_tx(st);

	return err;
}


void store_rollback(struct store *st)
{
	if (!st || !st->in_tx)
		return;

	/* a failed COMMIT may already have rolled back on its own */
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	end_tx(st);
}


/**
 * What lazy transactions committed reaches the disk (a checkpoint: the
 * write-ahead log synced and copied into the database).  One fsync or
 * two, on the loop: call it now and then, not per transaction.
 */
int store_sync(struct store *st)
{
	if (!st || st->in_tx)
		return EINVAL;

	return pragma(st, "PRAGMA wal_checkpoint(PASSIVE)");
}


static bool version_row(const struct store_row *row, void *arg)
{
	*(int *)arg = (int)store_row_int(row, 0);

	return true;
}


/** The schema version of @a module's tables (0: none yet). */
int store_version(struct store *st, const char *module, int *version)
{
	if (!st || !module || !version)
		return EINVAL;

	*version = 0;

	return store_query(st, version_row, version, "SELECT version FROM"
			   " store_schema WHERE module = ?", "s", module);
}


/**
 * Bring @a module's tables to version @a n: steps[i] takes them from
 * version i to i + 1 (several statements separated by ';' allowed).
 * Each step and its version number commit together; a step that fails
 * leaves the version before it, and the error.
 */
int store_migrate(struct store *st, const char *module,
		  const char * const *steps, size_t n)
{
	int version, err, rc;

	err = store_version(st, module, &version);
	if (err)
		return err;
	if (version < 0 || (size_t)version > n) {
		re_snprintf(st->errmsg, sizeof(st->errmsg), "%s: the database"
			    " has schema version %d, this program knows %zu",
			    module, version, n);
		return EPROTO;
	}

	for (size_t v = (size_t)version; v < n; v++) {
		err = store_begin(st);
		if (err)
			return err;

		rc = sqlite3_exec(st->db, steps[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = fail(st, rc, module);
		else
			err = store_exec(st, "INSERT INTO store_schema(module,"
					 " version) VALUES (?, ?) ON CONFLICT"
					 " (module) DO UPDATE SET version ="
					 " excluded.version", "si", module,
					 (int64_t)(v + 1));
		if (err) {
			store_rollback(st);
			return err;
		}
		err = store_commit(st);
		if (err)
			return err;
	}

	return 0;
}


/** Rows changed by the last INSERT, UPDATE or DELETE. */
uint64_t store_changes(const struct store *st)
{
	return st ? st->changes : 0;
}


const char *store_errmsg(const struct store *st)
{
	return st ? st->errmsg : "no store";
}


const char *store_path(const struct store *st)
{
	return st ? st->path : NULL;
}


unsigned store_row_columns(const struct store_row *row)
{
	return (unsigned)sqlite3_column_count(row->stmt);
}


const char *store_row_name(const struct store_row *row, unsigned col)
{
	return sqlite3_column_name(row->stmt, (int)col);
}


/** A column's value type: 'i', 'd', 's' (text, blobs too), 0 for NULL. */
char store_row_type(const struct store_row *row, unsigned col)
{
	switch (sqlite3_column_type(row->stmt, (int)col)) {

	case SQLITE_INTEGER: return 'i';
	case SQLITE_FLOAT:   return 'd';
	case SQLITE_NULL:    return 0;
	default:             return 's';
	}
}


bool store_row_isnull(const struct store_row *row, unsigned col)
{
	return sqlite3_column_type(row->stmt, (int)col) == SQLITE_NULL;
}


const char *store_row_text(const struct store_row *row, unsigned col)
{
	return (const char *)sqlite3_column_text(row->stmt, (int)col);
}


int64_t store_row_int(const struct store_row *row, unsigned col)
{
	return sqlite3_column_int64(row->stmt, (int)col);
}


double store_row_double(const struct store_row *row, unsigned col)
{
	return sqlite3_column_double(row->stmt, (int)col);
}
