/**
 * @file moh.c  Music-on-hold classes (moh.h).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/feed.h"
#include "media/player.h"
#include "media/sound.h"
#include "media/moh.h"

enum { MAX_FILES = 64, NAME_SZ = 256, PATH_SZ = 512 };

/* The classes played as streams: one feed each, while someone holds it. */
struct stream_class {
	struct le le;
	char path[PATH_SZ];     /* <sounds>/moh/<class> */
	struct feed *feed;
};

static struct list classes;


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


/* A looped player of every file of @a dir, from the first one or a random
 * one.  On error @a errbuf says why. */
static int files_player(struct player **pp, const char *dir,
			const char *cls, bool random, char *errbuf,
			size_t errsz)
{
	char (*names)[NAME_SZ] = NULL;
	struct player *p = NULL;
	size_t n, first;
	int err;

	names = mem_zalloc(MAX_FILES * NAME_SZ, NULL);
	if (!names)
		return ENOMEM;

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


static void class_destructor(void *arg)
{
	struct stream_class *c = arg;

	list_unlink(&c->le);
	mem_deref(c->feed);
}


/* Classes nobody hears any more let go of their feed (and its sounds):
 * the next listener starts the class afresh, from its first file, read
 * again from disk if it changed. */
static void prune(void)
{
	struct le *le = list_head(&classes);

	while (le) {
		struct stream_class *c = le->data;

		le = le->next;
		if (mem_nrefs(c->feed) == 1)
			mem_deref(c);
	}
}


/* The feed of the class in @a dir, made on first use. */
static int class_feed(struct feed **fp, const char *dir, const char *cls,
		      char *errbuf, size_t errsz)
{
	struct stream_class *c;
	struct player *p = NULL;
	struct le *le;
	int err;

	prune();
	for (le = list_head(&classes); le; le = le->next) {
		c = le->data;
		if (0 == strcmp(c->path, dir)) {
			*fp = c->feed;
			return 0;
		}
	}

	c = mem_zalloc(sizeof(*c), class_destructor);
	if (!c)
		return ENOMEM;

	str_ncpy(c->path, dir, sizeof(c->path));
	err = files_player(&p, dir, cls, false, errbuf, errsz);
	if (!err)
		err = feed_alloc(&c->feed, p);
	mem_deref(p);
	if (err) {
		mem_deref(c);
		return err;
	}

	list_append(&classes, &c->le, c);
	*fp = c->feed;

	return 0;
}


/**
 * A looped player of every file of class @a cls, in name order.
 * MOH_STREAM: a live player of the class's one stream, shared by every
 * caller who hears it (they join mid-stream); MOH_FILES: the caller's own
 * playback from the first file; MOH_RANDOM: its own from a random file,
 * so that callers on hold do not all hear the same bar.  On error
 * @a errbuf says why.
 */
int moh_player(struct player **pp, const char *sounds_dir, const char *cls,
	       enum moh_mode mode, char *errbuf, size_t errsz)
{
	char dir[PATH_SZ];
	struct feed *f;
	int err;

	if (!pp || !sounds_dir)
		return EINVAL;
	if (!moh_class_ok(cls)) {
		re_snprintf(errbuf, errsz, "'%s' is not a class name", cls);
		return EINVAL;
	}

	re_snprintf(dir, sizeof(dir), "%s/moh/%s", sounds_dir, cls);
	if (mode != MOH_STREAM)
		return files_player(pp, dir, cls, mode == MOH_RANDOM,
				    errbuf, errsz);

	err = class_feed(&f, dir, cls, errbuf, errsz);

	return err ? err : player_alloc_feed(pp, f);
}


/** The classes' streams let go (at shutdown; a test's end). */
void moh_close(void)
{
	struct le *le;

	while ((le = list_head(&classes)))
		mem_deref(le->data);
}


/** The streams playing now (classes someone hears or holds). */
uint32_t moh_streams(void)
{
	return list_count(&classes);
}
