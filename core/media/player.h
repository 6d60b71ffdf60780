/**
 * @file player.h  What the PBX sends on a leg, read one frame at a time:
 * prompts one after the other, music on hold in a loop, or a tone's
 * cadence written in Asterisk's indications syntax.
 *
 * A player is a list of segments.  A segment is a sound played whole, a
 * sound played for a given number of samples (looping inside it: tones are
 * one second of whole periods), or silence.  Frames come straight from the
 * sounds' shared G.711 encodings: reading one is a copy.  A live player
 * stands for a feed (feed.h): music shared by every caller who hears it.
 */

struct feed;
struct player;
struct sound;

int  player_alloc(struct player **pp, bool loop);
int  player_add(struct player *p, struct sound *snd, uint32_t samples,
		bool once);
int  player_tones(struct player **pp, const char *spec);
int  player_alloc_feed(struct player **pp, struct feed *f);
struct feed *player_feed(const struct player *p);
size_t player_read(struct player *p, enum codec_id codec, uint8_t *out,
		   size_t n);
size_t player_read_laws(struct player *p, uint8_t *const *outs, size_t n);
bool player_done(const struct player *p);
uint64_t player_played(const struct player *p);
