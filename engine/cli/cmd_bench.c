/*
 * f8 bench MODEL [--batch N] [--threads T] [--iters K] [--isa PATH] [--layers]
 *
 * Times f8_run on random images: warm-up runs, then K timed runs; the median decides
 * images_per_s, ms_per_batch and gmacs (achieved int8 GMAC/s = MACs of the model × batch /
 * median time). With --layers, a further profiled pass splits the time by layer type. The last
 * line of the output is one JSON object; lines before it (with --layers) are per-type text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "f8.h"

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: f8 bench MODEL [--batch N] [--threads T] [--iters K] [--isa PATH] [--layers|--ops]\n"
               "\n"
               "Runs MODEL on random images and prints, as its last line, one JSON object:\n"
               "images_per_s, ms_per_batch (median), gmacs (achieved GMAC/s), isa, threads,\n"
               "cpu_ms_per_batch (median process CPU time: all threads, none of the time the\n"
               "host ran something else),\n"
               "batch, peak_rss_kib (VmHWM), rss_kib (VmRSS after the runs), arena_bytes, and with --layers the time per layer type.\n"
               "\n"
               "Options:\n"
               "  --batch N    images per f8_run (default 1)\n"
               "  --threads T  threads inside f8_run (default 1)\n"
               "  --iters K    timed runs (default 20; the median counts)\n"
               "  --isa PATH   auto, scalar, avx2, avx512vnni (default auto: cpuid / $F8_ISA)\n"
               "  --layers     also profile per layer type\n"
               "  --ops        also profile every op\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A "Vm...:" line of /proc/self/status in KiB (VmHWM: peak resident, VmRSS: resident now),
 * or -1. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    const size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0) {
            kib = strtol(line + n, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

enum { L_STEM, L_CONV3, L_CONV1, L_CONV1S, L_CONVK, L_DW, L_GROUPED, L_DENSE, L_ADD, L_MAXPOOL,
       L_AVGPOOL, L_COUNT };
static const char *const layer_names[L_COUNT] = {
    "conv_stem", "conv3x3", "conv1x1", "conv1x1_strided", "conv_other", "depthwise",
    "conv_grouped", "dense", "add", "maxpool", "avgpool"};

static int layer_type(const f8_model *m, const f8_op_desc *d)
{
    f8_value_desc in;
    f8_model_value(m, d->input0, &in);
    switch (d->type) {
    case F8_OP_CONV2D:
        if (d->groups > 1)
            return d->groups == in.c ? L_DW : L_GROUPED;
        if (in.c <= 4)
            return L_STEM;
        if (d->kernel_h == 3 && d->kernel_w == 3)
            return L_CONV3;
        if (d->kernel_h == 1 && d->kernel_w == 1)
            return d->stride_h == 1 && d->stride_w == 1 ? L_CONV1 : L_CONV1S;
        return L_CONVK;
    case F8_OP_DENSE: return L_DENSE;
    case F8_OP_ADD: return L_ADD;
    case F8_OP_MAXPOOL: return L_MAXPOOL;
    default: return L_AVGPOOL;
    }
}

int cmd_bench(int argc, char **argv)
{
    const char *path = NULL, *isa_name = "auto";
    uint64_t batch = 1, threads = 1, iters = 20;
    int layers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (cli_is_help(a)) {
            bench_usage(stdout);
            return 0;
        } else if ((r = cli_option(argc, argv, &i, "--batch", &v)) != 0) {
            if (r < 0 || cli_parse_u64(v, 1, 4096, &batch)) {
                cli_error("bench", "--batch needs an integer in [1, 4096]");
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "--threads", &v)) != 0) {
            if (r < 0 || cli_parse_u64(v, 1, 256, &threads)) {
                cli_error("bench", "--threads needs an integer in [1, 256]");
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "--iters", &v)) != 0) {
            if (r < 0 || cli_parse_u64(v, 1, 1000000, &iters)) {
                cli_error("bench", "--iters needs an integer in [1, 1000000]");
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "--isa", &v)) != 0) {
            if (r < 0) {
                cli_error("bench", "--isa needs a value");
                return EXIT_USAGE;
            }
            isa_name = v;
        } else if (strcmp(a, "--layers") == 0) {
            layers = 1;
        } else if (strcmp(a, "--ops") == 0) {
            layers = 2;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("bench", "unknown option '%s'", a);
            bench_usage(stderr);
            return EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            cli_error("bench", "unexpected argument '%s'", a);
            return EXIT_USAGE;
        }
    }
    if (!path) {
        cli_error("bench", "expected MODEL");
        bench_usage(stderr);
        return EXIT_USAGE;
    }
    f8_runner_options opts = {.threads = (uint32_t)threads, .isa = F8_ISA_AUTO};
    if (f8_isa_parse(isa_name, &opts.isa) != F8_OK) {
        cli_error("bench", "--isa: unknown path '%s' (auto, scalar, avx2, avx512vnni)", isa_name);
        return EXIT_USAGE;
    }

    char err[F8_ERRMSG_SIZE];
    f8_model *m = NULL;
    int rc = f8_model_open(path, &m, err, sizeof err);
    if (rc) {
        cli_model_error("bench", path, rc, err);
        return 1;
    }
    const f8_model_info *info = f8_model_get_info(m);
    uint64_t macs = 0;
    for (uint32_t i = 0; i < info->num_ops; i++) {
        f8_op_desc d;
        f8_model_op(m, i, &d);
        macs += d.macs;
    }
    f8_runner *r = NULL;
    rc = f8_runner_create_opts(m, (uint32_t)batch, &opts, &r);
    if (rc) {
        cli_error("bench", "cannot create a runner: %s%s", f8_strerror(rc),
                  rc == F8_EINVAL ? " (path not supported by this CPU, or a bad $F8_ISA)" : "");
        f8_model_close(m);
        return 1;
    }
    const size_t img = (size_t)info->input_h * info->input_w * info->input_c;
    uint8_t *images = malloc(img * batch);
    int32_t *logits = malloc(sizeof *logits * info->num_classes * batch);
    double *t = malloc(sizeof *t * iters), *c = malloc(sizeof *c * iters);
    uint64_t *op_ns = calloc(info->num_ops, sizeof *op_ns);
    if (!images || !logits || !t || !c || !op_ns) {
        cli_error("bench", "out of memory");
        rc = 1;
        goto out;
    }
    uint32_t seed = 12345;
    for (size_t i = 0; i < img * batch; i++) {
        seed = seed * 1664525u + 1013904223u;
        images[i] = (uint8_t)(seed >> 24);
    }
    for (int w = 0; w < 2; w++)
        f8_run(r, images, (uint32_t)batch, logits);
    for (uint64_t k = 0; k < iters; k++) {
        const double t0 = now_s(), c0 = cpu_s();
        f8_run(r, images, (uint32_t)batch, logits);
        t[k] = now_s() - t0;
        c[k] = cpu_s() - c0;
    }
    qsort(t, iters, sizeof *t, cmp_double);
    qsort(c, iters, sizeof *c, cmp_double);
    const double med = iters % 2 ? t[iters / 2] : (t[iters / 2 - 1] + t[iters / 2]) / 2;
    const double cmed = iters % 2 ? c[iters / 2] : (c[iters / 2 - 1] + c[iters / 2]) / 2;

    double type_s[L_COUNT] = {0};
    uint64_t type_macs[L_COUNT] = {0};
    const uint64_t prof_iters = iters < 5 ? iters : 5;
    if (layers) {
        for (uint64_t k = 0; k < prof_iters; k++)
            f8_run_profiled(r, images, (uint32_t)batch, logits, op_ns);
        for (uint32_t i = 0; i < info->num_ops; i++) {
            f8_op_desc d;
            f8_model_op(m, i, &d);
            const int lt = layer_type(m, &d);
            type_s[lt] += (double)op_ns[i] * 1e-9 / (double)prof_iters;
            type_macs[lt] += d.macs * batch;
            if (layers == 2) {
                f8_value_desc vi, vo;
                f8_model_value(m, d.input0, &vi);
                f8_model_value(m, d.output, &vo);
                const double s = (double)op_ns[i] * 1e-9 / (double)prof_iters;
                printf("op %3u %-16s %3ux%3ux%4u -> %3ux%3ux%4u k%ux%u/%u %8.3f ms %7.1f GMAC/s\n",
                       i, layer_names[lt], vi.h, vi.w, vi.c, vo.h, vo.w, vo.c, d.kernel_h,
                       d.kernel_w, d.stride_h, s * 1e3,
                       d.macs ? (double)d.macs * (double)batch / s * 1e-9 : 0.0);
            }
        }
        for (int lt = 0; lt < L_COUNT; lt++)
            if (type_s[lt] > 0)
                printf("%-16s %9.3f ms  %8.1f GMAC/s\n", layer_names[lt], type_s[lt] * 1e3,
                       type_macs[lt] ? (double)type_macs[lt] / type_s[lt] * 1e-9 : 0.0);
    }
    printf("{\"model\": \"%s\", \"isa\": \"%s\", \"threads\": %u, \"batch\": %" PRIu64
           ", \"iters\": %" PRIu64 ", \"images_per_s\": %.2f, \"ms_per_batch\": %.3f, "
           "\"ms_min\": %.3f, \"ms_max\": %.3f, \"gmacs\": %.1f, \"gmac_per_image\": %.4f, "
           "\"cpu_ms_per_batch\": %.3f, \"peak_rss_kib\": %ld, \"rss_kib\": %ld, "
           "\"arena_bytes\": %zu",
           info->name, f8_isa_name(f8_runner_isa(r)), f8_runner_threads(r), batch, iters,
           (double)batch / med, med * 1e3, t[0] * 1e3, t[iters - 1] * 1e3,
           (double)macs * (double)batch / med * 1e-9, (double)macs * 1e-9, cmed * 1e3, status_kib("VmHWM:"), status_kib("VmRSS:"),
           f8_runner_arena_bytes(r));
    if (layers) {
        printf(", \"layers\": {");
        int first = 1;
        for (int lt = 0; lt < L_COUNT; lt++) {
            if (type_s[lt] <= 0)
                continue;
            printf("%s\"%s\": {\"ms\": %.3f, \"gmacs\": %.1f}", first ? "" : ", ", layer_names[lt],
                   type_s[lt] * 1e3,
                   type_macs[lt] ? (double)type_macs[lt] / type_s[lt] * 1e-9 : 0.0);
            first = 0;
        }
        printf("}");
    }
    printf("}\n");
    rc = 0;
out:
    free(images);
    free(logits);
    free(t);
    free(c);
    free(op_ns);
    f8_runner_destroy(r);
    f8_model_close(m);
    return rc;
}
