/*
 * Requantization (docs/FORMAT.md §1.1): round half to even on right shifts, left shifts,
 * clamps per dtype, the largest shift, and the epilogue's ReLU; the s32 wrap of §1.2.
 */
#include <stdint.h>

#include "../../engine/src/kernels/kernels.h"
#include "unit.h"

#define RQ(v, n, t) f8_requant((int64_t)(v), (n), (t))

static void test_right_shift_rounding(void)
{
    /* ties go to the even neighbour; everything else to the nearest */
    CU_ASSERT_EQUAL(RQ(5, 1, F8_DTYPE_S32), 2);   /* 2.5 -> 2 */
    CU_ASSERT_EQUAL(RQ(7, 1, F8_DTYPE_S32), 4);   /* 3.5 -> 4 */
    CU_ASSERT_EQUAL(RQ(-5, 1, F8_DTYPE_S32), -2); /* -2.5 -> -2 */
    CU_ASSERT_EQUAL(RQ(-3, 1, F8_DTYPE_S32), -2); /* -1.5 -> -2 */
    CU_ASSERT_EQUAL(RQ(-7, 1, F8_DTYPE_S32), -4); /* -3.5 -> -4 */
    CU_ASSERT_EQUAL(RQ(6, 2, F8_DTYPE_S32), 2);   /* 1.5 -> 2 */
    CU_ASSERT_EQUAL(RQ(10, 2, F8_DTYPE_S32), 2);  /* 2.5 -> 2 */
    CU_ASSERT_EQUAL(RQ(14, 2, F8_DTYPE_S32), 4);  /* 3.5 -> 4 */
    CU_ASSERT_EQUAL(RQ(9, 2, F8_DTYPE_S32), 2);   /* 2.25 -> 2 */
    CU_ASSERT_EQUAL(RQ(11, 2, F8_DTYPE_S32), 3);  /* 2.75 -> 3 */
    CU_ASSERT_EQUAL(RQ(-9, 2, F8_DTYPE_S32), -2); /* -2.25 -> -2 */
    CU_ASSERT_EQUAL(RQ(-11, 2, F8_DTYPE_S32), -3);
    CU_ASSERT_EQUAL(RQ(-6, 2, F8_DTYPE_S32), -2); /* -1.5 -> -2 */
    CU_ASSERT_EQUAL(RQ(-10, 2, F8_DTYPE_S32), -2); /* -2.5 -> -2 */
    CU_ASSERT_EQUAL(RQ(1, 1, F8_DTYPE_S32), 0);   /* 0.5 -> 0 */
    CU_ASSERT_EQUAL(RQ(-1, 1, F8_DTYPE_S32), 0);  /* -0.5 -> 0 */
    CU_ASSERT_EQUAL(RQ(3, 1, F8_DTYPE_S32), 2);   /* 1.5 -> 2 */
    CU_ASSERT_EQUAL(RQ(-1, 5, F8_DTYPE_S32), 0);  /* -1/32 -> 0 */
    CU_ASSERT_EQUAL(RQ(-17, 5, F8_DTYPE_S32), -1); /* -0.53 -> -1 */
    CU_ASSERT_EQUAL(RQ(1000, 3, F8_DTYPE_S32), 125);
    CU_ASSERT_EQUAL(RQ(0, 7, F8_DTYPE_S8), 0);
}

static void test_left_shift_and_identity(void)
{
    CU_ASSERT_EQUAL(RQ(3, 0, F8_DTYPE_S32), 3);
    CU_ASSERT_EQUAL(RQ(-3, 0, F8_DTYPE_S32), -3);
    CU_ASSERT_EQUAL(RQ(3, -2, F8_DTYPE_S32), 12);
    CU_ASSERT_EQUAL(RQ(-3, -2, F8_DTYPE_S32), -12);
    CU_ASSERT_EQUAL(RQ(1, -30, F8_DTYPE_S32), 1 << 30);
    CU_ASSERT_EQUAL(RQ(5, -4, F8_DTYPE_U8), 80);
    CU_ASSERT_EQUAL(RQ(-5, -4, F8_DTYPE_S8), -80);
    /* left shifts then clamp */
    CU_ASSERT_EQUAL(RQ(16, -4, F8_DTYPE_U8), 255);
    CU_ASSERT_EQUAL(RQ(-8, -4, F8_DTYPE_S8), -127);
    CU_ASSERT_EQUAL(RQ(1, -31, F8_DTYPE_S32), INT32_MAX); /* 2^31 clamps to 2^31-1 */
    CU_ASSERT_EQUAL(RQ(-1, -31, F8_DTYPE_S32), -INT32_MAX);
    /* past 2^63 the shift wraps modulo 2^64 (docs/FORMAT.md §1.1, as the simulator's numpy
     * left_shift does); only extreme ADD/AVGPOOL sums can get there */
    CU_ASSERT_EQUAL(RQ((int64_t)1 << 40, -31, F8_DTYPE_S32), 0);
    CU_ASSERT_EQUAL(RQ(((int64_t)1 << 40) + 1, -31, F8_DTYPE_S32), INT32_MAX);
    CU_ASSERT_EQUAL(RQ(-((int64_t)1 << 40) - 1, -31, F8_DTYPE_S32), -INT32_MAX);
    CU_ASSERT_EQUAL(RQ((int64_t)3 << 61, -1, F8_DTYPE_S32), -INT32_MAX); /* 3*2^62 -> -2^62 */
}

static void test_clamps(void)
{
    CU_ASSERT_EQUAL(RQ(-1, 0, F8_DTYPE_U8), 0);
    CU_ASSERT_EQUAL(RQ(255, 0, F8_DTYPE_U8), 255);
    CU_ASSERT_EQUAL(RQ(256, 0, F8_DTYPE_U8), 255);
    CU_ASSERT_EQUAL(RQ(511, 1, F8_DTYPE_U8), 255); /* 255.5 -> 256 -> 255 */
    CU_ASSERT_EQUAL(RQ(509, 1, F8_DTYPE_U8), 254); /* 254.5 -> 254 */
    CU_ASSERT_EQUAL(RQ(127, 0, F8_DTYPE_S8), 127);
    CU_ASSERT_EQUAL(RQ(128, 0, F8_DTYPE_S8), 127);
    CU_ASSERT_EQUAL(RQ(-127, 0, F8_DTYPE_S8), -127);
    CU_ASSERT_EQUAL(RQ(-128, 0, F8_DTYPE_S8), -127); /* -128 is never produced */
    CU_ASSERT_EQUAL(RQ(-1000, 0, F8_DTYPE_S8), -127);
    CU_ASSERT_EQUAL(RQ(INT32_MAX, 0, F8_DTYPE_S32), INT32_MAX);
    CU_ASSERT_EQUAL(RQ(INT32_MIN, 0, F8_DTYPE_S32), -INT32_MAX); /* symmetric */
    CU_ASSERT_EQUAL(RQ((int64_t)1 << 40, 0, F8_DTYPE_S32), INT32_MAX);
    CU_ASSERT_EQUAL(RQ(-((int64_t)1 << 40), 0, F8_DTYPE_S32), -INT32_MAX);
    CU_ASSERT_EQUAL(f8_clamp(300, F8_DTYPE_U8), 255);
    CU_ASSERT_EQUAL(f8_clamp(-300, F8_DTYPE_S8), -127);
}

static void test_shift_31(void)
{
    const int64_t two31 = (int64_t)1 << 31;
    CU_ASSERT_EQUAL(RQ(two31, 31, F8_DTYPE_S32), 1);
    CU_ASSERT_EQUAL(RQ(two31 / 2, 31, F8_DTYPE_S32), 0);         /* 0.5 -> 0 */
    CU_ASSERT_EQUAL(RQ(3 * (two31 / 2), 31, F8_DTYPE_S32), 2);   /* 1.5 -> 2 */
    CU_ASSERT_EQUAL(RQ(two31 / 2 + 1, 31, F8_DTYPE_S32), 1);     /* just over 0.5 */
    CU_ASSERT_EQUAL(RQ(-(two31 / 2), 31, F8_DTYPE_S32), 0);      /* -0.5 -> 0 */
    CU_ASSERT_EQUAL(RQ(-(two31 / 2) - 1, 31, F8_DTYPE_S32), -1); /* just under -0.5 */
    CU_ASSERT_EQUAL(RQ(-3 * (two31 / 2), 31, F8_DTYPE_S32), -2); /* -1.5 -> -2 */
    CU_ASSERT_EQUAL(RQ(INT32_MAX, 31, F8_DTYPE_S32), 1);
    CU_ASSERT_EQUAL(RQ(-INT32_MAX, 31, F8_DTYPE_S32), -1);
    CU_ASSERT_EQUAL(RQ(255 * two31, 31, F8_DTYPE_U8), 255);
    /* large 64-bit values (ADD and AVGPOOL sums) shift right without overflow */
    CU_ASSERT_EQUAL(RQ((int64_t)1 << 62, 31, F8_DTYPE_S32), INT32_MAX);
    CU_ASSERT_EQUAL(RQ(((int64_t)1 << 61) + ((int64_t)1 << 30), 31, F8_DTYPE_S32), 1 << 30);
    CU_ASSERT_EQUAL(RQ(INT64_MIN + 1, 31, F8_DTYPE_S32), -INT32_MAX);
}

static void test_epilogue_relu(void)
{
    CU_ASSERT_EQUAL(f8_epilogue(-5, 1, 0, F8_DTYPE_S32), 0);
    CU_ASSERT_EQUAL(f8_epilogue(-5, 0, 0, F8_DTYPE_S32), -5);
    CU_ASSERT_EQUAL(f8_epilogue(-5, 1, -3, F8_DTYPE_S8), 0);
    CU_ASSERT_EQUAL(f8_epilogue(5, 1, 1, F8_DTYPE_S8), 2);
    /* without ReLU a u8 output still clamps negatives to 0 (the clamp is the ReLU) */
    CU_ASSERT_EQUAL(f8_epilogue(-100, 0, 0, F8_DTYPE_U8), 0);
}

static void test_wrap32(void)
{
    CU_ASSERT_EQUAL(f8_wrap32(5), 5);
    CU_ASSERT_EQUAL(f8_wrap32(-5), -5);
    CU_ASSERT_EQUAL(f8_wrap32((int64_t)INT32_MAX + 1), INT32_MIN);
    CU_ASSERT_EQUAL(f8_wrap32((int64_t)INT32_MIN - 1), INT32_MAX);
    CU_ASSERT_EQUAL(f8_wrap32(((int64_t)1 << 32) + 7), 7);
    CU_ASSERT_EQUAL(f8_wrap32(-((int64_t)1 << 33) - 7), -7);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"right shift rounds half to even", test_right_shift_rounding},
        {"left shift and n = 0", test_left_shift_and_identity},
        {"clamps for u8, s8, s32", test_clamps},
        {"shift of 31 bits", test_shift_31},
        {"epilogue ReLU", test_epilogue_relu},
        {"s32 accumulator wrap", test_wrap32},
        CU_TEST_INFO_NULL,
    };
    return unit_run("requant", tests);
}
