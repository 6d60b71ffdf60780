/**
 * @file endpoint.h  Endpoints: the phones and peers allowed to register and
 * call (Asterisk's sip.conf peers).  The configuration builds a fresh table
 * on every (re)load; the table in force is swapped in one step.
 */

struct acl;

struct endpoint {
	struct le he;         /**< in the table's hash             */
	char *name;           /**< user name, also the AOR         */
	char *secret;
	char *context;        /**< dialplan context of its calls   */
	char *cid_name;       /**< caller id shown to callees      */
	char *cid_num;
	uint32_t codecs;      /**< CODEC_MASK() bits it may use    */
	uint8_t codec_order[4]; /**< preference, CODEC_NONE ends   */
	uint8_t dtmf;         /**< enum dtmf_mode: how it sends DTMF */
	struct acl *acl;      /**< permit/deny; NULL: any address   */
	uint32_t call_limit;  /**< concurrent calls; 0 = no limit   */
	char *moh;            /**< class its held parties hear; NULL: default */
	bool no_transfer;     /**< allow_transfer = false: REFER, keys refused */
	bool hold_passthrough;  /**< its holds go on to the far phone   */
	char *callgroup;      /**< groups whose members may pick up its
				   ringing calls: "1,3,sales"; NULL: none */
	char *pickupgroup;    /**< groups whose ringing calls it may pick
				   up (Asterisk's callgroup, pickupgroup,
				   namedcallgroup, namedpickupgroup)      */
};

struct endpoint_table;

int  endpoint_alloc(struct endpoint **epp, const char *name);
int  endpoint_table_alloc(struct endpoint_table **tp);
int  endpoint_table_add(struct endpoint_table *t, struct endpoint *ep);
struct endpoint *endpoint_table_find(const struct endpoint_table *t,
				     const struct pl *name);
struct endpoint *endpoint_table_find_str(const struct endpoint_table *t,
					 const char *name);
uint32_t endpoint_table_count(const struct endpoint_table *t);
typedef bool (endpoint_apply_h)(struct endpoint *ep, void *arg);
struct endpoint *endpoint_table_apply(const struct endpoint_table *t,
				      endpoint_apply_h *h, void *arg);
