/**
 * @file featmatch.c  Feature keys in a bridge: which keys are features,
 * which go on to the other party, and when.
 */
#include "tap.h"
#include "log.h"
#include "call/featmatch.h"

struct seen {
	char features[128];      /* "blindxfer,atxfer," in order */
	char passed[64];         /* digits let through, in order */
};


static void handler(const char *name, const char *digits, void *arg)
{
	struct seen *s = arg;

	if (name) {
		strcat(s->features, name);
		strcat(s->features, ",");
	}
	else {
		strcat(s->passed, digits);
	}
}


static void key(struct featmatch *fm, const char *digits)
{
	for (const char *d = digits; *d; d++)
		featmatch_digit(fm, *d);
}


static void timeout_h(void *arg)
{
	(void)arg;
	re_cancel();
}


/* Run the loop for @a ms: the time between keys runs out. */
static void wait_ms(uint32_t ms)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, timeout_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}


static void test_map(void)
{
	struct featmap *map = NULL;

	if (!ok(0 == featmap_alloc(&map, 100), "a feature map"))
		return;

	is_int(featmap_add(map, "#1", "blindxfer"), 0, "#1 blindxfer");
	is_int(featmap_add(map, "*2", "atxfer"), 0, "*2 atxfer");
	is_int(featmap_add(map, "#", "x"), EEXIST,
	       "# refused: it starts #1 (#1 could never be reached)");
	is_int(featmap_add(map, "*21", "x"), EEXIST,
	       "*21 refused: *2 would always win");
	is_int(featmap_add(map, "9x", "x"), EINVAL, "9x: no such key");
	is_int(featmap_add(map, "123456789", "x"), EINVAL, "9 keys: too long");
	is_int(featmap_count(map), 2, "two features");

	mem_deref(map);
}


static void test_match(void)
{
	struct featmap *map = NULL;
	struct featmatch *fm = NULL;
	struct seen s;

	memset(&s, 0, sizeof(s));
	if (featmap_alloc(&map, 150) || featmap_add(map, "#1", "blindxfer") ||
	    featmap_add(map, "*2", "atxfer") ||
	    featmatch_alloc(&fm, map, handler, &s)) {
		ok(false, "a matcher");
		goto out;
	}

	key(fm, "#1");
	is_str(s.features, "blindxfer,", "#1 is a blind transfer");
	is_str(s.passed, "", "  and neither key reaches the other party");

	key(fm, "5");
	is_str(s.passed, "5", "5 starts no code: it goes on at once");

	key(fm, "*");
	is_str(s.passed, "5", "* may start *2: held back");
	key(fm, "3");
	is_str(s.passed, "5*3", "*3 is no code: both go on, in order");

	key(fm, "#");
	key(fm, "#1");
	is_str(s.passed, "5*3#", "## then 1: the first # goes on ...");
	is_str(s.features, "blindxfer,blindxfer,", "  ... and #1 still counts");

	key(fm, "*");
	wait_ms(300);
	is_str(s.passed, "5*3#*", "a lone * goes on when the time between"
	       " keys runs out");

	key(fm, "*2");
	is_str(s.features, "blindxfer,blindxfer,atxfer,", "*2 is attended");

 out:
	mem_deref(fm);
	mem_deref(map);
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 1;
	log_set_level(LOG_WARN);

	/* the timer heap and re_main()'s polling set live as long as the
	 * process: make them first */
	wait_ms(1);

	leak_begin(&lc);
	test_map();
	leak_end(&lc, "feature maps");

	leak_begin(&lc);
	test_match();
	leak_end(&lc, "matching keys");

	libre_close();

	return done_testing();
}
