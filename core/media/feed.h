/**
 * @file feed.h  One source heard by many listeners: music on hold played
 * as FreeSWITCH's local_stream plays it.
 *
 * A feed reads its player once per tick of the media clock, makes the
 * frame once in each law (G.711 u and A), and hands the same bytes to
 * every listener; a listener adds only its own RTP header (SSRC, sequence
 * number, timestamp).  Listeners join mid-stream and hear what the others
 * hear.  The feed is on the clock while someone listens; the sends of one
 * tick leave together (mclock.h batches them).
 */

struct feed;
struct player;

/** Frame @a frame of the clock, @a n samples, in each law: frames[codec]
 *  (indexed by enum codec_id; NULL for CODEC_NONE). */
typedef void (feed_h)(uint64_t frame, const uint8_t *const *frames,
		      size_t n, void *arg);

/** A listener, held inside its owner (a term). */
struct feed_ear {
	struct le le;
	struct feed *feed;
	feed_h *h;
	void *arg;
};

struct feed_stats {
	uint64_t frames;       /**< frames read from the player   */
	uint64_t sent;         /**< frames handed to listeners    */
	uint32_t listeners;
};

int  feed_alloc(struct feed **fp, struct player *p);
void feed_listen(struct feed *f, struct feed_ear *ear, feed_h *h, void *arg);
void feed_unlisten(struct feed_ear *ear);
bool feed_listening(const struct feed_ear *ear);
void feed_tick(struct feed *f, uint64_t frame);
const struct feed_stats *feed_stats(const struct feed *f);
