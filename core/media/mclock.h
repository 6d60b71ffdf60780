/**
 * @file mclock.h  The media clock: one timer paces every packet the PBX
 * itself produces (prompts, music on hold, tones, DTMF events), for all
 * calls at once, one 20 ms frame per tick.
 *
 * Frame k is due at epoch + k * 20 ms, whatever the timer's jitter: a late
 * tick sends every frame that fell due (so a prompt keeps its length), up
 * to MCLOCK_CATCHUP frames; beyond that the frames are skipped and counted.
 * A source's RTP timestamp can be derived from the frame number, so it
 * follows the wall clock across pauses.
 */

enum { MCLOCK_PTIME = 20, MCLOCK_CATCHUP = 10 };

/** Produce the frame @a frame (called once per due frame). */
typedef void (mclock_h)(uint64_t frame, void *arg);

struct mclock_src {
	struct le le;
	mclock_h *h;
	void *arg;
};

struct mclock_stats {
	uint64_t ticks;         /**< timer runs                         */
	uint64_t frames;        /**< frames sent, all sources           */
	uint64_t late;          /**< frames sent >= one ptime late      */
	uint64_t skipped;       /**< frames dropped after a long stall  */
	uint32_t max_lag_ms;    /**< worst lateness of a frame          */
	uint32_t sources;       /**< sources on the clock now           */
};

void mclock_start(struct mclock_src *src, mclock_h *h, void *arg);
void mclock_stop(struct mclock_src *src);
bool mclock_running(const struct mclock_src *src);
uint64_t mclock_frame_now(void);
const struct mclock_stats *mclock_stats(void);
void mclock_reset_stats(void);
