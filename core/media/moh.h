/**
 * @file moh.h  Music on hold: a class is a folder of sound files
 * (<sounds>/moh/<class>/, its .wav and .gsm files), played in a loop in
 * name order.
 *
 * By default a class is one stream (FreeSWITCH's local_stream, Asterisk's
 * streaming classes): read once per 20 ms and sent to all its listeners
 * (feed.h).  MOH_FILES and MOH_RANDOM give a caller its own playback
 * instead (Asterisk's mode=files, with sort=random for the latter), at the
 * cost of its own read each frame.
 */

struct player;

enum moh_mode {
	MOH_STREAM = 0,   /**< the class's stream, shared               */
	MOH_FILES,        /**< the caller's own, from the first file     */
	MOH_RANDOM,       /**< the caller's own, from a random file      */
};

int moh_player(struct player **pp, const char *sounds_dir, const char *cls,
	       enum moh_mode mode, char *errbuf, size_t errsz);
bool moh_class_ok(const char *cls);
void moh_close(void);
uint32_t moh_streams(void);
