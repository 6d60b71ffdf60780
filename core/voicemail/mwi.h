/**
 * @file mwi.h  Message waiting (RFC 3842): the message-summary event
 * package of the subscription server, and Asterisk's unsolicited NOTIFYs.
 *
 * A phone learns its mailbox's counts three ways: it SUBSCRIBEs (to the
 * mailbox number, or to its own address of record), and gets a NOTIFY at
 * once and after every change; or, without a subscription, the PBX sends
 * a NOTIFY outside any dialog to each contact its endpoint registered,
 * after every change and whenever it registers or re-registers (so the
 * lamp comes back after a phone's or the PBX's restart).
 *
 * Which endpoints a mailbox lights is configuration (the mailbox's
 * `endpoints`), given again at every reload with mwi_set_boxes().
 */

struct mwi;
struct vmbox;
struct subscr;
struct registrar;
struct pbx;

int  mwi_alloc(struct mwi **mp, struct vmbox *vb, struct pbx *pbx);
int  mwi_attach(struct mwi *m, struct subscr *s, struct registrar *reg);
void mwi_detach(struct mwi *m);
int  mwi_boxes_alloc(struct hash **hp);
int  mwi_boxes_add(struct hash *boxes, const char *mailbox,
		   const char * const *endpoints, size_t n);
void mwi_set_boxes(struct mwi *m, struct hash *boxes);
void mwi_changed(struct mwi *m, const char *mailbox);
void mwi_registered(struct mwi *m, const char *endpoint);
int  mwi_body(struct mbuf *mb, struct mwi *m, const char *mailbox);
