/*
 * The runner (f8_runner_create / f8_run): buffers shared by liveness, batching, a value nobody
 * reads, an op reading the output value, concurrent runners on one model. Its logits must equal
 * the kernels run by hand one image at a time with a private buffer per value.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "unit.h"

#define IMG (8 * 8 * 3)
#define CLASSES 5
#define MAX_BATCH 6

static int8_t wa[8 * 3 * 3 * 3], wb[8 * 8], wc[8 * 3 * 3 * 8], wd[8 * 9], we[CLASSES * 8];
static int32_t ba[8], bb[8], bc[8], bd[8], be[CLASSES];
static int8_t fa[8], fb[8], fc[8], fd[8], fe[CLASSES];
static uint64_t seed = 0x243F6A8885A308D3ull;

static uint32_t rnd(void)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(seed >> 33);
}

static void fill8(int8_t *w, size_t n, int range)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (int8_t)((int)(rnd() % (2 * range + 1)) - range);
}

static void fill32(int32_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (int32_t)(rnd() % 20001) - 10000;
}

static void fillfl(int8_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f[i] = (int8_t)(5 + rnd() % 3);
}

/* mb_every_op's graph (v1 stays live across ops 1-3, v6 is never read), and one more op,
 * add(v8, v8) -> v9, that reads the output value and is never read. */
static f8_model *build(void)
{
    fill8(wa, sizeof wa, 60);
    fill8(wb, sizeof wb, 90);
    fill8(wc, sizeof wc, 40);
    fill8(wd, sizeof wd, 127);
    fill8(we, sizeof we, 127);
    fill32(ba, 8);
    fill32(bb, 8);
    fill32(bc, 8);
    fill32(bd, 8);
    fill32(be, CLASSES);
    fillfl(fa, 8);
    fillfl(fb, 8);
    fillfl(fc, 8);
    fillfl(fd, 8);
    fillfl(fe, CLASSES);
    mb_model m;
    mb_init(&m, 8, 8, 3, 8, CLASSES);
    const mb_every_op_weights k = {{wa, wb, wc, wd, we}, {ba, bb, bc, bd, be}, {fa, fb, fc, fd, fe}};
    const uint32_t v8 = mb_every_op(&m, CLASSES, &k);
    const uint32_t v9 = mb_value(&m, 1, 1, CLASSES, F8_DTYPE_S32, 2);
    mb_add(&m, v8, v8, v9, 1);
    char err[F8_ERRMSG_SIZE];
    int rc;
    f8_model *model = mb_open(&m, err, sizeof err, &rc);
    if (rc != F8_OK)
        fprintf(stderr, "build: %s\n", err);
    return model;
}

/* One image through the validated ops' kernels, a fresh buffer per value. */
static void reference(const f8_model *m, const uint8_t *img, int32_t *logits)
{
    void *buf[16] = {0};
    buf[0] = (void *)(uintptr_t)img;
    for (uint32_t v = 1; v < m->info.num_values; v++)
        buf[v] = calloc(f8_value_elems(&m->values[v]), f8_dtype_size(m->values[v].dtype));
    for (uint32_t i = 0; i < m->info.num_ops; i++) {
        const f8_op_impl *op = &m->ops[i];
        void *y = buf[op->desc.output];
        const void *x = buf[op->desc.input0];
        switch (op->desc.type) {
        case F8_OP_CONV2D: f8_conv2d_scalar(&op->args, x, y); break;
        case F8_OP_DENSE: f8_dense_scalar(&op->args, x, y); break;
        case F8_OP_ADD: f8_add_scalar(&op->args, x, buf[op->desc.input1], y); break;
        case F8_OP_MAXPOOL: f8_maxpool_scalar(&op->args, x, y); break;
        case F8_OP_AVGPOOL: f8_avgpool_scalar(&op->args, x, y); break;
        }
    }
    memcpy(logits, buf[m->output_value], CLASSES * sizeof *logits);
    for (uint32_t v = 1; v < m->info.num_values; v++)
        free(buf[v]);
}

static uint8_t images[MAX_BATCH * IMG];
static int32_t want[MAX_BATCH * CLASSES];

static void prepare(const f8_model *m)
{
    for (size_t i = 0; i < sizeof images; i++)
        images[i] = (uint8_t)rnd();
    for (int b = 0; b < MAX_BATCH; b++)
        reference(m, images + b * IMG, want + b * CLASSES);
}

static void test_batches_match_reference(void)
{
    f8_model *m = build();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    prepare(m);
    /* the logits are not all equal (the test would be weak otherwise) */
    int distinct = 0;
    for (int i = 1; i < MAX_BATCH * CLASSES; i++)
        distinct |= want[i] != want[0];
    CU_ASSERT(distinct);

    f8_runner *r = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(m, MAX_BATCH, &r), F8_OK);
    for (uint32_t batch = 1; batch <= MAX_BATCH; batch++) {
        int32_t got[MAX_BATCH * CLASSES + 1];
        got[batch * CLASSES] = 0x5EED; /* nothing written past batch * num_classes */
        for (uint32_t start = 0; start + batch <= MAX_BATCH; start += batch) {
            CU_ASSERT_EQUAL(f8_run(r, images + start * IMG, batch, got), F8_OK);
            CU_ASSERT_EQUAL(memcmp(got, want + start * CLASSES, batch * CLASSES * sizeof *got), 0);
        }
        CU_ASSERT_EQUAL(got[batch * CLASSES], 0x5EED);
    }
    /* a batch-1 runner, run twice over (no state carried between runs) */
    f8_runner *r1 = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(m, 1, &r1), F8_OK);
    for (int pass = 0; pass < 2; pass++)
        for (int b = 0; b < MAX_BATCH; b++) {
            int32_t got[CLASSES];
            CU_ASSERT_EQUAL(f8_run(r1, images + b * IMG, 1, got), F8_OK);
            CU_ASSERT_EQUAL(memcmp(got, want + b * CLASSES, sizeof got), 0);
        }
    f8_runner_destroy(r1);
    f8_runner_destroy(r);
    f8_model_close(m);
}

typedef struct {
    const f8_model *m;
    int ok;
} thread_arg;

static void *worker(void *p)
{
    thread_arg *t = p;
    f8_runner *r = NULL;
    t->ok = f8_runner_create(t->m, 3, &r) == F8_OK;
    for (int iter = 0; iter < 20 && t->ok; iter++) {
        int32_t got[3 * CLASSES];
        const int start = iter % (MAX_BATCH - 2);
        t->ok &= f8_run(r, images + start * IMG, 3, got) == F8_OK;
        t->ok &= memcmp(got, want + start * CLASSES, sizeof got) == 0;
    }
    f8_runner_destroy(r);
    return NULL;
}

static void test_threads_share_model(void)
{
    f8_model *m = build();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    prepare(m);
    pthread_t th[3];
    thread_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (thread_arg){m, 0};
        CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT(args[i].ok);
    }
    f8_model_close(m);
}

/* Two runners lending one arena (a daemon worker's: one arena for every model it runs), used
 * one after the other, give the reference logits; the arena is checked for size, alignment
 * and presence. */
static void test_lent_arena(void)
{
    f8_model *m = build();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    prepare(m);
    const f8_runner_options lend = {.threads = 1, .isa = F8_ISA_AUTO, .lend_arena = 1};
    f8_runner *a = NULL, *b = NULL, *own = NULL;
    CU_ASSERT_EQUAL_FATAL(f8_runner_create_opts(m, MAX_BATCH, &lend, &a), F8_OK);
    CU_ASSERT_EQUAL_FATAL(f8_runner_create_opts(m, 2, &lend, &b), F8_OK);
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(m, 2, &own), F8_OK);
    const size_t need = f8_runner_arena_bytes(a);
    CU_ASSERT(need > f8_runner_arena_bytes(b));
    CU_ASSERT(f8_runner_arena_bytes(b) > 0);

    int32_t got[MAX_BATCH * CLASSES];
    uint64_t ns = 0;
    CU_ASSERT_EQUAL(f8_run(a, images, 1, got), F8_EINVAL); /* nothing lent yet */
    CU_ASSERT_EQUAL(f8_runner_time_image(a, images, got, &ns), F8_EINVAL); /* f8_run's error */
    uint8_t *arena = NULL;
    CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&arena, 64, need + 64), 0);
    CU_ASSERT_EQUAL(f8_runner_set_arena(a, arena, need - 1), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_runner_set_arena(a, arena + 1, need), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_runner_set_arena(a, NULL, need), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_runner_set_arena(own, arena, need), F8_EINVAL); /* owns one */
    CU_ASSERT_EQUAL(f8_runner_set_arena(a, arena, need), F8_OK);
    CU_ASSERT_EQUAL(f8_runner_set_arena(b, arena, need), F8_OK);
    /* timing one image runs it: the reference logits, and a time */
    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(f8_runner_time_image(a, images, got, &ns), F8_OK);
    CU_ASSERT_EQUAL(memcmp(got, want, CLASSES * sizeof *got), 0);
    CU_ASSERT(ns > 0);
    for (int pass = 0; pass < 2; pass++) { /* each run overwrites what the other left */
        memset(got, 0, sizeof got);
        CU_ASSERT_EQUAL(f8_run(a, images, MAX_BATCH, got), F8_OK);
        CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);
        memset(got, 0, sizeof got);
        CU_ASSERT_EQUAL(f8_run(b, images + 2 * IMG, 2, got), F8_OK);
        CU_ASSERT_EQUAL(memcmp(got, want + 2 * CLASSES, 2 * CLASSES * sizeof *got), 0);
    }
    f8_runner_destroy(a); /* frees nothing lent */
    f8_runner_destroy(b);
    f8_runner_destroy(own);
    free(arena);
    f8_model_close(m);
}

static void test_arguments(void)
{
    f8_model *m = build();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    f8_runner *r = NULL;
    CU_ASSERT_EQUAL(f8_runner_create(m, 0, &r), F8_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(f8_runner_create(NULL, 1, &r), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_runner_create(m, 2, NULL), F8_EINVAL);
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(m, 2, &r), F8_OK);
    int32_t logits[3 * CLASSES];
    CU_ASSERT_EQUAL(f8_run(r, images, 3, logits), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_run(r, NULL, 1, logits), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_run(r, images, 1, NULL), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_run(NULL, images, 1, logits), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_run(r, images, 0, logits), F8_OK);
    f8_runner_destroy(r);
    f8_runner_destroy(NULL);
    f8_model_close(m);
    f8_model_close(NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"every batch size equals the per-image reference", test_batches_match_reference},
        {"runners in three threads share one model", test_threads_share_model},
        {"runners lending one arena", test_lent_arena},
        {"argument checks", test_arguments},
        CU_TEST_INFO_NULL,
    };
    return unit_run("runner", tests);
}
