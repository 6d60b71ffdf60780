/**
 * @file event.c  The event bus (see event.h).
 */
#include <string.h>
#include <sys/time.h>
#include <re.h>
#include "event/event.h"

/* Fields are looked up by name only by Lua's tables: a small hash. */
enum { FIELDS_HASH = 4, NAME_MAX_LEN = 64 };

struct event_sub {
	struct le le;
	event_h *h;
	void *arg;
};

struct event {
	char name[NAME_MAX_LEN];
	uint64_t seq;
	struct odict *od;
	char *json;             /* made at the first event_json() */
	size_t json_len;
};

static struct list subs;
static uint64_t seq;


static void sub_destructor(void *arg)
{
	struct event_sub *s = arg;

	list_unlink(&s->le);
}


/**
 * Hear every event from now on, until *subp is dereferenced.  A handler
 * may not end another subscription while it runs (end your own later,
 * on a timer: see core/http/wsclient.c).
 */
int event_subscribe(struct event_sub **subp, event_h *h, void *arg)
{
	struct event_sub *s;

	if (!subp || !h)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), sub_destructor);
	if (!s)
		return ENOMEM;

	s->h = h;
	s->arg = arg;
	list_append(&subs, &s->le, s);
	*subp = s;

	return 0;
}


/** Does anybody listen?  Publishers skip building events otherwise. */
bool event_wanted(void)
{
	return subs.head != NULL;
}


uint32_t event_subscribers(void)
{
	return list_count(&subs);
}


/** How many events were published since the start. */
uint64_t event_published(void)
{
	return seq;
}


/** Letters, digits and . _ - only, at most 63: a name a client can
 *  match on and a Lua handler can be registered under. */
bool event_name_valid(const char *name)
{
	size_t n = str_len(name);

	if (!n || n >= NAME_MAX_LEN)
		return false;

	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}

	return true;
}


static void destructor(void *arg)
{
	struct event *ev = arg;

	mem_deref(ev->od);
	mem_deref(ev->json);
}


static double wall_clock(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);

	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}


/** A new event named @a name, stamped (fields "event", "seq", "time"). */
int event_alloc(struct event **evp, const char *name)
{
	struct event *ev;
	int err;

	if (!evp || !event_name_valid(name))
		return EINVAL;

	ev = mem_zalloc(sizeof(*ev), destructor);
	if (!ev)
		return ENOMEM;

	str_ncpy(ev->name, name, sizeof(ev->name));
	ev->seq = ++seq;
	err = odict_alloc(&ev->od, FIELDS_HASH);
	if (!err)
		err = odict_entry_add(ev->od, "event", ODICT_STRING, name);
	if (!err)
		err = odict_entry_add(ev->od, "seq", ODICT_INT,
				      (int64_t)ev->seq);
	if (!err)
		err = odict_entry_add(ev->od, "time", ODICT_DOUBLE,
				      wall_clock());
	if (err)
		mem_deref(ev);
	else
		*evp = ev;

	return err;
}


/** A string field; a NULL value adds nothing (a fact not known). */
int event_str(struct event *ev, const char *key, const char *val)
{
	if (!ev || !key)
		return EINVAL;

	return val ? odict_entry_add(ev->od, key, ODICT_STRING, val) : 0;
}


int event_int(struct event *ev, const char *key, int64_t val)
{
	return ev && key ? odict_entry_add(ev->od, key, ODICT_INT, val)
		: EINVAL;
}


int event_bool(struct event *ev, const char *key, bool val)
{
	return ev && key ? odict_entry_add(ev->od, key, ODICT_BOOL, val)
		: EINVAL;
}


int event_double(struct event *ev, const char *key, double val)
{
	return ev && key ? odict_entry_add(ev->od, key, ODICT_DOUBLE, val)
		: EINVAL;
}


/** The fields themselves, for nested values (pbx.emit's tables). */
struct odict *event_fields(struct event *ev)
{
	return ev ? ev->od : NULL;
}


/** Every subscriber hears @a ev, in the order they subscribed; then the
 *  publisher's reference goes (a subscriber may keep one). */
void event_publish(struct event *ev)
{
	struct le *le;

	if (!ev)
		return;

	le = subs.head;
	while (le) {
		struct event_sub *s = le->data;

		le = le->next;
		s->h(ev, s->arg);
	}

	mem_deref(ev);
}


const char *event_name(const struct event *ev)
{
	return ev ? ev->name : NULL;
}


uint64_t event_seq(const struct event *ev)
{
	return ev ? ev->seq : 0;
}


/** The event as one JSON object, made once; NULL without memory. */
const char *event_json(struct event *ev, size_t *lenp)
{
	if (!ev)
		return NULL;

	if (!ev->json &&
	    re_sdprintf(&ev->json, "%H", json_encode_odict, ev->od))
		return NULL;
	if (!ev->json_len)
		ev->json_len = strlen(ev->json);
	if (lenp)
		*lenp = ev->json_len;

	return ev->json;
}
