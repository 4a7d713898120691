/*
 * glassnet's own worker threads (see _pool.h for what they promise).
 *
 * Why a pool of our own: NumPy's OpenBLAS keeps its worker spinning on the other
 * core for a while after every product, so a second thread of ours started between
 * two products shares a core with it and loses (docs/architecture.md, D21). With
 * OpenBLAS held to one thread during `fit`, the products are split across these
 * threads instead (_products.c), and the elementwise passes between them use the
 * same threads, which are then free.
 *
 * A round of work: the caller publishes the task and a claim word (the round's
 * number, its count of parts and the next unclaimed part), bumps `generation` and
 * claims parts like the workers; each worker sees the new generation and claims
 * parts with a compare-and-swap on the claim word until none is left, counting each
 * part it finishes in `done`; the caller waits until `done` is the count of parts.
 * A claim names its round, so a worker that wakes late cannot take a part of a
 * later round, and a round cannot end while a claimed part runs, so the task and
 * context a worker reads after its claim are its round's. (A static split, one part
 * per thread, made the caller wait every round for a worker that the system had
 * descheduled; now a descheduled worker holds up one part at most.) Sleeping
 * workers are counted in `sleepers` before they re-check the generation, and the
 * caller reads `sleepers` after bumping it (both sequentially consistent), so a
 * worker that goes to sleep is always woken.
 *
 * Contention: a worker that the system deschedules in the middle of a part (another
 * process spinning on its core) makes the caller wait for that part, often for a
 * whole time slice of the other process. The caller times each round: its own
 * parts (`work`) and the wait for the parts others claimed (`wait`). A wait longer
 * than the caller's own work is a stall (a balanced round waits for less than one
 * part). When stalls add up to more than 1/16 of the rounds' time over a window
 * of 512 rounds, the next POOL_SERIAL_ROUNDS rounds (4096, doubling while every
 * window after them stalls too, up to 2^17) run every part on the
 * caller, as one part (a task's parts are defined to give the bits of its one part:
bands of products above OpenBLAS's size limits, elementwise passes, whole rows of
sums), and the window starts again, so the pool
 * comes back by itself once the neighbour is gone. pool_serial_rounds() counts the
 * rounds run that way (for tests and show_config).
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include "_pool.h"

void band(int64_t n, int part, int parts, int64_t grain, int64_t *start,
          int64_t *stop) {
    int64_t per_part = (n + parts - 1) / parts;
    per_part = (per_part + grain - 1) / grain * grain;
    *start = per_part * part < n ? per_part * part : n;
    *stop = *start + per_part < n ? *start + per_part : n;
}

static void run_on_caller(pool_task task, void *context, int parts) {
    for (int part = 0; part < parts; part++) task(context, part, parts);
}

int pool_parts(int per_thread) {
    int threads_now = pool_threads();
    if (threads_now <= 1) return 1;
    int64_t parts = (int64_t)threads_now * (per_thread > 1 ? per_thread : 1);
    return parts < POOL_MAX_PARTS ? (int)parts : POOL_MAX_PARTS;
}

#if POOL_HAS_THREADS

#include <pthread.h>
#include <sched.h>
#include <time.h>

/* how long an idle worker spins before it sleeps: long enough to cover the Python
   between two passes of a training step, short enough that an idle pool is idle */
#define POOL_SPIN_NANOSECONDS 200000L

#if defined(__x86_64__) || defined(__i386__)
#define RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RELAX() __asm__ __volatile__("yield")
#else
#define RELAX() ((void)0)
#endif

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_SEQ_CST)

static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t workers[POOL_MAX];

static int threads = 1;          /* the caller and threads - 1 workers */
static unsigned long generation; /* bumped once per round and once to stop */
static uint64_t claim;           /* round << 32 | parts << 16 | next part */
static int done;                 /* parts finished in the current round */
static int sleepers;             /* workers asleep or about to be */
static int stopping;
static pool_task current_task;
static void *current_context;
static int handlers_installed;
static unsigned long start_generation; /* the generation new workers start from */

/* the contention detector (see the top of this file); all under run_lock */
#define POOL_WINDOW_ROUNDS 512
#define POOL_SERIAL_ROUNDS 4096      /* after a first window with stalls */
#define POOL_SERIAL_MAX (1L << 17)  /* after many in a row */
static int window_rounds;
static long long window_total, window_stall;
static long serial_left, serial_length = POOL_SERIAL_ROUNDS;
static unsigned long long serial_total;

static long long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Wait until `generation` differs from `seen`; returns the new value. */
static unsigned long wait_for_round(unsigned long seen) {
    long long deadline = 0;
    for (unsigned spins = 0;; spins++) {
        unsigned long g = LOAD(generation);
        if (g != seen) return g;
        RELAX();
        if ((spins & 255) != 255) continue;
        long long t = now_nanoseconds();
        if (deadline == 0) {
            deadline = t + POOL_SPIN_NANOSECONDS;
        } else if (t > deadline) {
            pthread_mutex_lock(&sleep_lock);
            ADD(sleepers, 1);
            while ((g = LOAD(generation)) == seen) pthread_cond_wait(&wake, &sleep_lock);
            ADD(sleepers, -1);
            pthread_mutex_unlock(&sleep_lock);
            return g;
        }
    }
}

/* Run unclaimed parts of round `round` until none is left. */
static void claim_parts(uint32_t round) {
    uint64_t word = LOAD(claim);
    for (;;) {
        int part = (int)(word & 0xffff), parts = (int)((word >> 16) & 0xffff);
        if ((uint32_t)(word >> 32) != round || part >= parts) return;
        if (!__atomic_compare_exchange_n(&claim, &word, word + 1, 0, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST))
            continue; /* another thread took it: `word` holds the new value */
        current_task(current_context, part, parts);
        ADD(done, 1);
        word = LOAD(claim);
    }
}

static void *worker_main(void *argument) {
    (void)argument;
    unsigned long seen = start_generation;
    for (;;) {
        seen = wait_for_round(seen);
        if (LOAD(stopping)) return NULL;
        claim_parts((uint32_t)seen);
    }
}

/* Start a round (or the stop) and wake the sleepers. */
static void publish(void) {
    ADD(generation, 1);
    if (LOAD(sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
}

static void stop_workers(void) {
    if (threads == 1) return;
    STORE(stopping, 1);
    publish();
    for (int i = 1; i < threads; i++) pthread_join(workers[i], NULL);
    STORE(stopping, 0);
    threads = 1;
}

/* In a forked child only the forking thread exists: forget the workers, and make
   the locks usable again (the parent may have held them). */
static void after_fork_in_child(void) {
    pthread_mutex_init(&sleep_lock, NULL);
    pthread_mutex_init(&run_lock, NULL);
    pthread_cond_init(&wake, NULL);
    threads = 1;
    sleepers = done = stopping = 0;
}

int pool_resize(int wanted) {
    if (wanted < 1) wanted = 1;
    if (wanted > POOL_MAX) wanted = POOL_MAX;
    pthread_mutex_lock(&run_lock);
    if (!handlers_installed) {
        pthread_atfork(NULL, NULL, after_fork_in_child);
        handlers_installed = 1;
    }
    int result = wanted;
    if (wanted != threads) {
        stop_workers();
        start_generation = LOAD(generation);
        for (int i = 1; i < wanted; i++) {
            if (pthread_create(&workers[i], NULL, worker_main, NULL)) {
                result = -1;
                break;
            }
            threads = i + 1;
        }
    }
    pthread_mutex_unlock(&run_lock);
    return result;
}

int pool_threads(void) { return threads; }

/* Count a round's stall (the wait beyond the caller's own work); after a window,
   switch to serial rounds if the stalls took more than 1/16 of the time. */
static void note_round(long long started, long long claimed, long long finished) {
    long long work = claimed - started, wait = finished - claimed;
    window_total += finished - started;
    if (wait > work) window_stall += wait - work;
    if (++window_rounds < POOL_WINDOW_ROUNDS) return;
    if (window_stall * 16 > window_total) { /* stalls took over 1/16 of the time */
        serial_left = serial_length;
        if (serial_length < POOL_SERIAL_MAX) serial_length *= 2;
    } else {
        serial_length = POOL_SERIAL_ROUNDS;
    }
    window_rounds = 0;
    window_total = window_stall = 0;
}

void pool_run(pool_task task, void *context, int parts) {
    if (parts <= 1 || parts > POOL_MAX_PARTS ||
        pthread_mutex_trylock(&run_lock) != 0) {
        run_on_caller(task, context, parts);
        return;
    }
    if (threads == 1) { /* read under the lock: pool_resize holds it too */
        pthread_mutex_unlock(&run_lock);
        run_on_caller(task, context, parts);
        return;
    }
    if (serial_left > 0) { /* contention seen lately: the caller runs it all, as
                              one part (every task's parts give the one part's bits) */
        serial_left--;
        serial_total++;
        pthread_mutex_unlock(&run_lock);
        task(context, 0, 1);
        return;
    }
    /* only this thread bumps the generation (pool_resize holds the lock too) */
    uint32_t round = (uint32_t)(LOAD(generation) + 1);
    current_task = task;
    current_context = context;
    STORE(done, 0);
    STORE(claim, (uint64_t)round << 32 | (uint64_t)parts << 16);
    long long started = now_nanoseconds();
    publish();
    claim_parts(round);
    long long claimed = now_nanoseconds();
    /* the parts that workers claimed: spin, then also offer the CPU (a worker may
       have been preempted on this CPU by another process) */
    for (unsigned spins = 0; LOAD(done) < parts; spins++) {
        RELAX();
        if (spins > (1u << 14)) sched_yield();
    }
    note_round(started, claimed, now_nanoseconds());
    pthread_mutex_unlock(&run_lock);
}

unsigned long long pool_serial_rounds(void) { return serial_total; }

#else /* no threads: everything on the caller */

int pool_resize(int wanted) { return 1; }

int pool_threads(void) { return 1; }

unsigned long long pool_serial_rounds(void) { return 0; }

void pool_run(pool_task task, void *context, int parts) {
    run_on_caller(task, context, parts);
}

#endif
