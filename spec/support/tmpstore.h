/**
 * @file tmpstore.h  What the unit tests of the SQLite-backed modules
 * share: a folder of their own under /tmp, and SQLite warmed up before
 * the leak checks start.  Include it after store/store.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>


/**
 * Make /tmp/lunapbx-@a name-PID in @a dir, and open and close a first
 * database in it: SQLite keeps a few blocks for the process's life (its
 * mutexes, the page cache's set-up) from the first open on, which a leak
 * check would count.  0 or an errno.
 */
static inline int tmpstore_init(char *dir, size_t sz, const char *name)
{
	struct store *st = NULL;
	char path[128];

	re_snprintf(dir, sz, "/tmp/lunapbx-%s-%d", name, getpid());
	if (mkdir(dir, 0700))
		return errno;

	re_snprintf(path, sizeof(path), "%s/warm.db", dir);
	(void)store_open(&st, path);
	mem_deref(st);

	return 0;
}


/** Remove the folder and what the test left in it. */
static inline void tmpstore_remove(const char *dir)
{
	char cmd[160];

	re_snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}
