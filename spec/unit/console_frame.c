/**
 * @file console_frame.c  Spec of the console's frames
 * (core/console/frame.h): what goes on the socket, byte for byte, and how
 * a reader copes with frames cut anywhere.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "console/frame.h"
#include "tap.h"



static void test_encode(void)
{
	struct mbuf *mb = mbuf_alloc(16);
	static const uint8_t exp[] = { 'E', 0, 0, 0, 3, '1', '+', '1',
				       'R', 0, 0, 0, 0 };

	ok(0 == frame_encode(mb, 'E', "1+1", 3), "encode 'E' \"1+1\"");
	ok(0 == frame_encode(mb, 'R', NULL, 0), "encode an empty 'R'");
	ok(mb->end == sizeof(exp) && !memcmp(mb->buf, exp, sizeof(exp)),
	   "type, 4-byte big-endian length, payload; frames follow each"
	   " other");
	ok(mb->pos == 0, "encoding appends and leaves the read position");
	ok(EINVAL == frame_encode(mb, 'O', "x", (size_t)FRAME_MAX + 1),
	   "a payload over FRAME_MAX is refused");
	ok(EINVAL == frame_encode(NULL, 'O', "x", 1), "no buffer: EINVAL");
	mem_deref(mb);
}


/* Feed @a wire to a reader in pieces of @a step bytes. */
static bool decode_in_steps(const struct mbuf *wire, size_t step)
{
	struct mbuf *rx = mbuf_alloc(64);
	const char *want[] = { "hello", "", "a\nb" };
	const char types[] = { 'O', 'L', 'M' };
	size_t got = 0;
	bool good = true;

	for (size_t off = 0; off < wire->end; off += step) {
		size_t n = min(step, wire->end - off);
		size_t pos = rx->pos;
		struct pl pl;
		char type;

		rx->pos = rx->end;
		(void)mbuf_write_mem(rx, wire->buf + off, n);
		rx->pos = pos;

		while (0 == frame_decode(rx, &type, &pl)) {
			good &= got < 3 && type == types[got] &&
				0 == pl_strcmp(&pl, want[got]);
			++got;
		}
	}
	mem_deref(rx);

	return good && got == 3;
}


static void test_decode(void)
{
	struct mbuf *wire = mbuf_alloc(64);
	struct pl pl;
	char type;

	(void)frame_encode(wire, 'O', "hello", 5);
	(void)frame_encode(wire, 'L', "", 0);
	(void)frame_encode(wire, 'M', "a\nb", 3);

	ok(decode_in_steps(wire, wire->end), "three frames in one read");
	ok(decode_in_steps(wire, 1), "... one byte at a time");
	ok(decode_in_steps(wire, 4), "... cut inside headers and payloads");

	wire->pos = 0;
	wire->end = 7;   /* 'O', length 5, "he" */
	ok(ENODATA == frame_decode(wire, &type, &pl) && wire->pos == 0,
	   "an incomplete frame: ENODATA, nothing consumed");

	mbuf_rewind(wire);
	(void)mbuf_write_u8(wire, 'E');
	(void)mbuf_write_u32(wire, htonl((uint32_t)FRAME_MAX + 1));
	wire->pos = 0;
	ok(EBADMSG == frame_decode(wire, &type, &pl),
	   "a length over FRAME_MAX: EBADMSG (the server hangs up)");
	mem_deref(wire);
}


/* Allocation failures: a frame written and read back. */
static int op_frame(void *arg)
{
	struct mbuf *mb = mbuf_alloc(8);
	struct pl pl;
	char type;
	int err;
	(void)arg;

	if (!mb)
		return ENOMEM;
	err = frame_encode(mb, 'E', "return 1 + 1", 12);
	if (!err) {
		mb->pos = 0;
		err = frame_decode(mb, &type, &pl);
	}
	mem_deref(mb);
	return err;
}

int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_encode();
	test_decode();
	leak_end(&lc, "frames");

	alloc_fail_each("console frames: written and read", op_frame, NULL);

	libre_close();

	return done_testing();
}
