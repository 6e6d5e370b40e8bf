/*
 * libf8 internal: the kernel interface and the scalar reference kernels.
 *
 * A kernel computes one operation of docs/FORMAT.md §3 for ONE image: it reads the input
 * value(s) (NHWC, element type given by the value's dtype) and writes the output value,
 * including the epilogue (ReLU, requantization, clamp). Kernels allocate nothing and keep no
 * state. The *_scalar kernels are the reference: plain loops that follow the text of
 * FORMAT.md line by line; faster variants (AVX-512 VNNI, ...) must match them bit for bit.
 *
 * Preconditions (all established by the loader, docs/FORMAT.md §6): shapes are consistent
 * with the op, every requantization shift n satisfies |n| <= 31, FLs are in [-32, 32].
 */
#ifndef F8_KERNELS_H
#define F8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "f8.h"

/* Everything a kernel needs to run one op on one image. */
typedef struct {
    f8_value_desc in0;     /* first input (the only one except for ADD) */
    f8_value_desc in1;     /* ADD's second input */
    f8_value_desc out;
    uint32_t kernel_h, kernel_w, stride_h, stride_w;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    uint32_t groups;       /* CONV2D */
    uint32_t avg_shift;    /* AVGPOOL */
    int relu;
    const int8_t *weights; /* CONV2D: s8[Cout][kh][kw][Cin/G]; DENSE: s8[Cout][K]; NULL for
                              FGQ ternary weights, read through f8_weight() */
    const int32_t *bias;   /* s32[Cout] */
    const int8_t *fl_w;    /* i8[Cout] */
    /* FGQ ternary weights (docs/FORMAT.md §2.5), in the file's form: the weight at flat index
     * j of the s8 layout is t_j·alpha[o][(j mod k) / group_size], o = j / k. */
    const uint8_t *codes;  /* packing 0: 2 bits per weight, 4 per byte, first weight lowest;
                              packing 1: 5 base-3 digits per byte, first weight lowest */
    const uint8_t *alpha;  /* packing 0: u8 [Cout][alpha_groups]; packing 1: the same alphas at
                              7 bits each, bit-packed, first alpha in the lowest bits */
    uint32_t group_size, k, alpha_groups; /* N, weights per output channel, alphas per channel */
    uint32_t packing;      /* F8_PACKING_2BIT or F8_PACKING_DENSE */
} f8_kernel_args;

#define F8_PACKING_2BIT 0u  /* 2-bit codes, u8 alphas */
#define F8_PACKING_DENSE 1u /* base-3 codes (5 per byte), 7-bit alphas */

/* The five base-3 digits of a dense code byte b < 243 (b = t0 + 3·t1 + 9·t2 + 27·t3 + 81·t4,
 * digit 1 = +1, 2 = -1) as five 2-bit codes, t_r in bits 2r and 2r+1 (ternary_codes.c). */
extern const uint16_t f8_dense_codes[243];

/* Alpha g of a dense op: bits [7g, 7g + 7) of the little-endian bit string at p. */
static inline unsigned f8_alpha7(const uint8_t *p, size_t g)
{
    const size_t bit = 7 * g, i = bit / 8;
    const unsigned s = (unsigned)(bit % 8);
    unsigned v = (unsigned)p[i] >> s;
    if (s > 1) /* the alpha runs into the next byte (which then exists) */
        v |= (unsigned)p[i + 1] << (8 - s);
    return v & 127u;
}

/* Weight j of a CONV2D/DENSE in its s8 layout: the s8 itself, or a ternary weight decoded
 * from its code and its group's alpha (codes 01 = +1, 11 = -1, 00 = 0; 10, a dense byte
 * >= 243 or an alpha > 127 is refused at load). The scalar kernels and the packing read every
 * weight through this. */
static inline int8_t f8_weight(const f8_kernel_args *a, size_t j)
{
    if (a->weights)
        return a->weights[j];
    const int dense = a->packing == F8_PACKING_DENSE;
    const unsigned code = dense ? f8_dense_codes[a->codes[j / 5]] >> (2 * (j % 5)) & 3u
                                : a->codes[j / 4] >> (2 * (j % 4)) & 3u;
    if (code == 0)
        return 0;
    const size_t o = j / a->k;
    const size_t g = o * a->alpha_groups + (j - o * a->k) / a->group_size;
    const int al = dense ? (int)f8_alpha7(a->alpha, g) : a->alpha[g];
    return (int8_t)(code == 1 ? al : -al);
}

/* ---- requantization (requant_scalar.c), docs/FORMAT.md §1.1 ---------------------------- */

/* Clamps q to the range of dtype: u8 [0,255], s8 [-127,127], s32 [-(2^31-1), 2^31-1]. */
int64_t f8_clamp(int64_t q, f8_dtype dtype);

/* requant(v, n, dtype): n > 0 divides by 2^n rounding half to even (floor division, then
 * round up when the remainder is over half, or exactly half and the quotient odd); n <= 0
 * shifts left by -n in 64 bits (wrapping modulo 2^64, as the trainer's simulator does);
 * then clamps. Defined for -62 <= n <= 62. */
int64_t f8_requant(int64_t v, int n, f8_dtype dtype);

/* The epilogue of every op (docs/FORMAT.md §3): optional ReLU, then requant. */
static inline int64_t f8_epilogue(int64_t v, int relu, int n, f8_dtype dtype)
{
    if (relu && v < 0)
        v = 0;
    return f8_requant(v, n, dtype);
}

/* Wraps an exactly computed sum to 32-bit two's complement (docs/FORMAT.md §1.2). */
static inline int32_t f8_wrap32(int64_t v)
{
    uint32_t u = (uint32_t)(uint64_t)v;
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static inline size_t f8_dtype_size(f8_dtype dtype)
{
    return dtype == F8_DTYPE_S32 ? 4 : 1;
}

static inline size_t f8_value_elems(const f8_value_desc *v)
{
    return (size_t)v->h * v->w * v->c;
}

/* Element i of a tensor of the given dtype. */
static inline int32_t f8_load(const void *p, f8_dtype dtype, size_t i)
{
    switch (dtype) {
    case F8_DTYPE_U8: return ((const uint8_t *)p)[i];
    case F8_DTYPE_S8: return ((const int8_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

/* Stores q (already clamped to dtype's range) as element i. */
static inline void f8_store(void *p, f8_dtype dtype, size_t i, int64_t q)
{
    switch (dtype) {
    case F8_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)q; break;
    case F8_DTYPE_S8: ((int8_t *)p)[i] = (int8_t)q; break;
    default: ((int32_t *)p)[i] = (int32_t)q; break;
    }
}

/* The part of a MAXPOOL window inside the image (padding positions are skipped): window
 * rows [ky0, ky1) and columns [kx0, kx1), the window's top-left input position (iy0, ix0). */
typedef struct {
    int64_t iy0, ix0;
    uint32_t ky0, ky1, kx0, kx1;
} f8_window;

static inline f8_window f8_pool_window(const f8_kernel_args *a, uint32_t oy, uint32_t ox)
{
    f8_window w;
    w.iy0 = (int64_t)oy * a->stride_h - a->pad_top;
    w.ix0 = (int64_t)ox * a->stride_w - a->pad_left;
    w.ky0 = w.iy0 < 0 ? (uint32_t)-w.iy0 : 0;
    w.kx0 = w.ix0 < 0 ? (uint32_t)-w.ix0 : 0;
    w.ky1 = w.iy0 + a->kernel_h > a->in0.h ? (uint32_t)(a->in0.h - w.iy0) : a->kernel_h;
    w.kx1 = w.ix0 + a->kernel_w > a->in0.w ? (uint32_t)(a->in0.w - w.ix0) : a->kernel_w;
    return w;
}

/* ---- scalar reference kernels, one file each ----------------------------------------- */

void f8_conv2d_scalar(const f8_kernel_args *a, const void *x, void *y);
void f8_dense_scalar(const f8_kernel_args *a, const void *x, void *y);
void f8_add_scalar(const f8_kernel_args *a, const void *x0, const void *x1, void *y);
void f8_maxpool_scalar(const f8_kernel_args *a, const void *x, void *y);
void f8_avgpool_scalar(const f8_kernel_args *a, const void *x, void *y);

/* A residual ADD run in the epilogue of the CONV2D that writes one of its operands (plan.c,
 * f8_plan_fuse_add): c, the convolution's output requantized to its own dtype and FL exactly
 * as its epilogue always does, is not stored; instead ADD's arithmetic (FORMAT.md §3) runs on
 * it and the other operand x1 (same shape as the output, any dtype):
 *
 *   v = c·2^sc + x1·2^s1,   out = requant(relu ? max(v, 0) : v, n, out.dtype)
 *
 * with sc, s1 the alignment shifts to max(FL_c, FL_x1) and n = that − FL_out. */
typedef struct {
    f8_value_desc x1, out; /* the other operand and the ADD's output */
    int sc, s1, n, relu;
} f8_add_epi;

/* The scalar twin of the fused kernels: the CONV2D `a` (its out: the value c) followed by
 * the ADD `e` in one pass, x1 the other operand, y the ADD's output. Equals f8_conv2d_scalar
 * into a tensor c, then f8_add_scalar of c and x1, byte for byte. */
void f8_conv2d_add_scalar(const f8_kernel_args *a, const f8_add_epi *e, const void *x,
                          const void *x1, void *y);

/* ---- packed operands for the SIMD paths (pack.c; docs/ENGINE.md) ----------------------
 *
 * Output channels are padded to blocks of 16 (one zmm of s32 lanes). Per channel, the
 * epilogue is requant(v, n) with n = FL_w + FL_x - FL_out, split into a right shift sr =
 * max(n, 0) with round-half-to-even and a left shift sl = max(-n, 0) with saturation:
 *
 *   v' = relu ? max(v, 0) : v
 *   q  = (v' >>arith sr) + ((((v' & mask) + hm1 + (q & one)) >>logical sr)
 *                                   mask = 2^sr - 1, hm1 = 2^(sr-1) - 1, one = 1 (sr > 0);
 *                                   mask = hm1 = one = 0 (sr = 0)
 *   out = q < lo_pre ? lo : q > hi_pre ? hi : q << sl
 *                                   lo_pre = ceil(lo / 2^sl), hi_pre = floor(hi / 2^sl)
 *
 * which equals f8_epilogue for every s32 v (docs/ENGINE.md derives it). */
typedef struct {
    const int32_t *sr, *mask, *hm1, *one, *sl, *lo_pre, *hi_pre; /* [nblk * 16] each */
    int32_t lo, hi;  /* the output dtype's range */
    int any_left;    /* some channel has sl > 0 (else out = clamp(q, lo, hi)) */
    int max_sr;      /* the largest sr */
    int min_sr;      /* the smallest sr of a real channel (not of the padding to 16) */
} f8_epi;

typedef enum { F8_PACK_NONE = 0, F8_PACK_GEMM, F8_PACK_DW } f8_pack_kind;

/* What pack.c derives from one CONV2D/DENSE op at load. */
typedef struct {
    f8_pack_kind kind;
    uint32_t seg4;     /* GEMM: bytes of one kernel row (kw·Cin), rounded up to 4; with
                          patch, of the whole window (kh·kw·Cin) */
    int patch;         /* GEMM: the whole window is one segment, gathered per pixel into
                          the kernel's scratch (few input channels: see pack.c) */
    uint32_t nblk;     /* blocks of 16 output channels */
    const int8_t *w;   /* GEMM: s8 [tile of 4 blocks][kh][seg4/4][nbt·16][4] (nbt = 4 but
                          for the last tile), byte k of a row segment being tap kx = k / Cin,
                          channel k % Cin (zeros past kw·Cin): each reduction step of a tile
                          reads nbt·64 contiguous bytes */
    const int32_t *wdw;/* DW: [nblk][kh*kw][16] s32 lanes holding (uint16_t)w */
    const int8_t *wdw3;/* DW 3x3: [nblk][kx][16 lanes][4] bytes (w[0][kx], w[1][kx],
                          w[2][kx], 0) of each channel: the three rows of one kernel column as
                          one vpdpbusd operand (f8_dwconv2d_nhwc_3x3s1_2x16c4_u8_avx512vnni) */
    /* DW 3x3 on u8 input with the packing epilogue (dwq: see pack.c; NULL otherwise), in the
     * lane orders the unpack transposes leave (docs/ENGINE.md §5). 64c4: channel
     * 64t + 16L + 4j + i is dword 4L + i of vector j of group t; 32c2 likewise with
     * 32t + 8L + 4j + i (which is also 16t' + 8L' + 4j + i for the ymm halves of AVX2). */
    const int8_t *wdw64c4;  /* [ngrp64][kx][j 0-3][16 dwords][ky 0-2, 0] */
    const int16_t *wdw32c2; /* [ngrp32][kx][s 0-1][j 0-1][16 dwords][2 words]: s 0 holds
                               (w[0][kx], w[1][kx]), s 1 (w[2][kx], 0) */
    const int32_t *dwq64_bias, *dwq64_sr, *dwq64_bit; /* [ngrp64*64]: bias + hm1, sr, and
                                                         2^sr (0 where sr = 0) */
    const int32_t *dwq32_bias, *dwq32_sr, *dwq32_bit; /* [ngrp32*32] */
    int dwq_words;     /* every sr <= 7: the epilogue may run on words (see the 64c4 kernel) */
    const int16_t *dwq64_srw, *dwq64_bitw; /* [ngrp64][2][32]: sr, 2^sr (0 for sr = 0) of the
                          words of packssdw(q0, q1) and packssdw(q2, q3) in the 64c4 order */
    const int16_t *dwq_srn, *dwq_bitn;     /* [ngrp64*64]: the same in channel order */
    const int32_t *bias; /* [nblk*16]; GEMM with s8 input: bias - 128·Σw (wrapping) */
    const int32_t *bias_r; /* GEMM with sums_fit: [nblk*16] bias + hm1 (the rounding's
                              half - 1 added up front; see sums_fit) */
    int sums_fit;      /* GEMM: no sum of bias_r and products can leave s32 (|bias| + 255·Σ|w|
                          + hm1 < 2^31 in every channel), only right shifts, sr <= 30: the
                          6x64 tile rounds bias_r's sums as (v + ((v >> sr) & 1)) >> sr with
                          arithmetic shifts and lets the s16/u8/s8 packs clamp */
    f8_epi ep;
    void *mem;         /* owner of everything above */
} f8_packed;

/* Packed weight bytes above which a kernel keeps one channel tile's weights hot while it
 * walks the pixels (channel tiles outer) instead of reading all weights per pixel tile. */
#define F8_WEIGHTS_HOT_BYTES (384 * 1024)

typedef struct f8_conv_geom f8_conv_geom;

/* The 16-bit constants of the fused ADD in the full tile's assembly epilogue
 * (f8_gemm_tile_6x64c4_packadd_avx512vnni): 32 word lanes each, shift counts as the m128
 * operand of vpsllw/vpsraw. The assembly addresses it by these offsets. */
typedef struct {
    int16_t clo[32];  /* 0: c's floor: 0 (u8, or the conv's ReLU), else -127 */
    int16_t chi[32];  /* 64: c's ceiling: 255 or 127 */
    int16_t lo[32];   /* 128: s8 output: the ADD's ReLU floor 0, or -32768 */
    int16_t hm1[32];  /* 192: 2^(n-1) - 1 (n > 0) */
    int16_t one[32];  /* 256: 1 (n > 0) */
    int8_t floor[64]; /* 320: the s8 output's floor -127 */
    int64_t sc[2], s1r[2], sr[2], sl[2]; /* 384, 400 (8 - s1), 416, 432 */
    uint32_t flags;   /* 448: F8_ADD16_* */
} f8_add16;
#define F8_ADD16_SC 1     /* sc > 0 */
#define F8_ADD16_X1HI 2   /* x1 widened from the high byte, >> (8 - s1): s8, or s1 > 0 */
#define F8_ADD16_X1S8 4   /* ... arithmetically (s8) */
#define F8_ADD16_ROUND 8  /* n > 0 */
#define F8_ADD16_SHL 16   /* n < 0 */
#define F8_ADD16_OUTS8 32 /* s8 output (else u8) */

/* A GEMM convolution's fused ADD as its kernels see it (plan.c fills all but x1). */
typedef struct {
    int on;             /* the op's output is the ADD's: every tile runs it */
    const void *x1;     /* the other operand of this image (exec.c sets it per call) */
    f8_dtype x1_dtype, out_dtype;
    int sc, s1, relu;   /* alignment shifts and the ADD's ReLU */
    int n;              /* the sum's requant shift: max(FL_c, FL_x1) − FL_out */
    const f8_epi *ep;   /* the ADD's requant, 16 equal lanes (the plan's f8_epi16) */
    int regs;           /* the 16-bit form fits (f8_add16): the assembly full tile */
    f8_add16 c16;
} f8_conv_add;

/* The fused ADDs that the full 6x64 tile computes on bytes (f8_gemm_tile_6x64c4_packaddb_
 * avx512vnni; docs/ENGINE.md §5): c s8 (the convolution's output), x1 not shifted (s1 = 0), a
 * u8 sum, and one of the ResNets' three residual adds:
 *   F8_ADDB_SUM     x1 u8, sc <= 1, n = 0:  out = clamp(c·2^sc + x1, 0, 255)
 *   F8_ADDB_HALF    x1 u8, sc = 1, n = 1:   out = clamp(round_half_even(c + x1 / 2), 0, 255)
 *   F8_ADDB_DOUBLE  x1 s8, sc = 0, n = -1:  out = clamp(2·(c + x1), 0, 255)
 * (a u8 sum makes the ADD's ReLU irrelevant). c_dtype: the convolution's output dtype. */
typedef enum { F8_ADDB_NONE = 0, F8_ADDB_SUM, F8_ADDB_HALF, F8_ADDB_DOUBLE } f8_addb_form;

static inline f8_addb_form f8_addb_form_of(const f8_conv_add *ad, f8_dtype c_dtype)
{
    if (!ad->on || c_dtype != F8_DTYPE_S8 || ad->out_dtype != F8_DTYPE_U8 || ad->s1 != 0)
        return F8_ADDB_NONE;
    if (ad->x1_dtype == F8_DTYPE_U8 && ad->sc <= 1 && ad->n == 0)
        return F8_ADDB_SUM;
    if (ad->x1_dtype == F8_DTYPE_U8 && ad->sc == 1 && ad->n == 1)
        return F8_ADDB_HALF;
    if (ad->x1_dtype == F8_DTYPE_S8 && ad->sc == 0 && ad->n == -1)
        return F8_ADDB_DOUBLE;
    return F8_ADDB_NONE;
}

/* One register tile of the AVX-512 GEMM family (conv2d_nhwc_6x64c4_avx512vnni.c): output
 * channel blocks [b0, b0 + 4) (fewer for the narrow tiles) of the mr pixels from pix0, kernel
 * rows [ky0, ky1); ptrs: the pixels' row segments (conv_segments.h), 6 per kernel row. Each
 * variant computes its tile and stores it with its epilogue. */
typedef void (*f8_gemm_tile_fn)(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y,
                                uint32_t pix0, uint32_t mr, uint32_t b0, uint32_t ky0,
                                uint32_t ky1);

/* The tiles the planner chose for one GEMM op (plan.c). */
typedef struct {
    f8_gemm_tile_fn full;       /* 6 pixels x 64 channels: every channel tile but the last */
    f8_gemm_tile_fn last;       /* the last channel tile (Cout may end inside it) */
    int last_narrow;            /* `last` is 1-3 blocks wide and stores any mr itself */
    f8_gemm_tile_fn shorter[6]; /* [mr]: 1-5 pixels x 64 channels (the ends of row ranges) */
} f8_gemm_tiles;

/* One convolution as the SIMD kernels see it (DENSE is a 1x1 convolution of a 1 x batch
 * image of K channels). Built by the planner (plan.c) from the op and its packing. */
struct f8_conv_geom {
    uint32_t H, W, Cin, Ho, Wo, Cout;
    uint32_t kh, kw, sh, sw, pt, pl;
    uint32_t krows;     /* GEMM: reduction rows = kernel rows, or 1 with pk->patch */
    int in_s8;          /* input dtype s8 (GEMM: bytes are flipped to u8 by xor 0x80) */
    f8_dtype out_dtype;
    int relu;
    const f8_packed *pk;
    const uint8_t *zero; /* at least seg4 zero bytes: a kernel row wholly in the padding */
    uint32_t blk0, blk1; /* GEMM: computes output channel blocks [blk0, blk1) of 16 only
                            (blk0 a multiple of 4, blk1 one too or nblk): the runner splits
                            a layer with large weights by channels across images */
    f8_gemm_tiles tiles;  /* GEMM on the AVX-512 path: the register tiles to run */
    f8_conv_add add;      /* AVX-512 GEMM: a residual ADD fused into the epilogue, or off */
    int pcol;             /* AVX-512 tiles: pixel m of a tile is pix0 + m·Wo, not pix0 + m
                             (the column tiles of f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni) */
};

/* Whether a GEMM's tiles use the packing epilogue (pk->sums_fit, u8/s8 out): then every
 * tile starts from pk->bias_r. */
static inline int f8_gemm_packing(const f8_conv_geom *g)
{
    return g->pk->sums_fit && (g->out_dtype == F8_DTYPE_U8 || g->out_dtype == F8_DTYPE_S8);
}

/* Whether that packing epilogue may round on saturated words (simd_avx512.h's
 * f8_round_shift16 and f8_round_shift16u say why): signed words (packssdw) when every shift
 * is <= 7, or <= 8 for s8 outputs; unsigned words (packusdw) for u8 outputs whose shifts are
 * all 1-8. The MobileNets' expansions and stems, ResNet-50's 1x1 layers into 64-256 channels. */
typedef enum { F8_WORDS_NONE = 0, F8_WORDS_SIGNED, F8_WORDS_UNSIGNED } f8_words;

static inline f8_words f8_gemm_packing_words(const f8_conv_geom *g)
{
    const f8_epi *ep = &g->pk->ep;
    if (!f8_gemm_packing(g))
        return F8_WORDS_NONE;
    if (ep->max_sr <= 7 || (g->out_dtype == F8_DTYPE_S8 && ep->max_sr <= 8))
        return F8_WORDS_SIGNED;
    if (g->out_dtype == F8_DTYPE_U8 && ep->max_sr <= 8 && ep->min_sr >= 1)
        return F8_WORDS_UNSIGNED;
    return F8_WORDS_NONE;
}

/* The n input rows (n <= 4) from oy·sh − pt of a depthwise kernel's window, at channel ch:
 * row[r] points at row iy0 + r, or at a row inside the image when that one is padding (the
 * kernels give those rows zero weights or zero vectors). Returns bit r set for the rows inside
 * the image; every window has one (pad_top < kernel_h, docs/FORMAT.md §3). */
static inline uint32_t f8_dw_rows(const f8_conv_geom *g, const uint8_t *x, uint32_t oy,
                                  uint32_t ch, int n, const uint8_t **row)
{
    const int64_t iy0 = (int64_t)oy * g->sh - g->pt;
    uint32_t in = 0;
    int64_t any = 0;
    for (int r = 0; r < n; r++)
        if (iy0 + r >= 0 && iy0 + r < (int64_t)g->H) {
            in |= 1u << r;
            any = iy0 + r;
        }
    for (int r = 0; r < n; r++)
        row[r] = x + (size_t)((in >> r) & 1 ? iy0 + r : any) * g->W * g->Cout + ch;
    return in;
}

/* The most input channels of the small-K 1x1 kernel (its weights live in 24 registers). */
#define F8_SMALL_K_MAX_CIN 32

/* Builds the packing of a CONV2D (groups 1 or depthwise) or DENSE op; kind NONE for other
 * ops and groupings (they run the scalar kernel). Returns F8_OK or F8_ENOMEM. */
int f8_pack_op(const f8_kernel_args *a, f8_op_type type, f8_packed *pk);
void f8_pack_free(f8_packed *pk);
/* Epilogue constants for a whole tensor with one shift n (ADD, pools): 16 equal lanes. */
typedef struct {
    int32_t sr[16], mask[16], hm1[16], one[16], sl[16], lo_pre[16], hi_pre[16];
    f8_epi ep;
} f8_epi16;
void f8_epi16_init(f8_epi16 *e, int n, f8_dtype out);

/* ---- SIMD kernels (compiled with their own -m flags; plan.c picks them) -----------
 * Named op_layout_tile[_variant]_isa as in XNNPACK. The op-level ones (f8_conv_fn) compute
 * rows [row0, row1) of the output of one image. */
typedef void (*f8_conv_fn)(const f8_conv_geom *g, const void *x, void *y, uint32_t row0,
                           uint32_t row1);

/* conv2d_nhwc_6x64c4_avx512vnni.c: CONV2D (groups 1) and DENSE through 6x64 register tiles */
void f8_conv2d_nhwc_6x64c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                      uint32_t row0, uint32_t row1);
void f8_conv2d_nhwc_6x64c4_coldw_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                            uint32_t row0, uint32_t row1);
void f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                               uint32_t row0, uint32_t row1);
void f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                                 uint32_t row0, uint32_t row1);
void f8_conv2d_nhwc_3x3_1x32c4_stem_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                               uint32_t row0, uint32_t row1);
void f8_conv2d_nhwc_1x1_8x24c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                          uint32_t row0, uint32_t row1);
void f8_conv2d_nhwc_1x1_8x32c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                          uint32_t row0, uint32_t row1);
/* ... and its register tiles (f8_gemm_tile_fn) */
void f8_gemm_tile_6x64c4_avx512vnni(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y,
                                    uint32_t pix0, uint32_t mr, uint32_t b0, uint32_t ky0,
                                    uint32_t ky1);
#define F8_DECLARE_GEMM_TILE(name)                                                             \
    void name(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y, uint32_t pix0,       \
              uint32_t mr, uint32_t b0, uint32_t ky0, uint32_t ky1)
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_u8_avx512vnni);     /* u8 out, registers */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_s8_avx512vnni);     /* s8 out, sr <= 23 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_s8relu_avx512vnni); /* s8 out, ReLU, sr <= 23 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packu8_avx512vnni); /* packing epilogue, u8 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packs8_avx512vnni); /* packing epilogue, s8 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packwu8_avx512vnni); /* the same on words, u8 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packuwu8_avx512vnni); /* ... unsigned words, u8 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packws8_avx512vnni); /* the same on words, s8 */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packadd_avx512vnni); /* packing + fused ADD, 16-bit */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x64c4_packaddb_avx512vnni); /* ... on bytes (ResNets' adds) */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x16c4_avx512vnni);        /* narrow: 1-3 blocks */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x32c4_avx512vnni);
F8_DECLARE_GEMM_TILE(f8_gemm_tile_6x48c4_avx512vnni);
F8_DECLARE_GEMM_TILE(f8_gemm_tile_1x64c4_avx512vnni);        /* short: 1-5 pixels */
F8_DECLARE_GEMM_TILE(f8_gemm_tile_2x64c4_avx512vnni);
F8_DECLARE_GEMM_TILE(f8_gemm_tile_3x64c4_avx512vnni);
F8_DECLARE_GEMM_TILE(f8_gemm_tile_4x64c4_avx512vnni);
F8_DECLARE_GEMM_TILE(f8_gemm_tile_5x64c4_avx512vnni);

/* dwconv2d_nhwc_16c_avx512vnni.c: depthwise CONV2D, 16 channels per zmm */
void f8_dwconv2d_nhwc_3x3s1_2x16c4_u8_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                                  uint32_t row0, uint32_t row1);
void f8_dwconv2d_3x3s1_2x16c4_u8_blocks_avx512vnni(const f8_conv_geom *g, const void *x,
                                                   void *y, uint32_t row0, uint32_t row1,
                                                   uint32_t blk0); /* blocks [blk0, nblk) */
void f8_dwconv2d_nhwc_3x3_16c_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                         uint32_t row0, uint32_t row1);
void f8_dwconv2d_nhwc_4x16c_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                       uint32_t row0, uint32_t row1);

/* dwconv2d_nhwc_3x3_1x64c4_avx512vnni.c: depthwise 3x3, u8 input, horizontal stride 1 or 2,
 * the dwq packing (pk->wdw64c4 / pk->wdw32c2): 4 taps per vpdpbusd lane (window padded to
 * 12), two output rows per pass with stride 1; or 2 taps per vpdpwssd word pair */
void f8_dwconv2d_nhwc_3x3_1x64c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                            uint32_t row0, uint32_t row1);

/* AVX2 (no VNNI): 4x16 GEMM tiles and 8-channel depthwise */
void f8_conv2d_nhwc_4x16c4_avx2(const f8_conv_geom *g, const void *x, void *y,
                                uint32_t row0, uint32_t row1);
void f8_dwconv2d_nhwc_3x3_1x16c2_avx2(const f8_conv_geom *g, const void *x, void *y,
                                      uint32_t row0, uint32_t row1); /* 3x3, dwq, vpmaddwd */
void f8_dwconv2d_nhwc_8c_avx2(const f8_conv_geom *g, const void *x, void *y,
                              uint32_t row0, uint32_t row1);

/* Elementwise ops on rows [row0, row1) of one image. The 32-bit ones need u8/s8 inputs and
 * sums that fit in 32 bits (f8_eltwise_fits_s32 in plan.c); the planner runs the rest
 * with the *_wide_* kernels (AVX-512) or the scalar ones. */
typedef void (*f8_add_fn)(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                          const void *x1, void *y, uint32_t row0, uint32_t row1);
typedef void (*f8_pool_fn)(const f8_kernel_args *a, const f8_epi *ep, const void *x, void *y,
                           uint32_t row0, uint32_t row1);
/* eltwise_nhwc_16c_avx512bw.c (AVX-512 F/BW/VL; no VNNI instruction) */
void f8_add_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                          const void *x1, void *y, uint32_t row0, uint32_t row1);
/* ADD in 64-bit lanes: any input and output dtypes, any alignment shift (ep unused). */
void f8_add_wide_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                               const void *x1, void *y, uint32_t row0, uint32_t row1);
/* AVGPOOL with 64-bit sums: any input and output dtypes (ep unused). */
void f8_avgpool_wide_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x,
                                   void *y, uint32_t row0, uint32_t row1);
void f8_maxpool_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x,
                              void *y, uint32_t row0, uint32_t row1);
void f8_avgpool_nhwc_avx512bw(const f8_kernel_args *a, const f8_epi *ep, const void *x,
                              void *y, uint32_t row0, uint32_t row1);
/* eltwise_nhwc_8c_avx2.c */
void f8_add_nhwc_avx2(const f8_kernel_args *a, const f8_epi *ep, const void *x0,
                      const void *x1, void *y, uint32_t row0, uint32_t row1);
void f8_maxpool_nhwc_avx2(const f8_kernel_args *a, const f8_epi *ep, const void *x, void *y,
                          uint32_t row0, uint32_t row1);
void f8_avgpool_nhwc_avx2(const f8_kernel_args *a, const f8_epi *ep, const void *x, void *y,
                          uint32_t row0, uint32_t row1);

#endif /* F8_KERNELS_H */
