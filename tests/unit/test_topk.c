/* f8_top_k (docs/FORMAT.md §5: ranking on the integers, ties to the lower index) and the
 * name functions. */
#include <stdint.h>
#include <string.h>

#include "f8.h"
#include "unit.h"

static void test_order_and_ties(void)
{
    const int32_t l[6] = {5, 9, 9, 1, 9, -3};
    uint32_t idx[6];
    CU_ASSERT_EQUAL(f8_top_k(l, 6, 3, idx), 3);
    CU_ASSERT_EQUAL(idx[0], 1);
    CU_ASSERT_EQUAL(idx[1], 2);
    CU_ASSERT_EQUAL(idx[2], 4);
    CU_ASSERT_EQUAL(f8_top_k(l, 6, 6, idx), 6);
    const uint32_t all[6] = {1, 2, 4, 0, 3, 5};
    CU_ASSERT_EQUAL(memcmp(idx, all, sizeof all), 0);
    CU_ASSERT_EQUAL(f8_top_k(l, 6, 1, idx), 1);
    CU_ASSERT_EQUAL(idx[0], 1);
}

static void test_limits(void)
{
    const int32_t l[4] = {INT32_MIN, -INT32_MAX, INT32_MAX, 0};
    uint32_t idx[10];
    CU_ASSERT_EQUAL(f8_top_k(l, 4, 10, idx), 4); /* k capped at n */
    CU_ASSERT_EQUAL(idx[0], 2);
    CU_ASSERT_EQUAL(idx[1], 3);
    CU_ASSERT_EQUAL(idx[2], 1);
    CU_ASSERT_EQUAL(idx[3], 0);
    CU_ASSERT_EQUAL(f8_top_k(l, 4, 0, idx), 0);
    CU_ASSERT_EQUAL(f8_top_k(l, 0, 3, idx), 0);
    CU_ASSERT_EQUAL(f8_top_k(NULL, 4, 3, idx), 0);
    /* all equal: index order */
    const int32_t same[5] = {7, 7, 7, 7, 7};
    CU_ASSERT_EQUAL(f8_top_k(same, 5, 3, idx), 3);
    CU_ASSERT(idx[0] == 0 && idx[1] == 1 && idx[2] == 2);
    /* ascending input: the last ones win */
    int32_t asc[100];
    for (int i = 0; i < 100; i++)
        asc[i] = i / 2; /* pairs of equal values */
    CU_ASSERT_EQUAL(f8_top_k(asc, 100, 4, idx), 4);
    CU_ASSERT(idx[0] == 98 && idx[1] == 99 && idx[2] == 96 && idx[3] == 97);
}

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(f8_op_type_name(F8_OP_CONV2D), "CONV2D");
    CU_ASSERT_STRING_EQUAL(f8_op_type_name(F8_OP_AVGPOOL), "AVGPOOL");
    CU_ASSERT_STRING_EQUAL(f8_op_type_name((f8_op_type)42), "UNKNOWN");
    CU_ASSERT_STRING_EQUAL(f8_dtype_name(F8_DTYPE_S32), "s32");
    CU_ASSERT_STRING_EQUAL(f8_dtype_name((f8_dtype)0), "unknown");
    CU_ASSERT_STRING_EQUAL(f8_strerror(F8_EFORMAT), "invalid model file");
    CU_ASSERT_STRING_EQUAL(f8_strerror(F8_OK), "success");
    CU_ASSERT_STRING_EQUAL(f8_strerror(-99), "unknown error");
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"order and ties", test_order_and_ties},
        {"limits", test_limits},
        {"names", test_names},
        CU_TEST_INFO_NULL,
    };
    return unit_run("topk", tests);
}
