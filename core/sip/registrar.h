/**
 * @file registrar.h  The location service: where each endpoint can be
 * reached (RFC 3261 section 10), fed by REGISTER.
 *
 * Bindings outlive configuration reloads: they are keyed by endpoint name,
 * and an endpoint removed by a reload has its bindings dropped explicitly.
 * With a store (registrar_set_store) they outlive restarts too
 * (core/sip/regstore.c).
 */

struct registrar;
struct sip;
struct sip_msg;
struct store;

/** One registered contact of an endpoint. */
struct contact {
	struct le le;
	char *uri;             /**< Contact URI as registered     */
	struct sa src;         /**< where the REGISTER came from  */
	enum sip_transp tp;
	char *callid;
	uint32_t cseq;
	uint64_t expires;      /**< absolute, tmr_jiffies() ms    */
	struct tmr tmr;
	struct aor *aor;
};

struct registrar_conf {
	uint32_t min_expires;  /**< below: 423 Interval Too Brief  */
	uint32_t max_expires;  /**< above: clamped                 */
	uint32_t max_contacts; /**< per endpoint                   */
};

int  registrar_alloc(struct registrar **regp, struct sip *sip,
		     const struct registrar_conf *conf);
int  registrar_handle(struct registrar *reg, const struct sip_msg *msg,
		      const char *name);
const struct list *registrar_contacts(const struct registrar *reg,
				      const char *name);
void registrar_remove(struct registrar *reg, const char *name);
uint32_t registrar_count(const struct registrar *reg);
typedef bool (registrar_apply_h)(const char *name, const struct list *contacts,
				 void *arg);
void registrar_apply(const struct registrar *reg, registrar_apply_h *h,
		     void *arg);
typedef void (registrar_bound_h)(const char *name, void *arg);
void registrar_set_bound_handler(struct registrar *reg, registrar_bound_h *h,
				 void *arg);
typedef bool (registrar_keep_h)(const char *name, void *arg);
int  registrar_set_store(struct registrar *reg, struct store *st);
uint32_t registrar_restore(struct registrar *reg, registrar_keep_h *keeph,
			   void *arg);
