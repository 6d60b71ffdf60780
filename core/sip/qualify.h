/**
 * @file qualify.h  sip.conf's qualify=: OPTIONS sent to a peer or to a
 * registered contact every few seconds tell whether it is reachable, and
 * how long it takes to answer.  Any answer counts (a 404 or 405 comes from
 * a live SIP stack); no answer within twice the allowed time means
 * UNREACHABLE, and a dial to it fails at once (CHANUNAVAIL).
 *
 * Probes are keyed by URI.  The owner re-declares what it wants on each
 * sweep (qualify_mark, qualify_want..., qualify_sweep): probes nobody
 * wanted any more stop, and their state goes with them.
 */

struct qualify;
struct sip;

enum qualify_state {
	QUALIFY_UNKNOWN = 0,   /**< no answer yet, first probe out     */
	QUALIFY_REACHABLE,     /**< answered within the limit          */
	QUALIFY_LAGGED,        /**< answered, but later than the limit */
	QUALIFY_UNREACHABLE,   /**< no answer                          */
};

enum {
	QUALIFY_DEFAULT_MS = 2000,    /* qualify=yes */
	QUALIFY_DEFAULT_FREQ = 60,    /* qualifyfreq, seconds */
	QUALIFY_NOTOK_FREQ = 10,      /* retry of an unreachable one */
};

int  qualify_alloc(struct qualify **qp, struct sip *sip,
		   const char *from_uri);
void qualify_mark(struct qualify *q);
int  qualify_want(struct qualify *q, const char *uri, const char *owner,
		  uint32_t maxms, uint32_t freq_s);
void qualify_sweep(struct qualify *q);
enum qualify_state qualify_get(const struct qualify *q, const char *uri,
			       uint32_t *rtt_ms);
uint32_t qualify_count(const struct qualify *q);
const char *qualify_state_name(enum qualify_state st);
