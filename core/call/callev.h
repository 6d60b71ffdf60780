/**
 * @file callev.h  The call model's events on the bus (core/event): what
 * a WebSocket client and pbx.on see of calls, legs and bridges.  Each
 * function costs one test when nobody listens.
 *
 * Include call/leg.h first.
 */

struct bridge;
struct call;
struct leg;

void callev_leg(const struct leg *leg, enum leg_event ev);
void callev_leg_state(const struct leg *leg, const char *name);
void callev_call(const struct call *call, const char *name);
void callev_bridged(const struct bridge *br, const struct leg *leg);
void callev_transferred(const struct leg *leg, const struct call *from,
			const struct call *to, const char *how);
void callev_dtmf(const struct leg *leg, char digit, const char *src);
