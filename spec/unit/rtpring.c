/**
 * @file rtpring.c  Spec of the io_uring path of bridged RTP
 * (core/media/rtpring.c): packets of an attached socket reach its
 * handler as libre's reading would hand them, the handler's sends go out,
 * and a detached socket is libre's again; steered (rtpsteer.h, where the
 * process may), they arrive through the shared socket, only from the
 * socket's peer, and the sends leave through the raw socket from the
 * sending socket's own address.  Real UDP sockets on loopback, under
 * libre's own re_main().
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/rtpring.h"
#include "media/rtpsteer.h"
#include "tap.h"


enum { N = 50 };

/* in (attached) -> handler -> rtpring_send() from out -> sink */
static struct udp_sock *in, *out, *sink, *client, *stranger;
static struct sa in_addr, out_addr, sink_addr, client_addr;
static const struct sa *send_from;   /* rtpring_send()'s src */
static unsigned got_in, got_libre, got_sink, bad_src, bad_sink_src;
static uint8_t last[64];
static size_t last_len;
static struct tmr stop;


static void done(void *arg)
{
	(void)arg;
	re_cancel();
}


static void in_ring(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)arg;
	++got_in;
	if (!sa_cmp(src, &client_addr, SA_ALL))
		++bad_src;
	(void)rtpring_send(out, udp_sock_fd(out, AF_INET), send_from,
			   &sink_addr, false, mb);
}


static void in_libre(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src; (void)mb; (void)arg;
	++got_libre;
}


static void sink_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)arg;
	++got_sink;
	if (!sa_cmp(src, &out_addr, SA_ALL))
		++bad_sink_src;
	last_len = mbuf_get_left(mb) < sizeof(last) ? mbuf_get_left(mb) : 0;
	memcpy(last, mbuf_buf(mb), last_len);
	if (got_sink == N)
		re_cancel();
}


static void blast_from(struct udp_sock *from, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct mbuf *mb = mbuf_alloc(32);

		(void)mbuf_printf(mb, "packet %u", i);
		mb->pos = 0;
		(void)udp_send(from, &in_addr, mb);
		mem_deref(mb);
	}
}


static void blast(unsigned n)
{
	blast_from(client, n);
}


static void run(uint64_t ms)
{
	tmr_start(&stop, ms, done, NULL);
	(void)re_main(NULL);
	tmr_cancel(&stop);
}


static int sockets(void)
{
	struct sa any;
	int err;

	(void)sa_set_str(&any, "127.0.0.1", 0);
	err  = udp_listen(&in, &any, in_libre, NULL);
	err |= udp_listen(&out, &any, NULL, NULL);
	err |= udp_listen(&sink, &any, sink_recv, NULL);
	err |= udp_listen(&client, &any, NULL, NULL);
	err |= udp_listen(&stranger, &any, NULL, NULL);
	if (err)
		return err;
	err  = udp_local_get(in, &in_addr);
	err |= udp_local_get(out, &out_addr);
	err |= udp_local_get(sink, &sink_addr);
	err |= udp_local_get(client, &client_addr);
	return err;
}


/* After N packets from the client (and maybe a stranger's): all the
 * client's reached the handler, through the ring, and went on to the sink
 * as they were, from out's address. */
static void check_round(void)
{
	is_int(got_in, N, "every packet of the peer reached the ring's handler");
	is_int(bad_src, 0, "... each with the peer's address, none other");
	is_int(got_libre, 0, "... and none libre's own reading");
	is_int(got_sink, N, "the handler's sends all went out");
	is_str((char *)last, "packet 49", "... as they were");
	is_int(bad_sink_src, 0, "... from the sending socket's address");
}


static void check_detached(void)
{
	got_in = got_libre = 0;
	blast(5);
	run(300);
	is_int(got_libre, 5, "a detached socket is read by libre again");
	is_int(got_in, 0, "... and nothing reaches the ring's handler");
}


/* The same socket attached with its address and its peer's: steered where
 * the process may, and then the packets reach the handler through the
 * shared socket, the stranger's do not, and the sends leave through the
 * raw socket from out's own address. */
static void steered_rounds(void)
{
	uint32_t id = 0;

	ok(0 == rtpring_attach(in, &in_addr, &client_addr, in_ring, NULL, &id),
	   "attached with its address and its peer's");
	if (strcmp(rtpring_mode(), "steered")) {
		ok(!rtpring_steered(id), "# SKIP not steered here (%s): the"
		   " process may not use BPF or raw sockets", rtpring_mode());
		rtpring_detach(&id, in);
		return;
	}
	ok(rtpring_steered(id), "... steered to the shared socket");
	is_int(rtpsteer_count(), 1, "... one leg steered");

	got_in = got_libre = got_sink = bad_src = bad_sink_src = 0;
	send_from = &out_addr;
	blast(N);
	blast_from(stranger, 5);
	run(2000);
	diag("steered, a stranger sending too, sends raw");
	check_round();

	rtpring_detach(&id, in);
	is_int(rtpsteer_count(), 0, "detached: no leg steered");
	check_detached();
	send_from = NULL;
}


int main(void)
{
	struct leakcheck lc;
	uint32_t id = 0;
	int err;

	if (libre_init())
		return 255;
	tmr_init(&stop);

	if (sockets()) {
		ok(false, "four UDP sockets on 127.0.0.1");
		return done_testing();
	}

	err = rtpring_attach(in, NULL, NULL, in_ring, NULL, &id);
	if (err) {
		/* no io_uring here (old kernel, seccomp): nothing to check */
		ok(err == ENOTSUP || err == ENOSYS || err == EPERM,
		   "without io_uring attaching says so (%s)", strerror(err));
		ok(id == 0, "... and leaves the socket to libre");
		goto out;
	}
	ok(id != 0, "a socket is attached to the ring");
	ok(!rtpring_steered(id), "... read on its own, without its address");

	/* the first round makes the ring's one reusable packet buffer */
	blast(1);
	run(300);
	got_in = got_sink = 0;

	leak_begin(&lc);
	blast(N);
	run(2000);
	diag("the socket read on its own");
	check_round();

	rtpring_detach(&id, in);
	ok(id == 0, "detached");
	check_detached();

	ok(rtpring_send(out, -1, NULL, NULL, false, NULL) != 0,
	   "a send with nothing to send fails");
	leak_end(&lc, "ring rounds");

	steered_rounds();

 out:
	mem_deref(in);
	mem_deref(out);
	mem_deref(sink);
	mem_deref(client);
	mem_deref(stranger);
	rtpring_close();
	libre_close();

	return done_testing();
}
