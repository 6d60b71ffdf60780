/**
 * @file frame.c  Encoding and decoding the console's frames (frame.h).
 */
#include <re.h>
#include "console/frame.h"


/** Append one frame to @a mb (at its end). */
int frame_encode(struct mbuf *mb, char type, const void *data, size_t len)
{
	size_t pos;
	int err;

	if (!mb || len > FRAME_MAX)
		return EINVAL;

	pos = mb->pos;
	mb->pos = mb->end;
	err  = mbuf_write_u8(mb, (uint8_t)type);
	err |= mbuf_write_u32(mb, htonl((uint32_t)len));
	if (len)
		err |= mbuf_write_mem(mb, data, len);
	mb->pos = pos;

	return err;
}


/**
 * The next whole frame from @a mb's position, which moves past it; the
 * payload points into @a mb.  ENODATA while a frame is incomplete, EBADMSG
 * for one over FRAME_MAX.
 */
int frame_decode(struct mbuf *mb, char *type, struct pl *payload)
{
	size_t start = mb->pos;
	uint32_t len;

	if (mbuf_get_left(mb) < FRAME_HDR)
		return ENODATA;

	*type = (char)mbuf_read_u8(mb);
	len = ntohl(mbuf_read_u32(mb));
	if (len > FRAME_MAX) {
		mb->pos = start;
		return EBADMSG;
	}
	if (mbuf_get_left(mb) < len) {
		mb->pos = start;
		return ENODATA;
	}

	payload->p = (const char *)mbuf_buf(mb);
	payload->l = len;
	mb->pos += len;

	return 0;
}
