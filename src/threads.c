/*
 * threads.c - the library's small worker pool and lb_parallel_for.
 *
 * A parallel call is a job of `ntasks` independent tasks.  The caller
 * publishes the job, wakes up to (threads - 1) workers and runs tasks
 * itself; tasks are claimed with an atomic counter, so a job finishes even
 * if every worker is busy elsewhere (the caller alone can drain it).  Many
 * caller threads may run jobs at once: each job lives on its caller's
 * stack, sits in one shared list while it has unclaimed tasks, and its
 * caller returns only when every task is done and no worker still holds it.
 *
 * Determinism does not rest on the pool: every op cuts its work into tasks
 * by a rule that depends only on the problem (never on the thread count),
 * and each task writes its own output bytes.  Which thread runs a task
 * cannot change a bit.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"

#define LB_MAX_THREADS 256

typedef struct lb_job {
    lb_task_fn fn;
    void *ctx;
    size_t ntasks;
    atomic_size_t next;      /* next task index to claim */
    size_t done;             /* tasks finished (under lb_pool.lock) */
    int helpers;             /* workers inside this job (under lb_pool.lock) */
    int max_helpers;
    struct lb_job *link;
} lb_job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a job with free tasks appeared */
    pthread_cond_t finished; /* some job's last task or helper finished */
    lb_job *jobs;            /* jobs that may still have unclaimed tasks */
    int workers;             /* worker threads started */
} lb_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0};

static atomic_int lb_nthreads; /* 0: not decided yet */

static int lb_default_threads(void)
{
    const char *e = getenv("LOWBIT_NUM_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == '\0' && v >= 1)
            return v > LB_MAX_THREADS ? LB_MAX_THREADS : (int)v;
    }
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c >= 1)
            return c > LB_MAX_THREADS ? LB_MAX_THREADS : c;
    }
#endif
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > LB_MAX_THREADS ? LB_MAX_THREADS : (int)c;
}

int lowbit_get_num_threads(void)
{
    int n = atomic_load_explicit(&lb_nthreads, memory_order_relaxed);
    if (n == 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&lb_nthreads, &expected, lb_default_threads());
        n = atomic_load(&lb_nthreads);
    }
    return n;
}

lowbit_status lowbit_set_num_threads(int n)
{
    if (n < 0 || n > LB_MAX_THREADS)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "n = %d: the thread count must be 0 (default) to %d", n,
                       LB_MAX_THREADS);
    atomic_store(&lb_nthreads, n == 0 ? lb_default_threads() : n);
    return lb_ok();
}

/* Claim and run tasks of j until none is left; returns how many ran. */
static size_t lb_run_tasks(lb_job *j)
{
    size_t ran = 0;
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (t >= j->ntasks)
            return ran;
        j->fn(j->ctx, t);
        ran++;
    }
}

static void lb_unlink(lb_job *j)
{
    for (lb_job **pp = &lb_pool.jobs; *pp; pp = &(*pp)->link)
        if (*pp == j) {
            *pp = j->link;
            return;
        }
}

static void *lb_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lb_pool.lock);
    for (;;) {
        lb_job *j = lb_pool.jobs;
        while (j && j->helpers >= j->max_helpers)
            j = j->link;
        if (!j) {
            pthread_cond_wait(&lb_pool.work, &lb_pool.lock);
            continue;
        }
        j->helpers++;
        pthread_mutex_unlock(&lb_pool.lock);
        size_t ran = lb_run_tasks(j);
        pthread_mutex_lock(&lb_pool.lock);
        lb_unlink(j); /* no unclaimed tasks are left in it */
        j->done += ran;
        j->helpers--;
        if (j->done == j->ntasks || j->helpers == 0)
            pthread_cond_broadcast(&lb_pool.finished);
    }
    return NULL;
}

/* Start workers until there are `want` of them (under lb_pool.lock). */
static void lb_grow_pool(int want)
{
    while (lb_pool.workers < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, lb_worker, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            return; /* fewer helpers: the caller still finishes every task */
        lb_pool.workers++;
    }
}

void lb_parallel_for(size_t ntasks, lb_task_fn fn, void *ctx)
{
    if (ntasks == 0)
        return;
    int threads = lowbit_get_num_threads();
    if (threads <= 1 || ntasks == 1) {
        for (size_t t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    size_t helpers = ntasks - 1 < (size_t)threads - 1 ? ntasks - 1 : (size_t)threads - 1;
    lb_job j;
    j.fn = fn;
    j.ctx = ctx;
    j.ntasks = ntasks;
    atomic_init(&j.next, 0);
    j.done = 0;
    j.helpers = 0;
    j.max_helpers = (int)helpers;

    pthread_mutex_lock(&lb_pool.lock);
    lb_grow_pool(threads - 1);
    j.link = lb_pool.jobs;
    lb_pool.jobs = &j;
    pthread_cond_broadcast(&lb_pool.work);
    pthread_mutex_unlock(&lb_pool.lock);

    size_t ran = lb_run_tasks(&j);

    pthread_mutex_lock(&lb_pool.lock);
    lb_unlink(&j);
    j.done += ran;
    while (j.done != j.ntasks || j.helpers != 0)
        pthread_cond_wait(&lb_pool.finished, &lb_pool.lock);
    pthread_mutex_unlock(&lb_pool.lock);
}
