/*
 * f8d background jobs: work that runs on libuv's thread pool (KServe JSON parsing, model
 * reloads) yields the CPUs to the inference workers.
 *
 * On a box with as many workers as CPUs, a burst of large JSON bodies or a reload of a big
 * model would otherwise take CPU time from batches in equal share. The first job a libuv pool
 * thread runs lowers that thread's scheduling priority (nice +19, Linux: per thread), so the
 * kernel prefers the workers while both want a CPU; the jobs still run whenever a CPU is free.
 */
#ifndef F8D_BACKGROUND_H
#define F8D_BACKGROUND_H

/* Call at the start of every job on libuv's thread pool. Cheap after the thread's first. */
void f8d_background_thread(void);

#endif /* F8D_BACKGROUND_H */
