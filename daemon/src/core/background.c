/* f8d background pool (see the header). */
#include "background.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BACKGROUND_NICE 19

/* A running job gives way (sched_yield) at least this often. Priority alone does not keep it
 * off the workers' CPUs: with HZ 250 and no kernel preemption, a nice +19 thread the
 * scheduler picks holds the CPU until the next tick (4 ms) while the workers wait runnable
 * behind it. Beside small requests (wrk, 4 connections) a nice +19 spinner raised their p99
 * from 0.50 to 2.2 ms, one that yielded every 1 ms to 0.89 ms, every 200 us not at all
 * (0.47 ms; bench/STRUCTURE.md, "Background priority"). libf8's loader, libjpeg and the
 * JSON scanner have no yield points of their own, so a timer interrupts the job instead: a
 * thread-directed signal every slice, whose handler yields. */
#define BACKGROUND_SLICE_NS 200000

/* The slices this thread's jobs have ended (f8d_background_slices_here). */
static _Thread_local unsigned long slices_here;

static void on_slice(int signo)
{
    (void)signo;
    const int saved = errno;
    slices_here++;
    sched_yield();
    errno = saved;
}

/* The real-time signal of the slice timers (glibc keeps the first ones to itself; this one
 * is after them). */
static int slice_signal(void)
{
    return SIGRTMIN + 4;
}

#define ASSERT_LOOP_THREAD(bg) assert(pthread_equal(pthread_self(), (bg)->loop_thread))

/* The calling thread to nice +19 (Linux applies it to the one thread given its id). A failure
 * (a sandbox that forbids it) leaves it at the workers' priority. Not SCHED_IDLE: on a
 * 2-vCPU Zen 5 guest (Linux 6.18, HZ 250, no preemption), a spinning SCHED_IDLE process
 * raised the p99 of small requests beside it (wrk, 4 connections) from 0.5 to 3.7-4.0 ms,
 * a nice +19 one to 2.4-2.6 ms (bench/STRUCTURE.md, "Background priority"). */
static void lower_priority(void)
{
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), BACKGROUND_NICE);
}

unsigned long f8d_background_slices_here(void)
{
    return slices_here;
}

static void *thread_main(void *arg)
{
    struct f8d_background *bg = arg;
    lower_priority();
    /* this thread's slice timer: a signal to this thread, every slice while a job runs; none
     * (a sandbox that refuses timers) leaves jobs to priority alone */
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = slice_signal()};
    ev._sigev_un._tid = gettid(); /* glibc 2.36 has no sigev_notify_thread_id macro */
    timer_t timer;
    const bool sliced = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
    const struct itimerspec on = {.it_interval = {0, BACKGROUND_SLICE_NS},
                                  .it_value = {0, BACKGROUND_SLICE_NS}};
    const struct itimerspec off = {{0, 0}, {0, 0}};
    pthread_mutex_lock(&bg->mu);
    for (;;) {
        while (bg->todo_head == NULL && !bg->quit)
            pthread_cond_wait(&bg->wake, &bg->mu);
        if (bg->todo_head == NULL) /* quit, and nothing left */
            break;
        struct f8d_bg_job *job = bg->todo_head;
        bg->todo_head = job->next;
        if (bg->todo_head == NULL)
            bg->todo_tail = NULL;
        pthread_mutex_unlock(&bg->mu);

        if (sliced)
            timer_settime(timer, 0, &on, NULL);
        job->work(job);
        if (sliced)
            timer_settime(timer, 0, &off, NULL);
        job->next = NULL;

        pthread_mutex_lock(&bg->mu);
        if (bg->done_tail != NULL)
            bg->done_tail->next = job;
        else
            bg->done_head = job;
        bg->done_tail = job;
        pthread_mutex_unlock(&bg->mu);
        /* after the unlock: if this thread is preempted here, the loop has nothing to wait
         * for; it hears of the job on this write */
        const uint64_t one = 1;
        while (write(bg->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
        }
        pthread_mutex_lock(&bg->mu);
    }
    pthread_mutex_unlock(&bg->mu);
    if (sliced)
        timer_delete(timer);
    return NULL;
}

/* Loop: the jobs done since the last time, their `done` in order. */
static void on_readable(uv_poll_t *handle, int status, int events)
{
    (void)events;
    struct f8d_background *bg = handle->data;
    ASSERT_LOOP_THREAD(bg);
    if (status < 0)
        return; /* an eventfd does not fail; the next write wakes the loop again */
    uint64_t count;
    (void)!read(bg->efd, &count, sizeof(count)); /* resets it (EAGAIN if a run took it) */
    pthread_mutex_lock(&bg->mu);
    struct f8d_bg_job *job = bg->done_head;
    bg->done_head = bg->done_tail = NULL;
    pthread_mutex_unlock(&bg->mu);
    while (job != NULL) {
        struct f8d_bg_job *next = job->next; /* done may free the job */
        assert(bg->pending > 0);
        if (--bg->pending == 0)
            uv_unref((uv_handle_t *)&bg->poll);
        job->done(job);
        job = next;
    }
}

int f8d_background_start(struct f8d_background *bg, uv_loop_t *loop, unsigned n_threads,
                         char *err, size_t errlen)
{
    assert(n_threads >= 1);
    memset(bg, 0, sizeof(*bg));
    bg->loop_thread = pthread_self();
    /* the slice timers' handler (process-wide, like every handler; only these threads'
     * timers send its signal); SA_RESTART: a job's system calls carry on */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_slice;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(slice_signal(), &sa, NULL) != 0) {
        snprintf(err, errlen, "cannot install the background slice handler: %s",
                 strerror(errno));
        return -1;
    }
    bg->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (bg->efd < 0) {
        snprintf(err, errlen, "cannot create the background pool's eventfd: %s",
                 strerror(errno));
        return -1;
    }
    if (pthread_mutex_init(&bg->mu, NULL) != 0) {
        close(bg->efd);
        snprintf(err, errlen, "cannot create the background pool's mutex");
        return -1;
    }
    pthread_cond_init(&bg->wake, NULL); /* cannot fail with default attributes */
    bg->loop = loop; /* from here on f8d_background_stop undoes it */
    int rc = uv_poll_init(loop, &bg->poll, bg->efd);
    if (rc == 0) {
        bg->poll_open = true;
        bg->poll.data = bg;
        rc = uv_poll_start(&bg->poll, UV_READABLE, on_readable);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot poll the background pool's eventfd: %s",
                 uv_strerror(rc));
        return -1;
    }
    uv_unref((uv_handle_t *)&bg->poll); /* referenced only while jobs are pending */
    bg->threads = calloc(n_threads, sizeof(*bg->threads));
    if (bg->threads == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < n_threads; i++) {
        if (pthread_create(&bg->threads[i], NULL, thread_main, bg) != 0) {
            snprintf(err, errlen, "cannot start background thread %u of %u", i + 1, n_threads);
            return -1;
        }
        bg->n_threads = i + 1;
    }
    return 0;
}

void f8d_background_queue(struct f8d_background *bg, struct f8d_bg_job *job, f8d_bg_fn work,
                          f8d_bg_fn done, void *data)
{
    ASSERT_LOOP_THREAD(bg);
    assert(bg->n_threads > 0 && bg->poll_open);
    job->work = work;
    job->done = done;
    job->data = data;
    job->next = NULL;
    if (bg->pending++ == 0)
        uv_ref((uv_handle_t *)&bg->poll);
    pthread_mutex_lock(&bg->mu);
    if (bg->todo_tail != NULL)
        bg->todo_tail->next = job;
    else
        bg->todo_head = job;
    bg->todo_tail = job;
    pthread_cond_signal(&bg->wake);
    pthread_mutex_unlock(&bg->mu);
}

static void on_poll_closed(uv_handle_t *handle)
{
    struct f8d_background *bg = handle->data;
    close(bg->efd);
    bg->efd = -1;
}

void f8d_background_stop(struct f8d_background *bg)
{
    if (bg->loop == NULL)
        return; /* never started, or stopped */
    assert(bg->pending == 0);
    if (bg->n_threads > 0) {
        pthread_mutex_lock(&bg->mu);
        bg->quit = true;
        pthread_cond_broadcast(&bg->wake);
        pthread_mutex_unlock(&bg->mu);
        for (unsigned i = 0; i < bg->n_threads; i++)
            pthread_join(bg->threads[i], NULL);
    }
    free(bg->threads);
    bg->threads = NULL;
    bg->n_threads = 0;
    if (bg->poll_open) {
        bg->poll_open = false;
        uv_close((uv_handle_t *)&bg->poll, on_poll_closed);
    } else if (bg->efd >= 0) {
        close(bg->efd);
        bg->efd = -1;
    }
    pthread_cond_destroy(&bg->wake);
    pthread_mutex_destroy(&bg->mu);
    bg->loop = NULL;
}
