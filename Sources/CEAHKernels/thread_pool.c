// See eah_thread_pool.h. One job at a time, published through one 64-bit `state`: the job's
// sequence number (high 32 bits) and the next index to hand out (low 32 bits). The submitting
// thread makes the sequence odd while it writes the job's fields and even once they are
// complete (a sequence lock); a thread claims index i of job s only by moving `state` from
// (s, i) to (s, i + 1), so a claim that succeeds read the fields of that very job, and an index
// is never handed out twice. The submitter returns when `completed` reaches the count, without
// waiting for workers that never woke up (a loaded machine may not run them for milliseconds).
#include "eah_thread_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/// How long an idle worker spins before it sleeps.
#define SPIN_NANOSECONDS 200000L
/// How long a wait spins before it yields the core at every check (on a loaded machine the
/// thread being waited for may need this one).
#define YIELD_AFTER_NANOSECONDS 20000L

struct eah_pool {
    int threads;
    int started;
    int workers;
    pthread_t *handles;
    /// Held by the thread submitting a job (submissions from several threads take turns).
    pthread_mutex_t submit;
    /// Guards sleeping workers' wake-up (with `wake`).
    pthread_mutex_t sleep;
    pthread_cond_t wake;
    _Alignas(64) _Atomic uint64_t state;
    atomic_int sleepers;
    atomic_int stopping;
    _Alignas(64) atomic_long completed;
    _Alignas(64) atomic_long count;
    _Atomic(eah_pool_body) body;
    _Atomic(void *) context;
};

/// Set while this thread runs a body: a nested run then runs serially.
static _Thread_local int insideBody;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline uint32_t sequence_of(uint64_t state) { return (uint32_t)(state >> 32); }

/// Claims and runs indices of job `sequence` until none are left (or another job is out).
static void take_indices(eah_pool *pool, uint32_t sequence) {
    insideBody = 1;
    for (;;) {
        uint64_t state = atomic_load_explicit(&pool->state, memory_order_acquire);
        if (sequence_of(state) != sequence) break;
        long index = (long)(uint32_t)state;
        long count = atomic_load_explicit(&pool->count, memory_order_relaxed);
        eah_pool_body body = atomic_load_explicit(&pool->body, memory_order_relaxed);
        void *context = atomic_load_explicit(&pool->context, memory_order_relaxed);
        if (index >= count) break;
        atomic_thread_fence(memory_order_acquire);
        if (!atomic_compare_exchange_weak_explicit(&pool->state, &state, state + 1, memory_order_acq_rel, memory_order_relaxed)) continue;
        body(context, index);
        atomic_fetch_add_explicit(&pool->completed, 1, memory_order_release);
    }
    insideBody = 0;
}

typedef struct {
    eah_pool *pool;
    /// The sequence when the worker was created: its first job is a later one.
    uint32_t seen;
} worker_start;

/// Waits until `state`'s sequence is a published job other than `seen` (or the pool stops).
static uint32_t wait_for_job(eah_pool *pool, uint32_t seen) {
    long spinStart = now_ns();
    int spins = 0;
    for (;;) {
        uint32_t sequence = sequence_of(atomic_load(&pool->state));
        if ((sequence != seen && sequence % 2 == 0) || atomic_load(&pool->stopping)) return sequence;
        CPU_RELAX();
        if (++spins % 64 != 0) continue;
        long waited = now_ns() - spinStart;
        if (waited > YIELD_AFTER_NANOSECONDS) sched_yield();
        if (waited > SPIN_NANOSECONDS) {
            pthread_mutex_lock(&pool->sleep);
            atomic_fetch_add(&pool->sleepers, 1);
            while (sequence_of(atomic_load(&pool->state)) == seen && !atomic_load(&pool->stopping)) {
                pthread_cond_wait(&pool->wake, &pool->sleep);
            }
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->sleep);
            spinStart = now_ns();
        }
    }
}

static void *worker(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    eah_pool *pool = start.pool;
    uint32_t seen = start.seen;
    for (;;) {
        uint32_t sequence = wait_for_job(pool, seen);
        if (atomic_load(&pool->stopping)) return NULL;
        take_indices(pool, sequence);
        seen = sequence;
    }
}

eah_pool *eah_pool_create(int threads) {
    eah_pool *pool = calloc(1, sizeof(eah_pool));
    if (!pool) return NULL;
    pool->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&pool->submit, NULL);
    pthread_mutex_init(&pool->sleep, NULL);
    pthread_cond_init(&pool->wake, NULL);
    return pool;
}

/// Starts the workers (under `submit`); on failure the pool runs with those that started.
static void start_workers(eah_pool *pool) {
    pool->started = 1;
    int wanted = pool->threads - 1;
    pool->handles = calloc((size_t)wanted, sizeof(pthread_t));
    if (!pool->handles) wanted = 0;
    for (int i = 0; i < wanted; i++) {
        worker_start *start = malloc(sizeof(worker_start));
        if (!start) break;
        *start = (worker_start){pool, sequence_of(atomic_load(&pool->state))};
        if (pthread_create(&pool->handles[i], NULL, worker, start) != 0) { free(start); break; }
        pool->workers++;
    }
}

void eah_pool_run(eah_pool *pool, long count, eah_pool_body body, void *context) {
    if (count <= 0) return;
    if (!pool || pool->threads == 1 || count == 1 || insideBody || count > UINT32_MAX) {
        int outer = insideBody;
        insideBody = 1;
        for (long i = 0; i < count; i++) body(context, i);
        insideBody = outer;
        return;
    }
    pthread_mutex_lock(&pool->submit);
    if (!pool->started) start_workers(pool);
    // Odd while the fields change, then even with index 0.
    uint32_t sequence = sequence_of(atomic_load(&pool->state)) + 1;
    atomic_store(&pool->state, (uint64_t)sequence << 32);
    atomic_thread_fence(memory_order_seq_cst);
    atomic_store_explicit(&pool->count, count, memory_order_relaxed);
    atomic_store_explicit(&pool->body, body, memory_order_relaxed);
    atomic_store_explicit(&pool->context, context, memory_order_relaxed);
    atomic_store_explicit(&pool->completed, 0, memory_order_relaxed);
    sequence++;
    atomic_store(&pool->state, (uint64_t)sequence << 32);  // seq_cst: pairs with `sleepers`
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->sleep);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->sleep);
    }
    take_indices(pool, sequence);
    long waitStart = 0;
    int spins = 0;
    while (atomic_load_explicit(&pool->completed, memory_order_acquire) != count) {
        CPU_RELAX();
        if (++spins % 64 != 0) continue;
        if (waitStart == 0) waitStart = now_ns();
        else if (now_ns() - waitStart > YIELD_AFTER_NANOSECONDS) sched_yield();
    }
    pthread_mutex_unlock(&pool->submit);
}

void eah_pool_destroy(eah_pool *pool) {
    if (!pool) return;
    if (pool->workers > 0) {
        pthread_mutex_lock(&pool->sleep);
        atomic_store(&pool->stopping, 1);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->sleep);
        for (int i = 0; i < pool->workers; i++) pthread_join(pool->handles[i], NULL);
    }
    free(pool->handles);
    pthread_mutex_destroy(&pool->submit);
    pthread_mutex_destroy(&pool->sleep);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}
