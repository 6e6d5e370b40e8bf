/*
 * core/background.c on a real libuv loop: jobs run on the pool's threads at nice +19 and
 * come back to the loop thread in order; a long job gives way every 200 us (its slice
 * timer); a `done` may queue another job; the loop runs exactly while jobs are pending (uv_run returns once they are
 * done); the loop thread keeps its class; stop joins the threads and closes the poll, so the
 * loop closes cleanly.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/background.h"
#include "unit.h"

#define JOBS 64

struct seen {
    struct f8d_bg_job job;
    int index;
    int policy, nice;       /* of the thread that ran `work` */
    bool work_on_loop;      /* whether `work` ran on the loop thread (it must not) */
    bool done_on_loop;
    int done_order;
};

static pthread_t loop_thread;
static int done_count;
static struct f8d_background bg;

static void work(struct f8d_bg_job *job)
{
    struct seen *s = job->data;
    s->policy = sched_getscheduler(0);
    s->nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    s->work_on_loop = pthread_equal(pthread_self(), loop_thread);
    usleep(100); /* long enough for jobs to overlap on the threads */
}

static void done(struct f8d_bg_job *job)
{
    struct seen *s = job->data;
    s->done_on_loop = pthread_equal(pthread_self(), loop_thread);
    s->done_order = done_count++;
}

static void test_jobs_run_niced_and_return_to_the_loop(void)
{
    uv_loop_t loop;
    char err[256];
    static struct seen seen[JOBS];
    loop_thread = pthread_self();
    done_count = 0;
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
    CU_ASSERT_EQUAL_FATAL(f8d_background_start(&bg, &loop, 1, err, sizeof(err)), 0);
    for (int i = 0; i < JOBS; i++) {
        seen[i] = (struct seen){.index = i, .policy = -1, .done_order = -1};
        f8d_background_queue(&bg, &seen[i].job, work, done, &seen[i]);
    }
    CU_ASSERT_EQUAL(bg.pending, JOBS);
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once every job is done */
    CU_ASSERT_EQUAL(done_count, JOBS);
    CU_ASSERT_EQUAL(bg.pending, 0);
    for (int i = 0; i < JOBS; i++) {
        CU_ASSERT_EQUAL(seen[i].policy, SCHED_OTHER);
        CU_ASSERT_EQUAL(seen[i].nice, 19);
        CU_ASSERT_FALSE(seen[i].work_on_loop);
        CU_ASSERT_TRUE(seen[i].done_on_loop);
        CU_ASSERT_EQUAL(seen[i].done_order, i); /* one thread: in queue order */
    }
    CU_ASSERT_EQUAL(sched_getscheduler(0), SCHED_OTHER); /* the loop thread is untouched */
    f8d_background_stop(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    f8d_background_stop(&bg); /* twice: nothing */
}

/* A job that computes for 30 ms gives way every 200 us: the slice timer's handler ran on its
 * thread (about 150 times; at least 30 asked, for a loaded host), and none ran on the loop. */
static unsigned long slices_seen;

static void busy_work(struct f8d_bg_job *job)
{
    (void)job;
    const unsigned long before = f8d_background_slices_here();
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long spin = 0;
    do {
        spin++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 30000000L);
    slices_seen = f8d_background_slices_here() - before;
}

static void busy_done(struct f8d_bg_job *job)
{
    (void)job;
}

static void test_long_job_gives_way(void)
{
    uv_loop_t loop;
    char err[256];
    struct f8d_bg_job job;
    slices_seen = 0;
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
    CU_ASSERT_EQUAL_FATAL(f8d_background_start(&bg, &loop, 1, err, sizeof(err)), 0);
    const unsigned long loop_before = f8d_background_slices_here();
    f8d_background_queue(&bg, &job, busy_work, busy_done, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT(slices_seen >= 30);
    CU_ASSERT(slices_seen <= 200);
    CU_ASSERT_EQUAL(f8d_background_slices_here(), loop_before); /* not on the loop thread */
    f8d_background_stop(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

/* A done that queues the next job: a chain of 10 on 3 threads. */
static int chained;
static struct f8d_bg_job chain_job;

static void chain_work(struct f8d_bg_job *job)
{
    (void)job;
}

static void chain_done(struct f8d_bg_job *job)
{
    if (++chained < 10)
        f8d_background_queue(&bg, job, chain_work, chain_done, NULL);
}

static void test_done_may_queue_more(void)
{
    uv_loop_t loop;
    char err[256];
    chained = 0;
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
    CU_ASSERT_EQUAL_FATAL(f8d_background_start(&bg, &loop, 3, err, sizeof(err)), 0);
    f8d_background_queue(&bg, &chain_job, chain_work, chain_done, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(chained, 10);
    CU_ASSERT_EQUAL(bg.pending, 0);
    f8d_background_stop(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

/* An idle pool does not keep the loop running. */
static void test_idle_pool_lets_the_loop_end(void)
{
    uv_loop_t loop;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
    CU_ASSERT_EQUAL_FATAL(f8d_background_start(&bg, &loop, 2, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(uv_run(&loop, UV_RUN_DEFAULT), 0);
    f8d_background_stop(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"jobs run at nice 19, done on the loop in order",
         test_jobs_run_niced_and_return_to_the_loop},
        {"a done may queue more", test_done_may_queue_more},
        {"a long job gives way every slice", test_long_job_gives_way},
        {"an idle pool lets the loop end", test_idle_pool_lets_the_loop_end},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon_background", tests);
}
