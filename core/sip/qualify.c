/**
 * @file qualify.c  OPTIONS keep-alives and the reachability they measure.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "sip/qualify.h"

static const char *state_names[] = {"unknown", "reachable", "lagged",
				    "unreachable"};

struct qualify {
	struct sip *sip;
	char *from_uri;
	struct hash *probes;
	uint32_t count;
};

struct probe {
	struct le he;
	struct qualify *q;
	char *uri;
	char *owner;             /* for the log                    */
	struct sip_dialog *dlg;  /* one Call-ID, CSeq goes up      */
	struct sip_request *req;
	uint32_t maxms, freq_s;
	enum qualify_state state;
	uint32_t rtt_ms;
	uint64_t sent_at;
	struct tmr tmr;          /* next probe, or "no answer"     */
	bool wanted;
};


static void probe_destructor(void *arg)
{
	struct probe *p = arg;

	tmr_cancel(&p->tmr);
	hash_unlink(&p->he);
	if (p->q)
		--p->q->count;
	mem_deref(p->req);       /* no callback after this */
	mem_deref(p->dlg);
	mem_deref(p->uri);
	mem_deref(p->owner);
}


static void destructor(void *arg)
{
	struct qualify *q = arg;

	hash_flush(q->probes);
	mem_deref(q->probes);
	mem_deref(q->from_uri);
}


int qualify_alloc(struct qualify **qp, struct sip *sip, const char *from_uri)
{
	struct qualify *q;
	int err;

	if (!qp || !sip || !from_uri)
		return EINVAL;

	q = mem_zalloc(sizeof(*q), destructor);
	if (!q)
		return ENOMEM;

	q->sip = sip;
	err = str_dup(&q->from_uri, from_uri);
	if (!err)
		err = hash_alloc(&q->probes, 64);

	if (err)
		mem_deref(q);
	else
		*qp = q;

	return err;
}


static void set_state(struct probe *p, enum qualify_state st, uint32_t rtt,
		      int err)
{
	enum qualify_state old = p->state;

	p->state = st;
	p->rtt_ms = rtt;
	if (st == old)
		return;

	if (st == QUALIFY_UNREACHABLE && err)
		log_warn("qualify: %s (%s) is unreachable (%m)", p->owner,
			 p->uri, err);
	else if (st == QUALIFY_UNREACHABLE)
		log_warn("qualify: %s (%s) is unreachable (no answer in"
			 " %u ms)", p->owner, p->uri, 2 * p->maxms);
	else
		log_info("qualify: %s (%s) is %s (%u ms)", p->owner, p->uri,
			 state_names[st], rtt);
}


static void send_probe(void *arg);


static void schedule(struct probe *p)
{
	uint32_t s = p->freq_s;

	if (p->state == QUALIFY_UNREACHABLE && s > QUALIFY_NOTOK_FREQ)
		s = QUALIFY_NOTOK_FREQ;

	tmr_start(&p->tmr, s * 1000ULL, send_probe, p);
}


static void no_answer(void *arg)
{
	struct probe *p = arg;

	p->req = mem_deref(p->req);
	set_state(p, QUALIFY_UNREACHABLE, 0, 0);
	schedule(p);
}


static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct probe *p = arg;
	uint32_t rtt = (uint32_t)(tmr_jiffies() - p->sent_at);

	if (!err && msg && msg->scode < 200)
		return;

	p->req = NULL;
	if (err) {
		set_state(p, QUALIFY_UNREACHABLE, 0, err);
	}
	else {
		set_state(p, rtt <= p->maxms ? QUALIFY_REACHABLE
			  : QUALIFY_LAGGED, rtt, 0);
	}
	schedule(p);
}


static void send_probe(void *arg)
{
	struct probe *p = arg;
	int err = 0;

	p->req = mem_deref(p->req);
	if (!p->dlg)
		err = sip_dialog_alloc(&p->dlg, p->uri, p->uri, NULL,
				       p->q->from_uri, NULL, 0);
	if (!err)
		err = sip_drequestf(&p->req, p->q->sip, true, "OPTIONS",
				    p->dlg, 0, NULL, NULL, resp_handler, p,
				    "Accept: application/sdp\r\n"
				    "Content-Length: 0\r\n\r\n");
	if (err) {
		set_state(p, QUALIFY_UNREACHABLE, 0, err);
		schedule(p);
		return;
	}

	p->sent_at = tmr_jiffies();
	tmr_start(&p->tmr, 2ULL * p->maxms, no_answer, p);
}


static bool uri_cmp(struct le *le, void *arg)
{
	const struct probe *p = le->data;

	return 0 == strcmp(p->uri, arg);
}


static struct probe *probe_find(const struct qualify *q, const char *uri)
{
	struct le *le;

	if (!q || !uri)
		return NULL;

	le = hash_lookup(q->probes, hash_joaat_str(uri), uri_cmp,
			 (void *)uri);

	return le ? le->data : NULL;
}


static bool unmark(struct le *le, void *arg)
{
	struct probe *p = le->data;
	(void)arg;

	p->wanted = false;
	return false;
}


/** A sweep begins: every probe is unwanted until qualify_want() again. */
void qualify_mark(struct qualify *q)
{
	if (q)
		(void)hash_apply(q->probes, unmark, NULL);
}


/** Keep (or start) probing @a uri; the first probe goes at once. */
int qualify_want(struct qualify *q, const char *uri, const char *owner,
		 uint32_t maxms, uint32_t freq_s)
{
	struct probe *p;
	int err;

	if (!q || !uri || !owner)
		return EINVAL;

	p = probe_find(q, uri);
	if (p) {
		p->wanted = true;
		p->maxms = maxms ? maxms : QUALIFY_DEFAULT_MS;
		if (freq_s && freq_s != p->freq_s && !p->req) {
			p->freq_s = freq_s;
			schedule(p);
		}
		return 0;
	}

	p = mem_zalloc(sizeof(*p), probe_destructor);
	if (!p)
		return ENOMEM;

	p->q = q;
	p->wanted = true;
	p->maxms = maxms ? maxms : QUALIFY_DEFAULT_MS;
	p->freq_s = freq_s ? freq_s : QUALIFY_DEFAULT_FREQ;
	tmr_init(&p->tmr);
	err  = str_dup(&p->uri, uri);
	err |= str_dup(&p->owner, owner);
	if (err) {
		mem_deref(p);
		return err;
	}

	hash_append(q->probes, hash_joaat_str(uri), &p->he, p);
	++q->count;
	tmr_start(&p->tmr, 0, send_probe, p);

	return 0;
}


static bool drop_unwanted(struct le *le, void *arg)
{
	struct probe *p = le->data;
	(void)arg;

	if (!p->wanted) {
		log_debug("qualify: %s (%s): no longer probed", p->owner,
			  p->uri);
		mem_deref(p);
		return true;   /* the hash changed: walk it again */
	}
	return false;
}


/** The sweep ends: probes not wanted in it stop. */
void qualify_sweep(struct qualify *q)
{
	if (!q)
		return;

	while (hash_apply(q->probes, drop_unwanted, NULL))
		;
}


enum qualify_state qualify_get(const struct qualify *q, const char *uri,
			       uint32_t *rtt_ms)
{
	const struct probe *p = probe_find(q, uri);

	if (rtt_ms)
		*rtt_ms = p ? p->rtt_ms : 0;

	return p ? p->state : QUALIFY_UNKNOWN;
}


uint32_t qualify_count(const struct qualify *q)
{
	return q ? q->count : 0;
}


const char *qualify_state_name(enum qualify_state st)
{
	return st <= QUALIFY_UNREACHABLE ? state_names[st] : "?";
}
