/**
 * @file sdpneg.c  SDP offer/answer for one leg.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/sdpneg.h"

static const char telev_name[] = "telephone-event";

struct sdpneg {
	struct sdp_session *sess;
	struct sdp_media *audio;
};


static void destructor(void *arg)
{
	struct sdpneg *n = arg;

	mem_deref(n->audio);
	mem_deref(n->sess);
}


/** @param codecs CODEC_NONE-terminated, in order of preference */
int sdpneg_alloc(struct sdpneg **np, const struct sa *laddr, uint16_t port,
		 const uint8_t *codecs)
{
	struct sdpneg *n;
	int err;

	n = mem_zalloc(sizeof(*n), destructor);
	if (!n)
		return ENOMEM;

	err = sdp_session_alloc(&n->sess, laddr);
	if (err)
		goto out;

	err = sdp_media_add(&n->audio, n->sess, sdp_media_audio, port,
			    sdp_proto_rtpavp);
	if (err)
		goto out;

	for (size_t i = 0; codecs[i] != CODEC_NONE && !err; i++) {
		const struct codec *c = codec_get(codecs[i]);
		char id[8];

		if (!c)
			continue;
		re_snprintf(id, sizeof(id), "%u", c->pt);
		err = sdp_format_add(NULL, n->audio, false, id, c->name,
				     c->srate, 1, NULL, NULL, NULL, false,
				     NULL);
	}
	if (!err)
		err = sdp_format_add(NULL, n->audio, false, "101", telev_name,
				     8000, 1, NULL, NULL, NULL, false,
				     "0-15");
 out:
	if (err)
		mem_deref(n);
	else
		*np = n;

	return err;
}


int sdpneg_decode(struct sdpneg *n, struct mbuf *mb, bool offer)
{
	size_t pos;
	int err;

	if (!n || !mb)
		return EINVAL;

	pos = mb->pos;
	err = sdp_decode(n->sess, mb, offer);
	mb->pos = pos;

	return err;
}


int sdpneg_encode(struct sdpneg *n, bool offer, struct mbuf **mbp)
{
	return n ? sdp_encode(mbp, n->sess, offer) : EINVAL;
}


/* Before answering: the answer names one codec (plus DTMF events), so the
 * phone cannot switch codecs mid-call behind the relay's back. */
void sdpneg_keep_only(struct sdpneg *n, enum codec_id codec)
{
	const struct codec *keep = codec_get(codec);
	struct le *le;

	if (!n || !keep)
		return;

	le = list_head(sdp_media_format_lst(n->audio, true));
	while (le) {
		struct sdp_format *fmt = le->data;

		le = le->next;
		if (str_casecmp(fmt->name, keep->name) &&
		    str_casecmp(fmt->name, telev_name))
			mem_deref(fmt);
	}
}


/** The codecs the remote side offered that we support, in its order. */
/* A static payload type may come without a=rtpmap (RFC 3551): then its
 * number says which codec it is. */
static const struct codec *format_codec(const struct sdp_format *fmt)
{
	if (fmt->name)
		return codec_find(fmt->name, fmt->srate);

	return fmt->pt >= 0 && fmt->pt < 96 ? codec_by_pt((uint8_t)fmt->pt)
					    : NULL;
}


size_t sdpneg_remote_codecs(const struct sdpneg *n, uint8_t *out, size_t max)
{
	size_t cnt = 0;
	struct le *le;

	if (!n)
		return 0;

	le = list_head(sdp_media_format_lst(n->audio, false));
	for (; le && cnt < max; le = le->next) {
		const struct sdp_format *fmt = le->data;
		const struct codec *c;

		if (!fmt->sup)
			continue;
		c = format_codec(fmt);
		if (c)
			out[cnt++] = (uint8_t)c->id;
	}

	return cnt;
}


enum codec_id sdpneg_answered_codec(const struct sdpneg *n)
{
	uint8_t c;

	return sdpneg_remote_codecs(n, &c, 1) ? (enum codec_id)c : CODEC_NONE;
}


static int remote_pt(const struct sdpneg *n, const char *name)
{
	const struct sdp_format *fmt = sdp_media_rformat(n->audio, name);

	return fmt ? fmt->pt : -1;
}


static int local_pt(const struct sdpneg *n, const char *name)
{
	const struct sdp_format *fmt;

	fmt = sdp_media_format(n->audio, true, NULL, -1, name, -1, -1);

	return fmt ? fmt->pt : -1;
}


int sdpneg_tx_pt(const struct sdpneg *n, enum codec_id codec)
{
	struct le *le;

	if (!n || !sdp_media_rport(n->audio))
		return -1;

	le = list_head(sdp_media_format_lst(n->audio, false));
	for (; le; le = le->next) {
		const struct sdp_format *fmt = le->data;
		const struct codec *c = fmt->sup ? format_codec(fmt) : NULL;

		if (c && c->id == codec)
			return fmt->pt;
	}

	return -1;
}


int sdpneg_rx_pt(const struct sdpneg *n, enum codec_id codec)
{
	const struct codec *c = codec_get(codec);

	return n && c ? local_pt(n, c->name) : -1;
}


int sdpneg_tx_telev_pt(const struct sdpneg *n)
{
	return n ? remote_pt(n, telev_name) : -1;
}


int sdpneg_rx_telev_pt(const struct sdpneg *n)
{
	return n ? local_pt(n, telev_name) : -1;
}


bool sdpneg_remote_addr(const struct sdpneg *n, struct sa *rtp,
			struct sa *rtcp)
{
	if (!n || !sdp_media_rport(n->audio))
		return false;

	*rtp = *sdp_media_raddr(n->audio);
	sdp_media_raddr_rtcp(n->audio, rtcp);

	return true;
}


enum sdp_dir sdpneg_remote_dir(const struct sdpneg *n)
{
	return n ? sdp_media_rdir(n->audio) : SDP_INACTIVE;
}


void sdpneg_set_local_dir(struct sdpneg *n, enum sdp_dir dir)
{
	if (n)
		sdp_media_set_ldir(n->audio, dir);
}


void sdpneg_set_port(struct sdpneg *n, uint16_t port)
{
	if (n)
		sdp_media_set_lport(n->audio, port);
}
