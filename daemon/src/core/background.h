/*
 * f8d background pool: threads for the work that must not hold up inference or the loop
 * (KServe JSON and large gRPC value lists parsed, gzip bodies inflated, large JPEGs decoded,
 * models loaded and freed), at the lowest scheduling priority, with completions that never
 * make the loop wait on them.
 *
 * Why not libuv's pool: its threads tell the loop a job is done with uv_async_send, and the
 * loop, when it wakes, spins until that send has returned. A low-priority thread preempted
 * inside the send (often by the very loop it woke, on its own CPU) kept the loop spinning:
 * under a flood of 3.4 MB JSON bodies the loop spent two thirds of its time there (perf:
 * uv__async_spin), and at normal priority such jobs would take the CPUs from the workers.
 * Here a thread appends its finished job to a list under a mutex and then writes to an
 * eventfd the loop polls: a loop that finds the mutex held sleeps on it (which hands the
 * CPU to the holder) instead of spinning.
 *
 * The threads run at nice +19 (Linux: per thread), so the kernel prefers the workers and
 * the loop while they want a CPU, and a running job gives way every 200 us (a per-thread
 * timer signal whose handler calls sched_yield): picked by the scheduler, a low-priority
 * thread otherwise held a CPU for up to a tick while workers waited behind it. The jobs
 * still run whenever a CPU is free.
 *
 * Threads: f8d_background_start/queue/stop and every `done` on the loop thread; `work` on a
 * background thread, touching only its job.
 */
#ifndef F8D_BACKGROUND_H
#define F8D_BACKGROUND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct f8d_bg_job;
typedef void (*f8d_bg_fn)(struct f8d_bg_job *job);

/* One job, embedded in whatever it works on (like uv_work_t); owned by its caller. */
struct f8d_bg_job {
    f8d_bg_fn work;          /* on a background thread */
    f8d_bg_fn done;          /* then on the loop thread; the job may be freed there */
    void *data;
    struct f8d_bg_job *next; /* the pool's, while queued */
};

struct f8d_background {
    uv_loop_t *loop;
    pthread_t loop_thread;
    uv_poll_t poll;          /* readable when jobs are done (efd) */
    int efd;
    bool poll_open;
    pthread_t *threads;
    unsigned n_threads;
    unsigned pending;        /* loop: jobs queued and not yet done; the poll is referenced
                                (keeps the loop running) while any are */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct f8d_bg_job *todo_head, *todo_tail; /* under mu */
    struct f8d_bg_job *done_head, *done_tail; /* under mu */
    bool quit;                                 /* under mu */
};

/* Starts n_threads (>= 1) threads and the poll on `loop`; the caller is the loop's thread.
 * Returns 0, or -1 with a message (what was started is stopped by f8d_background_stop). */
int f8d_background_start(struct f8d_background *bg, uv_loop_t *loop, unsigned n_threads,
                         char *err, size_t errlen);

/* Runs work(job) on a background thread, then done(job) on the loop, in queue order when
 * one thread is free. Cannot fail. */
void f8d_background_queue(struct f8d_background *bg, struct f8d_bg_job *job, f8d_bg_fn work,
                          f8d_bg_fn done, void *data);

/* How many times the calling background thread's jobs have given way (a test's check). */
unsigned long f8d_background_slices_here(void);

/* After the loop has run dry (no job pending): joins the threads and closes the poll, whose
 * close the next uv_run completes. Safe on a pool that failed to start, or twice. */
void f8d_background_stop(struct f8d_background *bg);

#endif /* F8D_BACKGROUND_H */
