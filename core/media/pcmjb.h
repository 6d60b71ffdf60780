/**
 * @file pcmjb.h  One participant's audio on its way into a mix: decoded
 * samples placed by their RTP timestamp in a ring, read back one frame
 * per media-clock tick.
 *
 * The ring is addressed by timestamp, so packets of any length (10, 20,
 * 30 ms), reordered or duplicated, land where they belong; a gap left by
 * a lost packet reads as silence.  Reading starts a little behind the
 * first packet (the prefill, the jitter it absorbs) and then follows the
 * clock: a tick that finds less than a frame reads nothing and waits (a
 * late packet is then still played, and a sender whose clock is slower
 * than ours costs a held frame now and then); a buffer that grew beyond
 * the prefill and three frames (a faster sender, a burst after a stall) is
 * cut back to the prefill.  A stream that stops (silence suppression,
 * hold) is forgotten after a few empty ticks, and a timestamp far from
 * the expected one (a new source, a restarted phone) starts over.
 *
 * Nothing is allocated after pcmjb_alloc(); a frame read is a pointer into
 * the ring, or into one frame of scratch when it wraps around the ring's
 * end.
 */

struct pcmjb;

struct pcmjb_stats {
	uint64_t frames;     /**< frames read                               */
	uint64_t missing;    /**< ticks that found less than a frame        */
	uint64_t late;       /**< packets too late for their place          */
	uint64_t trimmed;    /**< samples dropped to keep the delay short   */
	uint64_t resyncs;    /**< starts over (first packet included)       */
};

int  pcmjb_alloc(struct pcmjb **jbp, uint32_t frame, uint32_t prefill);
void pcmjb_put(struct pcmjb *jb, const int16_t *pcm, size_t n, uint32_t ts);
const int16_t *pcmjb_get(struct pcmjb *jb);
void pcmjb_reset(struct pcmjb *jb);
uint32_t pcmjb_buffered(const struct pcmjb *jb);
const struct pcmjb_stats *pcmjb_stats(const struct pcmjb *jb);
