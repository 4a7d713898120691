/*
 * glassnet's own worker threads for the compiled fast path (_pool.c).
 *
 * pool_run(task, context, parts) calls task(context, part, parts) once for each part =
 * 0 .. parts - 1 and returns when all are done. The parts are claimed one at a time
 * from a shared counter by the calling thread and the pool's workers alike, so a
 * thread that the system deschedules (another process spinning on its core) holds
 * up at most the one part it claimed, and the others take the rest; callers ask for
 * a few parts per thread. Which thread runs a part does not matter to its result.
 * Workers wait for work by spinning for a short while (POOL_SPIN_NANOSECONDS), then
 * sleep on a condition variable, so an idle pool costs no CPU. The pool has
 * pool_threads() threads, the caller included; with one, or while another thread is
 * inside pool_run, or where threads are not supported, every part runs on the
 * caller, in order. After fork() the child starts with a pool of one (its workers
 * were not copied) and grows it again on demand.
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

/* How many parts to ask pool_run for: `per_thread` for each of the pool's threads
   (at most POOL_MAX_PARTS), or 1 when the pool has no workers. */
int pool_parts(int per_thread);

void pool_run(pool_task task, void *context, int parts);

/* How many rounds ran on the caller alone because the pool saw contention (its
   workers descheduled mid-part by another process; see _pool.c). */
unsigned long long pool_serial_rounds(void);

#define POOL_MAX 64

/* whether this platform's pool has worker threads (else every part runs on the
   caller) */
#if defined(__GNUC__) && (defined(__unix__) || defined(__APPLE__))
#define POOL_HAS_THREADS 1
#else
#define POOL_HAS_THREADS 0
#endif

#define POOL_MAX_PARTS 4096 /* pool_run runs more parts on the caller alone */

/* The part-th of `parts` bands of [0, n): [*start, *stop), each a whole multiple of
   `grain` long except the last (which may be shorter, or empty). */
void band(int64_t n, int part, int parts, int64_t grain, int64_t *start,
          int64_t *stop);

#endif
