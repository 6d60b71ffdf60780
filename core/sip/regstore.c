/**
 * @file regstore.c  Registrar bindings in the store (see regstore.h).
 */
#include <string.h>
#include <re.h>
#include "sip/registrar.h"
#include "sip/regstore.h"
#include "store/store.h"

static const char * const schema[] = {
	/* 1 */
	"CREATE TABLE registrations ("
	" aor TEXT NOT NULL, uri TEXT NOT NULL, src TEXT NOT NULL,"
	" transport INTEGER NOT NULL, callid TEXT, cseq INTEGER,"
	" expires INTEGER NOT NULL, PRIMARY KEY (aor, uri))",
};


int regstore_open(struct store *st)
{
	return store_migrate(st, "registrar", schema, ARRAY_SIZE(schema));
}


/** The binding as it is now (a new row, or a refresh of its row). */
int regstore_put(struct store *st, const char *aor, const struct contact *c,
		 uint64_t expires_unix)
{
	char src[64];
	int err;

	if (!st || !aor || !c)
		return EINVAL;

	if (re_snprintf(src, sizeof(src), "%J", &c->src) < 0)
		return EINVAL;

	err = store_exec(st, "DELETE FROM registrations WHERE aor = ? AND"
			 " uri = ?", "ss", aor, c->uri);
	if (!err)
		err = store_exec(st, "INSERT INTO registrations (aor, uri, src,"
				 " transport, callid, cseq, expires) VALUES"
				 " (?, ?, ?, ?, ?, ?, ?)", "sssisii", aor,
				 c->uri, src, (int64_t)c->tp, c->callid,
				 (int64_t)c->cseq, (int64_t)expires_unix);
	return err;
}


int regstore_del(struct store *st, const char *aor, const char *uri)
{
	if (!st || !aor || !uri)
		return EINVAL;

	return store_exec(st, "DELETE FROM registrations WHERE aor = ? AND"
			  " uri = ?", "ss", aor, uri);
}


int regstore_del_aor(struct store *st, const char *aor)
{
	if (!st || !aor)
		return EINVAL;

	return store_exec(st, "DELETE FROM registrations WHERE aor = ?", "s",
			  aor);
}


struct load_ctx {
	regstore_row_h *h;
	void *arg;
};


static bool load_row(const struct store_row *row, void *arg)
{
	struct load_ctx *ctx = arg;
	struct regrow r;

	r.aor     = store_row_text(row, 0);
	r.uri     = store_row_text(row, 1);
	r.src     = store_row_text(row, 2);
	r.tp      = (int)store_row_int(row, 3);
	r.callid  = store_row_text(row, 4);
	r.cseq    = (uint32_t)store_row_int(row, 5);
	r.expires = (uint64_t)store_row_int(row, 6);
	if (!r.aor || !r.uri || !r.src)
		return false;

	return ctx->h(&r, ctx->arg);
}


/** The bindings still valid at @a now_unix; the others are deleted. */
int regstore_load(struct store *st, uint64_t now_unix, regstore_row_h *h,
		  void *arg)
{
	struct load_ctx ctx = { h, arg };
	int err;

	if (!st || !h)
		return EINVAL;

	err = store_exec(st, "DELETE FROM registrations WHERE expires <= ?",
			 "i", (int64_t)now_unix);
	if (!err)
		err = store_query(st, load_row, &ctx, "SELECT aor, uri, src,"
				  " transport, callid, cseq, expires FROM"
				  " registrations ORDER BY aor, uri", NULL);
	return err;
}
