/**
 * @file event.h  The PBX's event bus: what happened (a call answered, a
 * phone registered, a digit, a custom event from Lua), published by the
 * modules where it happens through one function and heard by whoever
 * subscribed (the WebSocket clients of core/http, the Lua handlers of
 * pbx.on).  The bus knows neither side: a low floor that core/sip and
 * core/call may publish into without including anything above them.
 *
 * An event is a name and flat or nested fields (an odict), stamped with
 * a sequence number and the wall-clock time; its JSON text is made once,
 * however many clients get it.  Publishers ask event_wanted() first: with
 * nobody subscribed an event costs one test.
 */

struct event;
struct event_sub;
struct odict;

typedef void (event_h)(struct event *ev, void *arg);

int  event_subscribe(struct event_sub **subp, event_h *h, void *arg);
bool event_wanted(void);
uint32_t event_subscribers(void);
uint64_t event_published(void);

int  event_alloc(struct event **evp, const char *name);
int  event_str(struct event *ev, const char *key, const char *val);
int  event_int(struct event *ev, const char *key, int64_t val);
int  event_bool(struct event *ev, const char *key, bool val);
int  event_double(struct event *ev, const char *key, double val);
struct odict *event_fields(struct event *ev);
void event_publish(struct event *ev);

const char *event_name(const struct event *ev);
uint64_t event_seq(const struct event *ev);
const char *event_json(struct event *ev, size_t *lenp);
bool event_name_valid(const char *name);
