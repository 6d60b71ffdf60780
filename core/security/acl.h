/**
 * @file acl.h  Address lists: who may use an endpoint or the guest
 * context (Asterisk's permit= and deny=).
 *
 * Rules are prefixes: "192.168.1.0/24", "192.168.1.0/255.255.255.0",
 * "10.0.0.7" (a /32), "2001:db8::/32".  The most specific rule that
 * matches an address decides (a deny wins a tie), so deny 0.0.0.0/0 with
 * permit 192.168.1.0/24 lets that network in, as in Asterisk.  An address
 * no rule matches is refused when the list has a permit rule (permit
 * alone means "only those"), allowed otherwise (deny alone means "all but
 * those").  An empty or absent list allows every address.
 */

struct acl;
struct sa;

int  acl_alloc(struct acl **aclp);
int  acl_add(struct acl *acl, bool permit, const char *rule);
bool acl_allows(const struct acl *acl, const struct sa *addr);
uint32_t acl_count(const struct acl *acl);
