/**
 * @file memtrim.h  Free heap pages given back to the kernel now and then.
 */
void   memtrim_start(uint32_t period_s);
void   memtrim_stop(void);
size_t memtrim_heap_in_use(void);
size_t memtrim_heap_free(void);
