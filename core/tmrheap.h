/**
 * @file tmrheap.h  The PBX's own timers (core/tmrheap.c defines libre's
 * re_tmr.h API on a heap): how many are running, for pbx.stats().
 */

size_t tmrheap_count(void);
