/**
 * @file subscr.h  The subscription server (RFC 6665): SUBSCRIBE and
 * NOTIFY for any event package a module registers.
 *
 * A package says its event name and body type, which resource a
 * subscriber asks for (and whether it may), and what the body of a
 * resource's state is.  The server does the rest: authentication (as
 * REGISTER: 401), 489 for an unknown event with Allow-Events, 423 below
 * the minimum expiry, the dialog, the immediate NOTIFY, refreshes (each
 * answered with a NOTIFY), un-SUBSCRIBE and expiry (a final NOTIFY with
 * Subscription-State: terminated), and a NOTIFY to every subscription of
 * a resource when its module says the state changed.
 *
 *   static const struct subscr_pkg mwi = { "message-summary",
 *       "application/simple-message-summary", resolve, body, arg };
 *   subscr_register(s, &mwi);
 *   subscr_changed(s, "message-summary", "6001");
 *
 * Voicemail's message-summary (RFC 3842) is one package; the dialog
 * package (RFC 4235, BLF: core/call/blf.c) is another.
 */

struct subscr;
struct sip;
struct sipevent_sock;
struct sip_msg;
struct mbuf;

/**
 * Which resource a SUBSCRIBE asks for.  @a user is the authenticated
 * endpoint, @a target the Request-URI's user part.  Writes the resource
 * name into @a res and returns 0, or returns the SIP code to refuse with
 * (403 not yours, 404 no such resource).
 */
typedef uint16_t (subscr_resolve_h)(const char *user, const struct pl *target,
				    char *res, size_t sz, void *arg);
/** The body of @a resource's current state; @a version counts the
 *  NOTIFYs of one subscription from 0 (RFC 4235's version attribute;
 *  0 outside a subscription). */
typedef int (subscr_body_h)(struct mbuf *mb, const char *resource,
			    uint32_t version, void *arg);

struct subscr_pkg {
	const char *event;          /**< "message-summary", "dialog"  */
	const char *ctype;          /**< the NOTIFY bodies' type       */
	subscr_resolve_h *resolveh;
	subscr_body_h *bodyh;
	void *arg;
};

/** Who sent a request: the endpoint name, or NULL when the handler has
 *  already answered it (a challenge, 403). */
typedef const char *(subscr_auth_h)(const struct sip_msg *msg, void *arg);

int  subscr_alloc(struct subscr **sp, struct sip *sip,
		  struct sipevent_sock *sock, const char *cuser,
		  const char *events, subscr_auth_h *authh, void *arg);
bool subscr_subscribe(struct subscr *s, const struct sip_msg *msg);
int  subscr_register(struct subscr *s, const struct subscr_pkg *pkg);
void subscr_unregister(struct subscr *s, const struct subscr_pkg *pkg);
void subscr_changed(struct subscr *s, const char *event,
		    const char *resource);
void subscr_changed_all(struct subscr *s, const char *event);
bool subscr_watched_by(const struct subscr *s, const char *event,
		       const char *resource, const char *user);
uint32_t subscr_count(const struct subscr *s, const char *event);
int  subscr_notify_uri(struct subscr *s, const char *event,
		       const char *resource, const char *uri,
		       const char *from_uri);
void subscr_close(struct subscr *s);
