/**
 * @file rtpwatch.h  Legs whose RTP stopped are hung up (rtp_timeout,
 * rtp_hold_timeout of pbx.settings).
 */

struct pbx;

void rtpwatch_start(struct pbx *pbx);
void rtpwatch_stop(void);
