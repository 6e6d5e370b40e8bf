/* f8d scores: softmax of fixed-point logits in double, top-k order. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>

#include "core/scores.h"
#include "f8.h"

static void test_softmax_known_values(void)
{
    /* logits 0, 256, 512 at FL 8 are 0.0, 1.0, 2.0 */
    const int32_t logits[] = {0, 256, 512};
    double p[3];
    f8d_softmax(logits, 3, 8, p);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.090030573170380462, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 0.24472847105479764, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[2], 0.66524095577482190, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[0] + p[1] + p[2], 1.0, 1e-15);
}

static void test_softmax_fl(void)
{
    /* FL 0: logits are integers; 1 vs 0 -> e/(1+e) */
    const int32_t a[] = {1, 0};
    double p[2];
    f8d_softmax(a, 2, 0, p);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.73105857863000490, 1e-15);
    /* negative FL -2: logit 1 means 4.0 */
    f8d_softmax(a, 2, -2, p);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.98201379003790845, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 0.01798620996209156, 1e-15);
    /* FL 16: logit 65536 is 1.0, same answer as FL 0 with logit 1 */
    const int32_t b[] = {65536, 0};
    f8d_softmax(b, 2, 16, p);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.73105857863000490, 1e-15);
}

static void test_softmax_extremes(void)
{
    /* no overflow, no NaN at the ends of the s32 range */
    const int32_t x[] = {INT32_MAX, INT32_MIN, 0};
    double p[3];
    f8d_softmax(x, 3, 0, p);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 0.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[2], 0.0, 1e-15);
    CU_ASSERT_FALSE(isnan(p[0]) || isnan(p[1]) || isnan(p[2]));
    /* all equal: uniform */
    const int32_t e[] = {-7, -7, -7, -7};
    double q[4];
    f8d_softmax(e, 4, 3, q);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_DOUBLE_EQUAL(q[i], 0.25, 1e-15);
}

static void test_top_k_order_and_scores(void)
{
    /* Fashion-MNIST-like: 10 logits at FL 10 */
    const int32_t logits[10] = {-2048, 5120, 1024, 1024, -512, 0, 3072, -4096, 2048, 1023};
    uint32_t idx[10];
    double sc[10], all[10];
    f8d_softmax(logits, 10, 10, all);

    uint32_t n = f8d_scores_top_k(logits, 10, 10, 5, idx, sc);
    CU_ASSERT_EQUAL(n, 5);
    const uint32_t want[5] = {1, 6, 8, 2, 3}; /* 2 and 3 tie: lower index first */
    for (uint32_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(idx[i], want[i]);
        CU_ASSERT_DOUBLE_EQUAL(sc[i], all[want[i]], 1e-15);
        if (i > 0)
            CU_ASSERT_TRUE(sc[i] <= sc[i - 1]);
    }
    /* logit 5.0 vs others: exact value */
    double denom = 0;
    for (int i = 0; i < 10; i++)
        denom += exp(logits[i] / 1024.0);
    CU_ASSERT_DOUBLE_EQUAL(sc[0], exp(5.0) / denom, 1e-12);
}

static void test_top_k_bounds(void)
{
    const int32_t logits[3] = {3, 1, 2};
    uint32_t idx[3];
    double sc[3];
    CU_ASSERT_EQUAL(f8d_scores_top_k(logits, 3, 0, 10, idx, sc), 3); /* capped at n */
    CU_ASSERT_EQUAL(idx[0], 0);
    CU_ASSERT_EQUAL(idx[1], 2);
    CU_ASSERT_EQUAL(idx[2], 1);
    CU_ASSERT_DOUBLE_EQUAL(sc[0] + sc[1] + sc[2], 1.0, 1e-15);
    CU_ASSERT_EQUAL(f8d_scores_top_k(logits, 3, 0, 1, idx, sc), 1);
    CU_ASSERT_EQUAL(idx[0], 0);
    CU_ASSERT_DOUBLE_EQUAL(sc[0], exp(3.0) / (exp(3.0) + exp(1.0) + exp(2.0)), 1e-15);
    CU_ASSERT_EQUAL(f8d_scores_top_k(logits, 3, 0, 0, idx, sc), 0);
    CU_ASSERT_EQUAL(f8d_scores_top_k(logits, 0, 0, 3, idx, sc), 0);
}

/* Top-k computes its own softmax terms (no scratch for all n): every score must be exactly,
 * bit for bit, the probability f8_softmax gives the same class. */
static void test_top_k_scores_equal_f8_softmax(void)
{
    const int32_t a[10] = {-2048, 5120, 1024, 1024, -512, 0, 3072, -4096, 2048, 1023};
    const int32_t b[5] = {INT32_MAX, INT32_MIN, 0, -1, INT32_MAX};
    const int32_t c[7] = {123456789, -98765, 4242, 77, 123456000, -1, 31};
    const struct {
        const int32_t *logits;
        uint32_t n;
    } cases[] = {{a, 10}, {b, 5}, {c, 7}};
    const int fls[] = {-3, 0, 1, 8, 10, 24, 31};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        for (size_t f = 0; f < sizeof fls / sizeof fls[0]; f++) {
            const uint32_t n = cases[t].n;
            uint32_t idx[10];
            double sc[10], all[10];
            f8_softmax(cases[t].logits, n, fls[f], all);
            const uint32_t got = f8d_scores_top_k(cases[t].logits, n, fls[f], n, idx, sc);
            CU_ASSERT_EQUAL(got, n);
            for (uint32_t i = 0; i < got; i++)
                CU_ASSERT(sc[i] == all[idx[i]]);
        }
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("daemon_softmax", NULL, NULL);
    CU_add_test(s, "softmax of known logits", test_softmax_known_values);
    CU_add_test(s, "softmax respects the fractional length", test_softmax_fl);
    CU_add_test(s, "softmax at the s32 extremes", test_softmax_extremes);
    CU_add_test(s, "top-k order, ties and scores", test_top_k_order_and_scores);
    CU_add_test(s, "top-k bounds", test_top_k_bounds);
    CU_add_test(s, "top-k scores are f8_softmax's, bit for bit", test_top_k_scores_equal_f8_softmax);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
