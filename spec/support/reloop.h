/**
 * @file reloop.h  What the unit tests that run libre's loop share: libre
 * set up with a quiet log, and the loop run for a while.  Include it
 * after tap.h and core's log.h (which has no include guard).
 */
#include <re.h>


/**
 * libre set up, the log showing errors only: the warnings the cases
 * provoke on purpose would drown the TAP lines.  0 or an errno.
 */
static inline int reloop_init(void)
{
	int err = libre_init();

	if (!err)
		log_set_level(LOG_ERROR);

	return err;
}


static void reloop_stop(void *arg)
{
	(void)arg;
	re_cancel();
}


/** Run the loop for @a ms, or until a handler of the test cancels it. */
static inline void reloop_run(uint32_t ms)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, reloop_stop, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}
