/**
 * @file leg_dialog.c  Which SIP dialog a leg is: its Call-ID and tags, as
 * an INVITE with Replaces (RFC 3891) names it and a dialog-info document
 * (RFC 4235, BLF) shows it, and who is at the other end of it.
 *
 * libre keeps the tags inside its dialog and gives no accessor for them,
 * so they are read from the messages as they pass: an incoming leg's
 * INVITE (the phone's tag) and ACK (ours, in its To), a dialled leg's
 * responses (ours in From, the phone's in To).
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "call/leg.h"
#include "call/leg_priv.h"


static int set_pl(char **dst, const struct pl *pl)
{
	if (*dst || !pl_isset(pl))
		return 0;

	return pl_strdup(dst, pl);
}


/** An incoming INVITE: its Call-ID, the phone's tag, what it dialled. */
int legdlg_incoming(struct leg *leg, const struct sip_msg *invite)
{
	int err;

	err  = set_pl(&leg->callid, &invite->callid);
	err |= set_pl(&leg->rtag, &invite->from.tag);
	err |= set_pl(&leg->far_num, &invite->uri.user);

	return err;
}


/** A leg we dial: its Call-ID, and whom its phone sees calling. */
int legdlg_outgoing(struct leg *leg, const struct leg_dial *d)
{
	const struct sip_dialog *dlg = sipsess_dialog(leg->sess);
	int err = 0;

	if (dlg && sip_dialog_callid(dlg))
		err |= str_dup(&leg->callid, sip_dialog_callid(dlg));
	if (d->from_num)
		err |= str_dup(&leg->far_num, d->from_num);
	if (d->from_name)
		err |= str_dup(&leg->far_name, d->from_name);

	return err;
}


/** A message of the leg's dialog that carries both tags: a response to
 *  our INVITE (dialled legs), the ACK of our 200 (incoming legs). */
void legdlg_learn(struct leg *leg, const struct sip_msg *msg)
{
	if (!msg)
		return;

	if (leg->inbound) {
		if (msg->req)
			(void)set_pl(&leg->ltag, &msg->to.tag);
		return;
	}

	if (msg->req)
		return;
	(void)set_pl(&leg->ltag, &msg->from.tag);
	(void)set_pl(&leg->rtag, &msg->to.tag);
}


void leg_dialog_id(const struct leg *leg, struct leg_dialog_id *id)
{
	if (!id)
		return;

	id->callid = leg ? leg->callid : NULL;
	id->ltag = leg ? leg->ltag : NULL;
	id->rtag = leg ? leg->rtag : NULL;
}


const char *leg_far_num(const struct leg *leg)
{
	return leg ? leg->far_num : NULL;
}


const char *leg_far_name(const struct leg *leg)
{
	return leg ? leg->far_name : NULL;
}


static bool tags_match(const struct leg *leg, const struct pl *callid,
		       const struct pl *ltag, const struct pl *rtag)
{
	return leg->callid && 0 == pl_strcmp(callid, leg->callid) &&
		leg->ltag && 0 == pl_strcmp(ltag, leg->ltag) &&
		leg->rtag && 0 == pl_strcmp(rtag, leg->rtag);
}


/*
 * The dialog named by Replaces (RFC 3891): its Call-ID and tags, in
 * either order (phones differ on which tag is whose).  libre's dialog
 * answers for an established one; an early dialog of a leg we dialled
 * (a phone ringing: what a BLF key picks up) is matched on the tags its
 * 18x showed.
 */
bool leg_matches_dialog(const struct leg *leg, const struct pl *callid,
			const struct pl *tag1, const struct pl *tag2)
{
	const struct sip_dialog *dlg;
	struct sip_msg m;

	if (!leg || leg->closed)
		return false;

	if (tags_match(leg, callid, tag1, tag2) ||
	    tags_match(leg, callid, tag2, tag1))
		return true;

	dlg = leg->sess ? sipsess_dialog(leg->sess) : NULL;
	if (!dlg)
		return false;

	memset(&m, 0, sizeof(m));
	m.req = true;
	m.callid = *callid;
	m.from.tag = *tag1;
	m.to.tag = *tag2;
	if (sip_dialog_cmp(dlg, &m))
		return true;

	m.from.tag = *tag2;
	m.to.tag = *tag1;

	return sip_dialog_cmp(dlg, &m);
}
