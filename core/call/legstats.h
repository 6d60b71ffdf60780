/**
 * @file legstats.h  A leg's media statistics, per media, as the dialplan
 * (leg:stats(), call:stats()) and the hang-up log see them.  Include
 * media/rtpstat.h first.
 */

struct media_stats {
	bool present;            /**< the leg had this media          */
	bool muxed;              /**< RTCP on the RTP port            */
	char codec[48];          /**< "PCMU", "VP8,VP9"               */
	struct stream_stats st;
};

struct leg_stats {
	struct media_stats audio, video;
};
