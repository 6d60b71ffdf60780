/**
 * @file cdr.h  Call records (Asterisk's CDR): who called whom, when, for
 * how long, and how it ended.
 *
 * The records follow the legs, not the scripts.  A record has a party A
 * (the leg a call's script started with, or the older of two legs a
 * bridge joined) and, once it talked to someone, a party B:
 *
 * - a call's script starts with leg A: a record opens (src = A's
 *   caller id, dst = the extension, the context);
 * - A is bridged with B: B is the record's dstchannel, answer = when B
 *   answered; A bridged later with another party C (a transfer, the
 *   next queue member) opens a new record A -> C; A bridged again with
 *   B (back from a consultation) goes on with A -> B;
 * - B leaves A (hangs up, is taken away): that record's end;
 * - a dial that ends unanswered says the disposition (BUSY, NO ANSWER,
 *   FAILED) of a record that talked to nobody;
 * - A hangs up and the script it ran ends: its records are written in
 *   one transaction, then appended to the CSV file when one is asked
 *   for.  The commit does not wait for the disk (store_begin_lazy): it
 *   survives a kill -9 once made.  It is made at once when the last one
 *   is CDR_WINDOW_MS (20 ms) old, else at the end of that window with
 *   every call that ended in it (one commit writes whole pages: one per
 *   call would cost a busy PBX several times more); the disk is synced
 *   within CDR_SYNC_MS (1 s), one sync for every call meanwhile.
 *
 * The dialplan sets the accountcode and the userfield and adds
 * variables of its own (cdr_set) to the record its call is on.  Times in
 * the database and the CSV file are UTC, "YYYY-MM-DD HH:MM:SS";
 * duration and billsec whole seconds, rounded down as Asterisk does.
 */

struct call;
struct cdr;
struct pbx;
struct store;

/** One written record, as read back (text valid during the handler). */
struct cdr_row {
	int64_t sequence;          /**< increasing, one per record        */
	const char *start, *answer, *end;
	int64_t duration, billsec;
	const char *src, *dst, *context, *clid, *channel, *dstchannel;
	const char *disposition, *accountcode, *uniqueid, *linkedid;
	const char *userfield;
};

/** A row; return true to stop. */
typedef bool (cdr_row_h)(const struct cdr_row *row, void *arg);
/** A variable of a row (its name, its value as text). */
typedef void (cdr_var_h)(const char *name, const char *value, void *arg);

int  cdr_alloc(struct cdr **cdrp, struct pbx *pbx, struct store *st);
int  cdr_set_csv(struct cdr *cdr, const char *path);
int  cdr_set(struct cdr *cdr, const struct call *call, const char *name,
	     const char *value);
int  cdr_get(const struct cdr *cdr, const struct call *call,
	     const char *name, char *buf, size_t sz);
int  cdr_last(struct cdr *cdr, uint32_t n, cdr_row_h *rowh, void *arg);
int  cdr_vars(struct cdr *cdr, int64_t sequence, cdr_var_h *varh,
	      void *arg);
uint32_t cdr_open_count(const struct cdr *cdr);
bool cdr_name_valid(const char *name);
const char *cdr_disposition(bool answered, int dial_status,
			    uint16_t code);
