/**
 * @file pbx.c  Where the PBX's files are (pbx.h).
 */
#include <re.h>
#include "pbx.h"


/** The sounds folder: the setting, else lua/../sounds. */
const char *pbx_sounds_dir(const struct pbx *pbx, char *buf, size_t sz)
{
	/* into buf either way: callers read the buffer they passed */
	if (pbx->set.sounds_dir[0]) {
		str_ncpy(buf, pbx->set.sounds_dir, sz);
		return buf;
	}

	re_snprintf(buf, sz, "%s/../sounds", pbx->lib_dir);

	return buf;
}


/** Recordings: <state>/recordings. */
const char *pbx_recordings_dir(const struct pbx *pbx, char *buf, size_t sz)
{
	re_snprintf(buf, sz, "%s/recordings", pbx->state_dir);

	return buf;
}
