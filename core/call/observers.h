/**
 * @file observers.h  The few handlers that follow every object of a kind
 * (every leg, call or bridge: busy lamps, call records, events).  Each
 * module keeps one list and calls its own handler type: the handler is
 * stored as a plain function pointer and cast back where it is called.
 */

enum { OBSERVERS_MAX = 4 };

typedef void (observers_fn)(void);

struct observers {
	struct {
		observers_fn *h;
		void *arg;
	} v[OBSERVERS_MAX];
};

int  observers_add(struct observers *o, observers_fn *h, void *arg);
void observers_remove(struct observers *o, observers_fn *h, void *arg);
