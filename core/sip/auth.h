/**
 * @file auth.h  SIP digest authentication, server side (RFC 3261 22.4,
 * RFC 2617/7616 MD5 with qop=auth).
 *
 * A nonce is a time stamp and a nonce id, signed with a per-process key:
 * a challenge costs one byte (the id's slot in a ring of nonce counts),
 * an old nonce is told apart from a forged one, and each nonce count is
 * taken once (RFC 7616 3.4: a replayed response is refused).  The slot of
 * an id is reused once 2^20 newer challenges went out: such an old nonce
 * is then stale, as is an expired one, one from before a restart (another
 * key) or one whose count was already used.  Stale is only said to a
 * response computed with the right secret (stale=true lets the phone retry
 * without asking its user); any other failure is the same AUTH_FAILED,
 * unknown user included, after the same work (no user enumeration).
 */

struct auth;
struct sip;
struct sip_msg;

enum auth_result {
	AUTH_MISSING = 0,  /**< no credentials for our realm          */
	AUTH_OK,           /**< the response matches the secret       */
	AUTH_STALE,        /**< right secret, nonce not usable (again) */
	AUTH_FAILED,       /**< unknown user, wrong secret, other uri */
};

/** What auth_verify() found, for the log (never for the answer). */
struct auth_info {
	struct pl user;        /**< the username of the credentials    */
	const char *why;       /**< why it failed or is stale          */
};

/** Returns the secret of a user, or NULL when there is no such user. */
typedef const char *(auth_secret_h)(const struct pl *user, void *arg);

int  auth_alloc(struct auth **authp, const char *realm, uint32_t lifetime_s);
const char *auth_realm(const struct auth *auth);
enum auth_result auth_verify(struct auth *auth, const struct sip_msg *msg,
			     bool proxy, auth_secret_h *secreth, void *arg,
			     struct auth_info *info);
int  auth_challenge(struct auth *auth, struct sip *sip,
		    const struct sip_msg *msg, bool proxy, bool stale);
int  auth_nonce_make(struct auth *auth, uint64_t now_s, char *buf,
		     size_t sz);
bool auth_nonce_check(const struct auth *auth, const struct pl *nonce,
		      uint64_t now_s, bool *stale);
bool auth_uri_match(const struct pl *digest_uri, const struct pl *ruri);
