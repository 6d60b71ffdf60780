/**
 * @file store.h  The PBX's persistent state: one database, over SQLite.
 *
 * Every module that keeps something across a restart (the voicemail
 * index, later queue members, call records, registrations) goes through
 * this module and nothing else, so that the whole state is one file
 * (<state>/lunapbx.db) and another engine (PostgreSQL) could back it by
 * rewriting this file alone.  What a caller may rely on:
 *
 * - SQL is portable: plain types (TEXT, INTEGER, REAL), `?` parameters,
 *   no SQLite-only syntax in callers' statements.  Values travel as C
 *   types (const char *, int64_t, double), never as sqlite3 objects.
 * - Each module owns its tables and their schema version:
 *   store_migrate(st, "voicemail", steps, n) runs the steps the database
 *   has not seen yet, each in its own transaction, and records the
 *   version in the table store_schema.
 * - Durable: a statement outside a transaction, or store_commit(), has
 *   reached the disk when it returns (write-ahead log, fsync at each
 *   commit: synchronous=FULL).  A kill -9 or a power cut loses no
 *   committed row, and never leaves half a transaction.
 * - store_append() is the exception, for logs written at a high rate: its
 *   commit survives a crash or kill -9 of the PBX, not a power cut (no
 *   fsync; on the disk with the next durable commit).
 * - Synchronous: calls run on the event loop and return when done.  A
 *   commit costs an fsync (about a millisecond on a local disk), so keep
 *   writes to events (a message deposited), not to packets.  Writes that
 *   come too often for an fsync each (call records) use
 *   store_begin_lazy(): their commit survives a kill -9 at once, a power
 *   cut after the next store_sync(), which the writer calls now and then.
 * - Errors are errno values: EEXIST (a constraint, e.g. a duplicate
 *   key), ENOSPC (disk full), EIO, EBUSY, ENOMEM, EINVAL (bad SQL, bad
 *   arguments); store_errmsg() says more, for the log.
 *
 * Parameters are given by a format string, one letter per `?`:
 *   's' const char * (NULL binds NULL), 'i' int64_t, 'd' double.
 *
 *   store_exec(st, "INSERT INTO t(a, b) VALUES (?, ?)", "si",
 *              "hello", (int64_t)42);
 *   store_query(st, row_handler, arg, "SELECT a, b FROM t WHERE b > ?",
 *               "i", (int64_t)10);
 */

struct store;
struct store_row;

/** A parameter given as a value (store_execv): what a binding of a
 *  dynamic language builds from its arguments. */
struct store_val {
	char type;              /**< 's', 'i', 'd', or 0 for NULL      */
	union {
		const char *s;
		int64_t i;
		double d;
	} u;
};

/** One row of a query; return true to stop the query (not an error). */
typedef bool (store_row_h)(const struct store_row *row, void *arg);

int  store_open(struct store **stp, const char *path);
int  store_migrate(struct store *st, const char *module,
		   const char * const *steps, size_t n);
int  store_version(struct store *st, const char *module, int *version);
int  store_exec(struct store *st, const char *sql, const char *fmt, ...);
int  store_query(struct store *st, store_row_h *rowh, void *arg,
		 const char *sql, const char *fmt, ...);
int  store_execv(struct store *st, store_row_h *rowh, void *arg,
		  const char *sql, const struct store_val *vals, size_t n);
int  store_append(struct store *st, const char *sql,
		  const struct store_val *vals, size_t n);
int  store_begin(struct store *st);
int  store_begin_lazy(struct store *st);
int  store_commit(struct store *st);
int  store_sync(struct store *st);
void store_rollback(struct store *st);
uint64_t store_changes(const struct store *st);
const char *store_errmsg(const struct store *st);
const char *store_path(const struct store *st);

/* Columns of a row, numbered from 0.  Text stays valid until the row
 * handler returns; NULL reads as NULL, 0 and 0.0. */
unsigned    store_row_columns(const struct store_row *row);
const char *store_row_name(const struct store_row *row, unsigned col);
char        store_row_type(const struct store_row *row, unsigned col);
bool        store_row_isnull(const struct store_row *row, unsigned col);
const char *store_row_text(const struct store_row *row, unsigned col);
int64_t     store_row_int(const struct store_row *row, unsigned col);
double      store_row_double(const struct store_row *row, unsigned col);
