/**
 * @file regstore.c  Spec of registrations kept across restarts
 * (core/sip/regstore.c, registrar_set_store/registrar_restore): a REGISTER
 * is in the store when the registrar is done with it, a new registrar on
 * the same database gets the bindings back (not the expired ones, not
 * those of endpoints that are gone), unregistering removes them, and
 * every allocation failing (SQLite's included) leaves no leak.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "sip/registrar.h"
#include "sip/regstore.h"
#include "store/store.h"
#include "tap.h"
#include "reloop.h"


static char dir[64], dbpath[96];
static struct sip *sip;


static int request(struct sip_msg **msgp, const char *user,
		   const char *contacts, uint32_t cseq)
{
	struct mbuf *mb = mbuf_alloc(1024);
	int err;

	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "REGISTER sip:pbx.test SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%u\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:%s@pbx.test>;tag=1\r\n"
			  "To: <sip:%s@pbx.test>\r\n"
			  "Call-ID: reg-%s\r\n"
			  "CSeq: %u REGISTER\r\n"
			  "%s"
			  "Content-Length: 0\r\n\r\n", cseq, user, user, user,
			  cseq, contacts);
	mb->pos = 0;
	if (!err)
		err = sip_msg_decode(msgp, mb);
	if (!err) {       /* where it came from, as the transport says */
		(void)sa_set_str(&(*msgp)->src, "192.0.2.10", 5060);
		(*msgp)->tp = SIP_TRANSP_UDP;
	}
	mem_deref(mb);
	return err;
}


/* registrar_handle's answer cannot go out (no transport): its binding
 * work is done all the same. */
static void handle(struct registrar *reg, const char *user,
		   const char *contacts, uint32_t cseq)
{
	struct sip_msg *msg = NULL;

	if (request(&msg, user, contacts, cseq))
		return;
	(void)registrar_handle(reg, msg, user);
	mem_deref(msg);
}


static bool count_row(const struct store_row *row, void *arg)
{
	(void)row;
	++*(unsigned *)arg;
	return false;
}


static unsigned rows(struct store *st)
{
	unsigned n = 0;

	(void)store_query(st, count_row, &n, "SELECT aor FROM registrations",
			  NULL);
	return n;
}


static bool keep_not_carol(const char *name, void *arg)
{
	(void)arg;
	return strcmp(name, "carol") != 0;
}


static uint32_t contacts_of(struct registrar *reg, const char *name)
{
	return list_count(registrar_contacts(reg, name));
}


static void test_roundtrip(void)
{
	struct registrar_conf rc = { 60, 3600, 10 };
	struct registrar *reg = NULL, *again = NULL;
	struct store *st = NULL;
	const struct contact *c;

	(void)store_open(&st, dbpath);
	(void)registrar_alloc(&reg, sip, &rc);
	is_int(registrar_set_store(reg, st), 0, "the registrar keeps its"
	       " bindings in the store");

	handle(reg, "alice", "Contact: <sip:alice@192.0.2.10:5060>\r\n"
	       "Contact: <sip:alice@192.0.2.11:5062>;expires=120\r\n", 1);
	handle(reg, "bob", "Contact: <sip:bob@192.0.2.20>\r\n", 1);
	handle(reg, "carol", "Contact: <sip:carol@192.0.2.30>\r\n", 1);
	is_int(rows(st), 4, "4 bindings, 4 rows");
	handle(reg, "bob", "Contact: <sip:bob@192.0.2.20>\r\n"
	       "Expires: 0\r\n", 2);
	is_int(rows(st), 3, "bob unregistered: his row goes");
	handle(reg, "alice", "Contact: <sip:alice@192.0.2.10:5060>\r\n", 2);
	is_int(rows(st), 3, "alice's refresh: no row more");

	/* a restart: a new registrar on the same database */
	reg = mem_deref(reg);
	(void)registrar_alloc(&again, sip, &rc);
	(void)registrar_set_store(again, st);
	is_int(registrar_restore(again, keep_not_carol, NULL), 2,
	       "a new registrar gets alice's 2 bindings back");
	is_int(contacts_of(again, "alice"), 2, "  both of alice's contacts");
	is_int(contacts_of(again, "carol"), 0, "  not carol's (gone from the"
	       " configuration)");
	is_int(rows(st), 2, "  and carol's row is dropped");
	c = list_head(registrar_contacts(again, "alice"))->data;
	ok(c && 0 == strcmp(c->uri, "sip:alice@192.0.2.10:5060") &&
	   c->cseq == 2 && c->tp == SIP_TRANSP_UDP &&
	   0 == strcmp(c->callid, "reg-alice"),
	   "  the contact as it was: URI, transport, Call-ID, CSeq");
	ok(c && c->expires > tmr_jiffies() + 3590 * 1000ULL &&
	   c->expires <= tmr_jiffies() + 3600 * 1000ULL,
	   "  expiring when it would have (3600 s)");
	is_int(registrar_count(again), 2, "  counted");

	/* an expired row does not come back */
	(void)store_exec(st, "UPDATE registrations SET expires = ? WHERE uri"
			 " LIKE '%192.0.2.11%'", "i", (int64_t)time(NULL) - 1);
	again = mem_deref(again);
	(void)registrar_alloc(&again, sip, &rc);
	(void)registrar_set_store(again, st);
	is_int(registrar_restore(again, NULL, NULL), 1,
	       "an expired binding is not restored");
	is_int(rows(st), 1, "  and its row is gone");

	handle(again, "alice", "Contact: *\r\nExpires: 0\r\n", 3);
	is_int(rows(st), 0, "Contact: * removes every row of alice");

	mem_deref(again);
	mem_deref(st);
}


/* The store is opened and closed by each run: what SQLite keeps in its
 * caches goes with it, so a leak is a leak. */
static int op_register(void *arg)
{
	struct registrar_conf rc = { 60, 3600, 10 };
	struct registrar *reg = NULL;
	struct sip_msg *msg = NULL;
	struct store *st = NULL;
	int err;
	(void)arg;

	err = store_open(&st, dbpath);
	if (!err)
		err = registrar_alloc(&reg, sip, &rc);
	if (!err)
		err = registrar_set_store(reg, st);
	if (!err)
		err = request(&msg, "dave", "Contact: <sip:dave@192.0.2.40>\r\n",
			      1);
	if (!err)
		(void)registrar_handle(reg, msg, "dave");
	if (!err && !contacts_of(reg, "dave"))
		err = ENOMEM;
	mem_deref(msg);
	mem_deref(reg);
	(void)store_exec(st, "DELETE FROM registrations", NULL);
	mem_deref(st);
	return err;
}


int main(void)
{
	struct leakcheck lc;

	if (reloop_init())
		return 255;
	str_ncpy(dir, "/tmp/lunapbx-regstore-XXXXXX", sizeof(dir));
	if (!mkdtemp(dir))
		return 255;
	re_snprintf(dbpath, sizeof(dbpath), "%s/lunapbx.db", dir);
	(void)sip_alloc(&sip, NULL, 16, 16, 16, "spec", NULL, NULL);

	{       /* SQLite and the timer heap set up what they keep for good */
		struct store *st = NULL;
		(void)store_open(&st, dbpath);
		(void)regstore_open(st);
		mem_deref(st);
		test_roundtrip();
	}
	unlink(dbpath);

	leak_begin(&lc);
	test_roundtrip();
	leak_end(&lc, "bindings kept, restored, removed");

	(void)op_register(NULL);
	alloc_fail_each("a REGISTER kept in the store", op_register, NULL);

	mem_deref(sip);
	libre_close();
	{
		char cmd[128];
		re_snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)system(cmd);
	}

	return done_testing();
}
