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
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <liburing.h>
#include <re.h>
#include "log.h"
#include "media/rtpring.h"

enum {
	NBUF = 2048,          /* receive buffers, a power of 2      */
	BUFSZ = 2048,
	NSEND = 2048,         /* sends in flight                    */
	BGID = 1,             /* the buffer group of receive buffers */
	SQ_ENTRIES = 1024,
	CQ_ENTRIES = 8192,
};

enum kind { K_RECV = 1, K_SEND, K_CANCEL };

struct att {                  /* a socket the ring reads */
	struct udp_sock *us;
	udp_recv_h *h;
	void *arg;
	int fd;
	uint16_t gen;
	bool alive;
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
	register_fd(a->fd, false);
	(void)udp_thread_attach(a->us);
}


static void deliver(struct att *a, uint8_t *buf, int len)
{
	struct io_uring_recvmsg_out *out;
	unsigned plen;
	struct sa src;

	out = io_uring_recvmsg_validate(buf, len, &R.recv_mh);
	if (!out || (out->flags & MSG_TRUNC) ||
	    sa_set_sa(&src, io_uring_recvmsg_name(out)))
		return;
	plen = io_uring_recvmsg_payload_length(out, len, &R.recv_mh);

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

	a->h(&src, R.mb, a->arg);
}


static void on_recv(const struct io_uring_cqe *cqe, uint32_t idx,
		    uint16_t gen)
{
	struct att *a = idx < R.natt ? &R.att[idx] : NULL;
	bool ours = a && a->alive && a->gen == gen;

	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(cqe->flags >>
					  IORING_CQE_BUFFER_SHIFT);

		if (ours && cqe->res > 0)
			deliver(a, R.bufs + (size_t)bid * BUFSZ, cqe->res);
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


static int ring_init(void)
{
	struct io_uring_params p;
	struct io_uring_buf_reg reg;
	struct rlimit rl;
	const char *env = getenv("LUNAPBX_RTPRING");
	size_t brsz = NBUF * sizeof(struct io_uring_buf);
	int err;

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
		log_debug("rtp: bridged media through io_uring");

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
 * would give them.  @a idp receives the attachment (0 = none).
 */
int rtpring_attach(struct udp_sock *us, udp_recv_h *h, void *arg,
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
	register_fd(fd, true);

	err = arm(idx);
	if (err) {
		a->alive = false;
		R.free_att[R.nfree_att++] = idx;
		return err;
	}
	fd_close(fd);                     /* libre stops reading it */
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
		sqe = get_sqe();
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


/**
 * Send a packet from @a us, whose descriptor for @a dst's family is @a fd
 * (@a connected to @a dst: no address goes with each send).  It is queued
 * with the others of this round when it is a handler's answer to a packet
 * from the ring, else sent at once.
 */
int rtpring_send(struct udp_sock *us, int fd, const struct sa *dst,
		 bool connected, struct mbuf *mb)
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
	memcpy(sl->data, mbuf_buf(mb), len);
	memcpy(&sl->dst, &dst->u, dst->len);
	sl->iov.iov_base = sl->data;
	sl->iov.iov_len = len;
	memset(&sl->mh, 0, sizeof(sl->mh));
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


/** Close the ring (at shutdown: every stream has let go of its socket). */
void rtpring_close(void)
{
	if (R.ok)
		fd_close(R.ring.ring_fd);
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
}
