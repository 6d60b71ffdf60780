/**
 * @file randbuf.c  libre's random numbers (re_sys.h rand_*) from the
 * kernel's generator, 4 KB per system call.
 *
 * Why: libre asks OpenSSL's RAND_bytes() for every value, 4 bytes at a
 * time, and it asks often: two for the tag of every SIP message it
 * decodes, more for branches, tags, Call-IDs, RTP ports, SSRCs and
 * sequence numbers.  Each request costs a lock, a fork check (getpid) and
 * a DRBG call: 12% of the PBX's CPU in a B2BUA call-rate run (perf,
 * bench/).  Here a buffer filled by getrandom() (the kernel's CSPRNG)
 * serves them: one system call per 4096 bytes, and bytes once served are
 * wiped.
 *
 * How: as core/tmrheap.c does for timers, the executable defines the
 * functions and libre calls them through its PLT.  One buffer per thread;
 * the PBX never forks (a child would repeat its parent's buffer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <re.h>

static __thread struct {
	uint8_t buf[4096];
	size_t pos;
	bool filled;
} pool;

static const char alphanum[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";


static void refill(void)
{
	size_t n = 0;

	while (n < sizeof(pool.buf)) {
		ssize_t r = getrandom(pool.buf + n, sizeof(pool.buf) - n, 0);

		if (r > 0)
			n += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	if (n < sizeof(pool.buf))   /* no getrandom(): glibc's own source */
		arc4random_buf(pool.buf + n, sizeof(pool.buf) - n);

	pool.pos = 0;
	pool.filled = true;
}


void rand_bytes(uint8_t *p, size_t size)
{
	if (!p)
		return;

	while (size) {
		size_t n;

		if (!pool.filled || pool.pos == sizeof(pool.buf))
			refill();

		n = sizeof(pool.buf) - pool.pos;
		if (n > size)
			n = size;
		memcpy(p, pool.buf + pool.pos, n);
		memset(pool.buf + pool.pos, 0, n);
		pool.pos += n;
		p += n;
		size -= n;
	}
}


uint16_t rand_u16(void)
{
	uint16_t v;

	rand_bytes((uint8_t *)&v, sizeof(v));
	return v;
}


uint32_t rand_u32(void)
{
	uint32_t v;

	rand_bytes((uint8_t *)&v, sizeof(v));
	return v;
}


uint64_t rand_u64(void)
{
	uint64_t v;

	rand_bytes((uint8_t *)&v, sizeof(v));
	return v;
}


void rand_str(char *str, size_t size)
{
	if (!str || !size)
		return;

	--size;
	rand_bytes((uint8_t *)str, size);
	for (size_t i = 0; i < size; i++)
		str[i] = alphanum[(uint8_t)str[i] % (sizeof(alphanum) - 1)];
	str[size] = '\0';
}


char rand_char(void)
{
	char s[2];

	rand_str(s, sizeof(s));
	return s[0];
}
