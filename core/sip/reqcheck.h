/**
 * @file reqcheck.h  What every request must be before the PBX acts on it
 * (RFC 3261 8.2, and the torture cases of RFC 4475).
 */

struct sip_msg;

struct reqcheck {
	uint16_t scode;      /**< 0 = the request may go on         */
	const char *reason;
	char hdrs[256];      /**< extra header lines of the answer   */
};

bool reqcheck_request(const struct sip_msg *msg, struct reqcheck *rc);
