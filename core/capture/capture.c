/**
 * @file capture.c  Packet capture sessions (see capture.h).
 *
 * SIP comes from the SIP trace hook (sipstack.c, sipraw.c), RTP and RTCP
 * from the stream tap (stream.c); both land in one file, so Wireshark
 * follows a call from its INVITE to its media (the SDP tells it which
 * ports carry RTP).
 */
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "log.h"
#include "capture/capture.h"
#include "capture/pcap.h"
#include "media/codec.h"
#include "media/stream.h"
#include "sip/siptrace.h"

enum { NAME_MAX_LEN = 128 };

struct capture {
	char *dir;             /* <state>/captures */
	struct pcapw *w;       /* the file being written, or NULL */
	bool rtp_all;
};


static void destructor(void *arg)
{
	struct capture *c = arg;

	capture_stop(c);
	mem_deref(c->dir);
}


int capture_alloc(struct capture **cp, const char *state_dir)
{
	struct capture *c;
	int err;

	if (!cp || !state_dir)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), destructor);
	if (!c)
		return ENOMEM;

	err = re_sdprintf(&c->dir, "%s/captures", state_dir);
	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


/** A file name of our own: letters, digits, '.', '_', '-', not starting
 *  with '.'.  No '/': a capture cannot leave the captures folder. */
bool capture_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > NAME_MAX_LEN || name[0] == '.')
		return false;

	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && !strchr("._-", ch))
			return false;
	}
	return true;
}


/* A write failed (disk full...): say so once and stop. */
static void check_write(struct capture *c, int err)
{
	if (!err || err == EAFNOSUPPORT)
		return;

	log_warn("capture: %s: %m; capture stopped", pcapw_path(c->w), err);
	capture_stop(c);
}


static void rtp_tap(bool tx, void *sock, const struct sa *peer,
		    const struct mbuf *mb, void *arg)
{
	struct capture *c = arg;
	struct sa local;
	int err;

	if (!c->w || udp_local_get(sock, &local))
		return;

	err = pcapw_write(c->w, pcapw_now(), PCAPW_UDP, tx ? &local : peer,
			  tx ? peer : &local, mbuf_buf(mb),
			  mbuf_get_left(mb));
	check_write(c, err);
}


/**
 * Start writing <state>/captures/@a name (or go on, when that file is
 * being written already: a reloaded configuration asking again).  Every
 * SIP message goes in; RTP/RTCP of all calls when @a rtp_all, else of the
 * calls that asked (call:capture).
 */
int capture_start(struct capture *c, const char *name, bool rtp_all)
{
	struct pcapw *w = NULL;
	char *path = NULL;
	int err;

	if (!c || !capture_name_ok(name))
		return EINVAL;

	err = re_sdprintf(&path, "%s/%s", c->dir, name);
	if (err)
		return err;

	if (c->w && 0 == strcmp(pcapw_path(c->w), path))
		goto update;

	if (mkdir(c->dir, 0700) && errno != EEXIST) {
		err = errno;
		goto out;
	}
	err = pcapw_open(&w, path);
	if (err)
		goto out;

	capture_stop(c);
	c->w = w;
	log_info("capture: writing %s (SIP%s)", path,
		 rtp_all ? ", RTP of every call" : ", RTP of chosen calls");

 update:
	c->rtp_all = rtp_all;
	stream_set_tap(rtp_tap, c, rtp_all);

 out:
	mem_deref(path);

	return err;
}


void capture_stop(struct capture *c)
{
	if (!c || !c->w)
		return;

	stream_set_tap(NULL, NULL, false);
	log_info("capture: %s closed (%llu packets)", pcapw_path(c->w),
		 pcapw_records(c->w));
	c->w = mem_deref(c->w);
}


/** The file being written, or NULL. */
const char *capture_path(const struct capture *c)
{
	return c ? pcapw_path(c->w) : NULL;
}


bool capture_rtp_all(const struct capture *c)
{
	return c && c->w && c->rtp_all;
}


/** One SIP message, as it crossed the wire. */
void capture_sip(struct capture *c, const struct sip_packet *pkt)
{
	enum pcapw_proto proto;
	int err;

	if (!c || !c->w)
		return;

	proto = pkt->tp == SIP_TRANSP_UDP ? PCAPW_UDP : PCAPW_TCP;
	err = pcapw_write(c->w, pkt->ts_us, proto, pkt->src, pkt->dst,
			  pkt->data, pkt->len);
	check_write(c, err);
}
