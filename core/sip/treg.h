/**
 * @file treg.h  One outbound registration (sip.conf's `register =>`): libre's
 * sipreg does the REGISTER, the digest answer and the refresh before
 * expiry; this module adds what a PBX needs around it: a time limit per
 * attempt, retries with back-off after a failure, and a state to show.
 *
 * Dropping a registration that is registered unregisters it (Expires: 0).
 */

struct sip;
struct treg;
struct treg_spec;

enum treg_state {
	TREG_IDLE = 0,       /**< not started (no SIP stack yet)        */
	TREG_REGISTERING,    /**< first REGISTER, or a retry, under way */
	TREG_REGISTERED,     /**< the server accepted it; refreshed     */
	TREG_FAILED,         /**< refused or no answer; retry scheduled */
};

/** Credentials a trunk answers a 401/407 with (a mem object). */
struct tcreds {
	char *user;
	char *secret;
};

struct treg_info {
	enum treg_state state;
	uint32_t failures;      /**< in a row; 0 once registered        */
	int64_t expires_in;     /**< s, when registered; else -1        */
	int64_t retry_in;       /**< s, when failed; else -1            */
	const char *last_error; /**< "" when none                       */
};

int  treg_alloc(struct treg **rp, struct treg_spec *spec, struct list *lst);
void treg_move(struct treg *r, struct list *lst);
int  treg_start(struct treg *r, struct sip *sip, uint32_t delay_ms);
struct treg_spec *treg_spec(const struct treg *r);
void treg_info(const struct treg *r, struct treg_info *info);
const char *treg_state_name(enum treg_state st);

int  tcreds_alloc(struct tcreds **cp, const char *user, const char *secret);
int  tcreds_auth_handler(char **user, char **pass, const char *realm,
			 void *arg);
