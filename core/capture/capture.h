/**
 * @file capture.h  Packet capture to a pcap file under the state folder:
 * every SIP message in and out, and the RTP/RTCP of chosen calls (or of
 * all calls).  One capture at a time; Lua starts and stops it
 * (pbx.capture, call:capture), so does --capture.
 */

struct capture;
struct sip_packet;

int  capture_alloc(struct capture **cp, const char *state_dir);
int  capture_start(struct capture *c, const char *name, bool rtp_all);
void capture_stop(struct capture *c);
const char *capture_path(const struct capture *c);
bool capture_rtp_all(const struct capture *c);
bool capture_name_ok(const char *name);
void capture_sip(struct capture *c, const struct sip_packet *pkt);
