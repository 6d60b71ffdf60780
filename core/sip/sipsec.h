/**
 * @file sipsec.h  The PBX's protections on its SIP side, between the
 * transports and everything else: which sources are banned or over their
 * request rate, failed authentications and address-list refusals (the
 * security log), and the concurrent-call limits.
 */

struct pbx;
struct sip;
struct sip_msg;
struct sipsec;
struct srcguard;
struct endpoint;
struct sa;

int  sipsec_alloc(struct sipsec **sp, struct pbx *pbx, struct sip *sip);
void sipsec_configure(struct sipsec *ss);
bool sipsec_admit(struct sipsec *ss, const struct sip_msg *msg);
bool sipsec_admit_raw(struct sipsec *ss, const struct sa *src);
void sipsec_refused(struct sipsec *ss, const struct sip_msg *msg,
		    const char *event, const struct pl *user, const char *why);
bool sipsec_endpoint_allows(struct sipsec *ss, const struct sip_msg *msg,
			    const struct endpoint *ep);
bool sipsec_guest_allows(struct sipsec *ss, const struct sip_msg *msg);
/** Calls up (@a endpoint NULL), or legs of that endpoint up. */
typedef uint32_t (sipsec_count_h)(const char *endpoint, void *arg);
void sipsec_set_counter(struct sipsec *ss, sipsec_count_h *h, void *arg);
bool sipsec_call_admit(struct sipsec *ss, const struct sip_msg *msg,
		       const struct endpoint *ep);
struct srcguard *sipsec_guard(const struct sipsec *ss);
const char *sipsec_tp_name(int tp);
