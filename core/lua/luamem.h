/**
 * @file luamem.h  The Lua state's allocator: a cap on the whole state, and
 * the share of it each call holds.
 *
 * Every block carries, in 8 bytes before it, the account it is charged to:
 * the call whose coroutine allocated it (or last resized it), else account
 * 0, the PBX itself (configuration, console, C side).  Freeing a block
 * credits its account, whoever frees it, so an account holds exactly the
 * live bytes its call allocated.  When a call ends its account closes and
 * what is still alive of it moves to account 0; tags of a closed account
 * are recognised by a sequence number and credit account 0.
 *
 * The caps hold while Lua code runs (enforce, set around each run by
 * runtime.c): there a failed allocation is an error Lua catches.  The C
 * side's own allocations between runs (a traceback, a call object) go
 * through, since a failure outside any protected call would abort the
 * process (Lua's panic).
 */

struct luamem_acct {
	size_t live;
	uint32_t seq;
	bool open;
};

struct luamem {
	size_t used;              /**< bytes Lua holds                  */
	size_t limit;             /**< cap on used                      */
	size_t acct_limit;        /**< cap on a call's share; 0 = none  */
	struct luamem_acct *acct; /**< slot 0 is the PBX's              */
	uint32_t nacct;
	uint32_t cur;             /**< charged for new blocks           */
	bool enforce;             /**< the caps apply (Lua code runs)   */
};

int    luamem_init(struct luamem *m, size_t limit);
void   luamem_close(struct luamem *m);
void  *luamem_alloc(struct luamem *m, void *ptr, size_t osize,
		     size_t nsize);
uint32_t luamem_open(struct luamem *m);
void   luamem_release(struct luamem *m, uint32_t a);
uint32_t luamem_switch(struct luamem *m, uint32_t a);
size_t luamem_live(const struct luamem *m, uint32_t a);
