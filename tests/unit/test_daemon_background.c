/*
 * f8d_background_thread: a thread that calls it runs in the idle scheduling class at nice
 * +19 (so a waking inference worker preempts it at once); the thread that started it, and a
 * thread that does not call it, keep the normal class.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/background.h"
#include "unit.h"

struct seen {
    int call;     /* whether the thread calls f8d_background_thread (twice: idempotent) */
    int policy;
    int nice;
};

static void *look(void *arg)
{
    struct seen *s = arg;
    if (s->call) {
        f8d_background_thread();
        f8d_background_thread();
    }
    s->policy = sched_getscheduler(0);
    s->nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    return NULL;
}

static void seen_in_thread(struct seen *s)
{
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, look, s), 0);
    CU_ASSERT_EQUAL(pthread_join(t, NULL), 0);
}

static void test_background_thread_is_idle_class(void)
{
    struct seen s = {.call = 1, .policy = -1, .nice = 0};
    seen_in_thread(&s);
    CU_ASSERT_EQUAL(s.policy, SCHED_IDLE);
    CU_ASSERT_EQUAL(s.nice, 19);
}

static void test_other_threads_keep_the_normal_class(void)
{
    struct seen s = {.call = 1, .policy = -1, .nice = 0};
    seen_in_thread(&s);
    struct seen other = {.call = 0, .policy = -1, .nice = -100};
    seen_in_thread(&other);
    CU_ASSERT_EQUAL(other.policy, SCHED_OTHER);
    CU_ASSERT_EQUAL(other.nice, getpriority(PRIO_PROCESS, (id_t)gettid()));
    CU_ASSERT_EQUAL(sched_getscheduler(0), SCHED_OTHER);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"a background thread runs in the idle class at nice 19",
         test_background_thread_is_idle_class},
        {"the caller's and other threads keep the normal class",
         test_other_threads_keep_the_normal_class},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon_background", tests);
}
