/*
 * ADD, scalar reference (docs/FORMAT.md §3): two inputs of the same shape, any dtypes,
 * fractional lengths Fa and Fb;
 *
 *   F_int = max(Fa, Fb),   v = a·2^(F_int−Fa) + b·2^(F_int−Fb)   (exact, 64 bits).
 *
 * The operands are aligned by left shifts (multiplications by powers of two <= 2^31), never
 * scaled down; |v| < 2^62 + 2^31.
 */
#include "kernels.h"

void f8_add_scalar(const f8_kernel_args *a, const void *x0, const void *x1, void *y)
{
    const size_t n_elems = f8_value_elems(&a->out);
    const int fa = a->in0.fl, fb = a->in1.fl;
    const int f_int = fa > fb ? fa : fb;
    const int64_t scale_a = (int64_t)1 << (f_int - fa);
    const int64_t scale_b = (int64_t)1 << (f_int - fb);
    const int n = f_int - a->out.fl;

    for (size_t i = 0; i < n_elems; i++) {
        const int64_t v = (int64_t)f8_load(x0, a->in0.dtype, i) * scale_a +
                          (int64_t)f8_load(x1, a->in1.dtype, i) * scale_b;
        f8_store(y, a->out.dtype, i, f8_epilogue(v, a->relu, n, a->out.dtype));
    }
}
