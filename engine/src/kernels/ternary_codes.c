/*
 * The dense ternary packing's code table (docs/FORMAT.md §2.5): byte b < 243 holds five
 * weights as base-3 digits, b = t0 + 3·t1 + 9·t2 + 27·t3 + 81·t4 (digit 0 = 0, 1 = +1,
 * 2 = -1); f8_dense_codes[b] holds them as the 2-bit packing's codes (00 = 0, 01 = +1,
 * 11 = -1), t_r in bits 2r and 2r+1, so that f8_weight reads both packings the same way.
 */
#include "kernels.h"

#define CODE(t) ((t) == 2 ? 3u : (unsigned)(t))
#define E(t4, t3, t2, t1, t0) \
    (uint16_t)(CODE(t0) | CODE(t1) << 2 | CODE(t2) << 4 | CODE(t3) << 6 | CODE(t4) << 8)
/* t0 varies fastest: entry b has the digits of b */
#define R0(t4, t3, t2, t1) E(t4, t3, t2, t1, 0), E(t4, t3, t2, t1, 1), E(t4, t3, t2, t1, 2)
#define R1(t4, t3, t2) R0(t4, t3, t2, 0), R0(t4, t3, t2, 1), R0(t4, t3, t2, 2)
#define R2(t4, t3) R1(t4, t3, 0), R1(t4, t3, 1), R1(t4, t3, 2)
#define R3(t4) R2(t4, 0), R2(t4, 1), R2(t4, 2)

const uint16_t f8_dense_codes[243] = {R3(0), R3(1), R3(2)};
