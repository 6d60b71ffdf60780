/**
 * @file wavfile.h  Sound files the C unit tests write (header only),
 * through libsndfile as the PBX reads them.
 */
#include <errno.h>
#include <stdint.h>
#include <sndfile.h>


/** Write @a frames of 16-bit @a pcm (@a ch channels interleaved) to
 *  @a path in @a format (SF_FORMAT_*) at @a rate.  0 or EIO. */
static inline int wavfile_write(const char *path, int format, int rate,
				int ch, const int16_t *pcm, size_t frames)
{
	SF_INFO info = { .samplerate = rate, .channels = ch,
			 .format = format };
	SNDFILE *sf = pcm ? sf_open(path, SFM_WRITE, &info) : NULL;
	int err = 0;

	if (!sf)
		return EIO;
	if (sf_writef_short(sf, pcm, (sf_count_t)frames) != (sf_count_t)frames)
		err = EIO;
	sf_close(sf);

	return err;
}
