/**
 * @file sdpneg.c  SDP offer/answer for one leg.
 *
 * Video is relayed, never transcoded: a leg's video formats are copied
 * from the other leg's SDP (its payload types, names, fmtp), so the PBX
 * offers a callee what the caller offered and answers the caller with what
 * the callee accepted.  Until then the video media has no format: refused
 * (port 0) in an answer, left out of an offer.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/sdpneg.h"

static const char telev_name[] = "telephone-event";
static const char rtcp_mux[] = "rtcp-mux";
static const char rtcp_fb[] = "rtcp-fb";

struct sdpneg {
	struct sdp_session *sess;
	struct sdp_media *audio;
	struct sdp_media *video;
};


static void destructor(void *arg)
{
	struct sdpneg *n = arg;

	mem_deref(n->video);
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
	if (!err)
		err = sdp_media_add(&n->video, n->sess, sdp_media_video, 0,
				    sdp_proto_rtpavp);
	/* our offers propose RTCP on the RTP port (one socket less) */
	if (!err)
		err = sdp_media_set_lattr(n->audio, true, rtcp_mux, NULL);
	if (!err)
		err = sdp_media_set_lattr(n->video, true, rtcp_mux, NULL);
	if (err)
		goto out;
	sdp_media_set_disabled(n->video, true);

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

	/* answer rtcp-mux only where the offer had it (RFC 5761 5.1.1) */
	if (!err && offer) {
		struct sdp_media *mv[] = { n->audio, n->video };

		for (size_t i = 0; i < ARRAY_SIZE(mv); i++) {
			if (sdp_media_rattr(mv[i], rtcp_mux))
				err |= sdp_media_set_lattr(mv[i], true,
							   rtcp_mux, NULL);
			else
				sdp_media_del_lattr(mv[i], rtcp_mux);
		}
	}

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


/** The far end said a=rtcp-mux on this media (in its offer or answer). */
bool sdpneg_rtcp_mux(const struct sdpneg *n, bool video)
{
	const struct sdp_media *m = n ? (video ? n->video : n->audio) : NULL;

	return m && sdp_media_rport(m) && sdp_media_rattr(m, rtcp_mux);
}


/* Video */

/** The far end's SDP has a video stream we could relay (RTP/AVP, a port). */
bool sdpneg_video_offered(const struct sdpneg *n)
{
	return n && sdp_media_rport(n->video) &&
		!list_isempty(sdp_media_format_lst(n->video, false));
}


static size_t local_video_formats(const struct sdpneg *n)
{
	size_t cnt = 0;
	struct le *le = list_head(sdp_media_format_lst(n->video, true));

	for (; le; le = le->next) {
		const struct sdp_format *fmt = le->data;

		cnt += fmt->sup;
	}

	return cnt;
}


/** Video flows on this leg: both sides named formats, no port is 0. */
bool sdpneg_video_active(const struct sdpneg *n)
{
	return n && sdp_media_rport(n->video) && local_video_formats(n) &&
		!sdp_media_disabled(n->video);
}


/* The same codec: by name and clock, or by number for a static payload
 * type without a=rtpmap. */
static bool format_same(const struct sdp_format *a, const struct sdp_format *b)
{
	if (!a->name || !b->name)
		return a->pt < 96 && a->pt == b->pt;

	return 0 == str_casecmp(a->name, b->name) && a->srate == b->srate;
}


static struct sdp_format *remote_match(const struct sdp_media *m,
				       const struct sdp_format *fmt)
{
	struct le *le = list_head(sdp_media_format_lst(m, false));

	for (; le; le = le->next) {
		struct sdp_format *rfmt = le->data;

		if (rfmt->sup && format_same(rfmt, fmt))
			return rfmt;
	}

	return NULL;
}


/* Of our formats on @a m, the one agreed for the codec of @a fmt. */
static const struct sdp_format *agreed_match(const struct sdp_media *m,
					     const struct sdp_format *fmt)
{
	struct le *le = list_head(sdp_media_format_lst(m, true));

	for (; le; le = le->next) {
		const struct sdp_format *lfmt = le->data;

		if (lfmt->sup && format_same(lfmt, fmt))
			return lfmt;
	}

	return NULL;
}


/* An a=rtcp-fb line is copied when it is for every format ("*") or for
 * one the destination has. */
static bool fb_copy(const char *name, const char *value, void *arg)
{
	struct sdp_media *dst = arg;
	struct pl id;
	char buf[8];

	(void)name;
	if (re_regex(value, str_len(value), "[^ ]+", &id) ||
	    id.l >= sizeof(buf))
		return false;
	(void)pl_strcpy(&id, buf, sizeof(buf));

	if (0 == strcmp(buf, "*") ||
	    sdp_media_format(dst, true, buf, -1, NULL, -1, -1))
		(void)sdp_media_set_lattr(dst, false, rtcp_fb, "%s", value);

	return false;
}


/** No video on this leg: refused (port 0) in answers, and in offers once
 *  it was negotiated (an m= line never goes away, RFC 3264 8.2). */
void sdpneg_video_off(struct sdpneg *n)
{
	if (!n)
		return;

	list_flush((struct list *)sdp_media_format_lst(n->video, true));
	sdp_media_del_lattr(n->video, rtcp_fb);
	sdp_media_set_disabled(n->video, true);
}


/*
 * Our video formats on @a n: the formats @a src's far end put in its SDP,
 * with their payload types and fmtp; when @a filter is given, only those
 * that @a filter's far end accepted, with the fmtp it answered.  When @a n
 * answers its own far end's offer (@a src == @a n) the formats it offered
 * are marked as agreed, as libre does when it decodes an offer.
 */
static int video_copy(struct sdpneg *n, const struct sdpneg *src,
		      const struct sdpneg *filter)
{
	const struct sdpneg *fb = filter ? filter : src;
	struct le *le = list_head(sdp_media_format_lst(src->video, false));
	int err = 0;

	sdpneg_video_off(n);

	for (; le && !err; le = le->next) {
		struct sdp_format *rfmt = le->data;
		const struct sdp_format *acc = NULL;

		if (filter && !(acc = remote_match(filter->video, rfmt)))
			continue;
		/* offer another leg what this one uses, not all it offered */
		if (src != n && sdpneg_video_active(src) &&
		    !agreed_match(src->video, rfmt))
			continue;

		err = sdp_format_add(NULL, n->video, false, rfmt->id,
				     rfmt->name, rfmt->srate, rfmt->ch,
				     NULL, NULL, NULL, false,
				     (acc ? acc : rfmt)->params ? "%s" : NULL,
				     (acc ? acc : rfmt)->params);
		if (src == n)
			rfmt->sup = true;
	}

	if (!err)
		(void)sdp_media_rattr_apply(fb->video, rtcp_fb, fb_copy,
					    n->video);
	if (!err && local_video_formats(n))
		sdp_media_set_disabled(n->video, false);

	return err;
}


/**
 * Keep on @a n only the video formats @a other agreed with its far end
 * (none when its far end refused video).
 * Returns true when a format @a n had agreed to went (its far end must be
 * told: a re-offer).
 */
bool sdpneg_video_restrict(struct sdpneg *n, const struct sdpneg *other)
{
	struct le *le;
	bool changed = false, active;

	if (!n || !other)
		return false;

	active = sdpneg_video_active(n);
	le = list_head(sdp_media_format_lst(n->video, true));
	while (le) {
		struct sdp_format *fmt = le->data;

		le = le->next;
		if (sdpneg_video_active(other) &&
		    agreed_match(other->video, fmt))
			continue;

		changed |= active && fmt->sup;
		mem_deref(fmt);
	}

	if (!local_video_formats(n))
		sdpneg_video_off(n);

	return changed;
}


/** Offer on @a n the video @a src's far end offered (or answered): the
 *  formats agreed with it when its video is on, else all it offered. */
int sdpneg_video_offer(struct sdpneg *n, const struct sdpneg *src)
{
	if (!n || !src)
		return EINVAL;

	return video_copy(n, src, NULL);
}


/**
 * Answer @a n's far end's video offer: with the formats @a accepted's far
 * end accepted of the same offer (the callee, which we offered them to), or
 * with every format offered when @a accepted is NULL (nobody asked yet).
 */
int sdpneg_video_answer(struct sdpneg *n, const struct sdpneg *accepted)
{
	if (!n)
		return EINVAL;

	return video_copy(n, n, accepted);
}


/**
 * Payload types to relay video from @a x to @a y: what @a x sends us (the
 * types of our SDP to it) and what @a y expects for the same codec (the
 * types of its SDP).  Returns the number of pairs.
 */
size_t sdpneg_video_pt_map(const struct sdpneg *x, const struct sdpneg *y,
			   uint8_t (*pairs)[2], size_t max)
{
	size_t cnt = 0;
	struct le *le;

	if (!x || !y)
		return 0;

	le = list_head(sdp_media_format_lst(x->video, true));
	for (; le && cnt < max; le = le->next) {
		const struct sdp_format *fmt = le->data;
		const struct sdp_format *rfmt;

		if (!fmt->sup || fmt->pt < 0 || fmt->pt > 127 ||
		    !agreed_match(y->video, fmt))
			continue;
		rfmt = remote_match(y->video, fmt);
		if (!rfmt || rfmt->pt < 0 || rfmt->pt > 127)
			continue;

		pairs[cnt][0] = (uint8_t)fmt->pt;
		pairs[cnt][1] = (uint8_t)rfmt->pt;
		++cnt;
	}

	return cnt;
}


/** The video formats of our SDP to this leg, "VP8,H264" (for the log). */
int sdpneg_video_print(struct re_printf *pf, const struct sdpneg *n)
{
	struct le *le;
	int err = 0;
	bool first = true;

	if (!n)
		return 0;

	le = list_head(sdp_media_format_lst(n->video, true));
	for (; le; le = le->next) {
		const struct sdp_format *fmt = le->data;

		if (!fmt->sup)
			continue;
		err |= re_hprintf(pf, "%s%s", first ? "" : ",",
				  fmt->name ? fmt->name : fmt->id);
		first = false;
	}

	return err;
}


bool sdpneg_video_remote_addr(const struct sdpneg *n, struct sa *rtp,
			      struct sa *rtcp)
{
	if (!n || !sdp_media_rport(n->video))
		return false;

	*rtp = *sdp_media_raddr(n->video);
	sdp_media_raddr_rtcp(n->video, rtcp);

	return true;
}


enum sdp_dir sdpneg_video_remote_dir(const struct sdpneg *n)
{
	return n ? sdp_media_rdir(n->video) : SDP_INACTIVE;
}


void sdpneg_video_set_dir(struct sdpneg *n, enum sdp_dir dir)
{
	if (n)
		sdp_media_set_ldir(n->video, dir);
}


void sdpneg_set_vport(struct sdpneg *n, uint16_t port)
{
	if (n)
		sdp_media_set_lport(n->video, port);
}
