// The worker threads behind EAHCore's ThreadPool: a fixed set of threads that spin briefly between
// jobs (a decoder step issues hundreds of small parallel loops, and waking a sleeping thread costs
// tens of microseconds) and then sleep on a condition variable.
#ifndef EAH_THREAD_POOL_H
#define EAH_THREAD_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eah_pool eah_pool;

/// The body of a parallel loop: called once for every index, from any of the pool's threads.
typedef void (*eah_pool_body)(void *context, long index);

/// A pool of `threads` threads in all: the caller of `eah_pool_run` and `threads − 1` workers,
/// started on the first run. NULL if memory is short.
eah_pool *eah_pool_create(int threads);

/// Stops and joins the workers, then frees the pool. No run may be in progress.
void eah_pool_destroy(eah_pool *pool);

/// Calls `body(context, i)` for every i < `count`, handing indices out one at a time to the
/// caller and the workers; returns when every call has returned. Runs from several threads at
/// once take turns; a run from inside a running body (on any pool) runs serially on its thread.
void eah_pool_run(eah_pool *pool, long count, eah_pool_body body, void *context);

#ifdef __cplusplus
}
#endif

#endif
