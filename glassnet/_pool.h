/*
 * glassnet's own worker threads for the compiled fast path (_pool.c).
 *
 * pool_run(task, context, parts) calls task(context, part, parts) for part = 0 ..
 * parts - 1: part 0 on the calling thread, the others on the pool's workers, and
 * returns when all are done. Workers wait for work by spinning for a short while
 * (POOL_SPIN_NANOSECONDS), then sleep on a condition variable, so an idle pool costs
 * no CPU. The pool has pool_threads() threads, the caller included; with one, or
 * while another thread is inside pool_run, or where threads are not supported, every
 * part runs on the caller, in order. After fork() the child starts with a pool of
 * one (its workers were not copied) and grows it again on demand.
 */
#ifndef GLASSNET_POOL_H
#define GLASSNET_POOL_H

#include <stdint.h>

typedef void (*pool_task)(void *context, int part, int parts);

/* Set the number of threads (the caller included, at least 1, at most POOL_MAX);
   returns the number set, or -1 when a worker could not be started (the pool then
   has the threads it could start). Must not be called from inside a task. */
int pool_resize(int threads);

int pool_threads(void);

void pool_run(pool_task task, void *context, int parts);

#define POOL_MAX 64

/* The part-th of `parts` bands of [0, n): [*start, *stop), each a whole multiple of
   `grain` long except the last (which may be shorter, or empty). */
void band(int64_t n, int part, int parts, int64_t grain, int64_t *start,
          int64_t *stop);

#endif
