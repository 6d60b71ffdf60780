/**
 * @file callimit.h  Concurrent calls, counted by tokens: all together and
 * per key (an endpoint's name: Asterisk's call-limit).
 *
 * A call takes a token when it starts and holds it; the token's
 * destructor gives its slots back, however the call ends.  Tokens keep
 * their counter alive, so a counter may be replaced (reload) while calls
 * hold tokens of the old one.
 */

struct climit;
struct climit_tok;

int  climit_alloc(struct climit **clp);
int  climit_take(struct climit *cl, const char *key, uint32_t key_max,
		 uint32_t total_max, struct climit_tok **tokp);
uint32_t climit_total(const struct climit *cl);
uint32_t climit_count(const struct climit *cl, const char *key);
