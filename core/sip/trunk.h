/**
 * @file trunk.h  Trunks: outbound registrations (sip.conf `register =>`),
 * peers (sip.conf `[name] type=peer|friend`) and the qualify of peers and
 * endpoints.  A configuration (re)load builds a struct trunk_cfg; applying
 * it keeps a registration whose settings did not change, starts new and
 * changed ones, and unregisters removed ones.
 */

struct endpoint;
struct pbx;
struct sip_msg;
struct trunks;

/** A peer: another server or gateway, dialled as `trunk/number`. */
struct tpeer {
	struct le le;
	char *name;
	char *host;              /**< NULL: dynamic (its registrations)  */
	uint16_t port;           /**< 0: 5060                            */
	enum sip_transp tp;
	char *defaultuser;       /**< digest user when it challenges us  */
	char *secret;
	char *fromuser;          /**< From user; NULL = the caller's     */
	char *fromdomain;        /**< From host; NULL = our address      */
	char *context;           /**< where its calls land               */
	unsigned insecure;       /**< enum trunk_insecure                */
	uint32_t qualify_ms;     /**< 0: no qualify                      */
	uint32_t qualify_freq;   /**< seconds between OPTIONS            */
	struct endpoint *ep;     /**< codecs, caller id: its own copy    */
	struct tcreds *creds;    /**< what a 401/407 from it is answered */
	struct sa addr;          /**< static host, resolved              */
};

/** An endpoint whose registered contacts are qualified. */
struct tqual {
	struct le le;
	char *name;
	uint32_t maxms, freq_s;
};

struct trunk_cfg {
	struct list regs;        /**< struct treg_spec  */
	struct list peers;       /**< struct tpeer      */
	struct list quals;       /**< struct tqual      */
};

/** One line of `_core.trunks()`. */
struct trunk_info {
	const char *name;
	const char *kind;        /**< "register" | "peer"               */
	const char *state;
	int64_t expires_in;      /**< s; -1 = n/a                       */
	int64_t retry_in;        /**< s; -1 = n/a                       */
	uint32_t failures;
	int reachable;           /**< 1, 0, -1 = not known / no qualify */
	uint32_t rtt_ms;
	uint32_t contacts;       /**< dynamic peers: registered contacts */
	const char *last_error;  /**< NULL = none                       */
	const char *server;      /**< registrar or peer host[:port]     */
};

int  trunk_cfg_alloc(struct trunk_cfg **cfgp);
int  tpeer_alloc(struct tpeer **pp, const char *name);
int  tqual_alloc(struct tqual **qp, const char *name, uint32_t maxms,
		 uint32_t freq_s);

int  trunks_apply(struct pbx *pbx, struct trunk_cfg *cfg);
int  trunks_start(struct trunks *t);
bool trunk_inbound(const struct trunks *t, const struct sip_msg *msg,
		   struct endpoint **epp, const char **contextp);
/** Where one dialled leg goes (trunk_routes). */
struct trunk_route {
	const char *uri;           /**< Request-URI and To             */
	const char *from_uri;      /**< NULL: sip:<caller>@<us>        */
	sip_auth_h *authh;         /**< answers 401/407; NULL: none    */
	void *aarg;                /**< its argument (a mem object)    */
	struct endpoint *ep;       /**< codecs offered, name           */
};
typedef void (trunk_route_h)(const struct trunk_route *rt, void *arg);
int  trunk_routes(struct trunks *t, const char *name, const char *number,
		  const char *from_num, trunk_route_h *h, void *arg);
bool trunk_contact_down(const struct trunks *t, const char *uri);
int  trunk_contact_reachable(const struct trunks *t, const char *uri,
			     uint32_t *rtt_ms);
typedef bool (trunk_info_h)(const struct trunk_info *info, void *arg);
void trunks_list(const struct trunks *t, trunk_info_h *h, void *arg);
