/*
 * Kernel path selection: what the CPU supports (cpuid + xgetbv), and the F8_ISA override.
 * Decided once per runner (f8_runner_create_opts); kernels never test features themselves.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "f8_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int detect(f8_isa isa)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* SSE and AVX state enabled by the OS */
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
    if (isa == F8_ISA_AVX2)
        return avx2 && bmi2;
    if (isa == F8_ISA_AVX512VNNI) {
        const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
        const int vnni = (c >> 11) & 1;
        return avx2 && bmi2 && f && dq && bw && vl && vnni && (xcr0 & 0xE6) == 0xE6;
    }
    return 0;
}
#else
static int detect(f8_isa isa)
{
    (void)isa;
    return 0;
}
#endif

int f8_isa_supported(f8_isa isa)
{
    /* every thread that races here computes and stores the same value */
    static _Atomic int cache[4] = {-1, -1, -1, -1};
    if (isa == F8_ISA_SCALAR)
        return 1;
    if (isa != F8_ISA_AVX2 && isa != F8_ISA_AVX512VNNI)
        return 0;
    int v = atomic_load_explicit(&cache[isa], memory_order_relaxed);
    if (v < 0) {
        v = detect(isa);
        atomic_store_explicit(&cache[isa], v, memory_order_relaxed);
    }
    return v;
}

f8_isa f8_isa_best(void)
{
    if (f8_isa_supported(F8_ISA_AVX512VNNI))
        return F8_ISA_AVX512VNNI;
    if (f8_isa_supported(F8_ISA_AVX2))
        return F8_ISA_AVX2;
    return F8_ISA_SCALAR;
}

const char *f8_isa_name(f8_isa isa)
{
    switch (isa) {
    case F8_ISA_AUTO: return "auto";
    case F8_ISA_SCALAR: return "scalar";
    case F8_ISA_AVX2: return "avx2";
    case F8_ISA_AVX512VNNI: return "avx512vnni";
    }
    return NULL;
}

int f8_isa_parse(const char *name, f8_isa *out)
{
    static const f8_isa all[] = {F8_ISA_AUTO, F8_ISA_SCALAR, F8_ISA_AVX2, F8_ISA_AVX512VNNI};
    if (!name || !out)
        return F8_EINVAL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, f8_isa_name(all[i])) == 0) {
            *out = all[i];
            return F8_OK;
        }
    return F8_EINVAL;
}

int f8_isa_resolve(f8_isa want, f8_isa *out)
{
    if (want == F8_ISA_AUTO) {
        const char *env = getenv("F8_ISA");
        if (env && *env) {
            if (f8_isa_parse(env, &want) != F8_OK)
                return F8_EINVAL;
        }
    }
    if (want == F8_ISA_AUTO) {
        *out = f8_isa_best();
        return F8_OK;
    }
    if (!f8_isa_supported(want))
        return F8_EINVAL;
    *out = want;
    return F8_OK;
}
