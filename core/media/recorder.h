/**
 * @file recorder.h  What a caller says, into a file (libsndfile): 8000 Hz
 * mono, 16-bit WAV or raw GSM 6.10 (Asterisk's .gsm).
 *
 * The file is written under a temporary name in the same folder (a dot
 * file ending in .part) and renamed when complete, so a crash never
 * leaves a half file under the final name.  Silent frames are held back
 * (up to the silence limit) so that a recording stopped by silence ends
 * with the last sound, and gaps in RTP timestamps are written as silence.
 */

enum rec_format { REC_WAV = 0, REC_GSM };

struct recorder;

int  recorder_open(struct recorder **rp, const char *path,
		   enum rec_format fmt, uint32_t hold_samples);
bool recorder_write(struct recorder *r, const int16_t *pcm, size_t n,
		    uint32_t ts);
int  recorder_close(struct recorder *r, bool trim_silence);
void recorder_abort(struct recorder *r);
uint64_t recorder_samples(const struct recorder *r);
const char *recorder_path(const struct recorder *r);

int  rec_format_parse(const char *s, enum rec_format *fmt);
const char *rec_format_ext(enum rec_format fmt);
bool rec_frame_silent(const int16_t *pcm, size_t n);
unsigned recorder_clean(const char *dir);
