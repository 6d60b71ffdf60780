/**
 * @file rtpring.h  The RTP of bridged streams through one io_uring.
 *
 * A bridged call moves 100 packets a second each way, one per socket per
 * 20 ms: read one at a time, each costs its own recvfrom() and sendto().
 * Attached here, a socket's packets arrive by a multishot receive into
 * buffers the kernel picks, and the sends they cause go out together:
 * one io_uring_enter() for all the packets of all sockets ready at once.
 *
 * Without io_uring (old kernel, seccomp, LUNAPBX_RTPRING=0) attaching
 * fails and the socket stays with libre, one system call per packet.
 * Where the process may, attached legs are not even read one by one:
 * their packets are steered to one shared socket (rtpsteer.h) and the
 * sends leave through one raw socket (rawudp.h).
 *
 * Terminated streams may ask for the same (stream_ring(): conference
 * members), and what the PBX sends in a tick of the media clock (prompts,
 * music, a room's mix) is batched too: rtpring_batch_begin() ...
 * rtpring_batch_end(), the first of which makes the ring.
 */

struct udp_sock;
struct sa;
struct mbuf;

int  rtpring_attach(struct udp_sock *us, const struct sa *laddr,
		    const struct sa *peer, udp_recv_h *h, void *arg,
		    uint32_t *idp);
bool rtpring_steered(uint32_t id);
void rtpring_detach(uint32_t *idp, struct udp_sock *us);
int  rtpring_send(struct udp_sock *us, int fd, const struct sa *src,
		  const struct sa *dst, bool connected, struct mbuf *mb);
bool rtpring_batch_begin(void);
void rtpring_batch_end(void);
void rtpring_close(void);
const char *rtpring_mode(void);
