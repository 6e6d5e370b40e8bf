/*
 * Sustained vpdpbusd zmm throughput: the VNNI peak that bench/RESULTS.md measures libf8
 * against. Each thread runs 24 independent accumulator chains (enough on every CPU seen,
 * docs/ENGINE.md) over register operands, so nothing but the multiplier is measured.
 *
 *   vnni_peak [--threads T] [--seconds S]   prints one JSON line: gmacs (64 MACs/instruction)
 *   per wall-clock second, and gmacs_cpu per second of thread CPU time
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define ACC 24
#define REP 1000000ull

/* 24 chains in zmm8..zmm31, operands in zmm0/zmm1: written in assembly so that the compiler
 * cannot spill or reorder anything. */
#define DP(n) "vpdpbusd %%zmm1, %%zmm0, %%zmm" #n "\n\t"
static uint64_t spin(uint64_t reps)
{
    uint64_t r = reps;
    __asm__ volatile("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                     "vpabsb %%zmm0, %%zmm1\n\t"
                     "1:\n\t" DP(8) DP(9) DP(10) DP(11) DP(12) DP(13) DP(14) DP(15) DP(16) DP(17)
                         DP(18) DP(19) DP(20) DP(21) DP(22) DP(23) DP(24) DP(25) DP(26) DP(27)
                             DP(28) DP(29) DP(30) DP(31) "dec %0\n\t"
                                                         "jnz 1b\n\t"
                     : "+r"(r)
                     :
                     : "xmm0", "xmm1", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                       "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
                       "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29",
                       "xmm30", "xmm31", "cc");
    return r;
}

typedef struct {
    double seconds, cpu_seconds;
    uint64_t instr;
    uint64_t sink;
} job;

static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker(void *arg)
{
    job *j = arg;
    const double t0 = now_s(), c0 = cpu_now_s();
    uint64_t reps = 0;
    while (now_s() - t0 < j->seconds) {
        j->sink += spin(REP / 10);
        reps += REP / 10;
    }
    j->instr = reps * ACC;
    j->seconds = now_s() - t0;
    j->cpu_seconds = cpu_now_s() - c0;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1;
    double seconds = 1.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
    }
    if (threads < 1 || threads > 256)
        return 2;
    pthread_t th[256];
    job jobs[256];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){seconds, 0, 0, 0};
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    double gmacs = 0, gmacs_cpu = 0;
    uint64_t sink = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        gmacs += (double)jobs[t].instr * 64 / jobs[t].seconds * 1e-9;
        gmacs_cpu += (double)jobs[t].instr * 64 / jobs[t].cpu_seconds * 1e-9;
        sink += jobs[t].sink;
    }
    /* gmacs: per wall-clock second; gmacs_cpu: per second the threads actually ran (what the
     * cores can do, whatever else the host runs) */
    printf("{\"threads\": %d, \"accumulators\": %d, \"gmacs\": %.1f, \"gmacs_cpu\": %.1f, "
           "\"sink\": %llu}\n",
           threads, ACC, gmacs, gmacs_cpu, (unsigned long long)(sink & 1));
    return 0;
}
