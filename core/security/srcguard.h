/**
 * @file srcguard.h  What each source address has done lately: failed
 * authentications (too many within a window: banned for a while) and
 * new requests (over a rate: refused until it slows down).
 *
 * A source is an IPv4 address, or an IPv6 /64 (one host's share: an
 * attacker changing its last 64 bits is still one source).  Checking a
 * request costs a hash lookup; a banned source is refused before any
 * digest is computed, and its refusals are counted, not logged: the log
 * has one line when the ban starts and one when it ends.  At most
 * SRCGUARD_MAX sources are remembered (least recently seen first out,
 * banned ones kept); idle ones are forgotten after a while.
 */

struct srcguard;
struct acl;
struct sa;

enum { SRCGUARD_MAX = 65536 };

struct srcguard_conf {
	uint32_t fail_limit;   /**< failures within the window: ban; 0 never */
	uint32_t fail_window;  /**< seconds                                  */
	uint32_t ban_time;     /**< seconds                                  */
	uint32_t rate;         /**< new requests a second; 0 = no limit      */
	uint32_t burst;        /**< at once (token bucket); 0 = 2 x rate     */
};

enum srcguard_verdict {
	SRCGUARD_PASS = 0,
	SRCGUARD_BANNED,       /**< too many failed authentications */
	SRCGUARD_RATE,         /**< over the request rate            */
};

int  srcguard_alloc(struct srcguard **gp);
void srcguard_configure(struct srcguard *g, const struct srcguard_conf *conf,
			struct acl *trusted);
enum srcguard_verdict srcguard_request(struct srcguard *g,
				       const struct sa *src, uint64_t now);
bool srcguard_failed(struct srcguard *g, const struct sa *src, uint64_t now);
bool srcguard_banned(struct srcguard *g, const struct sa *src, uint64_t now);
int  srcguard_ban(struct srcguard *g, const struct sa *src, uint32_t seconds,
		  uint64_t now);
bool srcguard_unban(struct srcguard *g, const struct sa *src);
void srcguard_sweep(struct srcguard *g, uint64_t now);
uint32_t srcguard_count(const struct srcguard *g);
uint32_t srcguard_bans(const struct srcguard *g);
typedef bool (srcguard_apply_h)(const struct sa *src, uint32_t ban_left_s,
				uint32_t failures, void *arg);
void srcguard_apply(const struct srcguard *g, uint64_t now,
		    srcguard_apply_h *h, void *arg);
