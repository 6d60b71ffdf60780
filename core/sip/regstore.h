/**
 * @file regstore.h  Registrations kept across restarts (Asterisk keeps
 * them in its astdb): each binding of the registrar is a row of the
 * store (core/store/), written before the 200 OK goes out, removed when
 * it expires or is unregistered.  At start the bindings still valid come
 * back, so phones are reachable at once, before they register again.
 */

struct store;
struct contact;

/** One binding as stored. */
struct regrow {
	const char *aor;
	const char *uri;
	const char *src;      /**< "ip:port" it registered from */
	int tp;               /**< enum sip_transp               */
	const char *callid;
	uint32_t cseq;
	uint64_t expires;     /**< absolute, seconds since 1970  */
};

typedef bool (regstore_row_h)(const struct regrow *row, void *arg);

int  regstore_open(struct store *st);
int  regstore_put(struct store *st, const char *aor, const struct contact *c,
		  uint64_t expires_unix);
int  regstore_del(struct store *st, const char *aor, const char *uri);
int  regstore_del_aor(struct store *st, const char *aor);
int  regstore_load(struct store *st, uint64_t now_unix, regstore_row_h *h,
		   void *arg);
