/**
 * @file mixer.h  An audio mixer: N members, each hearing everybody but
 * itself (N-1 mixes), one frame per media-clock tick.
 *
 * A member's audio comes in as decoded samples with their RTP timestamp
 * (mixer_put(), which is a term_audio_h) into its own jitter buffer
 * (media/pcmjb.h).  Every tick (20 ms, the one media clock) the mixer
 * reads one frame per member, measures its level, and mixes only the
 * members that talk: the total of the talkers is summed once, and each
 * talker hears the total minus its own contribution; everybody else hears
 * the total itself, mixed and encoded once per distinct output (codec and
 * listening volume) and shared.  The cost of a tick is one level
 * measurement per member that sends, one addition per talker, one
 * mix-minus and encoding per talker, one per distinct listener output, and
 * the sends: linear in the talkers, never N x N.  When nobody talks every
 * member gets the same encoded silence, made once at allocation.
 *
 * Talk detection is ConfBridge's: a frame whose mean magnitude reaches
 * talk_level is voice; a member starts talking after talk_ms of voice and
 * stops after quiet_ms without (hysteresis), and both changes go to its
 * talk handler, after the tick's frames went out.  Only talking members
 * are mixed (ConfBridge's dsp_drop_silence): background noise below the
 * level costs nothing and is not heard.  A muted member is measured (its
 * talk events still come: "you are muted") but never mixed; a deaf one
 * gets silence.  Talk and listen volumes go in 3 dB steps from -4 to +4
 * (the menu's increase/decrease_talking/listening_volume), applied to the
 * talker's contribution and to what the listener hears; every sum is
 * saturated to +-32767 (G.711 encoders cannot take -32768).
 *
 * How a leg connects: mixer_join_term() plugs a member into a terminated
 * leg (media/term.h).  The term decodes each RTP packet once and hands
 * the samples to the mixer as a sink beside its owner's audio handler
 * (DTMF, recordings keep working), and sends the mixer's frame for each
 * tick with term_send_frame(): the leg's own SSRC, sequence numbers,
 * timestamps and marker bits, a prompt or digits the term plays taking
 * precedence for their duration.  A shared frame is one buffer the terms
 * copy from.  The leg's stream is read and written like a bridged leg's
 * (stream_ring(): through the io_uring, steered to one shared socket
 * where the process may), and the sends of a tick leave together, one
 * system call for the whole room (rtpring_batch_begin()): a member costs
 * about what a bridged leg does.  mem_deref() of the member unplugs it
 * all.  mixer_join() is the same without a term: the frame goes to a
 * handler (a recording of the room is a member that sends nothing, with
 * CODEC_NONE: linear samples).
 *
 * Wideband: the mix rate is the mixer's (prm.srate, 8000 today, 16000
 * accepted); buffers and frames are sized by it, and a member's codec must
 * have that rate.  To mix 8 kHz and 16 kHz legs in one room, the room
 * mixes at 16000 (the highest rate among its members, ConfBridge's
 * internal_sample_rate=auto), a narrowband member's input is up-sampled
 * in mixer_put() before its jitter buffer, and each distinct output is
 * down-sampled once before it is encoded, the output cache key (codec,
 * volume) already separating them (librem's auresamp does both, 2:1
 * FIR).  G.722's RTP clock says 8000 for 16000 samples: its timestamps
 * are doubled on the way in.
 *
 * No thread: the mixer is a source of the media clock while it has
 * members, and every handler runs on the event loop.  Nothing is
 * allocated per packet or per tick: join allocates the member, its jitter
 * buffer and its output frame.  Any handler may join, leave, mute, or free
 * the mixer: a member that joins during a tick is mixed from the next one,
 * one that leaves is gone at once.
 */

struct mixer;
struct mixer_member;
struct term;

enum {
	MIXER_PTIME = 20,           /**< ms per frame: the media clock's    */
	MIXER_VOL_MIN = -4,         /**< volume steps, 3 dB each            */
	MIXER_VOL_MAX = 4,
};

enum mixer_dir { MIXER_TALK, MIXER_LISTEN };

struct mixer_prm {
	uint32_t srate;        /**< the mix rate: 8000 (default) or 16000  */
	uint32_t talk_level;   /**< mean |sample| of a voiced frame (160)  */
	uint32_t talk_ms;      /**< voice this long starts talking (20)    */
	uint32_t quiet_ms;     /**< quiet this long stops it (2500)        */
	uint32_t jb_ms;        /**< jitter buffer prefill (40)             */
};

/** What one member hears for one tick. */
struct mixer_frame {
	uint64_t frame;            /**< of the media clock                  */
	const int16_t *pcm;        /**< linear, at the mix rate             */
	size_t samples;
	enum codec_id codec;
	const uint8_t *payload;    /**< the same encoded (NULL: CODEC_NONE) */
	size_t len;
	bool silent;               /**< nobody else was mixed               */
};

struct mixer_stats {
	uint64_t ticks;
	uint64_t measured;   /**< frames whose level was measured         */
	uint64_t mixed;      /**< talkers' frames added into a total      */
	uint64_t mixes;      /**< output frames computed (own or shared)  */
	uint64_t encodes;    /**< output frames encoded                   */
	uint64_t shared;     /**< outputs that reused a shared frame      */
	uint64_t silent;     /**< outputs that were the silence frame     */
	uint64_t sent;       /**< outputs delivered                       */
	uint32_t members;    /**< now                                     */
	uint32_t talkers;    /**< mixed in the last tick                  */
};

typedef void (mixer_out_h)(const struct mixer_frame *f, void *arg);
typedef void (mixer_talk_h)(bool talking, void *arg);

int  mixer_alloc(struct mixer **mp, const struct mixer_prm *prm);
int  mixer_join(struct mixer_member **mbp, struct mixer *m,
		enum codec_id codec, mixer_out_h *outh, mixer_talk_h *talkh,
		void *arg);
int  mixer_join_term(struct mixer_member **mbp, struct mixer *m,
		     struct term *t, mixer_talk_h *talkh, void *arg);
void mixer_put(const int16_t *pcm, size_t n, uint32_t ts, void *arg);
void mixer_tick(struct mixer *m, uint64_t frame);

void mixer_mute(struct mixer_member *mb, bool on);
void mixer_deaf(struct mixer_member *mb, bool on);
int  mixer_set_volume(struct mixer_member *mb, enum mixer_dir dir,
		      int step);
int  mixer_volume(const struct mixer_member *mb, enum mixer_dir dir);
int  mixer_set_codec(struct mixer_member *mb, enum codec_id codec);
bool mixer_muted(const struct mixer_member *mb);
bool mixer_deafened(const struct mixer_member *mb);
bool mixer_talking(const struct mixer_member *mb);

uint32_t mixer_count(const struct mixer *m);
uint32_t mixer_srate(const struct mixer *m);
const struct mixer_stats *mixer_stats(const struct mixer *m);
const struct pcmjb_stats *mixer_jb_stats(const struct mixer_member *mb);
uint64_t mixer_talk_frames(const struct mixer_member *mb);
