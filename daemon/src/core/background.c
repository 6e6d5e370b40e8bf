/* f8d background jobs: a lower priority for libuv's pool threads (see the header). */
#include "background.h"

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
    /* Linux applies PRIO_PROCESS to one thread when given its thread id. A failure (a
     * sandbox that forbids it) only leaves the thread at the workers' priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), BACKGROUND_NICE);
}
