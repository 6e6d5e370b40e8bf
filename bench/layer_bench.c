/*
 * One CONV2D layer through libf8's kernels, timed in thread CPU time (immune to the host
 * descheduling us): for tuning kernels on a noisy machine.
 *
 *   layer_bench H W CIN COUT K STRIDE PAD GROUPS [ISA] [ITERS] [IN_DTYPE] [OUT_DTYPE]
 *     ISA: scalar|avx2|avx512vnni (default: best); dtypes 1 u8, 2 s8, 3 s32 (default 1, 1)
 *   prints one JSON line: best and median ms per image, GMAC/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/src/f8_internal.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: layer_bench H W CIN COUT K STRIDE PAD GROUPS [ISA] [ITERS] "
                        "[IN_DTYPE] [OUT_DTYPE] [FL_W]\n");
        return 2;
    }
    const uint32_t H = (uint32_t)atoi(argv[1]), W = (uint32_t)atoi(argv[2]);
    const uint32_t cin = (uint32_t)atoi(argv[3]), cout = (uint32_t)atoi(argv[4]);
    const uint32_t k = (uint32_t)atoi(argv[5]), s = (uint32_t)atoi(argv[6]);
    const uint32_t pad = (uint32_t)atoi(argv[7]), groups = (uint32_t)atoi(argv[8]);
    f8_isa isa = f8_isa_best();
    if (argc > 9 && f8_isa_parse(argv[9], &isa) != F8_OK)
        return 2;
    const int iters = argc > 10 ? atoi(argv[10]) : 20;
    const f8_dtype din = argc > 11 ? (f8_dtype)atoi(argv[11]) : F8_DTYPE_U8;
    const f8_dtype dout = argc > 12 ? (f8_dtype)atoi(argv[12]) : F8_DTYPE_U8;
    /* the weights' FL: the right shift is FL_W (the in and out FLs are equal); MobileNets'
     * depthwise layers shift by 5-7, which the dwq kernels round on words */
    const int flw_all = argc > 13 ? atoi(argv[13]) : 8;
    if (!f8_isa_supported(isa) || iters < 1 || groups == 0 || cin % groups || cout % groups)
        return 2;

    f8_op_impl op;
    memset(&op, 0, sizeof op);
    f8_kernel_args *a = &op.args;
    op.desc.type = F8_OP_CONV2D;
    a->kernel_h = a->kernel_w = k;
    a->stride_h = a->stride_w = s;
    a->pad_top = a->pad_left = a->pad_bottom = a->pad_right = pad;
    a->groups = groups;
    const uint32_t ho = (H + 2 * pad - k) / s + 1, wo = (W + 2 * pad - k) / s + 1;
    a->in0 = (f8_value_desc){H, W, cin, din, 4, 0};
    a->out = (f8_value_desc){ho, wo, cout, dout, 4, 0};
    a->relu = 1;
    const size_t nw = (size_t)cout * k * k * (cin / groups);
    int8_t *w = malloc(nw), *flw = malloc(cout);
    int32_t *bias = malloc(cout * sizeof *bias);
    for (size_t i = 0; i < nw; i++)
        w[i] = (int8_t)(rand() % 255 - 127);
    for (uint32_t o = 0; o < cout; o++) {
        bias[o] = rand() % 10000 - 5000;
        flw[o] = (int8_t)flw_all;
    }
    a->weights = w;
    a->bias = bias;
    a->fl_w = flw;
    if (f8_pack_op(a, F8_OP_CONV2D, &op.pk) != F8_OK)
        return 1;
    const size_t nx = (size_t)H * W * cin * f8_dtype_size(din);
    const size_t ny = (size_t)ho * wo * cout * f8_dtype_size(dout);
    /* 64-byte aligned like the runner's arena (a kernel's row stores may be whole lines) */
    uint8_t *x = aligned_alloc(64, (nx + 63) & ~(size_t)63);
    uint8_t *y = aligned_alloc(64, (ny + 63) & ~(size_t)63), *zero = calloc(1, op.pk.seg4 + 64);
    for (size_t i = 0; i < nx; i++)
        x[i] = (uint8_t)rand();
    double *t = malloc(sizeof *t * (size_t)iters);
    f8_op_exec(&op, isa, zero, 1, x, NULL, y);
    for (int i = 0; i < iters; i++) {
        const double t0 = cpu_s();
        f8_op_exec(&op, isa, zero, 1, x, NULL, y);
        t[i] = cpu_s() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp);
    const double macs = (double)ho * wo * cout * k * k * (cin / groups);
    printf("{\"layer\": \"%ux%ux%u->%ux%ux%u k%u s%u p%u g%u\", \"isa\": \"%s\", \"ms_best\": %.4f, "
           "\"ms_median\": %.4f, \"gmacs_best\": %.1f}\n",
           H, W, cin, ho, wo, cout, k, s, pad, groups, f8_isa_name(isa), t[0] * 1e3,
           t[iters / 2] * 1e3, macs / t[0] * 1e-9);
    f8_pack_free(&op.pk);
    free(w);
    free(flw);
    free(bias);
    free(x);
    free(y);
    free(zero);
    free(t);
    return 0;
}
