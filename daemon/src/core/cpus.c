/* f8d CPU count: the affinity mask, capped by the cgroup (v2 or v1) CPU quota. */
#include "cpus.h"

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h" /* F8D_PATH_MAX */

/* ceil(quota / period), or 0 when either is not a positive number (no limit). */
static unsigned quota_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    unsigned long long cpus = ((unsigned long long)quota + (unsigned long long)period - 1) /
                              (unsigned long long)period;
    return cpus > UINT32_MAX ? UINT32_MAX : (unsigned)cpus;
}

/* cgroup v2 "cpu.max": "max 100000" (no limit) or "QUOTA PERIOD". */
static unsigned cgroup2_limit(const char *root)
{
    char path[F8D_PATH_MAX];
    snprintf(path, sizeof(path), "%s/cpu.max", root);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char quota[32];
    long long period = 0;
    unsigned limit = 0;
    if (fscanf(f, "%31s %lld", quota, &period) == 2 && strcmp(quota, "max") != 0)
        limit = quota_cpus(strtoll(quota, NULL, 10), period);
    fclose(f);
    return limit;
}

/* One number from a cgroup v1 file; 0 when it cannot be read. */
static long long read_number(const char *dir, const char *name)
{
    char path[F8D_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    long long v = 0;
    if (fscanf(f, "%lld", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

/* cgroup v1: cpu.cfs_quota_us (-1 = no limit) over cpu.cfs_period_us, in the cpu controller's
 * directory ("cpu" is usually a link to "cpu,cpuacct"; some hosts have only the latter). */
static unsigned cgroup1_limit(const char *root)
{
    static const char *const dirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char dir[F8D_PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/%s", root, dirs[i]);
        long long period = read_number(dir, "cpu.cfs_period_us");
        if (period > 0)
            return quota_cpus(read_number(dir, "cpu.cfs_quota_us"), period);
    }
    return 0;
}

unsigned f8d_cgroup_cpu_limit(const char *root)
{
    unsigned limit = cgroup2_limit(root);
    return limit > 0 ? limit : cgroup1_limit(root);
}

unsigned f8d_cpu_count(void)
{
    cpu_set_t set;
    unsigned n = 1;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        n = (unsigned)CPU_COUNT(&set);
    unsigned quota = f8d_cgroup_cpu_limit("/sys/fs/cgroup");
    if (quota > 0 && quota < n)
        n = quota;
    return n;
}
