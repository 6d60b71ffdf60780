/**
 * @file cdr_priv.h  The call records' own structures, shared by the files
 * of the cdr module only: cdr.c (following the legs) and cdr_db.c
 * (writing and reading them).
 */

enum { CDR_VAR_MAX = 32 };   /* variables a dialplan may add per record */

struct cdr_var {
	struct le le;
	char *name;
	char *value;
};

/** One record: party A's time with one party B (or with nobody). */
struct cdr_rec {
	struct le le;              /**< in its party's list             */
	uint64_t start, answer, end;   /**< wall clock, ms; 0: not yet  */
	char *src, *dst, *context, *clid, *channel, *dstchannel;
	char *accountcode, *userfield;
	struct list vars;          /**< struct cdr_var                  */
	struct leg *b;             /**< the party it talks to (a ref)   */
	struct le bhe;             /**< in cdr.by_b while it has one    */
	uint64_t b_id;             /**< the last one it talked to       */
	int dial;                  /**< enum dial_status of the last
				        unanswered dial; 0: none         */
	bool answered;             /**< it talked (to B or the PBX)     */
	const char *disposition;   /**< set when it is closed           */
};

/** The linkedid of a leg that was party B of a record (until it hangs
 *  up): its own records, if it has any later, are linked to it. */
struct cdr_link {
	struct le he;
	uint64_t leg_id;
	char linkedid[32];
};

/** Party A: a leg and the records it has had. */
struct cdr_party {
	struct le le;              /**< in the module's list            */
	struct le he;              /**< in cdr.by_a, by its leg's id     */
	struct cdr *cdr;
	struct leg *a;             /**< a ref, until it hangs up        */
	const struct call *call;   /**< the script it runs now (no ref) */
	char uniqueid[32];
	char linkedid[32];
	bool was_b;                /**< it talked to someone as party B */
	bool gone;                 /**< its leg hung up: written when its
				        script ends too                  */
	struct list recs;          /**< struct cdr_rec, oldest first    */
};

/* Records are committed without waiting for the disk (store_begin_lazy:
 * a kill -9 loses none), at once when the last commit is CDR_WINDOW_MS
 * old, else at the end of that window with every call that ended in it:
 * a commit writes whole pages, so one per call would cost a busy PBX
 * several times what one per window does.  The disk is synced
 * CDR_SYNC_MS after the first commit not synced yet. */
enum { CDR_WINDOW_MS = 20, CDR_SYNC_MS = 1000 };

struct cdr {
	struct pbx *pbx;
	struct store *st;
	struct list parties;       /**< struct cdr_party: legs up       */
	struct hash *by_a;         /**< the same, by their leg's id     */
	struct hash *by_b;         /**< struct cdr_rec, by its B leg's id */
	struct hash *links;        /**< struct cdr_link, by leg id      */
	struct list done;          /**< struct cdr_party: to be written */
	struct tmr flush_tmr;      /**< the end of the commit window    */
	struct tmr sync_tmr;       /**< running: commits not synced yet */
	uint64_t last_commit;      /**< tmr_jiffies() of the last one   */
	char *csv_path;            /**< NULL: no CSV file               */
	int64_t seq;               /**< the last sequence written       */
};

/* cdr.c */
struct leg;
struct cdr_party *cdr_party_alloc(void);
struct cdr_rec *cdr_rec_alloc(void);
/* cdr_field.c */
int cdr_rec_var(struct cdr_rec *r, const char *name, const char *value);
struct cdr_party *cdr_party_of(const struct cdr *cdr, const struct leg *leg);
struct cdr_rec *cdr_current(const struct cdr_party *p);

/* cdr_db.c */
int  cdrdb_open(struct cdr *cdr);
int  cdrdb_write(struct cdr *cdr, const struct list *parties);
void cdrdb_csv_sync(const struct cdr *cdr);
void cdrdb_time(char *buf, size_t sz, uint64_t ms);
