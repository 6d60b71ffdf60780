/**
 * @file rtpring.c  The RTP of bridged streams through one io_uring (see
 * rtpring.h).
 *
 * libre's loop watches the ring's descriptor like any socket.  When
 * completions are ready, ring_ready() hands each received packet to its
 * socket's handler (a stream's rtp_recv(), as libre would) in one reused
 * mbuf; the sends the handler makes with rtpring_send() are queued, and
 * all go to the kernel in one io_uring_enter() at the end.  Sends made
 * anywhere else go out at once with udp_send().
 *
 * Nothing is allocated per packet: receive buffers form a ring the kernel
 * takes from and send slots a free list, both made once.  A completion
 * names its socket by slot and generation, so one arriving after the
 * stream let go of its socket is recognised and dropped.
 *
 * Where the process may (root, or CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW),
 * the ring reads no leg's socket at all: the kernel steers every attached
 * leg's packets to one shared socket (rtpsteer.h), told apart by the
 * address they were sent to, and the sends leave through one raw socket
 * (rawudp.h).  Two sockets in the cache instead of two per call.  Where it
 * may not, each leg's socket is read and written as described above.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <liburing.h>
#include <re.h>
#include "log.h"
#include "media/rawudp.h"
#include "media/rtpring.h"
#include "media/rtpsteer.h"

enum {
	NBUF = 2048,          /* receive buffers, a power of 2      */
	BUFSZ = 2048,
	NSEND = 8192,         /* sends in flight: a tick of a big room,
				 or of everybody on hold */
	BGID = 1,             /* the buffer group of receive buffers */
	SQ_ENTRIES = 1024,
	CQ_ENTRIES = 16384,
};

enum kind { K_RECV = 1, K_SEND, K_CANCEL, K_SHARED };

struct att {                  /* a socket the ring reads */
	struct udp_sock *us;
	udp_recv_h *h;
	void *arg;
	int fd;
	uint16_t gen;
	bool alive;
	bool steered;             /* its packets come to the shared socket */
	struct sa laddr;          /* steered: its address, */
	struct sa peer;           /* and the only sender it hears */
};

struct send_slot {
	struct msghdr mh;
	struct iovec iov;
	struct sockaddr_in6 dst;  /* room for either family */
	uint8_t data[BUFSZ];
};

static struct {
	bool tried, ok;
	bool ring_up;             /* io_uring_queue_init() succeeded */
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	struct msghdr recv_mh;    /* what a multishot receive fills in */
	struct att *att;
	uint32_t natt, cap;
	uint32_t *free_att;
	uint32_t nfree_att;
	struct send_slot *sends;
	uint16_t free_send[NSEND];
	uint32_t nfree_send;
	struct mbuf *mb;          /* the packet handed to the handler */
	bool in_batch;
	bool files;               /* fds registered: no lookup per packet */
	uint8_t *registered;      /* per fd */
	unsigned nfiles;          /* the open-files limit: fds are below */
	uint32_t queued;
	int shared;               /* steered legs' packets arrive here */
	int raw;                  /* and bridged legs' sends leave here */
} R;


static uint64_t user_data(enum kind k, uint32_t idx, uint16_t gen)
{
	return (uint64_t)k << 56 | (uint64_t)gen << 32 | idx;
}


static void flush(void)
{
	if (R.queued) {
		(void)io_uring_submit(&R.ring);
		R.queued = 0;
	}
}


static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&R.ring);

	if (!sqe) {
		flush();
		sqe = io_uring_get_sqe(&R.ring);
	}
	return sqe;
}


/* The registered slot of @a fd, so the kernel skips its file lookup. */
static void set_fd(struct io_uring_sqe *sqe, int fd)
{
	if (R.files && fd >= 0 && (unsigned)fd < R.nfiles &&
	    R.registered[fd]) {
		sqe->fd = fd;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}


static void register_fd(int fd, bool on)
{
	int v = on ? fd : -1;

	if (!R.files || fd < 0 || (unsigned)fd >= R.nfiles ||
	    R.registered[fd] == on)
		return;
	if (io_uring_register_files_update(&R.ring, (unsigned)fd, &v, 1) == 1)
		R.registered[fd] = on;
}


static void recycle(uint16_t bid)
{
	io_uring_buf_ring_add(R.br, R.bufs + (size_t)bid * BUFSZ, BUFSZ, bid,
			      io_uring_buf_ring_mask(NBUF), 0);
	io_uring_buf_ring_advance(R.br, 1);
}


static int arm(uint32_t idx)
{
	struct att *a = &R.att[idx];
	struct io_uring_sqe *sqe = get_sqe();

	if (!sqe)
		return ENOMEM;

	io_uring_prep_recvmsg_multishot(sqe, a->fd, &R.recv_mh, 0);
	set_fd(sqe, a->fd);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, user_data(K_RECV, idx, a->gen));
	++R.queued;

	return 0;
}


/* The socket goes back to libre's own reading, one packet at a time; the
 * ring lets go of it (a registered file would keep it open). */
static void give_back(struct att *a)
{
	a->alive = false;
	++a->gen;
	if (a->steered) {
		rtpsteer_del(&a->laddr);
		a->steered = false;
	}
	register_fd(a->fd, false);
	(void)udp_thread_attach(a->us);
}


/* Steer @a a's packets to the shared socket (see rtpsteer_add() for
 * which addresses can be). */
static bool steer(struct att *a, uint32_t idx, const struct sa *laddr,
		  const struct sa *peer)
{
	if (R.shared < 0 || !laddr || !peer || !sa_isset(peer, SA_ALL) ||
	    rtpsteer_add(laddr, idx + 1))
		return false;

	a->laddr = *laddr;
	a->peer = *peer;
	a->steered = true;
	return true;
}


static void deliver(struct att *a, const struct sa *src,
		    struct io_uring_recvmsg_out *out, int len)
{
	unsigned plen = io_uring_recvmsg_payload_length(out, len, &R.recv_mh);

	/* a handler that kept the last packet keeps it: take another */
	if (!R.mb || mem_nrefs(R.mb) > 1) {
		mem_deref(R.mb);
		R.mb = mbuf_alloc(BUFSZ);
		if (!R.mb)
			return;
	}
	memcpy(R.mb->buf, io_uring_recvmsg_payload(out, &R.recv_mh), plen);
	R.mb->pos = 0;
	R.mb->end = plen;

	a->h(src, R.mb, a->arg);
}


/* A received packet's header and source; NULL when it is not whole. */
static struct io_uring_recvmsg_out *unpack(uint8_t *buf, int len,
					   struct sa *src)
{
	struct io_uring_recvmsg_out *out;

	out = io_uring_recvmsg_validate(buf, len, &R.recv_mh);
	if (!out || (out->flags & MSG_TRUNC) ||
	    sa_set_sa(src, io_uring_recvmsg_name(out)))
		return NULL;
	return out;
}


/* The steered leg a packet on the shared socket was sent to, if it comes
 * from the leg's phone (strict RTP: anyone else's is dropped). */
static struct att *steered_leg(struct io_uring_recvmsg_out *out,
			       const struct sa *src)
{
	struct cmsghdr *c;
	struct att *a;
	uint32_t idx;

	for (c = io_uring_recvmsg_cmsg_firsthdr(out, &R.recv_mh); c;
	     c = io_uring_recvmsg_cmsg_nexthdr(out, &R.recv_mh, c)) {
		const struct sockaddr_in *dst;

		if (c->cmsg_level != IPPROTO_IP ||
		    c->cmsg_type != IP_ORIGDSTADDR)
			continue;
		dst = (const struct sockaddr_in *)(void *)CMSG_DATA(c);
		idx = rtpsteer_find(dst);
		if (!idx-- || idx >= R.natt)
			return NULL;
		a = &R.att[idx];
		if (!a->alive || !a->steered || !sa_cmp(src, &a->peer, SA_ALL))
			return NULL;
		return a;
	}
	return NULL;
}


static int arm_shared(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	if (!sqe)
		return ENOMEM;

	io_uring_prep_recvmsg_multishot(sqe, R.shared, &R.recv_mh, 0);
	set_fd(sqe, R.shared);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, user_data(K_SHARED, 0, 0));
	++R.queued;

	return 0;
}


static void on_shared(const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(cqe->flags >>
					  IORING_CQE_BUFFER_SHIFT);
		uint8_t *buf = R.bufs + (size_t)bid * BUFSZ;
		struct io_uring_recvmsg_out *out;
		struct att *a;
		struct sa src;

		if (cqe->res > 0 && (out = unpack(buf, cqe->res, &src)) &&
		    (a = steered_leg(out, &src)))
			deliver(a, &src, out, cqe->res);
		recycle(bid);
	}

	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	if (cqe->res < 0 && cqe->res != -ENOBUFS)
		log_warn("rtp: shared socket receive: %m", -cqe->res);
	(void)arm_shared();
}


static void on_recv(const struct io_uring_cqe *cqe, uint32_t idx,
		    uint16_t gen)
{
	struct att *a = idx < R.natt ? &R.att[idx] : NULL;
	bool ours = a && a->alive && a->gen == gen;

	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(cqe->flags >>
					  IORING_CQE_BUFFER_SHIFT);

		uint8_t *buf = R.bufs + (size_t)bid * BUFSZ;
		struct io_uring_recvmsg_out *out;
		struct sa src;

		if (ours && cqe->res > 0 && (out = unpack(buf, cqe->res, &src)))
			deliver(a, &src, out, cqe->res);
		recycle(bid);
		/* the handler may have attached a socket: R.att may move */
		a = idx < R.natt ? &R.att[idx] : NULL;
	}

	if ((cqe->flags & IORING_CQE_F_MORE) || !a || !a->alive ||
	    a->gen != gen)
		return;

	/* the receive ended: out of buffers is passing, and so is an ICMP
	 * error on a connected socket (the phone closed its port: its BYE
	 * is on the way); anything else is the socket's trouble, and libre
	 * reports it better */
	if (cqe->res >= 0 || cqe->res == -ENOBUFS ||
	    cqe->res == -ECONNREFUSED) {
		if (!arm(idx))
			return;
	}
	else {
		log_warn("rtp: io_uring receive on fd %d: %m", a->fd,
			 -cqe->res);
	}
	give_back(a);
}


static void on_cqe(const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t idx = (uint32_t)ud;

	switch ((enum kind)(ud >> 56)) {

	case K_RECV:
		on_recv(cqe, idx, (uint16_t)(ud >> 32));
		break;

	case K_SHARED:
		on_shared(cqe);
		break;

	case K_SEND:
		if (idx < NSEND)
			R.free_send[R.nfree_send++] = (uint16_t)idx;
		break;

	default:
		break;
	}
}


static void ring_ready(int flags, void *arg)
{
	(void)flags; (void)arg;

	R.in_batch = true;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		io_uring_for_each_cqe(&R.ring, head, cqe) {
			on_cqe(cqe);
			++n;
		}
		if (!n)
			break;
		io_uring_cq_advance(&R.ring, n);
	}
	R.in_batch = false;
	flush();
}


/* Steering and raw sends, where this process may: else each leg's own
 * socket, as before.  LUNAPBX_RTPSTEER=0 turns them off. */
static void steer_init(void)
{
	const char *env = getenv("LUNAPBX_RTPSTEER");
	int err;

	if (env && 0 == strcmp(env, "0"))
		return;

	R.raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (R.raw < 0) {
		log_info("rtp: no raw socket (%m): each leg sends from its own"
			 " socket", errno);
		return;
	}
	register_fd(R.raw, true);

	err = rtpsteer_open();
	if (!err) {
		R.shared = rtpsteer_fd();
		register_fd(R.shared, true);
		err = arm_shared();
	}
	if (err) {
		log_info("rtp: legs not steered to one socket (%m): each is"
			 " read on its own", err);
		register_fd(R.shared, false);
		rtpsteer_close();
		R.shared = -1;
	}
}


static int ring_init(void)
{
	struct io_uring_params p;
	struct io_uring_buf_reg reg;
	struct rlimit rl;
	const char *env = getenv("LUNAPBX_RTPRING");
	size_t brsz = NBUF * sizeof(struct io_uring_buf);
	int err;

	R.shared = R.raw = -1;
	if (env && 0 == strcmp(env, "0"))
		return ENOTSUP;

	/* COOP_TASKRUN: a packet arriving while the loop runs does not
	 * interrupt it (an IPI each); a sleeping loop is still woken. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
	p.cq_entries = CQ_ENTRIES;
	err = -io_uring_queue_init_params(SQ_ENTRIES, &R.ring, &p);
	if (err == EINVAL) {                  /* before Linux 5.19 */
		p.flags &= ~IORING_SETUP_COOP_TASKRUN;
		err = -io_uring_queue_init_params(SQ_ENTRIES, &R.ring, &p);
	}
	if (err)
		return err;
	R.ring_up = true;

	/* registered files, indexed by fd: the kernel skips a file lookup
	 * per packet (their number is capped by the open-files limit) */
	R.nfiles = getrlimit(RLIMIT_NOFILE, &rl) ? 1024
		: (unsigned)(rl.rlim_cur < 65536 ? rl.rlim_cur : 65536);
	R.registered = calloc(R.nfiles, 1);
	R.files = R.registered &&
		0 == io_uring_register_files_sparse(&R.ring, R.nfiles);
	if (!R.files)
		log_info("rtp: io_uring without registered files");

	R.br = mmap(NULL, brsz, PROT_READ | PROT_WRITE,
		    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	R.bufs = mmap(NULL, (size_t)NBUF * BUFSZ, PROT_READ | PROT_WRITE,
		      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	R.sends = calloc(NSEND, sizeof(*R.sends));
	if (R.br == MAP_FAILED || R.bufs == MAP_FAILED || !R.sends)
		return ENOMEM;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)R.br;
	reg.ring_entries = NBUF;
	reg.bgid = BGID;
	err = -io_uring_register_buf_ring(&R.ring, &reg, 0);
	if (err)
		return err;

	io_uring_buf_ring_init(R.br);
	for (unsigned i = 0; i < NBUF; i++)
		io_uring_buf_ring_add(R.br, R.bufs + (size_t)i * BUFSZ,
				      BUFSZ, (uint16_t)i,
				      io_uring_buf_ring_mask(NBUF), (int)i);
	io_uring_buf_ring_advance(R.br, NBUF);

	for (unsigned i = 0; i < NSEND; i++)
		R.free_send[i] = (uint16_t)(NSEND - 1 - i);
	R.nfree_send = NSEND;
	R.recv_mh.msg_namelen = sizeof(struct sockaddr_in6);
	R.recv_mh.msg_controllen = CMSG_SPACE(sizeof(struct sockaddr_in6));

	steer_init();

	return fd_listen(R.ring.ring_fd, FD_READ, ring_ready, NULL);
}


static bool ready(void)
{
	int err;

	if (R.tried)
		return R.ok;
	R.tried = true;

	err = ring_init();
	R.ok = !err;
	if (err) {
		rtpring_close();   /* what ring_init got so far */
		R.tried = true;
		log_warn("rtp: no io_uring (%m): bridged media reads and"
			 " sends one packet per system call", err);
	}
	else
		log_debug("rtp: bridged media through io_uring%s",
			  R.shared >= 0 ? ", steered to one socket" : "");

	return R.ok;
}


static int att_slot(uint32_t *idxp)
{
	if (R.nfree_att) {
		*idxp = R.free_att[--R.nfree_att];
		return 0;
	}

	if (R.natt == R.cap) {
		uint32_t cap = R.cap ? 2 * R.cap : 1024;
		struct att *att = realloc(R.att, cap * sizeof(*att));
		uint32_t *fr = realloc(R.free_att, cap * sizeof(*fr));

		if (att)
			R.att = att;
		if (fr)
			R.free_att = fr;
		if (!att || !fr)
			return ENOMEM;
		R.cap = cap;
	}
	*idxp = R.natt++;
	R.att[*idxp].gen = 0;

	return 0;
}


/**
 * Read @a us through the ring: @a h gets its packets as libre's reading
 * would give them.  @a idp receives the attachment (0 = none).  With
 * @a laddr, the socket's address, and @a peer, the phone's, its packets
 * may be steered to the shared socket, and then only @a peer's reach @a h
 * (see rtpring_steered()).
 */
int rtpring_attach(struct udp_sock *us, const struct sa *laddr,
		   const struct sa *peer, udp_recv_h *h, void *arg,
		   uint32_t *idp)
{
	struct att *a;
	uint32_t idx;
	int fd, err;

	if (!us || !h || !idp)
		return EINVAL;
	if (*idp)
		return 0;
	if (!ready())
		return ENOTSUP;

	fd = udp_sock_fd(us, AF_INET6);   /* the one it has, either family */
	if (fd < 0)
		return EBADF;

	err = att_slot(&idx);
	if (err)
		return err;

	a = &R.att[idx];
	a->us = us;
	a->h = h;
	a->arg = arg;
	a->fd = fd;
	a->alive = true;
	a->steered = false;

	if (!steer(a, idx, laddr, peer)) {
		register_fd(fd, true);
		err = arm(idx);
		if (err) {
			register_fd(fd, false);
			a->alive = false;
			R.free_att[R.nfree_att++] = idx;
			return err;
		}
		fd_close(fd);             /* libre stops reading it */
	}
	/* steered, libre goes on reading the socket: what queued there
	 * before the kernel steered it (a video frame's other packets) comes
	 * in order, and nothing comes after */
	if (!R.in_batch)
		flush();

	*idp = idx + 1;

	return 0;
}


/** Stop reading @a us through the ring; libre reads it again. */
void rtpring_detach(uint32_t *idp, struct udp_sock *us)
{
	struct io_uring_sqe *sqe;
	struct att *a;
	uint32_t idx;

	if (!idp || !*idp)
		return;

	idx = *idp - 1;
	*idp = 0;
	a = &R.att[idx];
	if (a->alive) {
		sqe = a->steered ? NULL : get_sqe();
		if (sqe) {
			io_uring_prep_cancel64(sqe, user_data(K_RECV, idx,
							      a->gen), 0);
			io_uring_sqe_set_data64(sqe, user_data(K_CANCEL, 0,
							       0));
			++R.queued;
		}
		a->us = us;
		give_back(a);
		if (!R.in_batch)
			flush();
	}
	R.free_att[R.nfree_att++] = idx;
}


/** Whether attachment @a id's packets come through the shared socket:
 *  then only its peer's do, and the socket itself stays unconnected. */
bool rtpring_steered(uint32_t id)
{
	return id && id <= R.natt && R.att[id - 1].alive &&
		R.att[id - 1].steered;
}


/**
 * Send a packet from @a us, bound to @a src (a concrete address, or NULL or
 * unset when it is bound to the wildcard), whose descriptor for @a dst's
 * family is @a fd (@a connected to @a dst: no address goes with each
 * send).  It is queued with the others of this round when it is a
 * handler's answer to a packet from the ring, else sent at once; queued,
 * it leaves through the raw socket where there is one and both addresses
 * are IPv4 (from @a src, so the phone sees no difference).
 */
int rtpring_send(struct udp_sock *us, int fd, const struct sa *src,
		 const struct sa *dst, bool connected, struct mbuf *mb)
{
	struct io_uring_sqe *sqe;
	struct send_slot *sl;
	size_t len;
	uint16_t i;

	if (!R.in_batch || !us || !dst || !mb)
		return udp_send(us, dst, mb);

	len = mbuf_get_left(mb);
	if (fd < 0 || len > BUFSZ || !R.nfree_send || !(sqe = get_sqe()))
		return udp_send(us, dst, mb);

	i = R.free_send[--R.nfree_send];
	sl = &R.sends[i];
	memset(&sl->mh, 0, sizeof(sl->mh));
	sl->iov.iov_base = sl->data;
	sl->iov.iov_len = R.raw >= 0 ?
		rawudp_fill(sl->data, BUFSZ, src, dst, mbuf_buf(mb), len) : 0;
	if (sl->iov.iov_len) {
		fd = R.raw;
		connected = false;
	}
	else {
		memcpy(sl->data, mbuf_buf(mb), len);
		sl->iov.iov_len = len;
	}
	memcpy(&sl->dst, &dst->u, dst->len);
	if (!connected) {
		sl->mh.msg_name = &sl->dst;
		sl->mh.msg_namelen = dst->len;
	}
	sl->mh.msg_iov = &sl->iov;
	sl->mh.msg_iovlen = 1;

	io_uring_prep_sendmsg(sqe, fd, &sl->mh, 0);
	set_fd(sqe, fd);
	io_uring_sqe_set_data64(sqe, user_data(K_SEND, i, 0));
	++R.queued;

	return 0;
}


/**
 * Queue the sends made from now on (rtpring_send()) until
 * rtpring_batch_end(), which hands them to the kernel in one system call:
 * a tick of the media clock sending to every member of a conference.
 *
 * @return true when a batch began (end it), false when there is no ring
 *         or a batch is under way (its end sends ours)
 */
bool rtpring_batch_begin(void)
{
	if (!ready() || R.in_batch)
		return false;

	R.in_batch = true;
	return true;
}


void rtpring_batch_end(void)
{
	if (!R.in_batch)
		return;

	R.in_batch = false;
	flush();
}


/** Close the ring (at shutdown: every stream has let go of its socket). */
void rtpring_close(void)
{
	if (R.ok)
		fd_close(R.ring.ring_fd);
	rtpsteer_close();
	if (R.ring_up && R.raw >= 0)
		(void)close(R.raw);
	if (R.ring_up)
		io_uring_queue_exit(&R.ring);
	if (R.br && R.br != MAP_FAILED)
		munmap(R.br, NBUF * sizeof(struct io_uring_buf));
	if (R.bufs && R.bufs != MAP_FAILED)
		munmap(R.bufs, (size_t)NBUF * BUFSZ);
	free(R.sends);
	free(R.att);
	free(R.free_att);
	free(R.registered);
	mem_deref(R.mb);
	memset(&R, 0, sizeof(R));
	R.shared = R.raw = -1;
}


/**
 * How bridged RTP goes now: "idle" (none has flowed yet), "sockets" (no
 * io_uring: libre reads each leg's socket), "ring" (each leg's socket
 * through the ring) or "steered" (one shared socket in, one raw out).
 */
const char *rtpring_mode(void)
{
	if (!R.tried)
		return "idle";
	if (!R.ok)
		return "sockets";
	return R.shared >= 0 ? "steered" : "ring";
}
