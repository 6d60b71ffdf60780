/**
 * @file rtpsteer.c  The RTP of every flowing bridged leg into one socket
 * (see rtpsteer.h).
 *
 * The program is twenty-odd BPF instructions, written here as they are
 * rather than compiled: the PBX needs no compiler, no libbpf and no
 * object file at run time.  Its two maps:
 *   ports: (IPv4 address, port) of each steered leg -> 1
 *   sock:  the shared socket (a sockmap of one)
 * For a UDP packet whose local address and port are in `ports`, the
 * program assigns it the shared socket; anything else goes on to the
 * kernel's usual lookup, so the PBX's other sockets, and other programs
 * on the machine, see no difference.  The link to the network namespace
 * is held by a descriptor: when the PBX exits, however it exits, the
 * program goes with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <re.h>
#include "media/rtpsteer.h"

/* the key of `ports`, as the program builds it on its stack */
struct steer_key {
	uint32_t ip4;    /* network order, as struct bpf_sk_lookup has it */
	uint32_t port;   /* host order, likewise */
};

struct steered {              /* a steered leg, by its port */
	uint32_t id;              /* the caller's, 0 = none */
	uint32_t ip4;             /* its address, network order */
};

static struct {
	int ports, sock, prog, link;
	int shared;               /* the socket they all come to */
	struct steered *by_port;  /* 65536 */
	uint32_t count;
} S = { -1, -1, -1, -1, -1, NULL, 0 };


static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}


static int map_create(enum bpf_map_type type, uint32_t ksz, uint32_t vsz,
		      uint32_t max)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ksz;
	a.value_size = vsz;
	a.max_entries = max;
	return sys_bpf(BPF_MAP_CREATE, &a);
}


static int map_update(int map, const void *key, const void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)map;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)val;
	a.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) ? errno : 0;
}


#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), \
	.dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_REG(d, s)     INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)     INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i)     INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LDX_W(d, s, o)    INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define STX_W(d, s, o)    INSN(BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define ST_W(d, o, i)     INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JNE_IMM(d, i, o)  INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define JEQ_IMM(d, i, o)  INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define CALL(f)           INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()            INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP(d, fd)     INSN(BPF_LD | BPF_DW | BPF_IMM, d, \
			       BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
#define CTX(field)        (int16_t)offsetof(struct bpf_sk_lookup, field)


static int prog_load(void)
{
	/* r6 = ctx; the key at fp-8; the sockmap's key 0 at fp-12.  The
	 * jumps count instructions to PASS (a map load counts two). */
	const struct bpf_insn insns[] = {
		MOV_REG(6, 1),
		LDX_W(2, 6, CTX(protocol)),
		JNE_IMM(2, IPPROTO_UDP, 24),
		LDX_W(2, 6, CTX(local_ip4)),
		LDX_W(3, 6, CTX(local_port)),
		STX_W(10, 2, -8),
		STX_W(10, 3, -4),
		LD_MAP(1, S.ports),
		MOV_REG(2, 10), ADD_IMM(2, -8),
		CALL(BPF_FUNC_map_lookup_elem),
		JEQ_IMM(0, 0, 14),
		ST_W(10, -12, 0),
		LD_MAP(1, S.sock),
		MOV_REG(2, 10), ADD_IMM(2, -12),
		CALL(BPF_FUNC_map_lookup_elem),
		JEQ_IMM(0, 0, 7),
		MOV_REG(7, 0),
		MOV_REG(1, 6), MOV_REG(2, 7), MOV_IMM(3, 0),
		CALL(BPF_FUNC_sk_assign),
		MOV_REG(1, 7),
		CALL(BPF_FUNC_sk_release),
		/* PASS: */
		MOV_IMM(0, SK_PASS),
		EXIT(),
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
	a.expected_attach_type = BPF_SK_LOOKUP;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	a.license = (uint64_t)(uintptr_t)"GPL";
	return sys_bpf(BPF_PROG_LOAD, &a);
}


static int link_netns(int prog)
{
	union bpf_attr a;
	int ns, fd;

	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -1;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)ns;
	a.link_create.attach_type = BPF_SK_LOOKUP;
	fd = sys_bpf(BPF_LINK_CREATE, &a);
	(void)close(ns);

	return fd;
}


/* The shared socket: any address, a port of its own, each packet's
 * destination told (IP_ORIGDSTADDR). */
static int shared_open(void)
{
	struct sockaddr_in any;
	int one = 1, rcvbuf = 4 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;

	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)) ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVORIGDSTADDR, &one, sizeof(one))) {
		(void)close(fd);
		return -1;
	}
	/* every call's packets queue here: room for bursts */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				 sizeof(rcvbuf));
	return fd;
}


/**
 * Open the shared socket (its descriptor: rtpsteer_fd()) and steer to it
 * the packets of the addresses rtpsteer_add() is given.  An errno when
 * this kernel or this process's privileges do not allow it.
 */
int rtpsteer_open(void)
{
	const uint32_t zero = 0;
	uint64_t sockval;
	int err;

	if (S.link >= 0)
		return EALREADY;

	errno = 0;
	S.by_port = calloc(65536, sizeof(*S.by_port));
	S.shared = shared_open();
	if (!S.by_port || S.shared < 0)
		goto fail;
	sockval = (uint64_t)S.shared;

	S.ports = map_create(BPF_MAP_TYPE_HASH, sizeof(struct steer_key),
			     sizeof(uint32_t), 65536);
	S.sock = map_create(BPF_MAP_TYPE_SOCKMAP, sizeof(uint32_t),
			    sizeof(uint64_t), 1);
	if (S.ports < 0 || S.sock < 0)
		goto fail;

	err = map_update(S.sock, &zero, &sockval);
	if (err)
		goto out;

	S.prog = prog_load();
	if (S.prog < 0)
		goto fail;

	S.link = link_netns(S.prog);
	if (S.link < 0)
		goto fail;

	return 0;

 fail:
	err = errno ? errno : EINVAL;
 out:
	rtpsteer_close();
	return err;
}


/** The shared socket's descriptor, -1 when there is none. */
int rtpsteer_fd(void)
{
	return S.link >= 0 ? S.shared : -1;
}


/** How many legs are steered now. */
uint32_t rtpsteer_count(void)
{
	return S.count;
}


static void key_of(struct steer_key *k, const struct sa *laddr)
{
	memset(k, 0, sizeof(*k));
	k->ip4 = laddr->u.in.sin_addr.s_addr;
	k->port = sa_port(laddr);
}


/**
 * Steer the packets to @a laddr (IPv4, not the wildcard: a leg's bound
 * RTP address) to the shared socket, where rtpsteer_find() gives @a id
 * for them.  One address per port: EADDRINUSE when another address's
 * leg has it.
 */
int rtpsteer_add(const struct sa *laddr, uint32_t id)
{
	const uint32_t one = 1;
	struct steer_key k;
	struct steered *st;
	int err;

	if (S.link < 0)
		return ENOTCONN;
	if (!laddr || !id || sa_af(laddr) != AF_INET || sa_is_any(laddr))
		return EAFNOSUPPORT;

	st = &S.by_port[sa_port(laddr)];
	if (st->id)
		return EADDRINUSE;

	key_of(&k, laddr);
	err = map_update(S.ports, &k, &one);
	if (err)
		return err;

	st->id = id;
	st->ip4 = k.ip4;
	++S.count;
	return 0;
}


/** The id of the leg a packet sent to @a dst is for (0: none). */
uint32_t rtpsteer_find(const struct sockaddr_in *dst)
{
	const struct steered *st;

	if (!dst || !S.by_port)
		return 0;
	st = &S.by_port[ntohs(dst->sin_port)];
	return st->ip4 == dst->sin_addr.s_addr ? st->id : 0;
}


/** @a laddr's packets go to its own socket again. */
void rtpsteer_del(const struct sa *laddr)
{
	union bpf_attr a;
	struct steer_key k;
	struct steered *st;

	if (S.link < 0 || !laddr || sa_af(laddr) != AF_INET)
		return;

	st = &S.by_port[sa_port(laddr)];
	if (!st->id || st->ip4 != laddr->u.in.sin_addr.s_addr)
		return;
	st->id = 0;
	--S.count;

	key_of(&k, laddr);
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)S.ports;
	a.key = (uint64_t)(uintptr_t)&k;
	(void)sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}


/** Detach the program, drop its maps, close the shared socket. */
void rtpsteer_close(void)
{
	int *fds[] = { &S.link, &S.prog, &S.sock, &S.ports, &S.shared };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			(void)close(*fds[i]);
		*fds[i] = -1;
	}
	free(S.by_port);
	S.by_port = NULL;
	S.count = 0;
}
