/**
 * @file trunkcfg.h  Trunk configuration, the pure parts: Asterisk's
 * `register =>` line, `insecure=`, the retry schedule of a registration
 * that failed, and a contact URI with another user part.
 */

/** insecure= flags (sip.conf): what a peer matched by address skips. */
enum trunk_insecure {
	INSECURE_PORT   = 1 << 0,  /**< any source port of its host     */
	INSECURE_INVITE = 1 << 1,  /**< its INVITEs are not challenged  */
};

/** One outbound registration, as a `register =>` line says it. */
struct treg_spec {
	struct le le;
	char *name;           /**< "user@host[:port]" unless named      */
	char *user;           /**< address of record user (To, From)   */
	char *domain;         /**< AOR domain; NULL = host             */
	char *secret;         /**< NULL = none                         */
	char *authuser;       /**< digest user; NULL = user            */
	char *host;
	uint16_t port;        /**< 0 = not given (5060, or DNS)        */
	char *contact;        /**< Contact user; NULL = user           */
	enum sip_transp tp;
	uint32_t expires;     /**< seconds asked for                   */
	uint32_t timeout_s;   /**< an attempt gives up after this      */
	uint32_t retry_min;   /**< back-off after failures, seconds    */
	uint32_t retry_max;
};

enum {
	TREG_DEFAULT_EXPIRES = 120,     /* Asterisk's default_expiry */
	TREG_DEFAULT_TIMEOUT = 20,      /* Asterisk's registertimeout */
	TREG_DEFAULT_RETRY_MIN = 5,
	TREG_DEFAULT_RETRY_MAX = 300,
};

int  treg_spec_parse(struct treg_spec **specp, const char *line,
		     char *errbuf, size_t errsz);
int  treg_spec_set_name(struct treg_spec *spec, const char *name);
bool treg_spec_equal(const struct treg_spec *a, const struct treg_spec *b);
int  treg_spec_aor(const struct treg_spec *spec, char *buf, size_t sz);
int  treg_spec_server(const struct treg_spec *spec, char *buf, size_t sz);
uint32_t trunk_backoff(uint32_t failures, uint32_t min_s, uint32_t max_s);
int  trunk_insecure_parse(const char *s, unsigned *flags);
int  trunk_uri_with_user(char *buf, size_t sz, const char *uri,
			 const char *user);
