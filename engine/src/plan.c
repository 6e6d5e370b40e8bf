/*
 * The kernel table: which kernel runs an op, decided here and nowhere else, from the op's
 * shape and the path (instruction set) the runner resolved once from cpuid (XNNPACK's
 * gemm-config.c is the model). Every row names one kernel function; the first row of the
 * op's path and family whose `fits` accepts the op wins, so each table reads from the most
 * specialised kernel to the general one. Ops no row takes (scalar path, grouped but not
 * depthwise convolutions, s32 inputs to convolutions, ADD/pools the 32-bit kernels cannot
 * hold on AVX2...) run the scalar reference kernel, which every path has.
 *
 * docs/ENGINE.md ("Kernel table") lists the rows and why each exists. The kernels check none
 * of this themselves (beyond asserts): what a row's `fits` says is their precondition.
 */
#include <string.h>

#include "plan.h"
#include "kernels/conv_segments.h" /* F8_SCRATCH_BYTES */

/* ---- convolutions (CONV2D groups 1 and DENSE: pack kind GEMM; depthwise: DW) ----------- */

static int fits_any(const f8_conv_geom *g)
{
    (void)g;
    return 1;
}

/* 1x1, stride 1, unpadded, input channels a multiple of 4, packing epilogue: a pixel's
 * input is Cin/4 whole steps at x + pix·Cin. */
static int fits_1x1_packing(const f8_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
           g->H == g->Ho && g->W == g->Wo && g->Cin % 4 == 0 && !g->pk->patch &&
           f8_gemm_packing(g);
}

/* ... from 4-32 input channels: MobileNet-V2's expansions from 16-32 channels; the 6-pixel
 * tile spent more on its setup and epilogue than on its few vpdpbusd. */
static int fits_small_k(const f8_conv_geom *g)
{
    return fits_1x1_packing(g) && g->Cin <= F8_SMALL_K_MAX_CIN;
}

/* ... to exactly 24 or 32 channels (MobileNet-V2's projections at 56x56 and 28x28): pixel
 * pairs streamed 8 at a time, without the tiles' segments; with 24 the 6x32 tile would also
 * leave a quarter of its lanes idle. (They fuse an ADD only in 16-bit lanes:
 * f8_plan_fuse_add.) */
static int fits_pair24(const f8_conv_geom *g)
{
    return fits_1x1_packing(g) && g->Cout == 24;
}

static int fits_pair32(const f8_conv_geom *g)
{
    return fits_1x1_packing(g) && g->Cout == 32;
}

/* 3x3 from 3-4 input channels (rows of 12 bytes), packing epilogue: MobileNet's stems. */
static int fits_stem3(const f8_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->krows == 3 && !g->pk->patch && g->pk->seg4 == 12 &&
           f8_gemm_packing(g);
}

/* Weights too large to stay hot while every pixel tile reads them all. */
static int fits_cold_weights(const f8_conv_geom *g)
{
    return (size_t)(g->blk1 - g->blk0) * 16 * g->krows * g->pk->seg4 > F8_WEIGHTS_HOT_BYTES;
}

/* Gathered windows whose rows overlap from one output row to the next (the 7x7/2 stem), with
 * weights that stay hot: column tiles sharing one strip of input rows. The strip of 6 pixels'
 * rows, plus 32 bytes, must fit the kernel's stack buffer. */
static int fits_patch_col(const f8_conv_geom *g)
{
    return g->pk->patch && g->sh < g->kh && !fits_cold_weights(g) &&
           ((uint64_t)5 * g->sh + g->kh) * g->kw * g->Cin + 32 <= F8_SCRATCH_BYTES;
}

/* Depthwise 3x3 stride 1 on u8 input with the column packing (pk->wdw3). */
static int fits_dw3x3s1_u8(const f8_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && !g->in_s8 && g->pk->wdw3;
}

/* Depthwise 3x3 on u8 input, horizontal stride 1 or 2, with the dwq packing (u8/s8 out,
 * right shifts only, sums inside s32): MobileNets' depthwise layers. */
static int fits_dw3x3_dwq(const f8_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && (g->sw == 1 || g->sw == 2) && !g->in_s8 &&
           g->pk->wdw64c4;
}

static int fits_dw3x3(const f8_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3;
}

typedef struct {
    const char *name;
    f8_isa isa;
    f8_pack_kind pack;
    int (*fits)(const f8_conv_geom *g);
    f8_conv_fn fn;
    int tiles; /* runs the AVX-512 register tiles (for all or, stem3, its border pixels) */
} conv_row;

#define CONV_ROW(isa, pack, fits, fn) {#fn, isa, pack, fits, fn, isa == F8_ISA_AVX512VNNI && pack == F8_PACK_GEMM}
static const conv_row conv_table[] = {
    {"f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni", F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_small_k,
     f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni, 0}, /* no tiles: pixel by pixel */
    {"f8_conv2d_nhwc_1x1_8x24c4_avx512vnni", F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_pair24,
     f8_conv2d_nhwc_1x1_8x24c4_avx512vnni, 0}, /* no tiles: pixel pairs */
    {"f8_conv2d_nhwc_1x1_8x32c4_avx512vnni", F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_pair32,
     f8_conv2d_nhwc_1x1_8x32c4_avx512vnni, 0},
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_stem3, f8_conv2d_nhwc_3x3_1x32c4_stem_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_patch_col, f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_cold_weights, f8_conv2d_nhwc_6x64c4_coldw_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_GEMM, fits_any, f8_conv2d_nhwc_6x64c4_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_DW, fits_dw3x3_dwq, f8_dwconv2d_nhwc_3x3_1x64c4_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_DW, fits_dw3x3s1_u8, f8_dwconv2d_nhwc_3x3s1_2x16c4_u8_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_DW, fits_dw3x3, f8_dwconv2d_nhwc_3x3_16c_avx512vnni),
    CONV_ROW(F8_ISA_AVX512VNNI, F8_PACK_DW, fits_any, f8_dwconv2d_nhwc_4x16c_avx512vnni),
    CONV_ROW(F8_ISA_AVX2, F8_PACK_GEMM, fits_any, f8_conv2d_nhwc_4x16c4_avx2),
    CONV_ROW(F8_ISA_AVX2, F8_PACK_DW, fits_dw3x3_dwq, f8_dwconv2d_nhwc_3x3_1x16c2_avx2),
    CONV_ROW(F8_ISA_AVX2, F8_PACK_DW, fits_any, f8_dwconv2d_nhwc_8c_avx2),
};

/* ---- the AVX-512 GEMM's full 6x64 register tile, by epilogue ---------------------------- */

/* Requantized from the registers: right shifts only, u8 or s8 out. */
static int fits_pack_u8(const f8_conv_geom *g)
{
    return !g->pk->ep.any_left && f8_gemm_packing(g) && g->out_dtype == F8_DTYPE_U8;
}

static int fits_pack_s8(const f8_conv_geom *g)
{
    return !g->pk->ep.any_left && f8_gemm_packing(g) && g->out_dtype == F8_DTYPE_S8;
}

/* The same rounded on saturated words (f8_gemm_packing_words): signed, unsigned (u8 only). */
static int fits_packw_u8(const f8_conv_geom *g)
{
    return fits_pack_u8(g) && f8_gemm_packing_words(g) == F8_WORDS_SIGNED;
}

static int fits_packuw_u8(const f8_conv_geom *g)
{
    return fits_pack_u8(g) && f8_gemm_packing_words(g) == F8_WORDS_UNSIGNED;
}

static int fits_packw_s8(const f8_conv_geom *g)
{
    return fits_pack_s8(g) && f8_gemm_packing_words(g) == F8_WORDS_SIGNED;
}

static int fits_regs_u8(const f8_conv_geom *g)
{
    return !g->pk->ep.any_left && g->out_dtype == F8_DTYPE_U8;
}

static int fits_regs_s8(const f8_conv_geom *g) /* its clamp to ±128·2^sr needs sr <= 23 */
{
    return !g->pk->ep.any_left && g->out_dtype == F8_DTYPE_S8 && g->pk->ep.max_sr <= 23;
}

static int fits_regs_s8_relu(const f8_conv_geom *g)
{
    return fits_regs_s8(g) && g->relu;
}

/* A fused ADD (g->add): the 16-bit assembly epilogue where it fits, else the sums go to
 * memory and the intrinsics epilogue runs the ADD in 32-bit lanes. */
static int fits_pack_add(const f8_conv_geom *g)
{
    return g->add.on && g->add.regs && f8_gemm_packing(g);
}

/* ... and on bytes (saturating byte operations): the ResNets' residual adds (f8_addb_form). */
static int fits_pack_addb(const f8_conv_geom *g)
{
    return f8_addb_form_of(&g->add, g->out_dtype) != F8_ADDB_NONE && f8_gemm_packing(g);
}

static int fits_add(const f8_conv_geom *g)
{
    return g->add.on;
}

typedef struct {
    const char *name;
    int (*fits)(const f8_conv_geom *g);
    f8_gemm_tile_fn fn;
} tile_row;

#define TILE_ROW(fits, fn) {#fn, fits, fn}
static const tile_row full_tile_table[] = {
    TILE_ROW(fits_pack_addb, f8_gemm_tile_6x64c4_packaddb_avx512vnni),
    TILE_ROW(fits_pack_add, f8_gemm_tile_6x64c4_packadd_avx512vnni),
    TILE_ROW(fits_add, f8_gemm_tile_6x64c4_avx512vnni),
    TILE_ROW(fits_packw_u8, f8_gemm_tile_6x64c4_packwu8_avx512vnni),
    TILE_ROW(fits_packw_s8, f8_gemm_tile_6x64c4_packws8_avx512vnni),
    TILE_ROW(fits_packuw_u8, f8_gemm_tile_6x64c4_packuwu8_avx512vnni),
    TILE_ROW(fits_pack_u8, f8_gemm_tile_6x64c4_packu8_avx512vnni),
    TILE_ROW(fits_pack_s8, f8_gemm_tile_6x64c4_packs8_avx512vnni),
    TILE_ROW(fits_regs_u8, f8_gemm_tile_6x64c4_u8_avx512vnni),
    TILE_ROW(fits_regs_s8_relu, f8_gemm_tile_6x64c4_s8relu_avx512vnni),
    TILE_ROW(fits_regs_s8, f8_gemm_tile_6x64c4_s8_avx512vnni),
    TILE_ROW(fits_any, f8_gemm_tile_6x64c4_avx512vnni), /* sums to memory, any epilogue */
};

/* The last channel tile when Cout % 64 leaves 1-3 blocks ([blocks]) */
static const f8_gemm_tile_fn narrow_tiles[4] = {
    NULL, f8_gemm_tile_6x16c4_avx512vnni, f8_gemm_tile_6x32c4_avx512vnni,
    f8_gemm_tile_6x48c4_avx512vnni};
/* Tiles of [mr] = 1-5 pixels (the end of a row range) */
static const f8_gemm_tile_fn short_tiles[6] = {
    NULL, f8_gemm_tile_1x64c4_avx512vnni, f8_gemm_tile_2x64c4_avx512vnni,
    f8_gemm_tile_3x64c4_avx512vnni, f8_gemm_tile_4x64c4_avx512vnni,
    f8_gemm_tile_5x64c4_avx512vnni};

static const char *plan_tiles(f8_conv_geom *g)
{
    f8_gemm_tiles *t = &g->tiles;
    const tile_row *row = full_tile_table;
    while (!row->fits(g))
        row++; /* the last row fits any op */
    t->full = row->fn;
    const uint32_t rest = g->pk->nblk % 4;
    t->last_narrow = rest != 0;
    if (rest)
        t->last = narrow_tiles[rest];
    else if (g->Cout % 16 != 0) /* a partial last block: only the intrinsics store masks it */
        t->last = f8_gemm_tile_6x64c4_avx512vnni;
    else
        t->last = t->full;
    memcpy(t->shorter, short_tiles, sizeof short_tiles);
    return row->name;
}

/* ---- ADD and pools ------------------------------------------------------------------- */

int f8_eltwise_fits_s32(const f8_op_impl *op)
{
    const f8_kernel_args *a = &op->args;
    if (a->in0.dtype == F8_DTYPE_S32)
        return 0;
    switch (op->desc.type) {
    case F8_OP_ADD: {
        if (a->in1.dtype == F8_DTYPE_S32)
            return 0;
        const int f = a->in0.fl > a->in1.fl ? a->in0.fl : a->in1.fl;
        return f - a->in0.fl <= 22 && f - a->in1.fl <= 22;
    }
    case F8_OP_MAXPOOL: return 1;
    case F8_OP_AVGPOOL: return (uint64_t)a->kernel_h * a->kernel_w <= ((uint64_t)1 << 23);
    default: return 0;
    }
}

static int fits_any_op(const f8_op_impl *op)
{
    (void)op;
    return 1;
}

typedef struct {
    const char *name;
    f8_isa isa;
    f8_op_type type;
    int (*fits)(const f8_op_impl *op);
    f8_add_fn add;
    f8_pool_fn pool;
    int wide; /* 64-bit lanes: no 32-bit epilogue constants */
} eltwise_row;

#define ADD_ROW(isa, fits, fn, wide) {#fn, isa, F8_OP_ADD, fits, fn, NULL, wide}
#define POOL_ROW(isa, type, fits, fn, wide) {#fn, isa, type, fits, NULL, fn, wide}
static const eltwise_row eltwise_table[] = {
    ADD_ROW(F8_ISA_AVX512VNNI, f8_eltwise_fits_s32, f8_add_nhwc_avx512bw, 0),
    ADD_ROW(F8_ISA_AVX512VNNI, fits_any_op, f8_add_wide_nhwc_avx512bw, 1),
    POOL_ROW(F8_ISA_AVX512VNNI, F8_OP_MAXPOOL, f8_eltwise_fits_s32, f8_maxpool_nhwc_avx512bw, 0),
    POOL_ROW(F8_ISA_AVX512VNNI, F8_OP_AVGPOOL, f8_eltwise_fits_s32, f8_avgpool_nhwc_avx512bw, 0),
    POOL_ROW(F8_ISA_AVX512VNNI, F8_OP_AVGPOOL, fits_any_op, f8_avgpool_wide_nhwc_avx512bw, 1),
    ADD_ROW(F8_ISA_AVX2, f8_eltwise_fits_s32, f8_add_nhwc_avx2, 0),
    POOL_ROW(F8_ISA_AVX2, F8_OP_MAXPOOL, f8_eltwise_fits_s32, f8_maxpool_nhwc_avx2, 0),
    POOL_ROW(F8_ISA_AVX2, F8_OP_AVGPOOL, f8_eltwise_fits_s32, f8_avgpool_nhwc_avx2, 0),
};

/* The epilogue constants of the 32-bit eltwise kernels: one shift for the whole tensor. */
static void eltwise_epi(const f8_kernel_args *a, f8_op_type type, f8_epi16 *epi)
{
    switch (type) {
    case F8_OP_ADD: {
        const int f = a->in0.fl > a->in1.fl ? a->in0.fl : a->in1.fl;
        f8_epi16_init(epi, f - a->out.fl, a->out.dtype);
        break;
    }
    case F8_OP_MAXPOOL: f8_epi16_init(epi, a->in0.fl - a->out.fl, a->out.dtype); break;
    case F8_OP_AVGPOOL:
        f8_epi16_init(epi, a->in0.fl + (int)a->avg_shift - a->out.fl, a->out.dtype);
        break;
    default: break;
    }
}

/* ---- the planner --------------------------------------------------------------------- */

static const char *scalar_name(f8_op_type type)
{
    switch (type) {
    case F8_OP_CONV2D: return "f8_conv2d_scalar";
    case F8_OP_DENSE: return "f8_dense_scalar";
    case F8_OP_ADD: return "f8_add_scalar";
    case F8_OP_MAXPOOL: return "f8_maxpool_scalar";
    case F8_OP_AVGPOOL: return "f8_avgpool_scalar";
    }
    return "?";
}

/* The geometry the conv kernels see; DENSE is a 1 x batch "image" of K channels, 1x1 kernel
 * (exec.c sets W = Wo = the images run together). */
static void conv_geom(const f8_op_impl *op, const uint8_t *zero, f8_conv_geom *g)
{
    const f8_kernel_args *a = &op->args;
    g->H = a->in0.h;
    g->W = a->in0.w;
    g->Cin = a->in0.c;
    g->Ho = a->out.h;
    g->Wo = a->out.w;
    g->Cout = a->out.c;
    g->kh = a->kernel_h;
    g->kw = a->kernel_w;
    g->sh = a->stride_h;
    g->sw = a->stride_w;
    g->pt = a->pad_top;
    g->pl = a->pad_left;
    g->in_s8 = a->in0.dtype == F8_DTYPE_S8;
    g->out_dtype = a->out.dtype;
    g->relu = a->relu;
    g->pk = &op->pk;
    g->krows = op->pk.patch ? 1 : g->kh;
    g->zero = zero;
    g->blk0 = 0;
    g->blk1 = op->pk.nblk;
    if (op->desc.type == F8_OP_DENSE) {
        g->H = g->Ho = g->W = g->Wo = 1;
        g->Cin = (uint32_t)f8_value_elems(&a->in0);
        g->kh = g->kw = g->sh = g->sw = g->krows = 1;
        g->pt = g->pl = 0;
    }
}

void f8_plan_op(const f8_op_impl *op, f8_isa isa, const uint8_t *zero, f8_op_plan *pl)
{
    const f8_kernel_args *a = &op->args;
    memset(pl, 0, sizeof *pl);
    pl->kind = F8_RUN_SCALAR;
    pl->kernel = scalar_name(op->desc.type);
    pl->rows = a->out.h;
    if (op->pk.kind != F8_PACK_NONE) {
        f8_conv_geom g;
        memset(&g, 0, sizeof g);
        conv_geom(op, zero, &g);
        for (size_t i = 0; i < sizeof conv_table / sizeof conv_table[0]; i++) {
            const conv_row *row = &conv_table[i];
            if (row->isa != isa || row->pack != op->pk.kind || !row->fits(&g))
                continue;
            pl->kind = op->pk.kind == F8_PACK_DW         ? F8_RUN_DW
                       : op->desc.type == F8_OP_DENSE ? F8_RUN_DENSE
                                                      : F8_RUN_GEMM;
            pl->conv = row->fn;
            pl->kernel = row->name;
            if (isa == F8_ISA_AVX512VNNI && op->pk.kind == F8_PACK_GEMM) {
                /* filled for every AVX-512 GEMM (a test may run any of its kernels by name),
                 * reported for the kernels that run tiles */
                const char *tile = plan_tiles(&g);
                pl->tile_kernel = row->tiles ? tile : NULL;
            }
            pl->geom = g;
            return;
        }
        return;
    }
    for (size_t i = 0; i < sizeof eltwise_table / sizeof eltwise_table[0]; i++) {
        const eltwise_row *row = &eltwise_table[i];
        if (row->isa != isa || row->type != op->desc.type || !row->fits(op))
            continue;
        pl->kind = row->type == F8_OP_ADD       ? F8_RUN_ADD
                   : row->type == F8_OP_MAXPOOL ? F8_RUN_MAXPOOL
                                                : F8_RUN_AVGPOOL;
        pl->add = row->add;
        pl->pool = row->pool;
        pl->kernel = row->name;
        if (!row->wide)
            eltwise_epi(a, row->type, &pl->epi);
        return;
    }
}

/* ---- a residual ADD fused into the convolution before it ------------------------------ */

/* The fused ADD's 16-bit form (f8_add16) is exact when every word stays inside s16: with
 * c, x1 in [-127, 255], |v| <= m = 255·(2^sc + 2^s1); the rounding adds at most 2^(n-1),
 * a left shift multiplies by 2^-n. */
static int add16_fits(const f8_conv_add *ad)
{
    const int n = ad->n;
    if (ad->sc > 6 || ad->s1 > 6 || n > 15 || n < -6 || ad->out_dtype == F8_DTYPE_S32)
        return 0;
    const int32_t m = 255 * ((1 << ad->sc) + (1 << ad->s1));
    return n > 0 ? m + (1 << (n - 1)) <= INT16_MAX : (m << -n) <= INT16_MAX;
}

static void add16_init(f8_add16 *c, const f8_conv_add *ad, const f8_conv_geom *g)
{
    const int n = ad->n;
    memset(c, 0, sizeof *c);
    const int c_u8 = g->out_dtype == F8_DTYPE_U8, x1_s8 = ad->x1_dtype == F8_DTYPE_S8;
    for (int i = 0; i < 32; i++) {
        c->clo[i] = (int16_t)(c_u8 || g->relu ? 0 : -127);
        c->chi[i] = (int16_t)(c_u8 ? 255 : 127);
        c->lo[i] = ad->relu ? 0 : INT16_MIN;
        c->hm1[i] = (int16_t)(n > 0 ? (1 << (n - 1)) - 1 : 0);
        c->one[i] = n > 0;
    }
    memset(c->floor, 0x81, sizeof c->floor); /* -127 */
    c->sc[0] = ad->sc;
    c->s1r[0] = 8 - ad->s1;
    c->sr[0] = n > 0 ? n : 0;
    c->sl[0] = n < 0 ? -n : 0;
    c->flags = (ad->sc > 0 ? F8_ADD16_SC : 0) | (x1_s8 || ad->s1 > 0 ? F8_ADD16_X1HI : 0) |
               (x1_s8 ? F8_ADD16_X1S8 : 0) | (n > 0 ? F8_ADD16_ROUND : 0) |
               (n < 0 ? F8_ADD16_SHL : 0) | (ad->out_dtype == F8_DTYPE_S8 ? F8_ADD16_OUTS8 : 0);
}

static int full_width(const f8_value_desc *v)
{
    return v->bits == 0 || v->bits >= 8;
}

int f8_plan_fuse_add(f8_op_plan *pl, const f8_op_impl *conv, const f8_op_impl *add,
                     int c_is_in0)
{
    const f8_kernel_args *a = &conv->args, *e = &add->args;
    const int pairs = pl->conv == f8_conv2d_nhwc_1x1_8x24c4_avx512vnni ||
                      pl->conv == f8_conv2d_nhwc_1x1_8x32c4_avx512vnni;
    if (pl->kind != F8_RUN_GEMM || conv->desc.type != F8_OP_CONV2D ||
        (pl->conv != f8_conv2d_nhwc_6x64c4_avx512vnni &&
         pl->conv != f8_conv2d_nhwc_6x64c4_coldw_avx512vnni &&
         pl->conv != f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni && !pairs) ||
        add->desc.type != F8_OP_ADD || !f8_eltwise_fits_s32(add) ||
        (a->out.dtype != F8_DTYPE_U8 && a->out.dtype != F8_DTYPE_S8) || !full_width(&a->out) ||
        !full_width(&e->out))
        return 0;
    const f8_value_desc *c = c_is_in0 ? &e->in0 : &e->in1, *x1 = c_is_in0 ? &e->in1 : &e->in0;
    const int f = c->fl > x1->fl ? c->fl : x1->fl;
    f8_conv_add ad = {0};
    ad.on = 1;
    ad.x1_dtype = x1->dtype;
    ad.out_dtype = e->out.dtype;
    ad.sc = f - c->fl;
    ad.s1 = f - x1->fl;
    ad.relu = e->relu;
    ad.n = f - e->out.fl;
    ad.regs = add16_fits(&ad);
    if (pairs && !ad.regs) /* the pair kernels' epilogue has the 16-bit ADD only */
        return 0;
    if (ad.regs)
        add16_init(&ad.c16, &ad, &pl->geom);
    f8_epi16_init(&pl->epi, ad.n, e->out.dtype);
    ad.ep = &pl->epi.ep;
    pl->geom.add = ad;
    const char *tile = plan_tiles(&pl->geom); /* the tiles with the ADD's epilogue */
    if (pl->tile_kernel)                      /* (reported for the kernels that run tiles) */
        pl->tile_kernel = tile;
    pl->fused = 1;
    pl->add_in1 = c_is_in0 ? add->desc.input1 : add->desc.input0;
    pl->add_out = add->desc.output;
    pl->add_epi = (f8_add_epi){*x1, e->out, ad.sc, ad.s1, ad.n, e->relu};
    return 1;
}

void f8_plan_fuse(const f8_model *model, f8_op_plan *plans)
{
    const uint32_t nops = model->info.num_ops;
    for (uint32_t i = 1; i < nops; i++) {
        const f8_op_impl *conv = &model->ops[i - 1], *add = &model->ops[i];
        const uint32_t v = conv->desc.output;
        if (add->desc.type != F8_OP_ADD || plans[i - 1].fused || v == model->output_value ||
            (add->desc.input0 == v) == (add->desc.input1 == v)) /* not an operand, or both */
            continue;
        uint32_t readers = 0;
        for (uint32_t j = 0; j < nops; j++) {
            const f8_op_desc *d = &model->ops[j].desc;
            readers += (d->input0 == v) + (d->type == F8_OP_ADD && d->input1 == v);
        }
        if (readers != 1 || !f8_plan_fuse_add(&plans[i - 1], conv, add, add->desc.input0 == v))
            continue;
        plans[i].kind = F8_RUN_FUSED;
        plans[i].kernel = "(fused into the CONV2D before it)";
        plans[i].tile_kernel = NULL;
    }
}

void f8_plan_values(const f8_model *model, const f8_op_plan *plans, uint32_t i,
                    uint32_t in[2], uint32_t *out)
{
    const f8_op_desc *d = &model->ops[i].desc;
    in[0] = d->input0;
    in[1] = d->type == F8_OP_ADD ? d->input1 : F8_NO_VALUE;
    *out = d->output;
    if (plans[i].kind == F8_RUN_FUSED) {
        in[0] = in[1] = *out = F8_NO_VALUE;
    } else if (plans[i].fused) {
        in[1] = plans[i].add_in1;
        *out = plans[i].add_out;
    }
}

/* ---- batched ops (image-major threads run them for all their images at once) ------------
 * A GEMM runs batched when its packed weights would not stay in a 1 MB L2 cache next to the
 * activations from one image to the next (F8_BATCH_WEIGHTS_BYTES) and outweigh the inputs of
 * a thread's images: then reading the inputs once per 64 output channels costs less than
 * reading all the weights once per image. ResNet-18's last stage (1.2-2.4 MB of weights,
 * 25-50 KB of input per image) spends 7% less time so at batch 16; MobileNet-V2's last 1x1
 * (410 KB) was slower batched, its output no longer in cache for the pooling after it.
 * DENSE always runs batched: each weight tile is read once per 6 images. */
#define F8_BATCH_WEIGHTS_BYTES (768 * 1024)

void f8_plan_batch(f8_op_plan *pl, size_t in_bytes, uint32_t per_thread)
{
    if (pl->kind == F8_RUN_DENSE) {
        pl->batched = 1;
        return;
    }
    if (pl->kind != F8_RUN_GEMM || per_thread <= 1) {
        pl->batched = 0;
        return;
    }
    const f8_packed *pk = pl->geom.pk;
    const size_t w = (size_t)pk->nblk * 16 * pl->geom.krows * pk->seg4;
    pl->batched = w >= F8_BATCH_WEIGHTS_BYTES && w > per_thread * in_bytes;
}
