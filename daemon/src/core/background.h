/*
 * f8d background jobs: work that runs on libuv's thread pool (KServe JSON parsing, model
 * reloads) yields the CPUs to the inference workers.
 *
 * On a box with as many workers as CPUs, a burst of large JSON bodies or a reload of a big
 * model would otherwise take CPU time from batches in equal share. The first job a libuv pool
 * thread runs puts that thread in the idle scheduling class (SCHED_IDLE, and nice +19 where that
 * is refused; Linux: per thread), so a worker that wakes takes its CPU at once and the kernel
 * places waking workers on CPUs that run only such jobs; the jobs still run whenever a CPU
 * is free.
 */
#ifndef F8D_BACKGROUND_H
#define F8D_BACKGROUND_H

/* Call at the start of every job on libuv's thread pool. Cheap after the thread's first. */
void f8d_background_thread(void);

#endif /* F8D_BACKGROUND_H */
