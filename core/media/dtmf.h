/**
 * @file dtmf.h  DTMF from a caller into one queue: RFC 4733 telephone
 * events (libre's telev), SIP INFO (application/dtmf-relay and
 * application/dtmf) and in-band tones (librem's dtmf_dec), as the
 * endpoint's `dtmf` setting says.
 *
 * "auto" takes RFC 4733 and INFO, and in-band tones until the first
 * out-of-band digit: a phone that sends both is not heard twice.
 */

enum dtmf_mode { DTMF_AUTO = 0, DTMF_RFC4733, DTMF_INFO, DTMF_INBAND };
enum dtmf_src  { DTMF_SRC_RFC4733, DTMF_SRC_INFO, DTMF_SRC_INBAND };

/** A digit was queued. */
typedef void (dtmf_h)(char digit, enum dtmf_src src, void *arg);

struct dtmf_in;

int  dtmf_in_alloc(struct dtmf_in **dp, enum dtmf_mode mode, dtmf_h *h,
		   void *arg);
void dtmf_in_event(struct dtmf_in *d, struct mbuf *mb);
void dtmf_in_audio(struct dtmf_in *d, const int16_t *pcm, size_t n);
int  dtmf_in_info(struct dtmf_in *d, const char *ctype,
		  const struct pl *body);
bool dtmf_in_wants_audio(const struct dtmf_in *d);
int  dtmf_in_push(struct dtmf_in *d, char digit, enum dtmf_src src);
int  dtmf_in_pop(struct dtmf_in *d);
int  dtmf_in_peek(const struct dtmf_in *d);
size_t dtmf_in_pending(const struct dtmf_in *d);
void dtmf_in_flush(struct dtmf_in *d);
enum dtmf_mode dtmf_in_mode(const struct dtmf_in *d);

int  dtmf_mode_parse(const char *s, enum dtmf_mode *mode);
const char *dtmf_mode_name(enum dtmf_mode mode);
const char *dtmf_src_name(enum dtmf_src src);
int  dtmf_info_parse(const char *ctype, const struct pl *body,
		     char *digit);
bool dtmf_digit_ok(char c);
