/**
 * @file moh.h  Music on hold: a class is a folder of sound files
 * (<sounds>/moh/<class>/, its .wav and .gsm files), played in a loop in
 * name order.
 */

struct player;

int moh_player(struct player **pp, const char *sounds_dir, const char *cls,
	       bool random, char *errbuf, size_t errsz);
bool moh_class_ok(const char *cls);
