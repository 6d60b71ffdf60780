/**
 * @file sdpneg.c  Spec of one leg's SDP offer/answer (core/media/sdpneg.h).
 *
 * The remote side is SDP text, as a phone would send it; what we send is
 * checked line by line on the text sdpneg_encode() makes.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "media/sdpneg.h"
#include "tap.h"


#define SESSION "v=0\r\no=phone 1 1 IN IP4 192.0.2.10\r\ns=-\r\n" \
		"c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
#define RTPMAP_0   "a=rtpmap:0 PCMU/8000\r\n"
#define RTPMAP_8   "a=rtpmap:8 PCMA/8000\r\n"
#define RTPMAP_101 "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
#define ULAW_ALAW  {CODEC_PCMU, CODEC_PCMA, CODEC_NONE}

enum { LPORT = 10000 };


/* A leg allowing `allow`, fed a remote offer: the session part then
 * `media`, or nothing when `media` is NULL. */
static int leg_offered(struct sdpneg **np, const uint8_t *allow,
		       const char *media)
{
	struct mbuf *mb;
	struct sa laddr;
	int err;

	err = sa_set_str(&laddr, "198.51.100.1", 0);
	err |= sdpneg_alloc(np, &laddr, LPORT, allow);
	if (err || !media)
		return err;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "%s%s", SESSION, media);
	mb->pos = 0;
	if (!err)
		err = sdpneg_decode(*np, mb, true);

	mem_deref(mb);
	return err;
}


/* Our SDP, as text. */
static void our_sdp(struct sdpneg *n, bool offer, char *buf, size_t sz)
{
	struct mbuf *mb = NULL;

	buf[0] = '\0';
	if (0 == sdpneg_encode(n, offer, &mb))
		re_snprintf(buf, sz, "%b", mb->buf, mb->end);

	mem_deref(mb);
}


static bool has_line(const char *sdp, const char *line)
{
	char needle[128];

	re_snprintf(needle, sizeof(needle), "\n%s\r\n", line);

	return strstr(sdp, needle) != NULL;
}


/* The m= lines, joined with " | ": the shape of an SDP at a glance. */
static void m_lines(const char *sdp, char *out, size_t sz)
{
	size_t len = 0;

	out[0] = '\0';
	for (const char *p = sdp; (p = strstr(p, "\nm=")); ++p)
		len += re_snprintf(out + len, sz - len, "%s%b",
				   len ? " | " : "", p + 1,
				   strcspn(p + 1, "\r\n"));
}


static void codecs_named(const uint8_t *codecs, size_t n, char *out,
			 size_t sz)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += re_snprintf(out + len, sz - len, "%s%s",
				   i ? "," : "", codec_get(codecs[i])->name);
}


/* (a)-(d): a phone's offer, and our answer to it */

static const struct offer_case {
	const char *name;
	uint8_t allow[3];          /* codecs the leg may use          */
	const char *media;         /* the offer after the session part */
	const char *exp_codecs;    /* in the phone's order             */
	enum codec_id exp_answered;
	int exp_telev;             /* payload type of DTMF events      */
	const char *exp_mline;     /* of our answer                    */
	const char *todo;
} offer_cases[] = {
	{"PCMU PCMA events offered: both codecs, the phone's order",
	 ULAW_ALAW, "m=audio 4000 RTP/AVP 0 8 101\r\n"
	 RTPMAP_0 RTPMAP_8 RTPMAP_101,
	 "PCMU,PCMA", CODEC_PCMU, 101, "m=audio 10000 RTP/AVP 0 101", NULL},
	{"PCMA first in the offer: PCMA first",
	 ULAW_ALAW, "m=audio 4000 RTP/AVP 8 0 101\r\n"
	 RTPMAP_8 RTPMAP_0 RTPMAP_101,
	 "PCMA,PCMU", CODEC_PCMA, 101, "m=audio 10000 RTP/AVP 8 101", NULL},
	{"PCMA alone offered: PCMA answered",
	 ULAW_ALAW, "m=audio 4000 RTP/AVP 8 101\r\n" RTPMAP_8 RTPMAP_101,
	 "PCMA", CODEC_PCMA, 101, "m=audio 10000 RTP/AVP 8 101", NULL},
	{"a codec the leg may not use is left out",
	 {CODEC_PCMU, CODEC_NONE}, "m=audio 4000 RTP/AVP 8 0 101\r\n"
	 RTPMAP_8 RTPMAP_0 RTPMAP_101,
	 "PCMU", CODEC_PCMU, 101, "m=audio 10000 RTP/AVP 0 101", NULL},
	{"G722 alone offered: nothing in common, audio refused (port 0)",
	 ULAW_ALAW, "m=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n",
	 "", CODEC_NONE, -1, "m=audio 0 RTP/AVP 0", NULL},
	{"telephone-event at 96: sent with 96, answered with 96",
	 ULAW_ALAW, "m=audio 4000 RTP/AVP 0 96\r\n" RTPMAP_0
	 "a=rtpmap:96 telephone-event/8000\r\n",
	 "PCMU", CODEC_PCMU, 96, "m=audio 10000 RTP/AVP 0 96", NULL},
	{"static payload types need no a=rtpmap (RFC 3551)",
	 ULAW_ALAW, "m=audio 4000 RTP/AVP 0 8 101\r\n" RTPMAP_101,
	 "PCMU,PCMA", CODEC_PCMU, 101, "m=audio 10000 RTP/AVP 0 101", NULL},
};


static void test_offer(const struct offer_case *c)
{
	struct sdpneg *n = NULL;
	uint8_t codecs[CODEC_MAX];
	char sdp[1024], line[256];
	size_t cnt;

	if (!is_int(leg_offered(&n, c->allow, c->media), 0, "offer decoded"))
		goto out;

	todo_start(c->todo);
	cnt = sdpneg_remote_codecs(n, codecs, ARRAY_SIZE(codecs));
	codecs_named(codecs, cnt, line, sizeof(line));
	is_str(line, c->exp_codecs, c->name);
	is_int(sdpneg_answered_codec(n), c->exp_answered, "  answered codec");
	is_int(sdpneg_tx_pt(n, c->exp_answered), c->exp_answered ?
	       codec_get(c->exp_answered)->pt : -1, "  sent with its type");

	sdpneg_keep_only(n, sdpneg_answered_codec(n));
	our_sdp(n, false, sdp, sizeof(sdp));
	m_lines(sdp, line, sizeof(line));
	is_str(line, c->exp_mline, "  our answer's m= line");
	todo_end();

	is_int(sdpneg_tx_telev_pt(n), c->exp_telev, "  events sent with");
	if (c->exp_telev > 0)
		is_int(sdpneg_rx_telev_pt(n), c->exp_telev,
		       "  events received with the same");
 out:
	mem_deref(n);
}


/* (e): our offer, and the answer to it */

static void test_our_offer(void)
{
	static const uint8_t alaw_ulaw[] = {CODEC_PCMA, CODEC_PCMU, 0};
	struct sdpneg *n = NULL;
	struct mbuf *mb = NULL;
	struct sa rtp, rtcp;
	char sdp[1024], line[256];
	int err;

	if (!is_int(leg_offered(&n, alaw_ulaw, NULL), 0, "leg allocated"))
		return;

	ok(!sdpneg_remote_addr(n, &rtp, &rtcp), "no remote SDP: no address");
	is_int(sdpneg_answered_codec(n), CODEC_NONE, "  no codec answered");
	is_int(sdpneg_tx_pt(n, CODEC_PCMA), -1, "  nothing to send with");

	our_sdp(n, true, sdp, sizeof(sdp));
	m_lines(sdp, line, sizeof(line));
	is_str(line, "m=audio 10000 RTP/AVP 8 0 101",
	       "our offer: codecs in our order, then events at 101");
	ok(has_line(sdp, "c=IN IP4 198.51.100.1"), "  at our media address");
	ok(has_line(sdp, "a=rtpmap:101 telephone-event/8000") &&
	   has_line(sdp, "a=fmtp:101 0-15"), "  events 0-15 (DTMF)");
	ok(has_line(sdp, "a=sendrecv"), "  both ways");
	is_int(sdpneg_rx_pt(n, CODEC_PCMU), 0, "  PCMU received with 0");
	is_int(sdpneg_rx_telev_pt(n), 101, "  events received with 101");

	mb = mbuf_alloc(512);
	err = mbuf_write_str(mb, SESSION "m=audio 5000 RTP/AVP 8 101\r\n"
			     RTPMAP_8 RTPMAP_101);
	mb->pos = 0;
	err |= sdpneg_decode(n, mb, false);
	is_int(err, 0, "answer choosing PCMA decoded");
	is_int(sdpneg_answered_codec(n), CODEC_PCMA, "  PCMA answered");
	is_int(sdpneg_tx_pt(n, CODEC_PCMA), 8, "  PCMA sent with 8");
	is_int(sdpneg_tx_pt(n, CODEC_PCMU), -1, "  PCMU not sent at all");
	is_int(sdpneg_tx_telev_pt(n), 101, "  events sent with 101");

	mem_deref(mb);
	mem_deref(n);
}


/* (f) where media goes, (g) which way, seen from our side, (h) streams we
 * do not relay are refused (port 0), in their place */

#define AUDIO "m=audio 4000 RTP/AVP 0 101\r\n" RTPMAP_101
#define VIDEO "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
#define PHONE "192.0.2.10:4000 192.0.2.10:4001"  /* RTP, RTCP */
#define AUDIO_ANSWER "m=audio 10000 RTP/AVP 0 101"

static const struct answer_case {
	const char *name;
	const char *media;
	const char *exp_addrs;     /* RTP and RTCP               */
	enum sdp_dir exp_dir;      /* sdpneg_remote_dir()        */
	const char *exp_line;      /* in our answer              */
	const char *exp_mlines;
} answer_cases[] = {
	{"RTCP at the next port by default", AUDIO,
	 PHONE, SDP_SENDRECV, "a=sendrecv", AUDIO_ANSWER},
	{"a=rtcp: port", AUDIO "a=rtcp:5005\r\n",
	 "192.0.2.10:4000 192.0.2.10:5005",
	 SDP_SENDRECV, "a=sendrecv", AUDIO_ANSWER},
	{"a=rtcp: port and address", AUDIO "a=rtcp:5005 IN IP4 192.0.2.99\r\n",
	 "192.0.2.10:4000 192.0.2.99:5005",
	 SDP_SENDRECV, "a=sendrecv", AUDIO_ANSWER},
	{"a media c= line overrides the session's",
	 AUDIO "c=IN IP4 203.0.113.5\r\n", "203.0.113.5:4000 203.0.113.5:4001",
	 SDP_SENDRECV, "a=sendrecv", AUDIO_ANSWER},
	{"a=sendonly: we only receive", AUDIO "a=sendonly\r\n",
	 PHONE, SDP_RECVONLY, "a=recvonly", AUDIO_ANSWER},
	{"a=recvonly: we only send", AUDIO "a=recvonly\r\n",
	 PHONE, SDP_SENDONLY, "a=sendonly", AUDIO_ANSWER},
	{"a=inactive: neither", AUDIO "a=inactive\r\n",
	 PHONE, SDP_INACTIVE, "a=inactive", AUDIO_ANSWER},
	{"video after audio: refused", AUDIO VIDEO,
	 PHONE, SDP_SENDRECV, "a=sendrecv",
	 AUDIO_ANSWER " | m=video 0 RTP/AVP 0"},
	{"video before audio: refused, the order kept", VIDEO AUDIO,
	 PHONE, SDP_SENDRECV, "a=sendrecv",
	 "m=video 0 RTP/AVP 0 | " AUDIO_ANSWER},
};


static void test_answer(const struct answer_case *c)
{
	static const uint8_t allow[] = ULAW_ALAW;
	struct sdpneg *n = NULL;
	char sdp[1024], got[256];
	struct sa rtp, rtcp;

	if (!is_int(leg_offered(&n, allow, c->media), 0, "offer decoded"))
		goto out;

	ok(sdpneg_remote_addr(n, &rtp, &rtcp), "%s", c->name);
	re_snprintf(got, sizeof(got), "%J %J", &rtp, &rtcp);
	is_str(got, c->exp_addrs, "  RTP and RTCP addresses");
	is_int(sdpneg_remote_dir(n), c->exp_dir, "  direction");

	our_sdp(n, false, sdp, sizeof(sdp));
	ok(has_line(sdp, c->exp_line), "  answered with %s", c->exp_line);
	m_lines(sdp, got, sizeof(got));
	is_str(got, c->exp_mlines, "  our answer's m= lines");
 out:
	mem_deref(n);
}


/* (i)-(n) video: relayed as negotiated, never transcoded */

#define VOFFER "m=video 4002 RTP/AVP 96 97\r\n" \
	"a=rtpmap:96 VP8/90000\r\na=fmtp:96 max-fs=3600\r\n" \
	"a=rtpmap:97 H264/90000\r\n" \
	"a=fmtp:97 profile-level-id=42e01f;packetization-mode=1\r\n" \
	"a=rtcp-fb:* nack pli\r\na=rtcp-fb:97 ccm fir\r\n"
#define AUDIO_MUX AUDIO "a=rtcp-mux\r\n"

/* SDP text `media` after the session part, decoded into `n`. */
static int feed(struct sdpneg *n, const char *media, bool offer)
{
	struct mbuf *mb = mbuf_alloc(1024);
	int err;

	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "%s%s", SESSION, media);
	mb->pos = 0;
	if (!err)
		err = sdpneg_decode(n, mb, offer);
	mem_deref(mb);

	return err;
}


static void pt_map_str(const struct sdpneg *x, const struct sdpneg *y,
		       char *out, size_t sz)
{
	uint8_t pairs[8][2];
	size_t n = sdpneg_video_pt_map(x, y, pairs, ARRAY_SIZE(pairs));
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += re_snprintf(out + len, sz - len, "%s%u>%u",
				   i ? " " : "", pairs[i][0], pairs[i][1]);
}


/* Our SDP (offer or answer) has these m= lines. */
static void mlines_are(struct sdpneg *n, bool offer, const char *exp,
		       const char *name)
{
	char sdp[2048], got[256];

	our_sdp(n, offer, sdp, sizeof(sdp));
	m_lines(sdp, got, sizeof(got));
	is_str(got, exp, name);
}


/* A callee's leg, our side of it, video port included. */
static int callee_leg(struct sdpneg **np)
{
	static const uint8_t allow[] = ULAW_ALAW;
	struct sa laddr;
	int err;

	err = sa_set_str(&laddr, "198.51.100.1", 0);
	err |= sdpneg_alloc(np, &laddr, LPORT, allow);
	if (!err)
		sdpneg_set_vport(*np, LPORT + 2);

	return err;
}


/* The caller's leg fed an offer of audio and video (VP8, H264), and a
 * callee's leg. */
static int two_legs(struct sdpneg **a, struct sdpneg **b)
{
	static const uint8_t allow[] = ULAW_ALAW;
	int err;

	err = leg_offered(a, allow, AUDIO VOFFER);
	err |= callee_leg(b);
	if (!err)
		sdpneg_set_vport(*a, LPORT + 2);

	return err;
}


/* The caller (a) offers audio and video; the callee (b) is offered what the
 * caller offered; the caller's answer carries what the callee accepted. */
static const struct video_case {
	const char *name;
	const char *callee_answer;   /* after the session part        */
	bool exp_active;             /* video flows on the callee leg */
	const char *exp_mlines;      /* of the caller's answer        */
	const char *exp_line;        /* in it, or NULL                */
	const char *exp_a2b, *exp_b2a;   /* payload types relayed    */
} video_cases[] = {
	{"the callee accepts VP8: the caller is answered VP8, the callee's"
	 " fmtp", AUDIO "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
	 "a=fmtp:96 max-fs=1200\r\na=rtcp-fb:* nack\r\n", true,
	 AUDIO_ANSWER " | m=video 10002 RTP/AVP 96", "a=fmtp:96 max-fs=1200",
	 "96>96", "96>96"},
	{"the callee accepts both: both, in the caller's order",
	 AUDIO "m=video 5002 RTP/AVP 97 96\r\na=rtpmap:97 H264/90000\r\n"
	 "a=rtpmap:96 VP8/90000\r\n", true,
	 AUDIO_ANSWER " | m=video 10002 RTP/AVP 96 97", NULL,
	 "96>96 97>97", "96>96 97>97"},
	{"the callee numbers VP8 100: renumbered on the way to it",
	 AUDIO "m=video 5002 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\n",
	 true, AUDIO_ANSWER " | m=video 10002 RTP/AVP 96", NULL,
	 "96>100", "96>96"},
	{"the callee refuses video (port 0): the caller gets port 0",
	 AUDIO "m=video 0 RTP/AVP 96\r\n", false,
	 AUDIO_ANSWER " | m=video 0 RTP/AVP 0", NULL, "", ""},
};


static void test_video(const struct video_case *c)
{
	struct sdpneg *a = NULL, *b = NULL;
	char sdp[2048], got[256];

	if (!is_int(two_legs(&a, &b), 0,
		    "caller's offer decoded, callee leg allocated"))
		goto out;

	ok(sdpneg_video_offered(a), "%s", c->name);
	is_int(sdpneg_video_offer(b, a), 0, "  the callee is offered video");
	mlines_are(b, true, "m=audio 10000 RTP/AVP 0 8 101 | "
		   "m=video 10002 RTP/AVP 96 97",
		   "  ... the caller's payload types");
	our_sdp(b, true, sdp, sizeof(sdp));
	ok(has_line(sdp, "a=fmtp:96 max-fs=3600") &&
	   has_line(sdp, "a=fmtp:97 profile-level-id=42e01f;"
		    "packetization-mode=1"), "  ... and fmtp");
	ok(has_line(sdp, "a=rtcp-fb:* nack pli") &&
	   has_line(sdp, "a=rtcp-fb:97 ccm fir"), "  ... and its rtcp-fb");

	if (!is_int(feed(b, c->callee_answer, false), 0,
		    "  the callee's answer decoded"))
		goto out;
	is_int(sdpneg_video_active(b), c->exp_active, "  video flows to it");

	sdpneg_keep_only(a, CODEC_PCMU);
	is_int(sdpneg_video_answer(a, b), 0, "  the caller's answer made");
	is_int(sdpneg_video_active(a), c->exp_active,
	       "  video flows to the caller");
	mlines_are(a, false, c->exp_mlines, "  the caller's answer");
	our_sdp(a, false, sdp, sizeof(sdp));
	if (c->exp_line)
		ok(has_line(sdp, c->exp_line), "  ... with %s", c->exp_line);

	pt_map_str(a, b, got, sizeof(got));
	is_str(got, c->exp_a2b, "  caller -> callee payload types");
	pt_map_str(b, a, got, sizeof(got));
	is_str(got, c->exp_b2a, "  callee -> caller payload types");
 out:
	mem_deref(a);
	mem_deref(b);
}


/* Video added and removed by re-offers, every format accepted while the
 * other leg has not said anything yet. */
static void test_video_reoffer(void)
{
	static const uint8_t allow[] = ULAW_ALAW;
	struct sdpneg *a = NULL;

	if (!is_int(leg_offered(&a, allow, AUDIO), 0, "audio-only offer"))
		goto out;
	ok(!sdpneg_video_offered(a), "no video offered");
	mlines_are(a, false, AUDIO_ANSWER,
		   "  answered audio only");

	is_int(feed(a, AUDIO VOFFER, true), 0, "a re-offer adds video");
	ok(sdpneg_video_offered(a), "  video offered");
	sdpneg_set_vport(a, LPORT + 2);
	is_int(sdpneg_video_answer(a, NULL), 0, "  accepted as offered");
	mlines_are(a, false, AUDIO_ANSWER " | m=video 10002 RTP/AVP 96 97",
		   "  every format answered");
	ok(sdpneg_video_active(a), "  video flows");

	is_int(feed(a, AUDIO "m=video 0 RTP/AVP 96\r\n", true), 0,
	       "a re-offer removes video (port 0)");
	ok(!sdpneg_video_offered(a) && !sdpneg_video_active(a),
	   "  video stops");
	sdpneg_video_off(a);
	mlines_are(a, false, AUDIO_ANSWER " | m=video 0 RTP/AVP 0",
		   "  answered port 0, the m= line kept");
	mlines_are(a, true, "m=audio 10000 RTP/AVP 0 101 | m=video 0 RTP/AVP 0",
		   "  our next offer keeps it at port 0");
 out:
	mem_deref(a);
}


static void test_video_refused(void)
{
	static const uint8_t allow[] = ULAW_ALAW;
	struct sdpneg *a = NULL, *b = NULL;
	int err;

	err = leg_offered(&a, allow, AUDIO "m=video 4002 RTP/SAVP 96\r\n"
			  "a=rtpmap:96 VP8/90000\r\n");
	if (!is_int(err, 0, "encrypted video offered (RTP/SAVP)"))
		goto out;
	ok(!sdpneg_video_offered(a), "  not relayable");
	mlines_are(a, false, AUDIO_ANSWER " | m=video 0 RTP/SAVP 0",
		   "  refused with port 0");

	/* the callee's side when the caller offered no video */
	err = callee_leg(&b);
	mlines_are(b, true, "m=audio 10000 RTP/AVP 0 8 101",
		   "no video to relay: the callee is offered audio only");
	err |= feed(b, AUDIO "m=video 5002 RTP/AVP 96\r\n"
		    "a=rtpmap:96 VP8/90000\r\n", false);
	ok(err && !sdpneg_video_active(b),
	   "  an answer adding video is an error, no video flows");
 out:
	mem_deref(a);
	mem_deref(b);
}


/* A caller's video accepted as offered (a re-INVITE: the callee not asked
 * yet), then narrowed to what the callee answers: re-offered when that
 * takes a format away, with port 0 when the callee refuses video. */
static const struct narrow_case {
	const char *name;
	const char *callee_answer;
	bool exp_changed;
	const char *exp_reoffer;    /* our next offer to the caller */
} narrow_cases[] = {
	{"the callee accepts both: nothing to tell the caller",
	 AUDIO "m=video 5002 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\n"
	 "a=rtpmap:97 H264/90000\r\n", false,
	 "m=audio 10000 RTP/AVP 0 101 | m=video 10002 RTP/AVP 96 97"},
	{"the callee accepts VP8 only: the caller is re-offered VP8",
	 AUDIO "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", true,
	 "m=audio 10000 RTP/AVP 0 101 | m=video 10002 RTP/AVP 96"},
	{"the callee refuses video: the caller is re-offered port 0",
	 AUDIO "m=video 0 RTP/AVP 96\r\n", true,
	 "m=audio 10000 RTP/AVP 0 101 | m=video 0 RTP/AVP 0"},
};


static void test_narrow(const struct narrow_case *c)
{
	struct sdpneg *a = NULL, *b = NULL;
	char sdp[2048];
	int err;

	err = two_legs(&a, &b);
	sdpneg_keep_only(a, CODEC_PCMU);
	err |= sdpneg_video_answer(a, NULL);
	err |= sdpneg_video_offer(b, a);
	our_sdp(b, true, sdp, sizeof(sdp));    /* the offer goes out */
	err |= feed(b, c->callee_answer, false);
	if (!is_int(err, 0, "caller's video accepted, callee answered"))
		goto out;

	is_int(sdpneg_video_restrict(a, b), c->exp_changed, c->name);
	mlines_are(a, true, c->exp_reoffer,
		   "  our next offer to the caller");
	is_int(sdpneg_video_restrict(a, b), false,
	       "  a second time: no change");
	is_int(sdpneg_video_restrict(b, a), false,
	       "  the callee needs no re-offer either");
 out:
	mem_deref(a);
	mem_deref(b);
}


/* A re-INVITE from a caller whose video is VP8 only (the callee took only
 * that) offers VP8 and H264 again: the callee is offered VP8 alone, and
 * the relay never maps H264. */
static void test_mirror_agreed(void)
{
	struct sdpneg *a = NULL, *b = NULL, *b2 = NULL;
	char sdp[2048], got[256];
	int err;

	err = two_legs(&a, &b);
	err |= callee_leg(&b2);
	err |= sdpneg_video_offer(b, a);
	our_sdp(b, true, sdp, sizeof(sdp));
	err |= feed(b, AUDIO "m=video 5002 RTP/AVP 96\r\n"
		    "a=rtpmap:96 VP8/90000\r\n", false);
	err |= sdpneg_video_answer(a, b);
	if (!is_int(err, 0, "a call with VP8 video agreed on both legs"))
		goto out;

	err = feed(a, AUDIO VOFFER, true);      /* the re-INVITE */
	is_int(err, 0, "the caller re-offers VP8 and H264");
	is_int(sdpneg_video_restrict(a, b), false, "  VP8 stays agreed");
	pt_map_str(b, a, got, sizeof(got));
	is_str(got, "96>96", "  the callee's H264 would not be relayed");
	err = sdpneg_video_offer(b2, a);
	mlines_are(b2, true,
		   "m=audio 10000 RTP/AVP 0 8 101 | m=video 10002 RTP/AVP 96",
		   "  the mirrored offer has VP8 only");
 out:
	mem_deref(a);
	mem_deref(b);
	mem_deref(b2);
}


/* (o) RTCP on the RTP port (RFC 5761) */

static void test_rtcp_mux(void)
{
	static const uint8_t allow[] = ULAW_ALAW;
	struct sdpneg *n = NULL;
	char sdp[2048];

	if (!is_int(leg_offered(&n, allow, NULL), 0, "leg allocated"))
		goto out;
	our_sdp(n, true, sdp, sizeof(sdp));
	ok(has_line(sdp, "a=rtcp-mux"), "our offers propose rtcp-mux");

	is_int(feed(n, AUDIO_MUX, true), 0, "an offer with rtcp-mux");
	ok(sdpneg_rtcp_mux(n, false), "  RTCP on the RTP port");
	our_sdp(n, false, sdp, sizeof(sdp));
	ok(has_line(sdp, "a=rtcp-mux"), "  answered a=rtcp-mux");

	is_int(feed(n, AUDIO, true), 0, "an offer without");
	ok(!sdpneg_rtcp_mux(n, false), "  RTCP on its own port");
	our_sdp(n, false, sdp, sizeof(sdp));
	ok(!strstr(sdp, "a=rtcp-mux"), "  our answer does not propose it");
 out:
	mem_deref(n);
}


/* Each row of a table is a test case, checked for leaks on its own. */
#define EACH(table, fn, title) \
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) { \
		leak_begin(&lc); \
		fn(&table[i]); \
		leak_end(&lc, table[i].title); \
	}

/* Allocation failures: an offer with audio and video decoded, answered. */
static int op_offer(void *arg)
{
	static const uint8_t allow[] = ULAW_ALAW;
	static const char sdp[] = SESSION
		"m=audio 4000 RTP/AVP 0 8 101\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"m=video 4002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
	struct sdpneg *n = NULL;
	struct mbuf *mb = NULL, *out = NULL;
	struct sa laddr;
	int err;
	(void)arg;

	err = sa_set_str(&laddr, "198.51.100.1", 0);
	err |= sdpneg_alloc(&n, &laddr, LPORT, allow);
	if (!err) {
		mb = mbuf_alloc(512);
		err = mb ? mbuf_write_str(mb, sdp) : ENOMEM;
	}
	if (!err) {
		mb->pos = 0;
		err = sdpneg_decode(n, mb, true);
	}
	if (!err)
		err = sdpneg_encode(n, false, &out);
	mem_deref(out);
	mem_deref(mb);
	mem_deref(n);
	return err;
}

int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	EACH(offer_cases, test_offer, name);

	leak_begin(&lc);
	test_our_offer();
	leak_end(&lc, "our offer");

	EACH(answer_cases, test_answer, name);
	EACH(video_cases, test_video, name);
	EACH(narrow_cases, test_narrow, name);

	leak_begin(&lc);
	test_video_reoffer();
	leak_end(&lc, "video re-offers");

	leak_begin(&lc);
	test_video_refused();
	leak_end(&lc, "video refused");

	leak_begin(&lc);
	test_mirror_agreed();
	leak_end(&lc, "mirrored video offer");

	leak_begin(&lc);
	test_rtcp_mux();
	leak_end(&lc, "rtcp-mux");

	alloc_fail_each("sdpneg: an audio+video offer decoded and answered",
			op_offer, NULL);

	libre_close();

	return done_testing();
}
