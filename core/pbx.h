/**
 * @file pbx.h  The PBX instance: what the modules share.
 *
 * One instance per process; everything runs on libre's single event loop,
 * so none of it needs locking.
 */

struct acl;
struct auth;
struct blf;
struct console;
struct capture;
struct endpoint_table;
struct luart;
struct registrar;
struct sipstack;
struct store;
struct trunks;
struct vmbox;
struct cdr;
struct mwi;
struct httpd;

/** The HTTP server (events, commands, metrics): off while addr is unset. */
enum { PBX_HTTP_TOKENS = 8 };
struct pbx_http {
	struct sa addr;            /**< listen address; unset: no server */
	char cert[256];            /**< PEM certificate and key: HTTPS   */
	struct {
		char name[32];     /**< who it is, for the log           */
		char secret[128];
	} tokens[PBX_HTTP_TOKENS];
	uint32_t queue_kb;         /**< what a WebSocket client may lag  */
};

/** pbx.settings { security = { ... } } (README, Security). */
struct sec_settings {
	uint32_t fail_limit;       /**< failed auths from one source ...  */
	uint32_t fail_window;      /**< ... within these seconds: a ban   */
	uint32_t ban_time;         /**< seconds; fail_limit 0 = no bans   */
	uint32_t rate;             /**< new requests/s per source; 0 = any */
	uint32_t burst;            /**< at once; 0 = 2 x rate             */
	uint32_t max_calls;        /**< concurrent calls; 0 = no limit    */
	char log[256];             /**< security log ("" = none), relative
				        to the state folder               */
};

struct pbx_settings {
	char realm[64];
	struct sa sip_addr;        /**< UDP and TCP listen address   */
	struct sa media_addr;      /**< RTP address put in SDP       */
	uint16_t rtp_min, rtp_max;
	char guest_context[64];    /**< "" = unauthenticated calls refused */
	char user_agent[64];
	char sounds_dir[256];      /**< "" = <lua dir>/../sounds      */
	uint32_t lua_mem_mb;       /**< cap on the Lua state           */
	uint32_t call_mem_mb;      /**< cap on one call's share; 0 = none */
	bool reload_on_change;     /**< watch the config's folder      */
	uint32_t rtp_timeout;      /**< s without RTP: hung up; 0 = never */
	uint32_t rtp_hold_timeout; /**< the same while the phone holds  */
	uint32_t session_expires;  /**< session timers, s; 0 = none     */
	uint32_t session_min_se;   /**< the least we take (422 below)   */
	bool cdr_csv;              /**< records also in <state>/cdr-csv/Master.csv */
	int moh_mode;              /**< enum moh_mode: stream, files, random */
	struct pbx_http http;
	struct sec_settings sec;
};

struct pbx {
	struct pbx_settings set;
	struct sipstack *stack;
	struct registrar *registrar;
	struct auth *auth;
	struct endpoint_table *endpoints;   /**< the table in force     */
	struct acl *guest_acl;              /**< guest context's permit/deny */
	struct acl *sec_trusted;            /**< never banned nor limited */
	struct trunks *trunks;              /**< registrations, peers   */
	struct luart *lua;
	struct console *console;            /**< lunapbx -r             */
	struct capture *capture;            /**< pcap capture (off: no file) */
	struct store *store;                /**< <state>/lunapbx.db      */
	struct vmbox *vmbox;                /**< voicemail messages      */
	struct mwi *mwi;                    /**< message-waiting NOTIFYs */
	struct httpd *http;                 /**< events, commands, metrics */
	struct blf *blf;                    /**< busy lamps (dialog events) */
	struct cdr *cdr;                    /**< call records            */
	char *config_path;
	char *state_dir;
	char *lib_dir;                      /**< lua/ of the PBX        */
	bool verbose;                       /**< -v: debug whatever the
					         config's log_level says */
};


const char *pbx_sounds_dir(const struct pbx *pbx, char *buf, size_t sz);
const char *pbx_recordings_dir(const struct pbx *pbx, char *buf, size_t sz);
