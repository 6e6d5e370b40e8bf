/* f8d background jobs: the idle scheduling class for libuv's pool threads (see the header). */
#include "background.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <unistd.h>

#define BACKGROUND_NICE 19

void f8d_background_thread(void)
{
    static _Thread_local bool lowered;
    if (lowered)
        return;
    lowered = true;
    /* SCHED_IDLE, not only nice +19: the kernel preempts an idle-class thread as soon as a
     * normal one wakes on its CPU, and counts a CPU running only idle-class threads as idle
     * when it places a waking worker. A nice +19 thread keeps its slice until it has run its
     * share (EEVDF's run-to-parity): a small request's worker waited up to ~3 ms behind a
     * reload's packing. Linux applies both to the calling thread only. A failure (a sandbox
     * that forbids it) leaves the thread at nice +19 or at the workers' priority. */
    struct sched_param idle = {.sched_priority = 0};
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), BACKGROUND_NICE);
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
}
