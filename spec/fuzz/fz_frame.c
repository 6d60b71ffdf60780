/**
 * @file fz_frame.c  Fuzz target: the console's frames (core/console/
 * frame.c) as bytes arrive on its socket, in pieces: decoded until the
 * frames run out or one is refused, each payload framed again and
 * decoded back to itself.
 */
#include <string.h>
#include "fuzz.h"
#include "console/frame.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf *in = mbuf_alloc(size + 1), *again = mbuf_alloc(64);
	size_t fed = 0;

	fuzz_once();
	if (!in || !again)
		goto out;

	/* as the console reads: a few bytes at a time */
	while (fed < size) {
		size_t n = min(size - fed, (size_t)(1 + data[fed] % 7));
		struct pl pl;
		char type;
		int err;

		in->pos = in->end;
		(void)mbuf_write_mem(in, data + fed, n);
		in->pos = 0;
		fed += n;

		while (!(err = frame_decode(in, &type, &pl))) {
			char t2;
			struct pl p2;

			mbuf_reset(again);
			if (frame_encode(again, type, pl.p, pl.l))
				continue;
			again->pos = 0;
			if (frame_decode(again, &t2, &p2) || t2 != type ||
			    p2.l != pl.l || memcmp(p2.p, pl.p, pl.l))
				__builtin_trap();   /* not the same frame */
		}
		if (err == EBADMSG)
			break;
		/* keep the incomplete frame, as the console does */
		if (mbuf_get_left(in))
			memmove(in->buf, mbuf_buf(in), mbuf_get_left(in));
		in->end = mbuf_get_left(in);
		in->pos = 0;
	}
 out:
	mem_deref(in);
	mem_deref(again);
	return 0;
}
