/**
 * @file randbuf.c  Spec of the random numbers (core/randbuf.c) libre and
 * the PBX draw SIP tags, branches and RTP values from.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "tap.h"



/* Bits set per position over many draws: each near half of them. */
static void test_spread(void)
{
	unsigned ones[32] = {0};
	const unsigned n = 4000;

	for (unsigned i = 0; i < n; i++) {
		uint32_t v = rand_u32();

		for (int b = 0; b < 32; b++)
			ones[b] += (v >> b) & 1;
	}
	for (int b = 0; b < 32; b++) {
		unsigned off = ones[b] > n / 2 ? ones[b] - n / 2
			: n / 2 - ones[b];
		ok(off < n / 10, "bit %d of rand_u32() is set %u times in %u",
		   b, ones[b], n);
	}
}


static void test_bytes(void)
{
	static uint8_t a[10000], b[10000];
	size_t zeros = 0;

	rand_bytes(a, sizeof(a));     /* more than one 4 KB refill */
	rand_bytes(b, sizeof(b));
	for (size_t i = 0; i < sizeof(a); i++)
		zeros += a[i] == 0;
	ok(zeros < 100, "10000 random bytes, %zu zeros (~39 expected)",
	   zeros);
	ok(memcmp(a, b, sizeof(a)), "two draws differ");
	ok(rand_u64() != rand_u64(), "two 64-bit values differ");
}


static void test_str(void)
{
	char s[17];
	bool alnum = true;

	memset(s, 'x', sizeof(s));
	rand_str(s, sizeof(s));
	for (size_t i = 0; i < 16; i++)
		alnum &= (s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9');
	ok(alnum && s[16] == 0, "rand_str: 16 letters and digits, then NUL"
	   " (%s)", s);
	rand_str(NULL, 4);
	rand_bytes(NULL, 4);
	ok(true, "NULL buffers are ignored");
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_spread();
	test_bytes();
	test_str();
	leak_end(&lc, "random numbers");

	libre_close();

	return done_testing();
}
