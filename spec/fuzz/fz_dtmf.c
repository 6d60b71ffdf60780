/**
 * @file fz_dtmf.c  Fuzz target: DTMF as phones send it (core/media/
 * dtmf.c): RFC 4733 telephone-event payloads, and SIP INFO bodies of
 * both types.  The first byte picks the mode and the content type.
 */
#include <string.h>
#include "fuzz.h"
#include "media/dtmf.h"

static unsigned digits;


static void on_digit(char digit, enum dtmf_src src, void *arg)
{
	(void)digit; (void)src; (void)arg;
	++digits;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *ctypes[] = {"application/dtmf-relay",
				       "application/dtmf", "text/plain"};
	struct dtmf_in *d = NULL;
	struct pl body;
	struct mbuf *mb;
	char digit;

	fuzz_once();
	if (!size)
		return 0;

	if (dtmf_in_alloc(&d, (enum dtmf_mode)(data[0] % 4), on_digit, NULL))
		return 0;

	/* the rest as events, 4 bytes each (RFC 4733 2.3) */
	for (size_t i = 1; i + 4 <= size; i += 4) {
		mb = fuzz_mbuf(data + i, 4);
		if (mb)
			dtmf_in_event(d, mb);
		mem_deref(mb);
	}

	/* and as an INFO body */
	body.p = (const char *)data + 1;
	body.l = size - 1;
	(void)dtmf_info_parse(ctypes[data[0] % 3], &body, &digit);
	(void)dtmf_in_info(d, ctypes[(data[0] >> 2) % 3], &body);
	while (dtmf_in_pop(d) >= 0)
		;

	mem_deref(d);
	return 0;
}
