/**
 * @file legmedia.h  Media the PBX terminates on one leg: play (prompts,
 * music, tones), read digits, record, echo, send DTMF; and the leg's
 * digits, wherever they come from (RFC 4733, SIP INFO, in-band).
 *
 * An operation runs until it ends by itself (the player ran out, the
 * digits went out), on a digit, on its timer, when the leg hangs up, or
 * when the leg joins a bridge; then the leg emits LEG_EV_OP_DONE and
 * legmedia_result() says how it ended.  One operation at a time per leg;
 * music started with legmedia_background() plays under no operation until
 * one starts, the leg is bridged, or it is stopped.  Digits queue up for
 * the next read, unless a sink (a bridge's feature keys) takes them.
 */

struct leg;
struct player;
struct recorder;

enum media_end {
	MEND_NONE = 0,
	MEND_DONE,       /**< played to the end / digits sent       */
	MEND_DIGIT,      /**< an interrupting or awaited digit      */
	MEND_TIMEOUT,    /**< its time ran out                      */
	MEND_HANGUP,     /**< the leg hung up                       */
	MEND_SILENCE,    /**< recording: the caller went quiet      */
	MEND_ERROR,      /**< recording: the file could not be made */
	MEND_STOPPED,    /**< the leg was bridged or moved          */
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

/** A digit of the leg, for a sink instead of the queue. */
typedef void (legmedia_digit_h)(struct leg *leg, char digit, void *arg);

int  legmedia_attach(struct leg *leg);
int  legmedia_play(struct leg *leg, struct player *p,
		   const struct media_stop *stop);
int  legmedia_read_digit(struct leg *leg, uint32_t timeout_ms);
int  legmedia_record(struct leg *leg, struct recorder *rec,
		     struct player *beep, const struct record_opts *o);
int  legmedia_echo(struct leg *leg, const struct media_stop *stop);
int  legmedia_send_dtmf(struct leg *leg, const char *digits,
			uint32_t dur_ms);
int  legmedia_background(struct leg *leg, struct player *p);
void legmedia_stop(struct leg *leg, enum media_end end);
bool legmedia_busy(const struct leg *leg);
enum media_end legmedia_result(const struct leg *leg, char *digit,
			       uint64_t *samples);
const char *media_end_name(enum media_end end);

void legmedia_flush_digits(struct leg *leg);
size_t legmedia_pending_digits(const struct leg *leg);
int  legmedia_pop_digit(struct leg *leg);
void legmedia_set_sink(struct leg *leg, legmedia_digit_h *h, void *arg);
int  legmedia_dtmf_out(struct leg *leg, char digit);
void legmedia_telev_local(struct leg *leg, bool local);
