/**
 * @file sipraw.h  SIP datagrams as they arrive on the UDP socket, before
 * libre parses them.
 *
 * libre 1.1.0 drops, unanswered and unseen by its trace hook, any
 * datagram its parser refuses: a Via without branch (RFC 2543 peers, and
 * RFC 4475's longreq and inv2543), a From with a non-SIP URI (unksm2), a
 * bad start line.  A UDP helper (re_udp.h) on libre's own socket sees each
 * datagram first, so the PBX can:
 *  - trace and capture it exactly as it came;
 *  - give a Via without branch the branch RFC 3261 17.2.3 implies (the
 *    same for an INVITE, its CANCEL and the ACK of its failure), so libre
 *    handles an RFC 2543 request like any other;
 *  - answer what still cannot be parsed: 505 for another SIP version, 400
 *    otherwise, built from the request's own Via, From, To, Call-ID and
 *    CSeq lines (RFC 3261 8.2.6.2).  ACKs and responses are dropped.
 *
 * libre offers no way to reach the socket of a transport: the helper is
 * installed on the socket of the first request that arrives over UDP,
 * and sipraw_alloc() makes that happen at once by sending the PBX one
 * OPTIONS.  Over TCP a stream that libre cannot parse is closed by libre.
 */

struct sipraw;
struct sipstack;
struct sip;
struct sip_msg;

int  sipraw_alloc(struct sipraw **rp, struct sipstack *stack, struct sip *sip,
		  const struct sa *laddr, const char *server);
void sipraw_seen(struct sipraw *r, const struct sip_msg *msg);
bool sipraw_active(const struct sipraw *r);

/* the parts that work on bytes alone, for the unit tests */
int  sipraw_add_branch(const uint8_t *req, size_t len, struct mbuf **outp,
		       char *note, size_t sz);
int  sipraw_reply(struct mbuf *out, const uint8_t *req, size_t len,
		  const char *server);
