/**
 * @file sipstack.h  The SIP side of the PBX: transports, the request
 * dispatcher (REGISTER, OPTIONS, INVITE, the rest), and the session socket
 * every call leg lives on.
 */

struct pbx;
struct sipstack;
struct sip;
struct sipsess_sock;
struct sip_packet;
struct subscr;
struct sipsec;
struct sip_msg;
struct endpoint;
struct sipevent_sock;

/** A new INVITE, authenticated, for @a context. */
typedef int (sipstack_invite_h)(struct pbx *pbx, const struct sip_msg *msg,
				struct endpoint *ep, const char *context);

int  sipstack_alloc(struct sipstack **sp, struct pbx *pbx);
struct sip *sipstack_sip(const struct sipstack *s);
struct sipsess_sock *sipstack_sessock(const struct sipstack *s);
struct subscr *sipstack_subscr(const struct sipstack *s);
struct sipsec *sipstack_sec(const struct sipstack *s);
struct sipevent_sock *sipstack_evsock(const struct sipstack *s);
void sipstack_set_invite_handler(struct sipstack *s, sipstack_invite_h *h);
int  sipstack_local_uri(const struct sipstack *s, char *buf, size_t sz,
			const char *user);
void sipstack_trace(struct sipstack *s, bool enable);
bool sipstack_tracing(const struct sipstack *s);
void sipstack_close(struct sipstack *s);
void sipstack_observe(struct sipstack *s, const struct sip_packet *pkt);
uint64_t sipstack_auth_failures(void);
