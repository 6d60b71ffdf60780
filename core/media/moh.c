/**
 * @file moh.c  Music-on-hold classes (moh.h).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/player.h"
#include "media/sound.h"
#include "media/moh.h"

enum { MAX_FILES = 64, NAME_SZ = 256, PATH_SZ = 512 };


static int by_name(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}


static bool is_sound(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len >= 5 && len < NAME_SZ &&
		(!str_casecmp(name + len - 4, ".wav") ||
		 !str_casecmp(name + len - 4, ".gsm"));
}


/* The sound files of a folder, sorted by name. */
static size_t list_files(const char *dir, char names[][NAME_SZ], size_t max)
{
	char tmp[MAX_FILES][NAME_SZ];
	char *ptrs[MAX_FILES];
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;

	while ((de = readdir(d)) && n < max && n < MAX_FILES) {
		if (!is_sound(de->d_name))
			continue;
		str_ncpy(tmp[n], de->d_name, sizeof(tmp[n]));
		ptrs[n] = tmp[n];
		++n;
	}
	closedir(d);

	qsort(ptrs, n, sizeof(ptrs[0]), by_name);
	for (size_t i = 0; i < n; i++)
		str_ncpy(names[i], ptrs[i], NAME_SZ);

	return n;
}


bool moh_class_ok(const char *cls)
{
	return cls && sound_name_ok(cls) && !strchr(cls, '/');
}


/**
 * A looped player of every file of class @a cls; a random first file when
 * asked, so that callers on hold do not all hear the same bar.  On error
 * @a errbuf says why.
 */
int moh_player(struct player **pp, const char *sounds_dir, const char *cls,
	       bool random, char *errbuf, size_t errsz)
{
	char (*names)[NAME_SZ] = NULL;
	char dir[PATH_SZ];
	struct player *p = NULL;
	size_t n, first;
	int err;

	if (!moh_class_ok(cls)) {
		re_snprintf(errbuf, errsz, "'%s' is not a class name", cls);
		return EINVAL;
	}

	names = mem_zalloc(MAX_FILES * NAME_SZ, NULL);
	if (!names)
		return ENOMEM;

	re_snprintf(dir, sizeof(dir), "%s/moh/%s", sounds_dir, cls);
	n = list_files(dir, names, MAX_FILES);
	if (!n) {
		re_snprintf(errbuf, errsz, "no music-on-hold class '%s' (no"
			    " .wav or .gsm file in %s)", cls, dir);
		err = ENOENT;
		goto out;
	}

	err = player_alloc(&p, true);
	if (err)
		goto out;

	first = random ? rand_u32() % n : 0;
	for (size_t i = 0; i < n && !err; i++) {
		char path[PATH_SZ];
		struct sound *snd;

		re_snprintf(path, sizeof(path), "%s/%s", dir,
			    names[(first + i) % n]);
		err = sound_load(&snd, path);
		if (err) {
			re_snprintf(errbuf, errsz, "cannot read %s: %m", path,
				    err);
			break;
		}
		err = player_add(p, snd, 0, false);
		mem_deref(snd);
	}

 out:
	mem_deref(names);
	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}
