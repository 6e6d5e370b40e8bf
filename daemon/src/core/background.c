/* f8d background pool (see the header). */
#include "background.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define BACKGROUND_NICE 19

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

static void *thread_main(void *arg)
{
    struct f8d_background *bg = arg;
    lower_priority();
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

        job->work(job);
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
