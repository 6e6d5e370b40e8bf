/*
 * f8d CPU count: how many CPUs this process may use, which sizes the inference pool (the
 * `threads` key's default): the affinity mask, capped by the cgroup CPU quota (a container's
 * --cpus, a systemd CPUQuota=).
 */
#ifndef F8D_CPUS_H
#define F8D_CPUS_H

/* CPUs this process may run on: the affinity mask, capped by the cgroup CPU quota found
 * under /sys/fs/cgroup. >= 1. */
unsigned f8d_cpu_count(void);

/* The CPU quota of the cgroup mounted at `root`, rounded up to whole CPUs; 0 = no limit (or
 * none readable). cgroup v2: root/cpu.max ("QUOTA PERIOD", or "max ..."); else cgroup v1:
 * root/cpu/cpu.cfs_quota_us over cpu.cfs_period_us (or under root/cpu,cpuacct/), where a
 * quota of -1 means no limit. */
unsigned f8d_cgroup_cpu_limit(const char *root);

#endif /* F8D_CPUS_H */
