/**
 * @file fuzz.h  What the libFuzzer harnesses share (spec/fuzz/README.md):
 * libre set up once, the PBX's globals the core objects expect, and the
 * entry point's prototype.
 */
#include <stdint.h>
#include <stddef.h>
#include <re.h>
#include "log.h"

struct pbx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static inline void fuzz_once(void)
{
	static bool done;

	if (done)
		return;
	(void)libre_init();
	log_set_level(LOG_ERROR);  /* log lines are not what is fuzzed */
	done = true;
}


/* The input as an mbuf, positioned at its start. */
static inline struct mbuf *fuzz_mbuf(const uint8_t *data, size_t size)
{
	struct mbuf *mb = mbuf_alloc(size + 1);

	if (!mb)
		return NULL;
	(void)mbuf_write_mem(mb, data, size);
	mb->pos = 0;
	return mb;
}
