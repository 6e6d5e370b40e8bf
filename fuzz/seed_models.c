/*
 * Writes the small seed models of fuzz/corpus/model_load/ (run by hand when the format
 * changes; the files are committed):
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Iengine/include -Iengine/src -o build/seed_models \
 *       fuzz/seed_models.c engine/src/crc32.c && build/seed_models fuzz/corpus/model_load
 *
 * all_ops.f8   every op type: conv, 1x1 conv, strided conv, maxpool, add, depthwise conv,
 *              avgpool, dense (mb_every_op of tests/unit/model_builder.h)
 * dense.f8     4x4x1 -> dense -> 3 classes
 * conv_pool.f8 6x6x2 -> conv3x3 s2 +ReLU -> maxpool 3x3 -> dense -> 4 classes
 * ternary.f8   (not from here: written by f8train, fgq.ternarize_graph of randmodel.op_zoo(12,
 *              12, 1, classes=2, seed=7), N 4, every other u8/s8 value at 4 bits) FGQ ternary
 *              ops and narrow values, FORMAT.md §2.5
 * ternary_dense.f8 (not from here either: `f8train repack ternary.f8 --out ternary_dense.f8`)
 *              the same model in the dense packing (base-3 codes, 7-bit alphas, format
 *              version 2), FORMAT.md §2.5
 */
#include "../tests/unit/model_builder.h"

static void fill(void *p, size_t n, unsigned seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
}

static void fl(int8_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f[i] = (int8_t)(5 + i % 3);
}

static void small_bias(int32_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (int32_t)(i * 37 % 200) - 100;
}

static int write_model(const char *dir, const char *name, const mb_model *m)
{
    size_t size = 0;
    uint8_t *b = mb_build(m, &size);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        free(b);
        return 1;
    }
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    static mb_model m;

    enum { C = 5 };
    static int8_t wa[8 * 3 * 3 * 3], wb[8 * 8], wc[8 * 3 * 3 * 8], wd[8 * 9], we[C * 8];
    static int32_t ba[8], bb[8], bc[8], bd[8], be[C];
    static int8_t fa[8], fb[8], fc[8], fd[8], fe[C];
    fill(wa, sizeof wa, 1), fill(wb, sizeof wb, 2), fill(wc, sizeof wc, 3);
    fill(wd, sizeof wd, 4), fill(we, sizeof we, 5);
    small_bias(ba, 8), small_bias(bb, 8), small_bias(bc, 8), small_bias(bd, 8), small_bias(be, C);
    fl(fa, 8), fl(fb, 8), fl(fc, 8), fl(fd, 8), fl(fe, C);
    mb_init(&m, 8, 8, 3, 8, C);
    const mb_every_op_weights k = {{wa, wb, wc, wd, we}, {ba, bb, bc, bd, be}, {fa, fb, fc, fd, fe}};
    mb_every_op(&m, C, &k);
    bad |= write_model(dir, "all_ops.f8", &m);

    static int8_t dw[3 * 16], dfl[3];
    static int32_t db[3];
    fill(dw, sizeof dw, 6), small_bias(db, 3), fl(dfl, 3);
    mb_init(&m, 4, 4, 1, 8, 3);
    uint32_t o = mb_value(&m, 1, 1, 3, F8_DTYPE_S32, 6);
    m.output_value = o;
    mb_dense(&m, 0, o, 0, dw, db, dfl);
    bad |= write_model(dir, "dense.f8", &m);

    static int8_t cw[4 * 9 * 2], cfl[4], kw[4 * 4], kfl[4];
    static int32_t cb[4], kb[4];
    fill(cw, sizeof cw, 7), small_bias(cb, 4), fl(cfl, 4);
    fill(kw, sizeof kw, 8), small_bias(kb, 4), fl(kfl, 4);
    mb_init(&m, 6, 6, 2, 8, 4);
    uint32_t c1 = mb_value(&m, 3, 3, 4, F8_DTYPE_U8, 5);
    uint32_t p1 = mb_value(&m, 1, 1, 4, F8_DTYPE_U8, 5);
    uint32_t out = mb_value(&m, 1, 1, 4, F8_DTYPE_S32, 5);
    m.output_value = out;
    mb_conv(&m, 0, c1, 3, 3, 2, 1, 1, 1, cw, cb, cfl);
    mb_pool(&m, F8_OP_MAXPOOL, c1, p1, 3, 1, 0, 0, 0);
    mb_dense(&m, p1, out, 0, kw, kb, kfl);
    bad |= write_model(dir, "conv_pool.f8", &m);
    return bad;
}
