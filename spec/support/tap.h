/**
 * @file tap.h  A tiny TAP producer for the C unit tests (header only).
 *
 * prove reads the output: one "ok N - name" or "not ok N - name" line per
 * assertion, "# ..." diagnostics, and the plan "1..N" at the end, so a test
 * never has to count its assertions in advance.
 *
 * Leak checks follow libre's own tests: snapshot the allocator before a
 * test case, compare after it (see leak_blocks() below).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>

static unsigned tap_count;   /* assertions so far              */
static unsigned tap_failed;  /* of which failed                */
static const char *tap_todo; /* why, inside a TODO block       */


/* stdio allocates its buffer on the first write; unbuffered output keeps
 * that allocation from showing up as a leak in the first test case. */
static inline void tap_setup(void)
{
	static bool done;

	if (done)
		return;
	setvbuf(stdout, NULL, _IONBF, 0);
	done = true;
}


static inline void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/** A "# " comment: prove shows it, and it never counts.  It goes to
 * stderr, but to stdout inside a TODO block, where prove shows it only
 * with -v: an expected failure is no news. */
static inline void diag(const char *fmt, ...)
{
	FILE *f = tap_todo ? stdout : stderr;
	va_list ap;

	tap_setup();
	fputs("# ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}


static inline bool tap_vok(bool cond, const char *file, int line,
			   const char *fmt, va_list ap)
{
	tap_setup();
	++tap_count;
	if (!cond && !tap_todo)
		++tap_failed;

	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	if (tap_todo)
		printf(" # TODO %s", tap_todo);
	putchar('\n');

	/* Where it failed, so the reader need not search for the name. */
	if (!cond)
		diag("  Failed test at %s line %d.", file, line);

	return cond;
}


static inline bool tap_ok(bool cond, const char *file, int line,
			  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline bool tap_ok(bool cond, const char *file, int line,
			  const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(cond, file, line, fmt, ap);
	va_end(ap);

	return r;
}


static inline bool tap_is_int(long long got, long long exp, const char *name,
			      const char *file, int line)
{
	if (tap_ok(got == exp, file, line, "%s", name))
		return true;

	diag("         got: %lld", got);
	diag("    expected: %lld", exp);

	return false;
}


/* NULL is a value too: NULL equals NULL and nothing else. */
static inline bool tap_is_str(const char *got, const char *exp,
			      const char *name, const char *file, int line)
{
	bool eq = (got && exp) ? !strcmp(got, exp) : got == exp;

	if (tap_ok(eq, file, line, "%s", name))
		return true;

	diag("         got: %s%s%s", got ? "'" : "", got ? got : "NULL",
	     got ? "'" : "");
	diag("    expected: %s%s%s", exp ? "'" : "", exp ? exp : "NULL",
	     exp ? "'" : "");

	return false;
}


/*
 * A known bug, specified but not fixed yet: its assertions are marked
 * "# TODO", so prove reports them without failing, and says "unexpectedly
 * succeeded" once the fix lands, when the TODO can go.
 */
static inline void todo_start(const char *why)
{
	tap_todo = why;
}


static inline void todo_end(void)
{
	tap_todo = NULL;
}


#define ok(cond, ...)  tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, exp, name) \
	tap_is_int((long long)(got), (long long)(exp), (name), \
		   __FILE__, __LINE__)
#define is_str(got, exp, name) \
	tap_is_str((got), (exp), (name), __FILE__, __LINE__)


/** Prints the plan; the result is the exit status (0: all passed). */
static inline int done_testing(void)
{
	tap_setup();
	printf("1..%u\n", tap_count);

	if (tap_failed)
		diag("Looks like you failed %u test%s of %u.", tap_failed,
		     tap_failed == 1 ? "" : "s", tap_count);

	/* Test::More's convention; 254 keeps clear of 255 (died). */
	return tap_failed > 254 ? 254 : (int)tap_failed;
}


/* Leak checks */

/*
 * Debian's libre is built without MEM_DEBUG: mem_get_stat() says ENOSYS.
 * Counting live blocks at the malloc level stands in for it: every
 * mem_alloc() ends in malloc(), and a count of blocks (unlike glibc's
 * mallinfo2(), which counts blocks parked in its per-thread cache as in
 * use) does not move when nothing leaked.  An executable's malloc
 * replaces libc's for every library, hence the whole family below
 * (glibc's "Replacing malloc").  Sanitizers bring their own allocator.
 * The count is a plain variable: tests run on one thread, as libre does.
 */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && \
	!defined(TAP_NO_MALLOC_COUNT)
#define TAP_MALLOC_COUNT 1
#include <malloc.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);
extern void  __libc_free(void *p);

static size_t tap_blocks;  /* live blocks from the functions below */
static long tap_fail_at = -1;  /* allocations to let through, then one
				  fails (-1: none fails) */
static bool tap_fail_hit;      /* the one that had to fail did */


/* Allocation-failure injection: the tap_fail_at-th allocation from now
 * returns NULL (see tap_alloc_fail_each() below). */
static inline bool tap_fail_now(void)
{
	if (tap_fail_at < 0)
		return false;
	if (tap_fail_at-- > 0)
		return false;

	tap_fail_hit = true;
	return true;
}


static inline void *tap_counted(void *p)
{
	if (p)
		++tap_blocks;
	return p;
}


void *malloc(size_t size)
{
	return tap_fail_now() ? NULL : tap_counted(__libc_malloc(size));
}


void *calloc(size_t n, size_t size)
{
	return tap_fail_now() ? NULL : tap_counted(__libc_calloc(n, size));
}


/* realloc(NULL, n) allocates, realloc(p, 0) frees: the rest moves one
 * block, which the count does not see. */
void *realloc(void *p, size_t size)
{
	void *q;

	if (size && tap_fail_now())
		return NULL;

	q = __libc_realloc(p, size);

	if (!p && q)
		++tap_blocks;
	else if (p && !size && !q)
		--tap_blocks;

	return q;
}


void free(void *p)
{
	if (p)
		--tap_blocks;
	__libc_free(p);
}


void *memalign(size_t align, size_t size)
{
	return tap_counted(__libc_memalign(align, size));
}


void *aligned_alloc(size_t align, size_t size)
{
	return tap_counted(__libc_memalign(align, size));
}


int posix_memalign(void **pp, size_t align, size_t size)
{
	void *p;

	if (!align || align % sizeof(void *) || (align & (align - 1)))
		return EINVAL;

	p = tap_counted(__libc_memalign(align, size));
	if (!p)
		return ENOMEM;

	*pp = p;
	return 0;
}


void *valloc(size_t size)
{
	return tap_counted(__libc_valloc(size));
}


void *pvalloc(size_t size)
{
	return tap_counted(__libc_pvalloc(size));
}
#endif


struct leakcheck {
	size_t before;   /* live blocks when the test case began */
};


/* libre's own count when it keeps one, ours otherwise. */
static inline size_t leak_blocks(void)
{
	struct memstat st;

	if (0 == mem_get_stat(&st))
		return st.blocks_cur;

#ifdef TAP_MALLOC_COUNT
	return tap_blocks;
#else
	return 0;  /* no way to tell: every check passes */
#endif
}


/* OpenSSL sets its random generator up when libre's rand_*() first asks,
 * and keeps it until exit: not a leak of whichever test case came first. */
static inline void leak_warm_up(void)
{
	static bool done;
	uint8_t b;

	if (done)
		return;
	rand_bytes(&b, sizeof(b));
	done = true;
}


static inline void leak_begin(struct leakcheck *lc)
{
	tap_setup();
	leak_warm_up();
	lc->before = leak_blocks();
}


/** The assertion "no leak: <name>", failed when blocks are still live. */
static inline bool tap_leak_end(const struct leakcheck *lc, const char *name,
				const char *file, int line)
{
	size_t after = leak_blocks();

	if (tap_ok(after <= lc->before, file, line, "no leak: %s", name))
		return true;

	diag("    %zu blocks still allocated", after - lc->before);

	return false;
}

#define leak_end(lc, name)  tap_leak_end((lc), (name), __FILE__, __LINE__)



/*
 * Allocation-failure injection.  libre's mem_threshold_set() does nothing
 * without MEM_DEBUG (Debian's build), but every mem_alloc() ends in
 * malloc(), whose replacement above can fail on demand.  @a op runs
 * again and again, its first allocation failing, then its second, and so
 * on until a run reaches its end without meeting the failure: each run
 * must come back (no crash), and free what it made (no leak; @a op frees
 * its own results, whether it succeeded or not).  One assertion for all.
 */
typedef int (tap_alloc_op_h)(void *arg);

static inline bool tap_alloc_fail_each(const char *name, tap_alloc_op_h *op,
				       void *arg, const char *file, int line)
{
#ifdef TAP_MALLOC_COUNT
	unsigned points = 0, errors = 0, leaky = 0;

	tap_setup();
	leak_warm_up();
	for (long n = 0; n < 100000; n++) {
		size_t before = leak_blocks();
		bool hit;
		int err;

		tap_fail_hit = false;
		tap_fail_at = n;
		err = op(arg);
		hit = tap_fail_hit;
		tap_fail_at = -1;

		if (leak_blocks() > before) {
			if (!leaky++)
				diag("  %s: allocation %ld failing leaks %zu"
				     " blocks", name, n + 1,
				     leak_blocks() - before);
		}
		if (!hit)
			break;
		++points;
		if (err)
			++errors;
	}

	return tap_ok(points > 0 && !leaky, file, line, "%s: each of its %u"
		      " allocations failing in turn: no crash, no leak (%u"
		      " runs returned an error)", name, points, errors);
#else
	(void)op; (void)arg; (void)file; (void)line;
	printf("ok %u - %s # SKIP no malloc hook under the sanitizers\n",
	       ++tap_count, name);
	return true;
#endif
}

#define alloc_fail_each(name, op, arg) \
	tap_alloc_fail_each((name), (op), (arg), __FILE__, __LINE__)
