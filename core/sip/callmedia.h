/**
 * @file callmedia.h  A call whose media the PBX terminates: play (prompts,
 * music on hold, tones), read digits, record, echo, send DTMF.
 *
 * Each operation is something the call's coroutine waits for (WAIT_MEDIA)
 * and ends by itself (the player ran out, the digits went out), on a
 * digit, on a timer, or when the caller hangs up.  The caller's digits
 * (RFC 4733, SIP INFO, in-band) queue up in between, for the next read.
 * A call gets its media side when it is answered or sends early media
 * with the PBX's own SDP.
 */

struct call;
struct player;
struct recorder;
struct sip;
struct sip_msg;

enum media_end {
	MEND_NONE = 0,
	MEND_DONE,       /**< played to the end / digits sent       */
	MEND_DIGIT,      /**< an interrupting or awaited digit      */
	MEND_TIMEOUT,    /**< its time ran out                      */
	MEND_HANGUP,     /**< the caller hung up                    */
	MEND_SILENCE,    /**< recording: the caller went quiet      */
	MEND_ERROR,      /**< recording: the file could not be made */
};

struct media_stop {
	uint32_t timeout_ms;     /**< 0: no time limit                */
	const char *digits;      /**< digits that end it; NULL: none  */
};

struct record_opts {
	uint32_t max_ms;         /**< 0: no limit                     */
	uint32_t silence_ms;     /**< 0: silence does not stop it     */
	const char *terminator;  /**< digits that end it ("#")        */
};

int  callmedia_attach(struct call *call);
void callmedia_caller_gone(struct call *call);
void callmedia_info(struct sip *sip, const struct sip_msg *msg, void *arg);

int  callmedia_play(struct call *call, struct player *p,
		    const struct media_stop *stop);
int  callmedia_read_digit(struct call *call, uint32_t timeout_ms);
int  callmedia_record(struct call *call, struct recorder *rec,
		      struct player *beep, const struct record_opts *o);
int  callmedia_echo(struct call *call, const struct media_stop *stop);
int  callmedia_send_dtmf(struct call *call, const char *digits,
			 uint32_t dur_ms);
enum media_end callmedia_result(const struct call *call, char *digit,
				uint64_t *samples);
const char *media_end_name(enum media_end end);
void callmedia_flush_digits(struct call *call);
size_t callmedia_pending_digits(const struct call *call);
