/**
 * @file cdr_field.c  The fields of the record a call is on, as the
 * dialplan sets and reads them (Asterisk's CDR() function), and the
 * words of a record: the names a dialplan may use, the dispositions.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "call/dial.h"
#include "call/call.h"
#include "cdr/cdr.h"
#include "cdr/cdr_priv.h"


static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static void var_destructor(void *arg)
{
	struct cdr_var *v = arg;

	list_unlink(&v->le);
	mem_deref(v->name);
	mem_deref(v->value);
}


/* The record's own fields, which the PBX fills. */
static bool is_fixed(const char *name)
{
	static const char *fixed[] = {
		"start", "answer", "end", "duration", "billsec", "src", "dst",
		"context", "dcontext", "clid", "channel", "dstchannel",
		"disposition", "uniqueid", "linkedid", "sequence", "lastapp",
		"lastdata", "amaflags",
	};

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (0 == str_casecmp(name, fixed[i]))
			return true;
	}

	return false;
}


/** A variable's name: a letter or _, then letters, digits, _ (32 at
 *  most), not one of the record's own fields. */
bool cdr_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > 32 || !(name[0] == '_' || (name[0] >= 'a' &&
						 name[0] <= 'z') ||
			      (name[0] >= 'A' && name[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = name[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}

	return !is_fixed(name);
}


/** Asterisk's disposition of a record that is over. */
const char *cdr_disposition(bool answered, int dial_status, uint16_t code)
{
	if (answered)
		return "ANSWERED";

	switch (dial_status) {

	case DIAL_BUSY:        return "BUSY";
	case DIAL_NOANSWER:
	case DIAL_CANCEL:      return "NO ANSWER";
	case DIAL_CHANUNAVAIL:
	case DIAL_CONGESTION:  return "FAILED";
	default:               break;
	}

	switch (code) {

	case 486:
	case 600:              return "BUSY";
	case 0:                /* the caller hung up first */
	case 408:
	case 480:
	case 487:
	case 603:              return "NO ANSWER";
	default:               return "FAILED";
	}
}


/* The record @a call is on: its caller's last, until it is written. */
static struct cdr_rec *call_rec(const struct cdr *cdr,
				const struct call *call)
{
	return cdr_current(cdr_party_of(cdr, call_leg(call)));
}


static struct cdr_var *var_find(const struct cdr_rec *r, const char *name)
{
	for (struct le *le = list_head(&r->vars); le; le = le->next) {
		struct cdr_var *v = le->data;

		if (0 == strcmp(v->name, name))
			return v;
	}

	return NULL;
}


/**
 * Set a field of the record @a call is on: accountcode, userfield, or a
 * variable of the dialplan's own (@a value NULL removes it).
 *
 * @return 0, ENOENT (no record: written already), EPERM (a field
 *         the PBX fills), EINVAL (a bad name), E2BIG (too many
 *         variables), ENOMEM
 */
int cdr_set(struct cdr *cdr, const struct call *call, const char *name,
	    const char *value)
{
	struct cdr_rec *r;
	char **field = NULL;

	if (!cdr || !call || !name)
		return EINVAL;

	r = call_rec(cdr, call);
	if (!r)
		return ENOENT;

	if (0 == strcmp(name, "accountcode"))
		field = &r->accountcode;
	else if (0 == strcmp(name, "userfield"))
		field = &r->userfield;
	if (field) {
		mem_deref(*field);
		*field = NULL;
		return str_dup(field, value ? value : "");
	}
	if (is_fixed(name))
		return EPERM;
	return cdr_rec_var(r, name, value);
}


/** Set (or with @a value NULL remove) a variable of record @a r. */
int cdr_rec_var(struct cdr_rec *r, const char *name, const char *value)
{
	struct cdr_var *v;

	if (!cdr_name_valid(name))
		return EINVAL;

	v = var_find(r, name);
	if (!value) {
		mem_deref(v);
		return 0;
	}
	if (!v) {
		if (list_count(&r->vars) >= CDR_VAR_MAX)
			return E2BIG;
		v = mem_zalloc(sizeof(*v), var_destructor);
		if (!v || str_dup(&v->name, name)) {
			mem_deref(v);
			return ENOMEM;
		}
		list_append(&r->vars, &v->le, v);
	}
	v->value = mem_deref(v->value);

	return str_dup(&v->value, value);
}


static void put_time(char *buf, size_t sz, uint64_t ms)
{
	if (ms)
		cdrdb_time(buf, sz, ms);
	else
		str_ncpy(buf, "", sz);
}


/**
 * A field of the record @a call is on, as text: the fields of cdr.h's
 * row (duration and billsec so far), or a variable.
 *
 * @return 0, ENOENT (no record, or no such variable), EINVAL
 */
int cdr_get(const struct cdr *cdr, const struct call *call,
	    const char *name, char *buf, size_t sz)
{
	const struct cdr_party *p;
	const struct cdr_rec *r;
	const struct cdr_var *v;
	uint64_t now = wall_ms();
	const char *s = NULL;

	if (!cdr || !call || !name || !buf || !sz)
		return EINVAL;

	p = cdr_party_of(cdr, call_leg(call));
	r = call_rec(cdr, call);
	if (!r)
		return ENOENT;

	if (0 == strcmp(name, "start"))
		put_time(buf, sz, r->start);
	else if (0 == strcmp(name, "answer"))
		put_time(buf, sz, r->answer);
	else if (0 == strcmp(name, "end"))
		put_time(buf, sz, r->end);
	else if (0 == strcmp(name, "duration"))
		re_snprintf(buf, sz, "%llu", ((r->end ? r->end : now) -
					      r->start) / 1000);
	else if (0 == strcmp(name, "billsec"))
		re_snprintf(buf, sz, "%llu", r->answer ?
			    ((r->end ? r->end : now) - r->answer) / 1000 : 0);
	else if (0 == strcmp(name, "src"))          s = r->src;
	else if (0 == strcmp(name, "dst"))          s = r->dst;
	else if (0 == strcmp(name, "context"))      s = r->context;
	else if (0 == strcmp(name, "clid"))         s = r->clid;
	else if (0 == strcmp(name, "channel"))      s = r->channel;
	else if (0 == strcmp(name, "dstchannel"))   s = r->dstchannel;
	else if (0 == strcmp(name, "accountcode"))  s = r->accountcode;
	else if (0 == strcmp(name, "userfield"))    s = r->userfield;
	else if (0 == strcmp(name, "uniqueid"))     s = p->uniqueid;
	else if (0 == strcmp(name, "linkedid"))     s = p->linkedid;
	else if (0 == strcmp(name, "disposition"))
		s = r->disposition ? r->disposition :
			r->answered ? "ANSWERED" : "NO ANSWER";
	else if ((v = var_find(r, name)))
		s = v->value;
	else
		return ENOENT;

	if (s)
		str_ncpy(buf, s, sz);

	return 0;
}
