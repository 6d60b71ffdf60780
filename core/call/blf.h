/**
 * @file blf.h  Busy lamps: the dialog event package (RFC 4235) of the
 * subscription server.
 *
 * A phone SUBSCRIBEs (Event: dialog) to a resource, the user part of its
 * Request-URI: an extension whose hint names endpoints (every dialog of
 * their legs shows: trying, early, confirmed, then terminated), or one the
 * dialplan sets itself (a parking space: blf_set() gives it the leg parked
 * there).  Each NOTIFY carries the resource's full state as
 * application/dialog-info+xml, with each dialog's Call-ID and tags, which
 * is what a BLF key needs to pick a ringing call up (INVITE with
 * Replaces, core/call/incoming.c).
 *
 * Hints come with each configuration generation (blf_set_hints());
 * subscriptions and what the dialplan set stay across reloads.
 */

struct blf;
struct blf_hints;
struct leg;
struct pbx;
struct subscr;

int  blf_alloc(struct blf **bp, struct pbx *pbx);
int  blf_attach(struct blf *b, struct subscr *s);
void blf_detach(struct blf *b);
int  blf_set(struct blf *b, const char *resource, struct leg *leg);
uint32_t blf_count(const struct blf *b);

int  blf_hints_alloc(struct blf_hints **hp);
int  blf_hints_add(struct blf_hints *h, const char *resource,
		   const char **endpoints, size_t n);
void blf_set_hints(struct blf *b, struct blf_hints *h);
int  blf_body(struct mbuf *mb, struct blf *b, const char *resource,
	      uint32_t version);
