/**
 * @file auth.h  SIP digest authentication, server side (RFC 3261 22.4,
 * RFC 2617 MD5 with qop=auth).
 *
 * Nonces are stateless: a time stamp signed with a per-process key, so a
 * challenge costs no memory and an old nonce is told apart from a forged
 * one (stale=true lets the phone retry without asking its user).
 */

struct auth;
struct sip;
struct sip_msg;
struct sip_strans;

enum auth_result {
	AUTH_MISSING = 0,  /**< no credentials for our realm          */
	AUTH_OK,           /**< the response matches the secret       */
	AUTH_STALE,        /**< right secret, expired nonce           */
	AUTH_FAILED,       /**< unknown user, wrong secret, bad nonce */
};

/** Returns the secret of a user, or NULL when there is no such user. */
typedef const char *(auth_secret_h)(const struct pl *user, void *arg);

int  auth_alloc(struct auth **authp, const char *realm, uint32_t lifetime_s);
const char *auth_realm(const struct auth *auth);
enum auth_result auth_verify(const struct auth *auth,
			     const struct sip_msg *msg, bool proxy,
			     auth_secret_h *secreth, void *arg,
			     struct pl *user);
int  auth_challenge(const struct auth *auth, struct sip *sip,
		    const struct sip_msg *msg, bool proxy, bool stale);
int  auth_nonce_make(const struct auth *auth, uint64_t now_s,
		     char *buf, size_t sz);
bool auth_nonce_check(const struct auth *auth, const struct pl *nonce,
		      uint64_t now_s, bool *stale);
