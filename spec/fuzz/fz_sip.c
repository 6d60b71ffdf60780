/**
 * @file fz_sip.c  Fuzz target: a SIP datagram as the PBX takes it.  The
 * raw fallback (core/sip/sipraw.c: the branch added to an RFC 2543 Via,
 * the answer built from a request's own lines), libre's parser, the
 * request checks (reqcheck), digest verification (auth, both headers),
 * the registrar's Contact handling, and the security log's quoting of
 * what a request says.
 */
#include <string.h>
#include "fuzz.h"
#include "security/seclog.h"
#include "sip/auth.h"
#include "sip/registrar.h"
#include "sip/reqcheck.h"
#include "sip/sipraw.h"

static struct auth *auth;
static struct sip *sip;
static struct registrar *reg;


static const char *secret_of(const struct pl *user, void *arg)
{
	(void)arg;
	return 0 == pl_strcmp(user, "alice") ? "alicepw" : NULL;
}


static void setup(void)
{
	struct registrar_conf rc = { 60, 3600, 10 };

	if (auth)
		return;
	fuzz_once();
	(void)auth_alloc(&auth, "lunapbx", 300);
	/* no transport: every answer fails to go out, the paths still run */
	(void)sip_alloc(&sip, NULL, 16, 16, 16, "fuzz", NULL, NULL);
	(void)registrar_alloc(&reg, sip, &rc);
}


static void parsed(const struct sip_msg *msg)
{
	struct auth_info info;
	struct reqcheck rc;
	char q[200];

	if (!msg->req)
		return;

	if (!reqcheck_request(msg, &rc))
		return;

	(void)auth_verify(auth, msg, false, secret_of, NULL, &info);
	(void)seclog_quote(q, sizeof(q), &info.user);
	(void)auth_verify(auth, msg, true, secret_of, NULL, &info);
	(void)auth_uri_match(&msg->ruri, &msg->to.auri);

	if (0 == pl_strcmp(&msg->met, "REGISTER")) {
		(void)registrar_handle(reg, msg, "alice");
		registrar_remove(reg, "alice");
	}
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb, *fixed = NULL, *out;
	char note[96];

	setup();

	if (0 == sipraw_add_branch(data, size, &fixed, note, sizeof(note))) {
		if (0 == sip_msg_decode(&msg, fixed))
			parsed(msg);
		msg = mem_deref(msg);
	}
	mem_deref(fixed);

	out = mbuf_alloc(512);
	if (out)
		(void)sipraw_reply(out, data, size, "lunapbx");
	mem_deref(out);

	mb = fuzz_mbuf(data, size);
	if (mb && 0 == sip_msg_decode(&msg, mb))
		parsed(msg);
	mem_deref(msg);
	mem_deref(mb);

	return 0;
}
