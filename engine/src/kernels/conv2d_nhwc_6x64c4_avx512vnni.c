/*
 * CONV2D (groups 1) and DENSE, AVX-512 VNNI: a register tile of 6 output pixels × 64 output
 * channels (24 zmm accumulators), reduced 4 input bytes at a time by vpdpbusd (u8 × s8 → s32,
 * wrapping like docs/FORMAT.md §1.2), one kernel row (kw·Cin contiguous bytes, see
 * conv_segments.h) after the other.
 *
 * Weights: pack.c's tiles of 4 blocks of 16 outputs, each reduction step 256 contiguous bytes.
 * Activations: NHWC as the model stores them; s8 inputs are flipped to u8 (x ^ 0x80 = x + 128)
 * after the broadcast and the bias carries −128·Σw. A tile narrower than 6 pixels (the last of
 * a row range: one pixel in 7 × 7 maps, 49 = 8·6 + 1) runs a kernel of exactly that many
 * pixels, so it costs its own pixels' work, not a whole tile's.
 *
 * The full 6×64 tile's reduction loop is written in assembly: gcc 12 spills some of the 24
 * accumulators of the intrinsics version. Narrower channel tiles (Cout not a multiple of 64)
 * use intrinsics. Tiles with u8/s8 outputs are requantized from the registers; when no sum
 * can leave 32 bits (pk->sums_fit) by the packing epilogue (EPILOGUE_PACK, packer). Kernel
 * rows in the padding for a whole tile are skipped (f8_live_rows). 1x1 stride-1 layers from
 * at most 32 input channels run small_k_tile instead (weights in registers, pixel by pixel),
 * and 3x3 layers from 3-4 channels stream their rows' inside pixels the same way (stem3_row).
 * docs/ENGINE.md §4 has the measurements behind each of these.
 */
#include <assert.h>
#include <stddef.h>

#include "conv_segments.h"
#include "simd_avx512.h"

#define MR 6

/* 24 accumulators zmm8..zmm31 (pixel m, block j in zmm 8 + 4m + j), weights zmm0..3,
 * broadcasts zmm4..6, the s8 flip constant zmm7. */
#define BC(p, z) "vpbroadcastd (%[" #p "]), %%zmm" #z "\n\t"
#define FLIP(z) "vpxord %%zmm7, %%zmm" #z ", %%zmm" #z "\n\t"
#define DP4(z, a0, a1, a2, a3)                                                                 \
    "vpdpbusd %%zmm0, %%zmm" #z ", %%zmm" #a0 "\n\t"                                           \
    "vpdpbusd %%zmm1, %%zmm" #z ", %%zmm" #a1 "\n\t"                                           \
    "vpdpbusd %%zmm2, %%zmm" #z ", %%zmm" #a2 "\n\t"                                           \
    "vpdpbusd %%zmm3, %%zmm" #z ", %%zmm" #a3 "\n\t"
#define ST4(off, a0, a1, a2, a3)                                                               \
    "vmovdqu64 %%zmm" #a0 ", " #off "+0(%[out])\n\t"                                            \
    "vmovdqu64 %%zmm" #a1 ", " #off "+64(%[out])\n\t"                                           \
    "vmovdqu64 %%zmm" #a2 ", " #off "+128(%[out])\n\t"                                          \
    "vmovdqu64 %%zmm" #a3 ", " #off "+192(%[out])\n\t"

#define STORE_ACC                                                                              \
    ST4(0, 8, 9, 10, 11) ST4(256, 12, 13, 14, 15) ST4(512, 16, 17, 18, 19)                     \
    ST4(768, 20, 21, 22, 23) ST4(1024, 24, 25, 26, 27) ST4(1280, 28, 29, 30, 31)

/* The 6 pixels' output pointers (u8_ctx.o) into p0..p5. */
#define OUT_PTRS                                                                               \
    "mov 24(%[out]), %[p0]\n\t mov 32(%[out]), %[p1]\n\t mov 40(%[out]), %[p2]\n\t"            \
    "mov 48(%[out]), %[p3]\n\t mov 56(%[out]), %[p4]\n\t mov 64(%[out]), %[p5]\n\t"

/* The u8 epilogue of simd_avx512.h (max 0, rounding unsigned shift, saturating store) on the
 * accumulators still in registers; %[out] is a u8_ctx. */
#define EP1(a, p, o)                                                                           \
    "vpmaxsd %%zmm7, %%zmm" #a ", %%zmm" #a "\n\t"                                              \
    "vpsrlvd %%zmm0, %%zmm" #a ", %%zmm4\n\t"                                                  \
    "vpandd %%zmm2, %%zmm4, %%zmm4\n\t"                                                         \
    "vpaddd %%zmm1, %%zmm" #a ", %%zmm" #a "\n\t"                                               \
    "vpaddd %%zmm4, %%zmm" #a ", %%zmm" #a "\n\t"                                               \
    "vpsrlvd %%zmm0, %%zmm" #a ", %%zmm" #a "\n\t"                                              \
    "vpmovusdb %%zmm" #a ", " #o "(%[" #p "])\n\t"
#define EPJ(o64, o16, a0, a1, a2, a3, a4, a5)                                                  \
    "vmovdqu64 " #o64 "(%[cnt]), %%zmm0\n\t"                                                   \
    "vmovdqu64 " #o64 "(%[w]), %%zmm1\n\t"                                                     \
    "vmovdqu64 " #o64 "(%[ptrs]), %%zmm2\n\t"                                                  \
    EP1(a0, p0, o16) EP1(a1, p1, o16) EP1(a2, p2, o16) EP1(a3, p3, o16) EP1(a4, p4, o16)       \
    EP1(a5, p5, o16)
#define EPILOGUE_U8                                                                            \
    "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"                                                        \
    OUT_PTRS                                                                                   \
    "mov 0(%[out]), %[cnt]\n\t mov 8(%[out]), %[w]\n\t mov 16(%[out]), %[ptrs]\n\t"            \
    EPJ(0, 0, 8, 12, 16, 20, 24, 28) EPJ(64, 16, 9, 13, 17, 21, 25, 29)                        \
    EPJ(128, 32, 10, 14, 18, 22, 26, 30) EPJ(192, 48, 11, 15, 19, 23, 27, 31)

/* The s8 epilogue (clamp to ±128·2^sr or [0, 128·2^sr] with ReLU, rounding arithmetic shift,
 * max −127, saturating store). zmm3 = 128·2^sr, zmm5 = the lower bound, zmm6 = −127. */
#define ES1(a, p, o)                                                                           \
    "vpmaxsd %%zmm5, %%zmm" #a ", %%zmm" #a "\n\t"                                              \
    "vpminsd %%zmm3, %%zmm" #a ", %%zmm" #a "\n\t"                                              \
    "vpsravd %%zmm0, %%zmm" #a ", %%zmm4\n\t"                                                  \
    "vpandd %%zmm2, %%zmm4, %%zmm4\n\t"                                                         \
    "vpaddd %%zmm1, %%zmm" #a ", %%zmm" #a "\n\t"                                               \
    "vpaddd %%zmm4, %%zmm" #a ", %%zmm" #a "\n\t"                                               \
    "vpsravd %%zmm0, %%zmm" #a ", %%zmm" #a "\n\t"                                              \
    "vpmaxsd %%zmm6, %%zmm" #a ", %%zmm" #a "\n\t"                                              \
    "vpmovsdb %%zmm" #a ", " #o "(%[" #p "])\n\t"
#define ESJ(o64, o16, LOWER, a0, a1, a2, a3, a4, a5)                                           \
    "vmovdqu64 " #o64 "(%[cnt]), %%zmm0\n\t"                                                   \
    "vmovdqu64 " #o64 "(%[w]), %%zmm1\n\t"                                                     \
    "vmovdqu64 " #o64 "(%[ptrs]), %%zmm2\n\t"                                                  \
    "vpbroadcastd 72(%[out]), %%zmm3\n\t"                                                      \
    "vpsllvd %%zmm0, %%zmm3, %%zmm3\n\t"                                                        \
    LOWER                                                                                      \
    ES1(a0, p0, o16) ES1(a1, p1, o16) ES1(a2, p2, o16) ES1(a3, p3, o16) ES1(a4, p4, o16)       \
    ES1(a5, p5, o16)
#define LOWER_RELU "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
#define LOWER_NEG "vpxord %%zmm5, %%zmm5, %%zmm5\n\t vpsubd %%zmm3, %%zmm5, %%zmm5\n\t"
#define EPILOGUE_S8(LOWER)                                                                     \
    "vpbroadcastd 76(%[out]), %%zmm6\n\t"                                                      \
    OUT_PTRS                                                                                   \
    "mov 0(%[out]), %[cnt]\n\t mov 8(%[out]), %[w]\n\t mov 16(%[out]), %[ptrs]\n\t"            \
    ESJ(0, 0, LOWER, 8, 12, 16, 20, 24, 28) ESJ(64, 16, LOWER, 9, 13, 17, 21, 25, 29)          \
    ESJ(128, 32, LOWER, 10, 14, 18, 22, 26, 30) ESJ(192, 48, LOWER, 11, 15, 19, 23, 27, 31)

/* The packing epilogue (pk->sums_fit: hm1 is in the bias and no sum can overflow): per
 * accumulator a = (a + ((a >> sr) & one)) >> sr with arithmetic shifts (round half to even,
 * FORMAT.md), then each pixel's 4 blocks are packed to s16 with saturation and to u8 or s8,
 * which clamps to the output range (ReLU included: the rounding keeps the sign), and stored
 * as one 64-byte row after vpermd restores the channel order (the packs interleave the
 * blocks per 128-bit lane). The rounding bit is bit sr of a: vptestmd against one << sr (0
 * where sr = 0, which rounds nothing) and an add of 1 under that mask, then vpsravd: 3
 * vector operations per accumulator (the and-of-shift form took 4; MobileNet-V2 b16, 1
 * thread, Zen 5: 16.05 -> 15.68 ms, medians of 5 interleaved runs, within the host's noise),
 * 1 per block and 5 per pixel, where the epilogues above take 7-9 per accumulator. zmm0 =
 * sr, zmm1 = one << sr, zmm2 = 1 in every lane, k1 the rounding mask, zmm6 = the
 * permutation, zmm7 = the s8 floor bytes (0 with ReLU, else −127). */
#define RP1(a)                                                                                 \
    "vptestmd %%zmm1, %%zmm" #a ", %%k1\n\t"                                                    \
    "vpaddd %%zmm2, %%zmm" #a ", %%zmm" #a "%{%%k1%}\n\t"                                        \
    "vpsravd %%zmm0, %%zmm" #a ", %%zmm" #a "\n\t"
#define RPJ(o64, a0, a1, a2, a3, a4, a5)                                                       \
    "vmovdqu64 " #o64 "(%[cnt]), %%zmm0\n\t"                                                   \
    "vmovdqu64 " #o64 "(%[w]), %%zmm1\n\t"                                                     \
    "vpsllvd %%zmm0, %%zmm1, %%zmm1\n\t"                                                       \
    RP1(a0) RP1(a1) RP1(a2) RP1(a3) RP1(a4) RP1(a5)
/* A pixel's 4 accumulators packed to words in zmm4 (blocks 0-1) and zmm5 (2-3), by PACKD
 * (vpackssdw, or vpackusdw for unsigned words). */
#define PK_WORDS_BY(PACKD, a0, a1, a2, a3)                                                     \
    PACKD " %%zmm" #a1 ", %%zmm" #a0 ", %%zmm4\n\t"                                             \
    PACKD " %%zmm" #a3 ", %%zmm" #a2 ", %%zmm5\n\t"
#define PK_WORDS(a0, a1, a2, a3) PK_WORDS_BY("vpackssdw", a0, a1, a2, a3)
/* A pixel's words in zmm4/zmm5 to bytes in zmm4 (PACKB, then POST), channel order restored;
 * PK_STORE also stores them. */
#define PK_BYTES(PACKB, POST)                                                                  \
    PACKB " %%zmm5, %%zmm4, %%zmm4\n\t"                                                        \
    POST                                                                                       \
    "vpermd %%zmm4, %%zmm6, %%zmm4\n\t"
#define PK_STORE(p, PACKB, POST) PK_BYTES(PACKB, POST) "vmovdqu64 %%zmm4, (%[" #p "])\n\t"
#define PK1(p, a0, a1, a2, a3, PACKB, POST) PK_WORDS(a0, a1, a2, a3) PK_STORE(p, PACKB, POST)
/* The packing epilogues' rounding of all 24 accumulators, then the packs' permutation in
 * zmm6. */
#define PACK_ROUND                                                                             \
    "mov 0(%[out]), %[cnt]\n\t mov 16(%[out]), %[w]\n\t"                                       \
    "vpternlogd $0xff, %%zmm2, %%zmm2, %%zmm2\n\t vpsrld $31, %%zmm2, %%zmm2\n\t"             \
    RPJ(0, 8, 12, 16, 20, 24, 28) RPJ(64, 9, 13, 17, 21, 25, 29)                               \
    RPJ(128, 10, 14, 18, 22, 26, 30) RPJ(192, 11, 15, 19, 23, 27, 31)                          \
    "mov 88(%[out]), %[ptrs]\n\t vmovdqu64 (%[ptrs]), %%zmm6\n\t"
/* A packing epilogue: its constants (and, for dwords, the rounding) in PREP, then each
 * pixel's pack, rounding (words) and store by PIXEL. */
#define EPILOGUE_PACK_BY(PREP, PIXEL, PACKB, POST)                                             \
    PREP                                                                                       \
    "vpbroadcastd 80(%[out]), %%zmm7\n\t"                                                      \
    OUT_PTRS                                                                                   \
    PIXEL(p0, 8, 9, 10, 11, PACKB, POST) PIXEL(p1, 12, 13, 14, 15, PACKB, POST)                \
    PIXEL(p2, 16, 17, 18, 19, PACKB, POST) PIXEL(p3, 20, 21, 22, 23, PACKB, POST)              \
    PIXEL(p4, 24, 25, 26, 27, PACKB, POST) PIXEL(p5, 28, 29, 30, 31, PACKB, POST)
#define EPILOGUE_PACK(PACKB, POST) EPILOGUE_PACK_BY(PACK_ROUND, PK1, PACKB, POST)
#define EPILOGUE_PACK_U8 EPILOGUE_PACK("vpackuswb", "")
#define EPILOGUE_PACK_S8 EPILOGUE_PACK("vpacksswb", "vpmaxsb %%zmm7, %%zmm4, %%zmm4\n\t")

/* The packing epilogue on words, when every shift of the op is <= 7 (f8_gemm_packing_words: the
 * MobileNets' expansions): each pixel's 4 accumulators are packed to saturated words first
 * and rounded 32 channels at a time (vptestmw, a masked vpaddsw of 1, vpsravw: 6 operations
 * per pixel instead of 12; the intrinsics packer says why the saturation changes no result).
 * zmm0/zmm2 = sr, zmm1/zmm3 = one << sr of blocks 0-1 / 2-3 in packssdw's word order (which
 * packssdw of the dword constants gives), %[w] = 32 words of 1 (u8_ctx.ones16). */
#define PACKW_CONST                                                                            \
    "mov 0(%[out]), %[cnt]\n\t mov 16(%[out]), %[w]\n\t"                                       \
    "vmovdqu64 0(%[cnt]), %%zmm0\n\t vmovdqu64 64(%[cnt]), %%zmm2\n\t"                         \
    "vmovdqu64 0(%[w]), %%zmm1\n\t vpsllvd %%zmm0, %%zmm1, %%zmm1\n\t"                         \
    "vmovdqu64 64(%[w]), %%zmm3\n\t vpsllvd %%zmm2, %%zmm3, %%zmm3\n\t"                        \
    "vpackssdw %%zmm2, %%zmm0, %%zmm0\n\t vpackssdw %%zmm3, %%zmm1, %%zmm1\n\t"                 \
    "vmovdqu64 128(%[cnt]), %%zmm2\n\t vmovdqu64 192(%[cnt]), %%zmm4\n\t"                      \
    "vmovdqu64 128(%[w]), %%zmm3\n\t vpsllvd %%zmm2, %%zmm3, %%zmm3\n\t"                       \
    "vmovdqu64 192(%[w]), %%zmm5\n\t vpsllvd %%zmm4, %%zmm5, %%zmm5\n\t"                       \
    "vpackssdw %%zmm4, %%zmm2, %%zmm2\n\t vpackssdw %%zmm5, %%zmm3, %%zmm3\n\t"                 \
    "mov 88(%[out]), %[ptrs]\n\t vmovdqu64 (%[ptrs]), %%zmm6\n\t"                              \
    "mov 152(%[out]), %[w]\n\t"
/* ... signed words: vpackssdw, vpaddsw, vpsravw; or unsigned (F8_WORDS_UNSIGNED, u8 outputs
 * with every shift 1-8: simd_avx512.h's f8_round_shift16u): vpackusdw, vpaddusw, vpsrlvw. */
#define PW_BY(PACKD, ADDS, SHIFT, p, a0, a1, a2, a3, PACKB, POST)                             \
    PK_WORDS_BY(PACKD, a0, a1, a2, a3)                                                         \
    "vptestmw %%zmm1, %%zmm4, %%k1\n\t"                                                         \
    ADDS " (%[w]), %%zmm4, %%zmm4%{%%k1%}\n\t"                                                  \
    SHIFT " %%zmm0, %%zmm4, %%zmm4\n\t"                                                         \
    "vptestmw %%zmm3, %%zmm5, %%k1\n\t"                                                         \
    ADDS " (%[w]), %%zmm5, %%zmm5%{%%k1%}\n\t"                                                  \
    SHIFT " %%zmm2, %%zmm5, %%zmm5\n\t"                                                         \
    PK_STORE(p, PACKB, POST)
#define PW1(p, a0, a1, a2, a3, PACKB, POST)                                                    \
    PW_BY("vpackssdw", "vpaddsw", "vpsravw", p, a0, a1, a2, a3, PACKB, POST)
#define PWU1(p, a0, a1, a2, a3, PACKB, POST)                                                   \
    PW_BY("vpackusdw", "vpaddusw", "vpsrlvw", p, a0, a1, a2, a3, PACKB, POST)
#define EPILOGUE_PACKW(PACKB, POST) EPILOGUE_PACK_BY(PACKW_CONST, PW1, PACKB, POST)
#define EPILOGUE_PACKW_U8 EPILOGUE_PACKW("vpackuswb", "")
#define EPILOGUE_PACKW_S8 EPILOGUE_PACKW("vpacksswb", "vpmaxsb %%zmm7, %%zmm4, %%zmm4\n\t")
#define EPILOGUE_PACKUW_U8 EPILOGUE_PACK_BY(PACKW_CONST, PWU1, "vpackuswb", "")

/* The packing epilogue with a fused ADD (f8_add16; the op's output is the ADD's), in 16-bit
 * lanes: each pixel's 4 rounded accumulators are packed to words (vpackssdw, as
 * EPILOGUE_PACK does) and clamped to c's dtype — c, the convolution's own output, is then
 * exactly what EPILOGUE_PACK would store, and never leaves the registers. The pixel's 64
 * bytes of x1 are put in the packs' channel order by the same vpermd (the permutation is its
 * own inverse) and widened to words by unpacking with zeros (x1 in the low byte: u8 with
 * s1 = 0; else in the high byte, shifted right by 8 − s1, arithmetically for s8). c·2^sc +
 * x1·2^s1; for s8 outputs the ADD's ReLU floor; rounding half to even (n > 0: the
 * packing epilogue's form, hm1 added first) or a left shift (n < 0); then packed with
 * saturation to u8 (negative sums round to <= 0, so ReLU changes nothing) or s8 (floor
 * −127), vpermd and one 64-byte store. Which steps run is read from f8_add16.flags by
 * branches that go the same way for the whole op. zmm0 = 0, zmm6 = the permutation,
 * %[ptrs] = the f8_add16, %[cnt] = x1; the pixel's 4 accumulators and zmm4/5 are the
 * temporaries. 11 vector operations per pixel more than EPILOGUE_PACK for ResNet's adds
 * (u8 x1, s1 = 0, n = 0, u8 out). */
#define IFSET(bit, code) "testl $" #bit ", 448(%[ptrs])\n\t jz 3f\n\t" code "3:\n\t"
#define IFELSE_L(bit, yes, no, l1, l2)                                                         \
    "testl $" #bit ", 448(%[ptrs])\n\t jz " #l1 "f\n\t" yes "jmp " #l2 "f\n\t" #l1 ":\n\t" no     \
    #l2 ":\n\t"
#define IFELSE(bit, yes, no) IFELSE_L(bit, yes, no, 4, 5)
#define WROUND(x)                                                                              \
    "vpaddw 192(%[ptrs]), %%zmm" #x ", %%zmm" #x "\n\t"                                         \
    "vpsraw 416(%[ptrs]), %%zmm" #x ", %%zmm4\n\t"                                              \
    "vpandd 256(%[ptrs]), %%zmm4, %%zmm4\n\t"                                                   \
    "vpaddw %%zmm4, %%zmm" #x ", %%zmm" #x "\n\t"                                               \
    "vpsraw 416(%[ptrs]), %%zmm" #x ", %%zmm" #x "\n\t"
#define PA1(p, x1off, a0, a1, a2, a3)                                                          \
    "vpackssdw %%zmm" #a1 ", %%zmm" #a0 ", %%zmm" #a0 "\n\t"                                    \
    "vpackssdw %%zmm" #a3 ", %%zmm" #a2 ", %%zmm" #a1 "\n\t"                                    \
    "vpmaxsw 0(%[ptrs]), %%zmm" #a0 ", %%zmm" #a0 "\n\t"                                        \
    "vpmaxsw 0(%[ptrs]), %%zmm" #a1 ", %%zmm" #a1 "\n\t"                                        \
    "vpminsw 64(%[ptrs]), %%zmm" #a0 ", %%zmm" #a0 "\n\t"                                       \
    "vpminsw 64(%[ptrs]), %%zmm" #a1 ", %%zmm" #a1 "\n\t"                                       \
    IFSET(1, "vpsllw 384(%[ptrs]), %%zmm" #a0 ", %%zmm" #a0 "\n\t"                              \
             "vpsllw 384(%[ptrs]), %%zmm" #a1 ", %%zmm" #a1 "\n\t")                             \
    "mov " #x1off "(%[out]), %[cnt]\n\t"                                                       \
    "vpermd (%[cnt]), %%zmm6, %%zmm5\n\t"                                                       \
    IFELSE(2,                                                                                  \
           "vpunpcklbw %%zmm5, %%zmm0, %%zmm" #a2 "\n\t"                                        \
           "vpunpckhbw %%zmm5, %%zmm0, %%zmm" #a3 "\n\t"                                        \
           IFELSE_L(4,                                                                         \
                  "vpsraw 400(%[ptrs]), %%zmm" #a2 ", %%zmm" #a2 "\n\t"                         \
                  "vpsraw 400(%[ptrs]), %%zmm" #a3 ", %%zmm" #a3 "\n\t",                        \
                  "vpsrlw 400(%[ptrs]), %%zmm" #a2 ", %%zmm" #a2 "\n\t"                         \
                  "vpsrlw 400(%[ptrs]), %%zmm" #a3 ", %%zmm" #a3 "\n\t", 6, 7),                 \
           "vpunpcklbw %%zmm0, %%zmm5, %%zmm" #a2 "\n\t"                                        \
           "vpunpckhbw %%zmm0, %%zmm5, %%zmm" #a3 "\n\t")                                       \
    "vpaddw %%zmm" #a2 ", %%zmm" #a0 ", %%zmm" #a0 "\n\t"                                       \
    "vpaddw %%zmm" #a3 ", %%zmm" #a1 ", %%zmm" #a1 "\n\t"                                       \
    IFSET(32, "vpmaxsw 128(%[ptrs]), %%zmm" #a0 ", %%zmm" #a0 "\n\t"                            \
              "vpmaxsw 128(%[ptrs]), %%zmm" #a1 ", %%zmm" #a1 "\n\t")                           \
    IFSET(8, WROUND(a0) WROUND(a1))                                                            \
    IFSET(16, "vpsllw 432(%[ptrs]), %%zmm" #a0 ", %%zmm" #a0 "\n\t"                             \
              "vpsllw 432(%[ptrs]), %%zmm" #a1 ", %%zmm" #a1 "\n\t")                            \
    IFELSE(32,                                                                                 \
           "vpacksswb %%zmm" #a1 ", %%zmm" #a0 ", %%zmm4\n\t"                                   \
           "vpmaxsb 320(%[ptrs]), %%zmm4, %%zmm4\n\t",                                          \
           "vpackuswb %%zmm" #a1 ", %%zmm" #a0 ", %%zmm4\n\t")                                  \
    "vpermd %%zmm4, %%zmm6, %%zmm4\n\t"                                                         \
    "vmovdqu64 %%zmm4, (%[" #p "])\n\t"
#define EPILOGUE_PACK_ADD                                                                      \
    PACK_ROUND                                                                                 \
    "mov 144(%[out]), %[ptrs]\n\t"                                                             \
    "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"                                                         \
    OUT_PTRS                                                                                   \
    PA1(p0, 96, 8, 9, 10, 11) PA1(p1, 104, 12, 13, 14, 15) PA1(p2, 112, 16, 17, 18, 19)       \
    PA1(p3, 120, 20, 21, 22, 23) PA1(p4, 128, 24, 25, 26, 27) PA1(p5, 136, 28, 29, 30, 31)

/* The packing epilogue with a fused ADD on bytes (f8_addb_form). F8_ADDB_SUM, the ResNets'
 * usual add: c s8, x1 u8 with s1 = 0, no rounding or shift of the sum (n = 0), u8 out, sc = 0
 * or 1. out = clamp(c·2^sc + x1, 0, 255), as EPILOGUE_PACK_ADD computes it, by saturating
 * byte operations: c packed as
 * EPILOGUE_PACK_S8 stores it (the same clamp to c's range), cp = max(c, 0), cn = cp − c =
 * max(−c, 0), then t = x1 and, 1 + sc times, t = subus(addus(t, cp), cn): where c >= 0 only
 * the additions act (saturating at 255 is min(255, ·) of the whole sum), where c < 0 only the
 * subtractions (at 0: the ReLU that u8 output implies). 6 operations per pixel beyond
 * EPILOGUE_PACK_S8's for sc = 1, where the 16-bit form takes ~13 and its flag tests. zmm3 =
 * 0, zmm0/zmm1 = cp/cn, %[cnt] = x1. */
#define PB_ADD "vpaddusb %%zmm0, %%zmm4, %%zmm4\n\t vpsubusb %%zmm1, %%zmm4, %%zmm4\n\t"
#define PB1(p, x1off, a0, a1, a2, a3, MORE)                                                    \
    PK_WORDS(a0, a1, a2, a3)                                                                   \
    PK_BYTES("vpacksswb", "vpmaxsb %%zmm7, %%zmm4, %%zmm4\n\t") /* c, as EPILOGUE_PACK_S8 */   \
    "mov " #x1off "(%[out]), %[cnt]\n\t"                                                       \
    "vpmaxsb %%zmm3, %%zmm4, %%zmm0\n\t"                                                       \
    "vpsubb %%zmm4, %%zmm0, %%zmm1\n\t"                                                        \
    "vpaddusb (%[cnt]), %%zmm0, %%zmm4\n\t"                                                    \
    "vpsubusb %%zmm1, %%zmm4, %%zmm4\n\t"                                                      \
    MORE                                                                                       \
    "vmovdqu64 %%zmm4, (%[" #p "])\n\t"
/* F8_ADDB_HALF (x1 u8, sc = 1, n = 1): out = round_half_even((2c + x1) / 2) = T − (x1 & T & 1)
 * with T = max(c + avg(x1, 0), 0): avg(x1, 0) = (x1 + 1) >> 1 = x1/2 rounded up, so T is the
 * sum rounded half up, one too many exactly where x1 is odd (a tie) and T odd (c + x1/2
 * rounded down even). c + avg <= 127 + 128 never saturates; the subtraction at 0 is the
 * clamp (a tie at -1/2 rounds to 0 too). 7 operations per pixel beyond EPILOGUE_PACK_S8's,
 * where the 16-bit form takes ~16 with its rounding. zmm2 = 1 in every byte. */
#define PBH1(p, x1off, a0, a1, a2, a3, MORE)                                                   \
    PK_WORDS(a0, a1, a2, a3)                                                                   \
    PK_BYTES("vpacksswb", "vpmaxsb %%zmm7, %%zmm4, %%zmm4\n\t")                                \
    "mov " #x1off "(%[out]), %[cnt]\n\t"                                                       \
    "vmovdqu64 (%[cnt]), %%zmm5\n\t"                                                           \
    "vpmaxsb %%zmm3, %%zmm4, %%zmm0\n\t"                                                       \
    "vpsubb %%zmm4, %%zmm0, %%zmm1\n\t"                                                        \
    "vpavgb %%zmm3, %%zmm5, %%zmm4\n\t"                                                        \
    "vpaddusb %%zmm0, %%zmm4, %%zmm4\n\t"                                                      \
    "vpsubusb %%zmm1, %%zmm4, %%zmm4\n\t"                                                      \
    "vpternlogd $0x80, %%zmm2, %%zmm4, %%zmm5\n\t"                                             \
    "vpsubb %%zmm5, %%zmm4, %%zmm4\n\t"                                                        \
    "vmovdqu64 %%zmm4, (%[" #p "])\n\t"
/* F8_ADDB_DOUBLE (x1 s8, sc = 0, n = -1): out = clamp(2s, 0, 255) for s = c + x1 in [-255,
 * 254]. h = c + x1 with signed saturation is s where s fits a byte; the wrapping sum w
 * differs exactly where it does not, and w < h exactly where s >= 128 (h = 127, w = s − 256
 * < 0; below −128, w >= 0 > h = −128): there out = 255, elsewhere 2·max(h, 0) <= 254.
 * 6 operations per pixel beyond EPILOGUE_PACK_S8's. zmm2 = 255 in every byte. */
#define PBD1(p, x1off, a0, a1, a2, a3, MORE)                                                   \
    PK_WORDS(a0, a1, a2, a3)                                                                   \
    PK_BYTES("vpacksswb", "vpmaxsb %%zmm7, %%zmm4, %%zmm4\n\t")                                \
    "mov " #x1off "(%[out]), %[cnt]\n\t"                                                       \
    "vpaddsb (%[cnt]), %%zmm4, %%zmm0\n\t"                                                     \
    "vpaddb (%[cnt]), %%zmm4, %%zmm1\n\t"                                                      \
    "vpcmpb $1, %%zmm0, %%zmm1, %%k1\n\t"                                                      \
    "vpmaxsb %%zmm3, %%zmm0, %%zmm4\n\t"                                                       \
    "vpaddb %%zmm4, %%zmm4, %%zmm4\n\t"                                                        \
    "vmovdqu8 %%zmm2, %%zmm4%{%%k1%}\n\t"                                                       \
    "vmovdqu64 %%zmm4, (%[" #p "])\n\t"
/* The byte forms: PREP sets zmm2 (after PACK_ROUND, which used it), PIXEL is PB1/PBH1/PBD1. */
#define EPILOGUE_PACK_ADDB_BY(PREP, PIXEL, MORE)                                               \
    PACK_ROUND                                                                                 \
    "vpbroadcastd 80(%[out]), %%zmm7\n\t"                                                      \
    "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"                                                         \
    PREP                                                                                       \
    OUT_PTRS                                                                                   \
    PIXEL(p0, 96, 8, 9, 10, 11, MORE) PIXEL(p1, 104, 12, 13, 14, 15, MORE)                     \
    PIXEL(p2, 112, 16, 17, 18, 19, MORE) PIXEL(p3, 120, 20, 21, 22, 23, MORE)                  \
    PIXEL(p4, 128, 24, 25, 26, 27, MORE) PIXEL(p5, 136, 28, 29, 30, 31, MORE)
#define EPILOGUE_PACK_ADDB(MORE) EPILOGUE_PACK_ADDB_BY("", PB1, MORE)
#define ALL_ONES2 "vpternlogd $0xff, %%zmm2, %%zmm2, %%zmm2\n\t"
#define EPILOGUE_PACK_ADDB_HALF EPILOGUE_PACK_ADDB_BY(ALL_ONES2 "vpabsb %%zmm2, %%zmm2\n\t", PBH1, "")
#define EPILOGUE_PACK_ADDB_DOUBLE EPILOGUE_PACK_ADDB_BY(ALL_ONES2, PBD1, "")

/* The packs leave channels 16·j + 4·L .. + 3 (block j, 128-bit lane L) in dword 4·L + j;
 * vpermd with this index puts them back in dword 4·j + L. */
static const int32_t pack_order[16] __attribute__((aligned(64))) = {
    0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
static const int16_t ones16[32] __attribute__((aligned(64))) = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

typedef struct {
    const int32_t *sr, *hm1, *one; /* at the tile's first channel */
    uint8_t *o[6];                 /* the 6 pixels' outputs at the tile's first channel */
    int32_t c128, cm127;           /* 128 and −127 (s8 epilogue) */
    int32_t floor4;                /* packing s8 epilogue: the floor in 4 bytes */
    const int32_t *order;          /* pack_order */
    const uint8_t *x1[6];          /* fused ADD: the 6 pixels' other operand */
    const f8_add16 *add;           /* fused ADD: its 16-bit constants */
    const int16_t *ones16;         /* packing epilogue on words: 32 words of 1 */
} u8_ctx;
_Static_assert(offsetof(u8_ctx, o) == 24 && offsetof(u8_ctx, c128) == 72 &&
                   offsetof(u8_ctx, cm127) == 76 && offsetof(u8_ctx, floor4) == 80 &&
                   offsetof(u8_ctx, order) == 88 && offsetof(u8_ctx, x1) == 96 &&
                   offsetof(u8_ctx, add) == 144 && offsetof(u8_ctx, ones16) == 152,
               "the assembly epilogues address u8_ctx by these offsets");
_Static_assert(offsetof(f8_add16, chi) == 64 && offsetof(f8_add16, lo) == 128 &&
                   offsetof(f8_add16, hm1) == 192 && offsetof(f8_add16, one) == 256 &&
                   offsetof(f8_add16, floor) == 320 && offsetof(f8_add16, sc) == 384 &&
                   offsetof(f8_add16, s1r) == 400 && offsetof(f8_add16, sr) == 416 &&
                   offsetof(f8_add16, sl) == 432 && offsetof(f8_add16, flags) == 448,
               "EPILOGUE_PACK_ADD addresses f8_add16 by these offsets");
_Static_assert(F8_ADD16_SC == 1 && F8_ADD16_X1HI == 2 && F8_ADD16_X1S8 == 4 &&
                   F8_ADD16_ROUND == 8 && F8_ADD16_SHL == 16 && F8_ADD16_OUTS8 == 32,
               "EPILOGUE_PACK_ADD tests these flags by value");

#define KERNEL_ASM(F0, F1, F2, F3, F4, F5, TAIL)                                               \
    __asm__ volatile(                                                                          \
        "vmovdqu64 0(%[bias]), %%zmm0\n\t"                                                     \
        "vmovdqu64 64(%[bias]), %%zmm1\n\t"                                                    \
        "vmovdqu64 128(%[bias]), %%zmm2\n\t"                                                   \
        "vmovdqu64 192(%[bias]), %%zmm3\n\t"                                                   \
        "vmovdqa64 %%zmm0, %%zmm8\n\t vmovdqa64 %%zmm1, %%zmm9\n\t"                            \
        "vmovdqa64 %%zmm2, %%zmm10\n\t vmovdqa64 %%zmm3, %%zmm11\n\t"                          \
        "vmovdqa64 %%zmm0, %%zmm12\n\t vmovdqa64 %%zmm1, %%zmm13\n\t"                          \
        "vmovdqa64 %%zmm2, %%zmm14\n\t vmovdqa64 %%zmm3, %%zmm15\n\t"                          \
        "vmovdqa64 %%zmm0, %%zmm16\n\t vmovdqa64 %%zmm1, %%zmm17\n\t"                          \
        "vmovdqa64 %%zmm2, %%zmm18\n\t vmovdqa64 %%zmm3, %%zmm19\n\t"                          \
        "vmovdqa64 %%zmm0, %%zmm20\n\t vmovdqa64 %%zmm1, %%zmm21\n\t"                          \
        "vmovdqa64 %%zmm2, %%zmm22\n\t vmovdqa64 %%zmm3, %%zmm23\n\t"                          \
        "vmovdqa64 %%zmm0, %%zmm24\n\t vmovdqa64 %%zmm1, %%zmm25\n\t"                          \
        "vmovdqa64 %%zmm2, %%zmm26\n\t vmovdqa64 %%zmm3, %%zmm27\n\t"                          \
        "vmovdqa64 %%zmm0, %%zmm28\n\t vmovdqa64 %%zmm1, %%zmm29\n\t"                          \
        "vmovdqa64 %%zmm2, %%zmm30\n\t vmovdqa64 %%zmm3, %%zmm31\n\t"                          \
        "vpbroadcastd %[flipv], %%zmm7\n\t"                                                    \
        "1:\n\t"                                                                               \
        "mov 0(%[ptrs]), %[p0]\n\t mov 8(%[ptrs]), %[p1]\n\t mov 16(%[ptrs]), %[p2]\n\t"       \
        "mov 24(%[ptrs]), %[p3]\n\t mov 32(%[ptrs]), %[p4]\n\t mov 40(%[ptrs]), %[p5]\n\t"     \
        "add $48, %[ptrs]\n\t"                                                                 \
        "mov %[steps], %[cnt]\n\t"                                                             \
        "2:\n\t"                                                                               \
        "vmovdqa64 0(%[w]), %%zmm0\n\t"                                                        \
        "vmovdqa64 64(%[w]), %%zmm1\n\t"                                                       \
        "vmovdqa64 128(%[w]), %%zmm2\n\t"                                                      \
        "vmovdqa64 192(%[w]), %%zmm3\n\t"                                                      \
        BC(p0, 4) F0 DP4(4, 8, 9, 10, 11)                                                      \
        BC(p1, 5) F1 DP4(5, 12, 13, 14, 15)                                                    \
        BC(p2, 6) F2 DP4(6, 16, 17, 18, 19)                                                    \
        BC(p3, 4) F3 DP4(4, 20, 21, 22, 23)                                                    \
        BC(p4, 5) F4 DP4(5, 24, 25, 26, 27)                                                    \
        BC(p5, 6) F5 DP4(6, 28, 29, 30, 31)                                                    \
        "add $4, %[p0]\n\t add $4, %[p1]\n\t add $4, %[p2]\n\t"                                \
        "add $4, %[p3]\n\t add $4, %[p4]\n\t add $4, %[p5]\n\t"                                \
        "add $256, %[w]\n\t"                                                                   \
        "dec %[cnt]\n\t"                                                                       \
        "jnz 2b\n\t"                                                                           \
        "decl %[rows]\n\t"                                                                     \
        "jnz 1b\n\t"                                                                           \
        TAIL                                                                                   \
        : [ptrs] "+r"(ptrs), [w] "+r"(w), [rows] "+m"(rows), [p0] "=&r"(p0), [p1] "=&r"(p1),    \
          [p2] "=&r"(p2), [p3] "=&r"(p3), [p4] "=&r"(p4), [p5] "=&r"(p5), [cnt] "=&r"(cnt)      \
        : [steps] "m"(steps), [bias] "r"(bias), [out] "r"(out), [flipv] "m"(flipv)             \
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",       \
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",      \
          "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",      \
          "xmm28", "xmm29", "xmm30", "xmm31", "k1", "cc", "memory")

#define NOFLIP ""

/* The kernel for s8 inputs (each broadcast flipped to u8) or u8 inputs, ending in TAIL. */
#define KERNEL_ASM_IN(s8, TAIL)                                                                \
    do {                                                                                       \
        if (s8)                                                                                \
            KERNEL_ASM(FLIP(4), FLIP(5), FLIP(6), FLIP(4), FLIP(5), FLIP(6), TAIL);            \
        else                                                                                   \
            KERNEL_ASM(NOFLIP, NOFLIP, NOFLIP, NOFLIP, NOFLIP, NOFLIP, TAIL);                  \
    } while (0)

/* Accumulates a full 6×64 tile into out[6][64] (bias included). */
static void tile_6x64_asm(const uint8_t **ptrs, uint32_t kh, const int8_t *w, uint64_t steps,
                          const int32_t *bias, int32_t *out, int s8)
{
    const uint8_t *p0, *p1, *p2, *p3, *p4, *p5;
    uint64_t cnt;
    uint32_t rows = kh;
    const int32_t flipv = (int32_t)0x80808080u;
    KERNEL_ASM_IN(s8, STORE_ACC);
}

/* How a full tile with 64 real channels is requantized and stored from the registers. */
typedef enum {
    EPI_U8,      /* u8 out, right shifts only */
    EPI_S8,      /* s8 out, right shifts of at most 23 bits */
    EPI_S8_RELU,
    EPI_PACK_U8, /* the packing epilogue (pk->sums_fit; bias is pk->bias_r); it and all below */
    EPI_PACK_S8,
    EPI_PACKW_U8, /* the packing epilogue on words (f8_gemm_packing_words: F8_WORDS_SIGNED) */
    EPI_PACKW_S8,
    EPI_PACKUW_U8, /* ... on unsigned words (F8_WORDS_UNSIGNED) */
    EPI_PACK_ADD, /* the packing epilogue with a fused ADD in 16-bit lanes (f8_add16) */
    EPI_PACK_ADDB0, /* ... on bytes (EPILOGUE_PACK_ADDB), sc = 0 */
    EPI_PACK_ADDB1, /* ... sc = 1 */
    EPI_PACK_ADDBH, /* ... F8_ADDB_HALF */
    EPI_PACK_ADDBD  /* ... F8_ADDB_DOUBLE */
} tile_epi;

/* The same tile, requantized and stored by `epi` (ctx: the outputs and constants). */
static void tile_6x64_asm_epi(const uint8_t **ptrs, uint32_t kh, const int8_t *w,
                              uint64_t steps, const int32_t *bias, const u8_ctx *ctx, int s8,
                              tile_epi epi)
{
    const uint8_t *p0, *p1, *p2, *p3, *p4, *p5;
    uint64_t cnt;
    uint32_t rows = kh;
    const int32_t flipv = (int32_t)0x80808080u;
    const u8_ctx *out = ctx;
    switch (epi) {
    case EPI_U8: KERNEL_ASM_IN(s8, EPILOGUE_U8); break;
    case EPI_S8: KERNEL_ASM_IN(s8, EPILOGUE_S8(LOWER_NEG)); break;
    case EPI_S8_RELU: KERNEL_ASM_IN(s8, EPILOGUE_S8(LOWER_RELU)); break;
    case EPI_PACK_U8: KERNEL_ASM_IN(s8, EPILOGUE_PACK_U8); break;
    case EPI_PACK_S8: KERNEL_ASM_IN(s8, EPILOGUE_PACK_S8); break;
    case EPI_PACKW_U8: KERNEL_ASM_IN(s8, EPILOGUE_PACKW_U8); break;
    case EPI_PACKW_S8: KERNEL_ASM_IN(s8, EPILOGUE_PACKW_S8); break;
    case EPI_PACKUW_U8: KERNEL_ASM_IN(s8, EPILOGUE_PACKUW_U8); break;
    case EPI_PACK_ADD: KERNEL_ASM_IN(s8, EPILOGUE_PACK_ADD); break;
    case EPI_PACK_ADDB0: KERNEL_ASM_IN(s8, EPILOGUE_PACK_ADDB("")); break;
    case EPI_PACK_ADDB1: KERNEL_ASM_IN(s8, EPILOGUE_PACK_ADDB(PB_ADD)); break;
    case EPI_PACK_ADDBH: KERNEL_ASM_IN(s8, EPILOGUE_PACK_ADDB_HALF); break;
    case EPI_PACK_ADDBD: KERNEL_ASM_IN(s8, EPILOGUE_PACK_ADDB_DOUBLE); break;
    }
}

/* Output pixel m of a tile from pix0: the next pixel of the row-major order, or with
 * g->pcol the pixel below (column tiles of gathered windows, conv_patch_columns). */
F8_INLINE size_t pix_at(const f8_conv_geom *g, uint32_t pix0, uint32_t m)
{
    return (size_t)pix0 + (size_t)m * (g->pcol ? g->Wo : 1);
}

/* Whether the tiles use the packing epilogue: then every tile starts from pk->bias_r. */
F8_INLINE int packing(const f8_conv_geom *g)
{
    return f8_gemm_packing(g);
}

/* The packing epilogue in intrinsics (the same arithmetic as EPILOGUE_PACK) for channel
 * blocks [b0, b0 + nb) of one pixel at a time: one masked store of up to 64 bytes. The
 * rounding bit is tested against bit[j] = one << sr (0 where sr = 0) and added under that
 * mask, as EPILOGUE_PACK does: 3 operations per block. With `words` (every sr <= 7:
 * MobileNet-V2's expansions) the sums are packed to saturated words first and rounded 32
 * channels at a time, as the depthwise dwq kernel does (f8_round_shift16 says why the
 * saturation changes no result for sr <= 7); srw/bitw are sr and bit in packssdw's word
 * order, which packssdw of the dword constants itself gives. */
typedef struct {
    __m512i sr[4], bit[4], srw[2], bitw[2], floor;
    __m512i order;   /* vpermd index: the packs' dword order -> the output's */
    __m512i unorder; /* its inverse (the output's order -> the packs'), for x1 of a fused ADD */
    __mmask64 k;     /* the real channels' bytes */
    int s8;
} packer;

/* srw/bitw from sr/bit (meaningful only when f8_gemm_packing_words allows words). */
F8_INLINE void packer_word_consts(packer *z)
{
    for (int h = 0; h < 2; h++) {
        z->srw[h] = _mm512_packs_epi32(z->sr[2 * h], z->sr[2 * h + 1]);
        z->bitw[h] = _mm512_packs_epi32(z->bit[2 * h], z->bit[2 * h + 1]);
    }
}

F8_INLINE packer packer_load(const f8_conv_geom *g, uint32_t b0, int nb)
{
    const f8_epi *ep = &g->pk->ep;
    packer z;
    const uint32_t ch = b0 * 16, full = (uint32_t)nb * 16;
    const uint32_t n = g->Cout - ch < full ? g->Cout - ch : full;
    z.k = n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
    z.s8 = g->out_dtype == F8_DTYPE_S8;
    z.floor = _mm512_set1_epi8(g->relu ? 0 : -127);
    z.order = _mm512_load_si512(pack_order);
    z.unorder = z.order; /* (this permutation is its own inverse) */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        z.sr[j] = j < nb ? _mm512_loadu_si512(ep->sr + ch + (uint32_t)j * 16) : _mm512_setzero_si512();
        const __m512i one = j < nb ? _mm512_loadu_si512(ep->one + ch + (uint32_t)j * 16)
                                   : _mm512_setzero_si512();
        z.bit[j] = _mm512_sllv_epi32(one, z.sr[j]);
    }
    packer_word_consts(&z);
    return z;
}

/* The same packer for 4 / nb consecutive pixels of an op with exactly 16·nb output channels
 * (nb = 1, 2): their 64 output bytes are contiguous, and the packs' order of 4 pixels' sums
 * (or 2 pixels' 2 blocks) is that of 4 blocks of one pixel, so packer_store stores them with
 * one full store (acc[m·nb + j]: pixel m, block j). */
F8_INLINE packer packer_load_pixels(const f8_conv_geom *g, int nb)
{
    assert((nb == 1 || nb == 2) && g->Cout == 16 * (uint32_t)nb);
    packer z = packer_load(g, 0, nb);
    for (int j = nb; j < 4; j++) {
        z.sr[j] = z.sr[j % nb];
        z.bit[j] = z.bit[j % nb];
    }
    packer_word_consts(&z);
    z.k = ~(__mmask64)0;
    return z;
}

/* Blocks 2h and 2h + 1 of acc[0 .. nb) packed to saturated words and rounded there: signed
 * words (packssdw) or unsigned ones (packusdw, F8_WORDS_UNSIGNED). */
F8_INLINE __m512i packer_round_words(const packer *z, const __m512i *acc, int nb, int h,
                                     const int words)
{
    const __m512i zero = _mm512_setzero_si512();
    if (nb <= 2 * h)
        return zero;
    const __m512i a = acc[2 * h], b = nb > 2 * h + 1 ? acc[2 * h + 1] : zero;
    return words == F8_WORDS_UNSIGNED
               ? f8_round_shift16u(_mm512_packus_epi32(a, b), z->srw[h], z->bitw[h])
               : f8_round_shift16(_mm512_packs_epi32(a, b), z->srw[h], z->bitw[h]);
}

/* acc[0 .. nb): one pixel's sums from pk->bias_r, rounded and packed to saturated words in
 * packssdw's order (w[0]: blocks 0-1, w[1]: blocks 2-3): on dwords, or on words (`words`, an
 * f8_words). */
F8_INLINE void packer_round(const packer *z, const __m512i *acc, int nb, const int words,
                            __m512i w[2])
{
    const __m512i zero = _mm512_setzero_si512();
    if (words) {
        w[0] = packer_round_words(z, acc, nb, 0, words);
        w[1] = packer_round_words(z, acc, nb, 1, words);
        return;
    }
    __m512i q[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
        q[j] = j < nb ? f8_round_shift32(acc[j], z->sr[j], z->bit[j]) : zero;
    w[0] = _mm512_packs_epi32(q[0], q[1]);
    w[1] = _mm512_packs_epi32(q[2], q[3]);
}

/* acc[0 .. nb): one pixel's sums from pk->bias_r, as its output bytes in order. */
F8_INLINE __m512i packer_bytes(const packer *z, const __m512i *acc, int nb, const int words)
{
    __m512i w[2];
    packer_round(z, acc, nb, words, w);
    const __m512i b = z->s8 ? _mm512_max_epi8(_mm512_packs_epi16(w[0], w[1]), z->floor)
                            : _mm512_packus_epi16(w[0], w[1]);
    return _mm512_permutexvar_epi32(z->order, b);
}

/* ... stored at dst (its output at channel 16·b0). */
F8_INLINE void packer_store(const packer *z, const __m512i *acc, int nb, uint8_t *dst,
                            const int words)
{
    _mm512_mask_storeu_epi8(dst, z->k, packer_bytes(z, acc, nb, words));
}

/* The intrinsics tiles' packing epilogue (any nb, mr, and a partial last block). */
F8_INLINE void store_tile_packed(const f8_conv_geom *g, void *y, uint32_t pix0, uint32_t mr,
                                 uint32_t b0, int nb, const __m512i *acc /* [MR][4] */)
{
    const packer z = packer_load(g, b0, nb);
    const int words = f8_gemm_packing_words(g);
#pragma GCC unroll 8
    for (int m = 0; m < MR; m++) {
        if ((uint32_t)m >= mr)
            break;
        uint8_t *dst = (uint8_t *)y + pix_at(g, pix0, (uint32_t)m) * g->Cout + (size_t)b0 * 16;
        if (words == F8_WORDS_UNSIGNED)
            packer_store(&z, acc + m * 4, nb, dst, F8_WORDS_UNSIGNED);
        else if (words)
            packer_store(&z, acc + m * 4, nb, dst, F8_WORDS_SIGNED);
        else
            packer_store(&z, acc + m * 4, nb, dst, F8_WORDS_NONE);
    }
}

/* A fused ADD (g->add) in 32-bit lanes after any tile: per block, c = the convolution's
 * output (the packing epilogue's rounding, or f8_epi_zmm_apply, then the clamp to its dtype
 * that the store would do), then v = c·2^sc + x1·2^s1 (within 32 bits: the planner's
 * f8_eltwise_fits_s32) and the ADD's requant, stored as the ADD's output dtype. */
F8_INLINE void store_tile_add(const f8_conv_geom *g, void *y, uint32_t pix0, uint32_t mr,
                              uint32_t b0, int nb, const __m512i *acc /* [MR][4] */)
{
    const f8_conv_add *ad = &g->add;
    const f8_epi *ep = &g->pk->ep;
    const f8_epi_zmm ea = f8_epi_zmm_load(ad->ep, 0, ad->relu);
    const __m512i sc = _mm512_set1_epi32(ad->sc), s1 = _mm512_set1_epi32(ad->s1);
    const __m512i lo = _mm512_set1_epi32(g->relu && ep->lo < 0 ? 0 : ep->lo);
    const __m512i hi = _mm512_set1_epi32(ep->hi);
    for (int j = 0; j < nb; j++) {
        const uint32_t ch = (b0 + (uint32_t)j) * 16;
        const f8_epi_zmm e = f8_epi_zmm_load(ep, ch, g->relu);
        const __mmask16 k = f8_mask16(g->Cout - ch);
        for (uint32_t m = 0; m < mr && m < MR; m++) {
            const __m512i a = acc[m * 4 + j];
            __m512i c;
            if (packing(g)) { /* sums from pk->bias_r: EPILOGUE_PACK's rounding */
                const __m512i bit = _mm512_and_si512(_mm512_srav_epi32(a, e.sr), e.one);
                c = _mm512_srav_epi32(_mm512_add_epi32(a, bit), e.sr);
            } else {
                c = f8_epi_zmm_apply(&e, a);
            }
            c = _mm512_min_epi32(_mm512_max_epi32(c, lo), hi);
            const size_t yi = pix_at(g, pix0, m) * g->Cout + ch;
            const __m512i v = _mm512_add_epi32(
                _mm512_sllv_epi32(c, sc), _mm512_sllv_epi32(f8_load16(ad->x1, ad->x1_dtype, yi, k), s1));
            f8_store16(y, ad->out_dtype, yi, f8_epi_zmm_apply(&ea, v), k);
        }
    }
}

/* The same ADD in 16-bit lanes, as the assembly tile's EPILOGUE_PACK_ADD does it (the same
 * steps and constants, f8_add16; see there), for the intrinsics tiles: the narrow channel
 * tiles of MobileNet-V2's residual projections (24, 32 and the last 32 of 96 or 160
 * channels), the short pixel tiles and the 24-channel pair kernel, when the 16-bit form fits
 * (g->add.regs) and the sums come from pk->bias_r. One pass over a pixel's blocks instead of
 * ~25 operations per block. add16_regs: f8_add16's constants in registers. */
typedef struct {
    __m512i clo, chi, lo, hm1, one, floor;
    __m128i sc, s1r, sr, sl;
    uint32_t flags;
} add16_regs;

F8_INLINE add16_regs add16_load(const f8_add16 *c)
{
    add16_regs r;
    r.flags = c->flags;
    r.clo = _mm512_loadu_si512(c->clo);
    r.chi = _mm512_loadu_si512(c->chi);
    r.lo = _mm512_loadu_si512(c->lo);
    r.hm1 = _mm512_loadu_si512(c->hm1);
    r.one = _mm512_loadu_si512(c->one);
    r.floor = _mm512_loadu_si512(c->floor);
    r.sc = _mm_loadu_si128((const __m128i *)(const void *)c->sc);
    r.s1r = _mm_loadu_si128((const __m128i *)(const void *)c->s1r);
    r.sr = _mm_loadu_si128((const __m128i *)(const void *)c->sr);
    r.sl = _mm_loadu_si128((const __m128i *)(const void *)c->sl);
    return r;
}

/* acc[0 .. nb): sums from pk->bias_r, packed by z; x1: the ADD's other operand at the same
 * index as dst (z->k of its bytes are read). */
F8_INLINE void packer_store_add16(const packer *z, const add16_regs *r, const __m512i *acc,
                                  int nb, const uint8_t *x1, uint8_t *dst)
{
    const __m512i zero = _mm512_setzero_si512();
    const uint32_t fl = r->flags;
    __m512i w[2];
    packer_round(z, acc, nb, 0, w); /* c before its clamp, as EPILOGUE_PACK_ADD */
    const __m512i x = _mm512_permutexvar_epi32(z->unorder, _mm512_maskz_loadu_epi8(z->k, x1));
    __m512i xw[2];
    if (fl & F8_ADD16_X1HI) {
        xw[0] = _mm512_unpacklo_epi8(zero, x);
        xw[1] = _mm512_unpackhi_epi8(zero, x);
        for (int h = 0; h < 2; h++)
            xw[h] = fl & F8_ADD16_X1S8 ? _mm512_sra_epi16(xw[h], r->s1r) : _mm512_srl_epi16(xw[h], r->s1r);
    } else {
        xw[0] = _mm512_unpacklo_epi8(x, zero);
        xw[1] = _mm512_unpackhi_epi8(x, zero);
    }
    for (int h = 0; h < 2; h++) {
        w[h] = _mm512_min_epi16(_mm512_max_epi16(w[h], r->clo), r->chi); /* c as its dtype */
        if (fl & F8_ADD16_SC)
            w[h] = _mm512_sll_epi16(w[h], r->sc);
        w[h] = _mm512_add_epi16(w[h], xw[h]);
        if (fl & F8_ADD16_OUTS8)
            w[h] = _mm512_max_epi16(w[h], r->lo);
        if (fl & F8_ADD16_ROUND) {
            w[h] = _mm512_add_epi16(w[h], r->hm1);
            const __m512i bit = _mm512_and_si512(_mm512_sra_epi16(w[h], r->sr), r->one);
            w[h] = _mm512_sra_epi16(_mm512_add_epi16(w[h], bit), r->sr);
        }
        if (fl & F8_ADD16_SHL)
            w[h] = _mm512_sll_epi16(w[h], r->sl);
    }
    const __m512i b = fl & F8_ADD16_OUTS8 ? _mm512_max_epi8(_mm512_packs_epi16(w[0], w[1]), r->floor)
                                          : _mm512_packus_epi16(w[0], w[1]);
    _mm512_mask_storeu_epi8(dst, z->k, _mm512_permutexvar_epi32(z->order, b));
}

F8_INLINE void store_tile_add16(const f8_conv_geom *g, void *y, uint32_t pix0, uint32_t mr,
                                uint32_t b0, int nb, const __m512i *acc /* [MR][4] */)
{
    const packer z = packer_load(g, b0, nb);
    const add16_regs r = add16_load(&g->add.c16);
    for (uint32_t m = 0; m < mr && m < MR; m++) {
        const size_t yi = pix_at(g, pix0, m) * g->Cout + (size_t)b0 * 16;
        packer_store_add16(&z, &r, acc + m * 4, nb, (const uint8_t *)g->add.x1 + yi,
                           (uint8_t *)y + yi);
    }
}

F8_INLINE void store_tile(const f8_conv_geom *g, void *y, uint32_t pix0, uint32_t mr,
                          uint32_t b0, int nb, const __m512i *acc /* [MR][4] */)
{
    if (g->add.on && g->add.regs && packing(g)) {
        store_tile_add16(g, y, pix0, mr, b0, nb, acc);
        return;
    }
    if (g->add.on) {
        store_tile_add(g, y, pix0, mr, b0, nb, acc);
        return;
    }
    if (packing(g)) {
        store_tile_packed(g, y, pix0, mr, b0, nb, acc);
        return;
    }
#pragma GCC unroll 4
    for (int j = 0; j < nb; j++) {
        const uint32_t ch = (b0 + (uint32_t)j) * 16;
        const f8_epi_zmm e = f8_epi_zmm_load(&g->pk->ep, ch, g->relu);
        const __mmask16 k = f8_mask16(g->Cout - ch);
#pragma GCC unroll 8
        for (int m = 0; m < MR; m++) {
            if ((uint32_t)m < mr) {
                const size_t yi = pix_at(g, pix0, (uint32_t)m) * g->Cout + ch;
                f8_store16(y, g->out_dtype, yi, f8_epi_zmm_apply(&e, acc[m * 4 + j]), k);
            }
        }
    }
}

/* The intrinsics tiles: MRT pixels × NB blocks of 16 channels (MRT·NB accumulators) — the
 * channel tiles of 1-3 blocks (Cout not a multiple of 64, MRT = MR) and the short pixel
 * tiles of 1-5 pixels (NB = 4) that end a row range. */
F8_INLINE void tile_intrin(const f8_conv_geom *g, const uint8_t *const *ptrs, uint32_t b0,
                           uint32_t ky0, uint32_t ky1, const int MRT, const int NB, const int s8,
                           __m512i *out /* [MR][4] */)
{
    const f8_packed *pk = g->pk;
    size_t step;
    const uint32_t steps = pk->seg4 / 4;
    const int8_t *w = f8_gemm_block(pk, g->krows, b0, &step) + (size_t)ky0 * steps * step;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i acc[MR][4];
#pragma GCC unroll 4
    for (int j = 0; j < NB; j++) {
        const __m512i b = _mm512_load_si512((packing(g) ? pk->bias_r : pk->bias) +
                                            (size_t)(b0 + j) * 16);
#pragma GCC unroll 8
        for (int m = 0; m < MRT; m++)
            acc[m][j] = b;
    }
    for (uint32_t ky = ky0; ky < ky1; ky++) {
        const uint8_t *const *p = ptrs + ky * MR;
        for (uint32_t c = 0; c < steps; c++, w += step) {
            __m512i wv[4];
#pragma GCC unroll 4
            for (int j = 0; j < NB; j++)
                wv[j] = _mm512_load_si512(w + (size_t)j * 64);
#pragma GCC unroll 8
            for (int m = 0; m < MRT; m++) {
                int32_t v;
                memcpy(&v, p[m] + (size_t)c * 4, 4);
                __m512i b = _mm512_set1_epi32(v);
                if (s8)
                    b = _mm512_xor_si512(b, flip);
#pragma GCC unroll 4
                for (int j = 0; j < NB; j++)
                    acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], b, wv[j]);
            }
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < MRT; m++)
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++)
            out[m * 4 + j] = acc[m][j];
}

/* ---- the register tiles, one named function each (kernels.h: f8_gemm_tile_fn) --------
 * The planner (plan.c) chooses, per op, the full tile (by its epilogue), the last channel
 * tile's and the short pixel tiles' functions; f8_gemm_tile_run below only picks among
 * those the one the tile's position calls for. */

/* The intrinsics tiles' body: accumulate MRT x NB, then the op's epilogue (store_tile). */
#define TILE_INTRIN_FN(NAME, MRT, NB)                                                          \
    void NAME(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y, uint32_t pix0,       \
              uint32_t mr, uint32_t b0, uint32_t ky0, uint32_t ky1)                            \
    {                                                                                          \
        __m512i acc[MR * 4];                                                                   \
        if (g->in_s8)                                                                          \
            tile_intrin(g, ptrs, b0, ky0, ky1, MRT, NB, 1, acc);                               \
        else                                                                                   \
            tile_intrin(g, ptrs, b0, ky0, ky1, MRT, NB, 0, acc);                               \
        /* a short tile stores exactly its MRT pixels (the planner picks it by mr) */         \
        store_tile(g, y, pix0, (MRT) < MR ? (uint32_t)(MRT) : mr, b0, NB, acc);                \
    }

/* Channel tiles of 1-3 blocks (the last tile when Cout is not a multiple of 64), 6 pixels
 * computed, mr of them stored. */
TILE_INTRIN_FN(f8_gemm_tile_6x16c4_avx512vnni, MR, 1)
TILE_INTRIN_FN(f8_gemm_tile_6x32c4_avx512vnni, MR, 2)
TILE_INTRIN_FN(f8_gemm_tile_6x48c4_avx512vnni, MR, 3)
/* Pixel tiles of 1-5 pixels, 4 blocks: the ends of row ranges (49 = 8·6 + 1 in 7x7 maps). */
TILE_INTRIN_FN(f8_gemm_tile_1x64c4_avx512vnni, 1, 4)
TILE_INTRIN_FN(f8_gemm_tile_2x64c4_avx512vnni, 2, 4)
TILE_INTRIN_FN(f8_gemm_tile_3x64c4_avx512vnni, 3, 4)
TILE_INTRIN_FN(f8_gemm_tile_4x64c4_avx512vnni, 4, 4)
TILE_INTRIN_FN(f8_gemm_tile_5x64c4_avx512vnni, 5, 4)

/* The full 6x64 tile in assembly, sums stored to memory, then the op's epilogue in
 * intrinsics: any output dtype, left shifts, a partial last block. (gcc cannot see that the
 * assembly writes all of acc through its pointer, hence the pragma.) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
void f8_gemm_tile_6x64c4_avx512vnni(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y,
                                    uint32_t pix0, uint32_t mr, uint32_t b0, uint32_t ky0,
                                    uint32_t ky1)
{
    const f8_packed *pk = g->pk;
    __m512i acc[MR * 4];
    size_t step;
    const int8_t *w = f8_gemm_block(pk, g->krows, b0, &step) + (size_t)ky0 * (pk->seg4 / 4) * step;
    tile_6x64_asm((const uint8_t **)ptrs + ky0 * MR, ky1 - ky0, w, pk->seg4 / 4,
                  (packing(g) ? pk->bias_r : pk->bias) + (size_t)b0 * 16, (int32_t *)(void *)acc,
                  g->in_s8);
    store_tile(g, y, pix0, mr, b0, 4, acc);
}
#pragma GCC diagnostic pop

/* The full 6x64 tile in assembly, requantized from the registers by `epi`. */
F8_INLINE void tile_6x64_regs(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y,
                              uint32_t pix0, uint32_t b0, uint32_t ky0, uint32_t ky1, tile_epi epi)
{
    const f8_packed *pk = g->pk;
    const f8_epi *ep = &pk->ep;
    size_t step;
    const int8_t *w = f8_gemm_block(pk, g->krows, b0, &step) + (size_t)ky0 * (pk->seg4 / 4) * step;
    u8_ctx ctx;
    ctx.sr = ep->sr + (size_t)b0 * 16;
    ctx.hm1 = ep->hm1 + (size_t)b0 * 16;
    ctx.one = ep->one + (size_t)b0 * 16;
    ctx.c128 = 128;
    ctx.cm127 = -127;
    ctx.floor4 = g->relu ? 0 : (int32_t)0x81818181u;
    ctx.order = pack_order;
    for (int m = 0; m < MR; m++) {
        const size_t i = pix_at(g, pix0, (uint32_t)m) * g->Cout + (size_t)b0 * 16;
        ctx.o[m] = (uint8_t *)y + i;
        ctx.x1[m] = g->add.on ? (const uint8_t *)g->add.x1 + i : NULL;
    }
    ctx.add = &g->add.c16;
    ctx.ones16 = ones16;
    const int packs = epi >= EPI_PACK_U8; /* (the packing epilogues close the enum) */
    tile_6x64_asm_epi((const uint8_t **)ptrs + ky0 * MR, ky1 - ky0, w, pk->seg4 / 4,
                      (packs ? pk->bias_r : pk->bias) + (size_t)b0 * 16, &ctx, g->in_s8, epi);
}

#define TILE_REGS_FN(NAME, EPI)                                                                \
    void NAME(const f8_conv_geom *g, const uint8_t *const *ptrs, void *y, uint32_t pix0,       \
              uint32_t mr, uint32_t b0, uint32_t ky0, uint32_t ky1)                            \
    {                                                                                          \
        tile_6x64_regs(g, ptrs, y, pix0, b0, ky0, ky1, EPI);                                   \
    }
/* u8 out, right shifts only (no pk->sums_fit) */
TILE_REGS_FN(f8_gemm_tile_6x64c4_u8_avx512vnni, EPI_U8)
/* s8 out, right shifts of at most 23 bits, without / with ReLU */
TILE_REGS_FN(f8_gemm_tile_6x64c4_s8_avx512vnni, EPI_S8)
TILE_REGS_FN(f8_gemm_tile_6x64c4_s8relu_avx512vnni, EPI_S8_RELU)
/* the packing epilogue (pk->sums_fit; the tile starts from pk->bias_r) */
TILE_REGS_FN(f8_gemm_tile_6x64c4_packu8_avx512vnni, EPI_PACK_U8)
TILE_REGS_FN(f8_gemm_tile_6x64c4_packs8_avx512vnni, EPI_PACK_S8)
/* the same when every shift is <= 7, rounded on words */
TILE_REGS_FN(f8_gemm_tile_6x64c4_packwu8_avx512vnni, EPI_PACKW_U8)
TILE_REGS_FN(f8_gemm_tile_6x64c4_packws8_avx512vnni, EPI_PACKW_S8)
TILE_REGS_FN(f8_gemm_tile_6x64c4_packuwu8_avx512vnni, EPI_PACKUW_U8)

/* the packing epilogue, then a fused ADD in 16-bit lanes (g->add.regs: see f8_add16) */
void f8_gemm_tile_6x64c4_packadd_avx512vnni(const f8_conv_geom *g, const uint8_t *const *ptrs,
                                            void *y, uint32_t pix0, uint32_t mr, uint32_t b0,
                                            uint32_t ky0, uint32_t ky1)
{
    (void)mr;
    tile_6x64_regs(g, ptrs, y, pix0, b0, ky0, ky1, EPI_PACK_ADD);
}

/* the packing epilogue, then a fused ADD on bytes (one of f8_addb_form's) */
void f8_gemm_tile_6x64c4_packaddb_avx512vnni(const f8_conv_geom *g, const uint8_t *const *ptrs,
                                             void *y, uint32_t pix0, uint32_t mr, uint32_t b0,
                                             uint32_t ky0, uint32_t ky1)
{
    (void)mr;
    const f8_addb_form form = f8_addb_form_of(&g->add, g->out_dtype);
    assert(form != F8_ADDB_NONE);
    const tile_epi epi = form == F8_ADDB_HALF   ? EPI_PACK_ADDBH
                         : form == F8_ADDB_DOUBLE ? EPI_PACK_ADDBD
                         : g->add.sc            ? EPI_PACK_ADDB1
                                                : EPI_PACK_ADDB0;
    tile_6x64_regs(g, ptrs, y, pix0, b0, ky0, ky1, epi);
}

/* The tile at pixels [pix0, pix0 + mr), channel blocks from b0, as the op's plan says: the
 * last channel tile's function when narrow (it stores any mr), else a short tile when mr < 6,
 * else the last or the full tile. */
F8_INLINE void tile(const f8_conv_geom *g, const uint8_t **ptrs, void *y, uint32_t pix0,
                    uint32_t mr, uint32_t b0, uint32_t ky0, uint32_t ky1)
{
    const f8_gemm_tiles *t = &g->tiles;
    const int last = b0 + 4 >= g->pk->nblk;
    f8_gemm_tile_fn fn;
    if (last && t->last_narrow)
        fn = t->last;
    else if (mr < MR)
        fn = t->shorter[mr];
    else
        fn = last ? t->last : t->full;
    fn(g, ptrs, y, pix0, mr, b0, ky0, ky1);
}

/* 1x1 convolutions with stride 1, no padding and at most 32 input channels, a multiple of 4
 * (MobileNet-V2's expansions from 16-32 channels, its 32 -> 16 projection), with the packing
 * epilogue: per group of NB blocks of 16 output channels the S·NB <= 24 weight vectors (S =
 * Cin/4 steps) stay in registers and the pixels stream by one at a time, each requantized and
 * stored as soon as it is summed (up to 4 blocks by one packer, 5-6 by a second). With at
 * most 8 steps the 6-pixel tile spent more on its setup and epilogue than on its vpdpbusd. */
#define SMALL_K_MAX_CIN F8_SMALL_K_MAX_CIN
F8_INLINE void small_k_tile(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t p0,
                            uint32_t p1, uint32_t b0, const int S, const int NB, const int s8,
                            const int words)
{
    const f8_packed *pk = g->pk;
    const packer z0 = packer_load(g, b0, NB < 4 ? NB : 4);
    const packer z1 = packer_load(g, b0 + 4, NB > 4 ? NB - 4 : 1);
    const int z1_whole = z1.k == 0xFFFFFFFFu; /* (2 whole blocks) */
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i wv[SMALL_K_MAX_CIN / 4][6], bias[6];
#pragma GCC unroll 6
    for (int j = 0; j < NB; j++) { /* (a group may straddle two of pack.c's 4-block tiles) */
        size_t step;
        const int8_t *w = f8_gemm_block(pk, 1, b0 + (uint32_t)j, &step);
#pragma GCC unroll 8
        for (int s = 0; s < S; s++)
            wv[s][j] = _mm512_load_si512(w + (size_t)s * step);
    }
#pragma GCC unroll 6
    for (int j = 0; j < NB; j++)
        bias[j] = _mm512_load_si512(pk->bias_r + (size_t)(b0 + (uint32_t)j) * 16);
    uint32_t pix = p0;
    if (NB == 1 && g->Cout == 16) { /* 4 pixels a step, one 64-byte store (MobileNet-V2's 32 -> 16) */
        const packer zp = packer_load_pixels(g, 1);
        for (; pix + 4 <= p1; pix += 4) {
            const uint8_t *xp = x + (size_t)pix * g->Cin;
            __m512i acc[4];
#pragma GCC unroll 4
            for (int m = 0; m < 4; m++)
                acc[m] = bias[0];
#pragma GCC unroll 8
            for (int s = 0; s < S; s++)
#pragma GCC unroll 4
                for (int m = 0; m < 4; m++) {
                    int32_t v;
                    memcpy(&v, xp + (size_t)m * g->Cin + (size_t)s * 4, 4);
                    __m512i b = _mm512_set1_epi32(v);
                    if (s8)
                        b = _mm512_xor_si512(b, flip);
                    acc[m] = _mm512_dpbusd_epi32(acc[m], b, wv[s][0]);
                }
            packer_store(&zp, acc, 4, y + (size_t)pix * 16, words);
        }
    }
    for (; pix < p1; pix++) {
        const uint8_t *xp = x + (size_t)pix * g->Cin;
        __m512i acc[8];
#pragma GCC unroll 6
        for (int j = 0; j < NB; j++)
            acc[j] = bias[j];
#pragma GCC unroll 8
        for (int s = 0; s < S; s++) {
            int32_t v;
            memcpy(&v, xp + s * 4, 4);
            __m512i b = _mm512_set1_epi32(v);
            if (s8)
                b = _mm512_xor_si512(b, flip);
#pragma GCC unroll 6
            for (int j = 0; j < NB; j++)
                acc[j] = _mm512_dpbusd_epi32(acc[j], b, wv[s][j]);
        }
        uint8_t *dst = y + (size_t)pix * g->Cout + (size_t)b0 * 16;
        packer_store(&z0, acc, NB < 4 ? NB : 4, dst, words);
        if (NB == 6 && z1_whole) /* a plain 32-byte store: the masked one cost 7% of 16 -> 96 */
            _mm256_storeu_si256((__m256i *)(void *)(dst + 64),
                                _mm512_castsi512_si256(packer_bytes(&z1, acc + 4, 2, words)));
        else if (NB > 4)
            packer_store(&z1, acc + 4, NB - 4, dst + 64, words);
    }
}

#define SMALL_K_NB(S, NB)                                                                      \
    (g->in_s8 ? (words ? small_k_tile(g, x, y, p0, p1, b0, S, NB, 1, F8_WORDS_SIGNED)          \
                       : small_k_tile(g, x, y, p0, p1, b0, S, NB, 1, F8_WORDS_NONE))           \
              : (words ? small_k_tile(g, x, y, p0, p1, b0, S, NB, 0, F8_WORDS_SIGNED)          \
                       : small_k_tile(g, x, y, p0, p1, b0, S, NB, 0, F8_WORDS_NONE)))
#define SMALL_K6(S) /* 1-4 steps: groups of at most 6 blocks (24 weight vectors) */           \
    switch (nb) {                                                                              \
    case 1: SMALL_K_NB(S, 1); break;                                                           \
    case 2: SMALL_K_NB(S, 2); break;                                                           \
    case 3: SMALL_K_NB(S, 3); break;                                                           \
    case 4: SMALL_K_NB(S, 4); break;                                                           \
    case 5: SMALL_K_NB(S, 5); break;                                                           \
    default: SMALL_K_NB(S, 6); break;                                                          \
    }
#define SMALL_K(S) /* 5-6 steps: groups of at most 4 blocks */                                \
    switch (nb) {                                                                              \
    case 1: SMALL_K_NB(S, 1); break;                                                           \
    case 2: SMALL_K_NB(S, 2); break;                                                           \
    case 3: SMALL_K_NB(S, 3); break;                                                           \
    default: SMALL_K_NB(S, 4); break;                                                          \
    }
#define SMALL_K3(S) /* 7-8 steps: groups of at most 3 blocks */                               \
    switch (nb) {                                                                              \
    case 1: SMALL_K_NB(S, 1); break;                                                           \
    case 2: SMALL_K_NB(S, 2); break;                                                           \
    default: SMALL_K_NB(S, 3); break;                                                          \
    }

/* Output channel blocks [blk0, blk1) in groups of `group` blocks (S·group <= 24). */
static void conv_small_k(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t p0,
                         uint32_t p1)
{
    assert(g->Cin % 4 == 0 && g->Cin <= SMALL_K_MAX_CIN && packing(g));
    const uint32_t S = g->Cin / 4, group = S <= 4 ? 6 : S <= 6 ? 4 : 3;
    /* signed words or dwords: unsigned words (u8 out, a shift of 8) would add a third of the
     * kernel's instantiations for layers that the zoo does not have (its small-K layers shift
     * by 5-7, or by 8 into s8) */
    const int words = f8_gemm_packing_words(g) == F8_WORDS_SIGNED;
    for (uint32_t b0 = g->blk0; b0 < g->blk1; b0 += group) {
        const uint32_t nb = g->blk1 - b0 < group ? g->blk1 - b0 : group;
        switch (S) {
        case 1: SMALL_K6(1); break;
        case 2: SMALL_K6(2); break;
        case 3: SMALL_K6(3); break;
        case 4: SMALL_K6(4); break;
        case 5: SMALL_K(5); break;
        case 6: SMALL_K(6); break;
        case 7: SMALL_K3(7); break;
        default: SMALL_K3(8); break;
        }
    }
}

/* 1x1 stride-1 unpadded convolutions with exactly 24 or 32 output channels (MobileNet-V2's
 * projections at 56x56 and 28x28), with the packing epilogue: pixels stream by in pairs
 * (a, b), 4 pairs a step, the reduction in inline assembly (gcc 12 compiled the intrinsics
 * loop with a vmovdqa per vpdpbusd: its accumulators moved between registers every step),
 * without the 6-pixel tiles' segment tables.
 *  - 32 channels: 2 blocks per pixel; a pair's 4 sums are packed like 4 blocks of one pixel
 *    (packer_load_pixels): one 64-byte store for both.
 *  - 24 channels: the 6x32 tile left a quarter of its lanes (channels 24-31) idle. Channels
 *    0-15 of each pixel get a vector of their own, channels 16-23 of both one vector (lanes
 *    0-7 a's, 8-15 b's; its operand a blend of the two broadcasts, its weights the first 32
 *    bytes of block 1's step in both halves): 3 vpdpbusd per pair and step instead of 4. The
 *    3 sums are packed like 3 blocks of one pixel; pair24_order then puts the bytes back in
 *    the output's order: 48 contiguous bytes, a's 24 channels then b's.
 * A last lone pixel is paired with itself and stores its own bytes only. */
#define PAIR_STEP 4

/* After the packs, dword 4·L + j holds channels 4L..4L+3 of sum j (a, b, then the shared one,
 * whose channels 4L..4L+3 are a's 16 + 4L.. for L = 0, 1 and b's 16 + 4(L − 2).. for L = 2, 3). */
static const int32_t pair24_order[16] __attribute__((aligned(64))) = {
    0, 4, 8, 12, 2, 6, 1, 5, 9, 13, 10, 14, 3, 7, 11, 15};
static const int32_t pair24_unorder[16] __attribute__((aligned(64))) = {
    0, 6, 4, 12, 1, 7, 5, 13, 2, 8, 10, 14, 3, 9, 11, 15};

/* The packer of one pair's sums, N = 24 or 32 (lone: one pixel, its N bytes stored). */
F8_INLINE packer packer_load_pair(const f8_conv_geom *g, const int N, int lone)
{
    packer z;
    if (N == 32) {
        z = packer_load_pixels(g, 2);
    } else {
        z = packer_load(g, 0, 2); /* sr, bit of channels 0-15 and 16-31 */
        z.sr[2] = _mm512_broadcast_i64x4(_mm512_castsi512_si256(z.sr[1]));
        z.bit[2] = _mm512_broadcast_i64x4(_mm512_castsi512_si256(z.bit[1]));
        z.sr[1] = z.sr[0];
        z.bit[1] = z.bit[0];
        z.sr[3] = z.bit[3] = _mm512_setzero_si512();
        packer_word_consts(&z);
        z.order = _mm512_load_si512(pair24_order);
        z.unorder = _mm512_load_si512(pair24_unorder);
    }
    z.k = N == 32 && !lone ? ~(__mmask64)0 : ((__mmask64)1 << (lone ? N : 2 * N)) - 1;
    return z;
}

/* The reduction of PAIR_STEP pairs (8 pixels from xa, C bytes apart) in assembly. Pair p's
 * sums in zmm 12 + 3p .. 14 + 3p (and, for 32 channels, zmm 24 + p: PR_S0..3), loaded from
 * and stored back to acc[p];
 * weights zmm0 (block 0) and zmm1 (block 1, or for 24 channels its channels 16-23 twice);
 * broadcasts zmm2-zmm10; the s8 flip zmm11; k1 = lanes 8-15 (b's half of the shared sum).
 * Pixels 0-3 are read from %[x0], 4-7 from %[x4] = x0 + 4C, at 0, C, 2C, 3C. */
#define PR_BC(base, idx, z, FLIP) "vpbroadcastd (%[" #base "]" idx "), %%zmm" #z "\n\t" FLIP(z)
#define PR_NOFLIP(z) ""
#define PR_FLIP(z) "vpxord %%zmm11, %%zmm" #z ", %%zmm" #z "\n\t"
#define PR_DP(w, z, s) "vpdpbusd %%zmm" #w ", %%zmm" #z ", %%zmm" #s "\n\t"
#define PR_PAIR24(base, ia, ib, za, zb, zab, s0, s1, s2, s3, FLIP)                             \
    PR_BC(base, ia, za, FLIP) PR_BC(base, ib, zb, FLIP)                                        \
    "vpblendmd %%zmm" #zb ", %%zmm" #za ", %%zmm" #zab "%{%%k1%}\n\t"                           \
    PR_DP(0, za, s0) PR_DP(0, zb, s1) PR_DP(1, zab, s2)
#define PR_PAIR32(base, ia, ib, za, zb, zab, s0, s1, s2, s3, FLIP)                             \
    PR_BC(base, ia, za, FLIP) PR_BC(base, ib, zb, FLIP)                                        \
    PR_DP(0, za, s0) PR_DP(1, za, s1) PR_DP(0, zb, s2) PR_DP(1, zb, s3)
#define PR_CALL(PAIR, ...) PAIR(__VA_ARGS__) /* (expands PR_S0.. into four arguments) */
#define PR_W24 "vbroadcasti64x4 64(%[w]), %%zmm1\n\t"
#define PR_W32 "vmovdqa64 64(%[w]), %%zmm1\n\t"
#define PR_LOOP(PAIR, W1, S, FLIP)                                                             \
    "movl $0xff00, %%eax\n\t kmovw %%eax, %%k1\n\t"                                            \
    "movl $0x80808080, %%eax\n\t vpbroadcastd %%eax, %%zmm11\n\t"                               \
    S(PR_LD)                                                                                   \
    "1:\n\t"                                                                                  \
    "vmovdqa64 (%[w]), %%zmm0\n\t" W1                                                          \
    PR_CALL(PAIR, x0, "", ",%[C],1", 2, 3, 4, PR_S0, FLIP)                                     \
    PR_CALL(PAIR, x0, ",%[C],2", ",%[C3],1", 5, 6, 7, PR_S1, FLIP)                             \
    PR_CALL(PAIR, x4, "", ",%[C],1", 8, 9, 10, PR_S2, FLIP)                                    \
    PR_CALL(PAIR, x4, ",%[C],2", ",%[C3],1", 2, 3, 4, PR_S3, FLIP)                             \
    "add $4, %[x0]\n\t add $4, %[x4]\n\t add %[step], %[w]\n\t"                                \
    "dec %[n]\n\t jnz 1b\n\t"                                                                  \
    S(PR_ST)
#define PR_LD(z, o) "vmovdqu64 " #o "(%[acc]), %%zmm" #z "\n\t"
#define PR_ST(z, o) "vmovdqu64 %%zmm" #z ", " #o "(%[acc])\n\t"
#define PR_SUMS24(L)                                                                           \
    L(12, 0) L(13, 64) L(14, 128) L(15, 256) L(16, 320) L(17, 384) L(18, 512) L(19, 576)        \
    L(20, 640) L(21, 768) L(22, 832) L(23, 896)
#define PR_SUMS32(L)                                                                           \
    PR_SUMS24(L) L(24, 192) L(25, 448) L(26, 704) L(27, 960)

F8_INLINE void pair_sums4(const uint8_t *xa, size_t C, const int8_t *w, size_t step, uint64_t n,
                          const int N, const int s8, __m512i acc[PAIR_STEP][4])
{
    assert(n > 0 && PAIR_STEP == 4);
    const uint8_t *x0 = xa, *x4 = xa + 4 * C;
    const size_t C3 = 3 * C;
#define PR_OPERANDS                                                                            \
    : [x0] "+r"(x0), [x4] "+r"(x4), [w] "+r"(w), [n] "+r"(n)                                   \
    : [C] "r"(C), [C3] "r"(C3), [step] "r"(step), [acc] "r"(&acc[0][0])                        \
    : "rax", "k1", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",     \
      "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",  \
      "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "cc",    \
      "memory"
/* pair p's sums: acc[p][0..3] at 256·p, in zmm (24 channels) 12+3p.. / (32) also 24+p */
#define PR_S0 12, 13, 14, 24
#define PR_S1 15, 16, 17, 25
#define PR_S2 18, 19, 20, 26
#define PR_S3 21, 22, 23, 27
    if (N == 24 && s8)
        __asm__ volatile(PR_LOOP(PR_PAIR24, PR_W24, PR_SUMS24, PR_FLIP) PR_OPERANDS);
    else if (N == 24)
        __asm__ volatile(PR_LOOP(PR_PAIR24, PR_W24, PR_SUMS24, PR_NOFLIP) PR_OPERANDS);
    else if (s8)
        __asm__ volatile(PR_LOOP(PR_PAIR32, PR_W32, PR_SUMS32, PR_FLIP) PR_OPERANDS);
    else
        __asm__ volatile(PR_LOOP(PR_PAIR32, PR_W32, PR_SUMS32, PR_NOFLIP) PR_OPERANDS);
#undef PR_OPERANDS
}

/* NP pairs from pixel pix (b = a + db pixels: 1, or 0 for a lone pixel), summed and stored
 * (with the fused ADD when add is set). acc[p]: for 24 channels a's 0-15, b's 0-15, the
 * shared one; for 32 a's two blocks, then b's (packer_load_pixels' order). */
F8_INLINE void pair_tile(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t pix,
                         const int NP, uint32_t db, const packer *z, const add16_regs *add,
                         const int N, const int s8, const int words)
{
    const f8_packed *pk = g->pk;
    const size_t C = g->Cin, dbx = (size_t)db * C;
    size_t step;
    const int8_t *w0 = f8_gemm_block(pk, 1, 0, &step), *w1 = f8_gemm_block(pk, 1, 1, &step);
    assert(w1 == w0 + 64); /* (the assembly reads block 1 at 64 bytes from block 0) */
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512i bias0 = _mm512_load_si512(pk->bias_r);
    const __m512i bias1 = N == 32 ? _mm512_load_si512(pk->bias_r + 16)
                                  : _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(pk->bias_r + 16)));
    __m512i acc[PAIR_STEP][4];
#pragma GCC unroll 4
    for (int p = 0; p < NP; p++) {
        acc[p][0] = bias0;
        acc[p][1] = N == 32 ? bias1 : bias0;
        acc[p][2] = N == 32 ? bias0 : bias1;
        acc[p][3] = bias1;
    }
    const uint8_t *xa = x + (size_t)pix * C;
    if (NP == PAIR_STEP && db == 1) {
        pair_sums4(xa, C, w0, step, g->Cin / 4, N, s8, acc);
    } else {
        for (uint32_t s = 0; s < g->Cin / 4; s++) {
            const __m512i wa = _mm512_load_si512(w0 + (size_t)s * step);
            const __m512i wb = N == 32 ? _mm512_load_si512(w1 + (size_t)s * step)
                                       : _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(w1 + (size_t)s * step)));
#pragma GCC unroll 4
            for (int p = 0; p < NP; p++) {
                int32_t va, vb;
                memcpy(&va, xa + 2 * (size_t)p * C + (size_t)s * 4, 4);
                memcpy(&vb, xa + 2 * (size_t)p * C + dbx + (size_t)s * 4, 4);
                __m512i a = _mm512_set1_epi32(va), b = _mm512_set1_epi32(vb);
                if (s8) {
                    a = _mm512_xor_si512(a, flip);
                    b = _mm512_xor_si512(b, flip);
                }
                if (N == 32) {
                    acc[p][0] = _mm512_dpbusd_epi32(acc[p][0], a, wa);
                    acc[p][1] = _mm512_dpbusd_epi32(acc[p][1], a, wb);
                    acc[p][2] = _mm512_dpbusd_epi32(acc[p][2], b, wa);
                    acc[p][3] = _mm512_dpbusd_epi32(acc[p][3], b, wb);
                } else {
                    acc[p][0] = _mm512_dpbusd_epi32(acc[p][0], a, wa);
                    acc[p][1] = _mm512_dpbusd_epi32(acc[p][1], b, wa);
                    acc[p][2] = _mm512_dpbusd_epi32(acc[p][2], _mm512_mask_blend_epi32(0xFF00, a, b), wb);
                }
            }
        }
    }
    const int nb = N == 32 ? 4 : 3;
#pragma GCC unroll 4
    for (int p = 0; p < NP; p++) {
        const size_t yi = (size_t)(pix + 2 * (uint32_t)p) * (size_t)N;
        if (add)
            packer_store_add16(z, add, acc[p], nb, (const uint8_t *)g->add.x1 + yi, y + yi);
        else if (N == 32 && db == 1)
            _mm512_storeu_si512(y + yi, packer_bytes(z, acc[p], nb, words));
        else
            packer_store(z, acc[p], nb, y + yi, words);
    }
}

F8_INLINE void conv_pairs_run(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t p0,
                              uint32_t p1, const add16_regs *add, const int N, const int s8,
                              const int words)
{
    const packer z = packer_load_pair(g, N, 0);
    uint32_t pix = p0;
    for (; pix + 2 * PAIR_STEP <= p1; pix += 2 * PAIR_STEP)
        pair_tile(g, x, y, pix, PAIR_STEP, 1, &z, add, N, s8, words);
    for (; pix + 2 <= p1; pix += 2)
        pair_tile(g, x, y, pix, 1, 1, &z, add, N, s8, words);
    if (pix < p1) {
        const packer lone = packer_load_pair(g, N, 1);
        pair_tile(g, x, y, pix, 1, 0, &lone, add, N, s8, words);
    }
}

#define PAIRS_RUN(N)                                                                           \
    do {                                                                                       \
        if (g->add.on) { /* (the ADD rounds on dwords, as EPILOGUE_PACK_ADD) */                \
            const add16_regs r = add16_load(&g->add.c16);                                      \
            g->in_s8 ? conv_pairs_run(g, x, y, p0, p1, &r, N, 1, 0)                            \
                     : conv_pairs_run(g, x, y, p0, p1, &r, N, 0, 0);                           \
        } else if (f8_gemm_packing_words(g) == F8_WORDS_UNSIGNED) {                            \
            g->in_s8 ? conv_pairs_run(g, x, y, p0, p1, NULL, N, 1, F8_WORDS_UNSIGNED)          \
                     : conv_pairs_run(g, x, y, p0, p1, NULL, N, 0, F8_WORDS_UNSIGNED);         \
        } else if (f8_gemm_packing_words(g)) {                                                 \
            g->in_s8 ? conv_pairs_run(g, x, y, p0, p1, NULL, N, 1, F8_WORDS_SIGNED)            \
                     : conv_pairs_run(g, x, y, p0, p1, NULL, N, 0, F8_WORDS_SIGNED);           \
        } else {                                                                               \
            g->in_s8 ? conv_pairs_run(g, x, y, p0, p1, NULL, N, 1, 0)                          \
                     : conv_pairs_run(g, x, y, p0, p1, NULL, N, 0, 0);                         \
        }                                                                                      \
    } while (0)

static void conv_pairs(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t p0,
                       uint32_t p1)
{
    assert((g->Cout == 24 || g->Cout == 32) && g->Cin % 4 == 0 && packing(g) && g->blk0 == 0 &&
           g->blk1 == 2);
    assert(!g->add.on || g->add.regs);
    if (g->Cout == 24)
        PAIRS_RUN(24);
    else
        PAIRS_RUN(32);
}

/* 3x3 convolutions with rows of 3 steps (3-4 input channels: MobileNet's stems), with the
 * packing epilogue, one output row oy at a time: the 9·NB <= 18 weight vectors stay in
 * registers and the pixels stream by. The pixels [ox_lo, ox_hi), whose windows lie inside the
 * image and whose last segment's 12 bytes stay inside the tensor, read the image in place,
 * their three row pointers advancing by the stride (no segment tables); the others (the
 * borders, and whole rows in the top/bottom padding) read a copy of their window with zero
 * padding. The 6-pixel tile with 2 channel blocks spent ~40 cycles a pixel, mostly outside
 * its 9 steps; border pixels through the tiles cost ~430 cycles each (segment copies, a whole
 * tile for the one left pixel): a third of MobileNet-V2's stem (224x224x3 -> 112x112x32,
 * layer_bench, Zen 5: 0.073 ms with the borders, 0.049 without). */
F8_INLINE void stem3_sums(const __m512i wv[9][2], const __m512i *bias, const uint8_t *p,
                          size_t row, __m512i *acc, const int NB, const int s8)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
#pragma GCC unroll 2
    for (int j = 0; j < NB; j++)
        acc[j] = bias[j];
#pragma GCC unroll 3
    for (int r = 0; r < 3; r++)
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++) {
            int32_t v;
            memcpy(&v, p + (size_t)r * row + (size_t)k * 4, 4);
            __m512i b = _mm512_set1_epi32(v);
            if (s8)
                b = _mm512_xor_si512(b, flip);
#pragma GCC unroll 2
            for (int j = 0; j < NB; j++)
                acc[j] = _mm512_dpbusd_epi32(acc[j], b, wv[r * 3 + k][j]);
        }
}

F8_INLINE void stem3_pixel(const packer *z, const __m512i wv[9][2], const __m512i *bias,
                           const uint8_t *p, size_t row, uint8_t *dst, const int NB,
                           const int s8, const int words)
{
    __m512i acc[2];
    stem3_sums(wv, bias, p, row, acc, NB, s8);
    packer_store(z, acc, NB, dst, words);
}

/* Pixel ox of row oy from a copy of its window: 3 rows of 16 bytes, the padding zero (s8
 * inputs too: their zero is flipped with the rest, as the bias expects). */
F8_INLINE void stem3_border(const f8_conv_geom *g, const uint8_t *x, uint32_t oy, uint32_t ox,
                            uint8_t win[48])
{
    memset(win, 0, 48);
    const uint32_t C = g->Cin;
    for (uint32_t r = 0; r < 3; r++) {
        const int64_t iy = (int64_t)oy * g->sh - g->pt + r;
        if (iy < 0 || iy >= (int64_t)g->H)
            continue;
        for (uint32_t kx = 0; kx < 3; kx++) {
            const int64_t ix = (int64_t)ox * g->sw - g->pl + kx;
            if (ix < 0 || ix >= (int64_t)g->W)
                continue;
            const uint8_t *src = x + ((size_t)iy * g->W + (size_t)ix) * C;
            for (uint32_t c = 0; c < C; c++)
                win[r * 16 + kx * C + c] = src[c];
        }
    }
}

F8_INLINE void stem3_row(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t oy,
                         uint32_t ox_lo, uint32_t ox_hi, uint32_t b0, const int NB, const int s8,
                         const int words)
{
    const f8_packed *pk = g->pk;
    const packer z = packer_load(g, b0, NB);
    __m512i wv[9][2], bias[2];
#pragma GCC unroll 2
    for (int j = 0; j < NB; j++) {
        size_t step;
        const int8_t *w = f8_gemm_block(pk, 3, b0 + (uint32_t)j, &step);
#pragma GCC unroll 9
        for (int k = 0; k < 9; k++)
            wv[k][j] = _mm512_load_si512(w + (size_t)k * step);
        bias[j] = _mm512_load_si512(pk->bias_r + (size_t)(b0 + (uint32_t)j) * 16);
    }
    uint8_t win[48] __attribute__((aligned(64)));
    uint8_t *row_out = y + (size_t)oy * g->Wo * g->Cout + (size_t)b0 * 16;
    for (uint32_t ox = 0; ox < ox_lo; ox++) {
        stem3_border(g, x, oy, ox, win);
        stem3_pixel(&z, wv, bias, win, 16, row_out + (size_t)ox * g->Cout, NB, s8, words);
    }
    const size_t row = (size_t)g->W * g->Cin, adv = (size_t)g->sw * g->Cin;
    if (ox_lo < ox_hi) {
        const uint8_t *p = x + ((size_t)(oy * g->sh - g->pt) * g->W + (ox_lo * g->sw - g->pl)) * g->Cin;
        uint32_t ox = ox_lo;
        if (NB == 2 && g->Cout == 32) { /* 2 pixels a step, one 64-byte store (MobileNets) */
            const packer zp = packer_load_pixels(g, 2);
            for (; ox + 2 <= ox_hi; ox += 2, p += 2 * adv) {
                __m512i acc[4];
                stem3_sums(wv, bias, p, row, acc, 2, s8);
                stem3_sums(wv, bias, p + adv, row, acc + 2, 2, s8);
                packer_store(&zp, acc, 4, row_out + (size_t)ox * 32, words);
            }
        }
        for (; ox < ox_hi; ox++, p += adv)
            stem3_pixel(&z, wv, bias, p, row, row_out + (size_t)ox * g->Cout, NB, s8, words);
    }
    for (uint32_t ox = ox_hi; ox < g->Wo; ox++) {
        stem3_border(g, x, oy, ox, win);
        stem3_pixel(&z, wv, bias, win, 16, row_out + (size_t)ox * g->Cout, NB, s8, words);
    }
}

/* Output pixels [pa, pb) through the 6-pixel tiles (the general path). */
static void tiles(const f8_conv_geom *g, const uint8_t *x, void *y, uint32_t pa, uint32_t pb)
{
    uint8_t scratch[F8_SCRATCH_BYTES] __attribute__((aligned(64)));
    const uint8_t *ptrs[64 * MR];
    for (uint32_t pix = pa; pix < pb; pix += MR) {
        const uint32_t mr = pb - pix < MR ? pb - pix : MR;
        uint32_t ky0, ky1;
        f8_segments(g, x, pix, mr, MR, ptrs, scratch);
        f8_live_rows(g, pix, mr, &ky0, &ky1);
        for (uint32_t b0 = g->blk0; b0 < g->blk1; b0 += 4)
            tile(g, ptrs, y, pix, mr, b0, ky0, ky1);
    }
}

/* Asks for input rows [iy0, iy0 + n) (those inside the image) in L2 ahead of their use: the
 * column tiles walk a strip of 17 rows across the image, 17 streams the hardware prefetcher
 * follows badly, and in a model the stem's input (16 images of 147 KiB) comes from L3.
 * Prefetching the next strip's rows while this one runs: ResNet-18's stem in the model, b16,
 * 1 thread, 5.32 -> 5.15 ms (medians of 12 interleaved runs, Zen 5; L1 hint: about the same). */
static void prefetch_rows(const f8_conv_geom *g, const uint8_t *x, int64_t iy0, uint32_t n)
{
    const size_t row = (size_t)g->W * g->Cin;
    for (int64_t iy = iy0 < 0 ? 0 : iy0; iy < iy0 + n && iy < (int64_t)g->H; iy++)
        for (size_t b = 0; b < row; b += 64)
            _mm_prefetch((const char *)x + (size_t)iy * row + b, _MM_HINT_T1);
}

/* Gathered windows (pk->patch) whose kernel rows overlap from one output row to the next
 * (sh < kh: the 7x7/2 ResNet stem): a tile is 6 output pixels of one column, rows oy..oy+5,
 * whose windows are all in one strip of (mr - 1)·sh + kh input row pieces gathered once
 * (f8_strip): window m starts m·sh rows down. 17 row copies for 6 stem pixels instead of 42
 * (f8_patches), and the tiles read them in place (g->pcol: their pixels lie Wo apart). */
static void conv_patch_columns(const f8_conv_geom *g0, const uint8_t *x, void *y, uint32_t row0,
                               uint32_t row1)
{
    f8_conv_geom gc = *g0;
    gc.pcol = 1;
    const f8_conv_geom *g = &gc;
    uint8_t strip[F8_SCRATCH_BYTES] __attribute__((aligned(64)));
    const uint8_t *ptrs[MR];
    const size_t rstep = (size_t)g->sh * g->kw * g->Cin;
    for (uint32_t oy = row0; oy < row1; oy += MR) {
        const uint32_t mr = row1 - oy < MR ? row1 - oy : MR;
        const uint32_t nrows = (mr - 1) * g->sh + g->kh;
        /* the last window's seg4 bytes end inside the strip's zeroed tail */
        memset(strip + (size_t)nrows * g->kw * g->Cin, 0, 32);
        for (int m = 0; m < MR; m++)
            ptrs[m] = strip + (size_t)((uint32_t)m < mr ? (uint32_t)m : mr - 1) * rstep;
        prefetch_rows(g, x, (int64_t)(oy + MR) * g->sh - g->pt, nrows);
        for (uint32_t ox = 0; ox < g->Wo; ox++) {
            f8_strip(g, x, oy, ox, nrows, strip);
            for (uint32_t b0 = g->blk0; b0 < g->blk1; b0 += 4)
                tile(g, ptrs, y, oy * g->Wo + ox, mr, b0, 0, 1);
        }
    }
}

/* stem3 layers: each output row streamed by stem3_row, its pixels in place where their
 * windows lie inside the image, the others (rows in the top/bottom padding: all) from copies. */
static void conv_stem3(const f8_conv_geom *g, const uint8_t *x, uint8_t *y, uint32_t row0,
                       uint32_t row1)
{
    const size_t total = (size_t)g->H * g->W * g->Cin;
    const f8_words words = f8_gemm_packing_words(g); /* (the MobileNets' stems shift by 7-8) */
    uint32_t lo = (g->pl + g->sw - 1) / g->sw; /* first ox with ox·sw − pl >= 0 */
    uint32_t hi = g->W + g->pl >= 3 ? (g->W + g->pl - 3) / g->sw + 1 : 0; /* window inside */
    hi = hi < g->Wo ? hi : g->Wo;
    lo = lo < hi ? lo : hi;
    for (uint32_t oy = row0; oy < row1; oy++) {
        const int64_t iy = (int64_t)oy * g->sh - g->pt;
        uint32_t h = hi;
        if (iy < 0 || iy + 3 > (int64_t)g->H)
            h = lo; /* (a row in the padding: all of it from copies) */
        /* the last pixel's last row is read as 12 bytes: keep them inside the tensor */
        while (h > lo && ((size_t)(iy + 2) * g->W + ((size_t)(h - 1) * g->sw - g->pl)) * g->Cin + 12 > total)
            h--;
        for (uint32_t b0 = g->blk0; b0 < g->blk1; b0 += 2) {
            const uint32_t nb = g->blk1 - b0 < 2 ? g->blk1 - b0 : 2;
            if (nb == 2)
                g->in_s8 ? stem3_row(g, x, y, oy, lo, h, b0, 2, 1, words)
                         : stem3_row(g, x, y, oy, lo, h, b0, 2, 0, words);
            else
                g->in_s8 ? stem3_row(g, x, y, oy, lo, h, b0, 1, 1, words)
                         : stem3_row(g, x, y, oy, lo, h, b0, 1, 0, words);
        }
    }
}

/* ---- the op-level kernels (conv_fn), chosen by plan.c ---------------------------- */

/* The general path with weights that stay hot (F8_WEIGHTS_HOT_BYTES): pixel tiles outer, every
 * channel tile of a pixel tile in turn. */
void f8_conv2d_nhwc_6x64c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                      uint32_t row0, uint32_t row1)
{
    tiles(g, x, y, row0 * g->Wo, row1 * g->Wo);
}

/* Cold weights (more than F8_WEIGHTS_HOT_BYTES): channel tiles outer, so one channel tile's
 * weights stay in L2 while all the pixels stream by. */
void f8_conv2d_nhwc_6x64c4_coldw_avx512vnni(const f8_conv_geom *g, const void *xv, void *y,
                                            uint32_t row0, uint32_t row1)
{
    const uint8_t *x = xv;
    const uint32_t p0 = row0 * g->Wo, p1 = row1 * g->Wo;
    uint8_t scratch[F8_SCRATCH_BYTES] __attribute__((aligned(64)));
    const uint8_t *ptrs[64 * MR];
    for (uint32_t b0 = g->blk0; b0 < g->blk1; b0 += 4)
        for (uint32_t pix = p0; pix < p1; pix += MR) {
            const uint32_t mr = p1 - pix < MR ? p1 - pix : MR;
            uint32_t ky0, ky1;
            f8_segments(g, x, pix, mr, MR, ptrs, scratch);
            f8_live_rows(g, pix, mr, &ky0, &ky1);
            tile(g, ptrs, y, pix, mr, b0, ky0, ky1);
        }
}

/* Gathered windows overlapping vertically (pk->patch, sh < kh): column tiles, one strip of
 * input rows per 6 output pixels (conv_patch_columns). */
void f8_conv2d_nhwc_6x64c4_patchcol_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                               uint32_t row0, uint32_t row1)
{
    conv_patch_columns(g, x, y, row0, row1);
}

/* 1x1 stride-1 unpadded convolutions from at most 32 input channels (a multiple of 4), with
 * the packing epilogue: weights in registers, one pixel at a time (small_k_tile). */
void f8_conv2d_nhwc_1x1_1x64c4_smallk_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                                 uint32_t row0, uint32_t row1)
{
    conv_small_k(g, x, y, row0 * g->Wo, row1 * g->Wo);
}

/* 1x1 stride-1 unpadded convolutions to exactly 24 or 32 channels, with the packing epilogue
 * (and a fused ADD in 16-bit lanes): pixels in pairs, 8 a step (conv_pairs). */
void f8_conv2d_nhwc_1x1_8x24c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                          uint32_t row0, uint32_t row1)
{
    assert(g->Cout == 24);
    conv_pairs(g, x, y, row0 * g->Wo, row1 * g->Wo);
}

void f8_conv2d_nhwc_1x1_8x32c4_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                          uint32_t row0, uint32_t row1)
{
    assert(g->Cout == 32);
    conv_pairs(g, x, y, row0 * g->Wo, row1 * g->Wo);
}

/* 3x3 convolutions from 3-4 input channels (seg4 12), with the packing epilogue: inside pixels
 * streamed by stem3_row, two channel blocks at a time, the rest through the tiles. */
void f8_conv2d_nhwc_3x3_1x32c4_stem_avx512vnni(const f8_conv_geom *g, const void *x, void *y,
                                               uint32_t row0, uint32_t row1)
{
    conv_stem3(g, x, y, row0, row1);
}
