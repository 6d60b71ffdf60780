/**
 * @file featmatch.h  In-call feature keys (features.conf): the digits one
 * leg keys while bridged, matched against a feature map (`#1` blind
 * transfer, `*2` attended, ...).  A digit that may start a code is held
 * back; the code complete, its feature is reported; a digit that cannot
 * be part of any code, or the time between digits out, lets the held
 * digits go on to the other party.
 */

struct featmap;
struct featmatch;

enum { FEAT_CODE_MAX = 8, FEAT_NAME_MAX = 24 };

/** A feature was keyed (@a name), or digits are to be passed on. */
typedef void (featmatch_h)(const char *name, const char *digits, void *arg);

int  featmap_alloc(struct featmap **mapp, uint32_t digit_timeout_ms);
int  featmap_add(struct featmap *map, const char *code, const char *name);
uint32_t featmap_count(const struct featmap *map);

int  featmatch_alloc(struct featmatch **fmp, struct featmap *map,
		     featmatch_h *h, void *arg);
void featmatch_digit(struct featmatch *fm, char digit);
