/*
 * team.c - run one piece of work on N pthreads at once, repeatedly, and time
 * each repetition from the first thread's start to the last thread's finish.
 *
 * The threads live for all repetitions (creation is not timed) and are
 * pinned to distinct CPUs of this process's affinity set when there are
 * enough.  They meet between repetitions at a spinning barrier and read the
 * clock themselves: a thread woken from a futex (or a vCPU woken from halt)
 * can take a millisecond to run, which would otherwise land inside, or
 * outside, the timed interval at random.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "bench.h"

typedef struct spin_barrier {
    atomic_int arrived;
    atomic_int sense;
    int total;
} spin_barrier;

typedef struct team {
    spin_barrier barrier;
    team_work work;
    void *arg;
    int threads, rounds;
    int cpus[BENCH_MAX_THREADS];    /* -1: not pinned */
    double *start, *end;            /* [thread * rounds + round] */
} team;

typedef struct member {
    team *t;
    int index;
    pthread_t tid;
} member;

/* Sense-reversing barrier; yields while waiting so that an oversubscribed
 * team (more threads than CPUs) still makes progress. */
static void barrier_wait(spin_barrier *b, int *local_sense)
{
    *local_sense = !*local_sense;
    if (atomic_fetch_add(&b->arrived, 1) == b->total - 1) {
        atomic_store(&b->arrived, 0);
        atomic_store(&b->sense, *local_sense);
        return;
    }
    for (unsigned spins = 0; atomic_load(&b->sense) != *local_sense; spins++)
        if (spins > 1000)
            sched_yield();
}

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
}

static void *member_main(void *p)
{
    member *m = p;
    team *t = m->t;
    int sense = 0;
    pin_self(t->cpus[m->index]);
    for (int r = 0; r < t->rounds; r++) {
        barrier_wait(&t->barrier, &sense);
        t->start[m->index * t->rounds + r] = now_seconds();
        t->work(t->arg, m->index, t->threads);
        t->end[m->index * t->rounds + r] = now_seconds();
    }
    return NULL;
}

static void choose_cpus(team *t)
{
    cpu_set_t set;
    for (int i = 0; i < t->threads; i++)
        t->cpus[i] = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < t->threads)
        return;
    int next = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && next < t->threads; cpu++)
        if (CPU_ISSET(cpu, &set))
            t->cpus[next++] = cpu;
}

void team_run(int threads, int warmups, int reps, team_work work, void *arg, double *seconds)
{
    team t;
    t.work = work;
    t.arg = arg;
    t.threads = threads;
    t.rounds = warmups + reps;
    atomic_init(&t.barrier.arrived, 0);
    atomic_init(&t.barrier.sense, 0);
    t.barrier.total = threads;
    choose_cpus(&t);
    member *m = calloc((size_t)threads, sizeof *m);
    t.start = calloc((size_t)threads * (size_t)t.rounds, sizeof(double));
    t.end = calloc((size_t)threads * (size_t)t.rounds, sizeof(double));
    if (!m || !t.start || !t.end)
        die("out of memory");
    for (int i = 0; i < threads; i++) {
        m[i].t = &t;
        m[i].index = i;
        if (pthread_create(&m[i].tid, NULL, member_main, &m[i]) != 0)
            die("pthread_create failed for thread %d of %d", i + 1, threads);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(m[i].tid, NULL);
    for (int r = warmups; r < t.rounds; r++) {
        double first = t.start[r], last = t.end[r];
        for (int i = 1; i < threads; i++) {
            if (t.start[i * t.rounds + r] < first)
                first = t.start[i * t.rounds + r];
            if (t.end[i * t.rounds + r] > last)
                last = t.end[i * t.rounds + r];
        }
        seconds[r - warmups] = last - first;
    }
    free(t.start);
    free(t.end);
    free(m);
}
