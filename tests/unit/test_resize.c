/*
 * f8_image_resize (docs/FORMAT.md §4): bilinear, half-pixel centres, clamped edges, 16.16
 * fixed point. Expected values come from a separate rendition of the formula (Python, the
 * same text), hardcoded here; the identity and box-average cases are checkable by hand.
 */
#include <stdint.h>
#include <string.h>

#include "f8.h"
#include "unit.h"

static void test_identity(void)
{
    uint8_t src[2 * 3 * 3], dst[sizeof src];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 29 + 3);
    memset(dst, 0xAA, sizeof dst);
    CU_ASSERT_EQUAL(f8_image_resize(src, 2, 3, 3, dst, 2, 3), F8_OK);
    CU_ASSERT_EQUAL(memcmp(src, dst, sizeof src), 0);
}

static void test_identity_28(void)
{
    uint8_t src[28 * 28], dst[28 * 28];
    for (int i = 0; i < 28 * 28; i++)
        src[i] = (uint8_t)(i * 37 + (i / 28) * 11);
    CU_ASSERT_EQUAL(f8_image_resize(src, 28, 28, 1, dst, 28, 28), F8_OK);
    CU_ASSERT_EQUAL(memcmp(src, dst, sizeof src), 0);
}

static void test_upscale_2x2_to_4x4(void)
{
    /* columns (and rows) map to: o0 -> p0; o1 -> p0 + 0.25 (p1 - p0); o2 -> p0 + 0.75 (p1 - p0);
     * o3 -> p1 (the half-pixel centre of o0 falls before p0's centre: clamped) */
    const uint8_t src[4] = {0, 100, 200, 255};
    const uint8_t want[16] = {0,   25,  75,  100, 50,  72,  117, 139,
                              150, 167, 200, 216, 200, 214, 241, 255};
    uint8_t dst[16];
    CU_ASSERT_EQUAL(f8_image_resize(src, 2, 2, 1, dst, 4, 4), F8_OK);
    CU_ASSERT_EQUAL(memcmp(dst, want, 16), 0);
}

static void test_downscale_box(void)
{
    /* halving samples between pixel pairs: a 2x2 box average, rounded half up (the + 2^31) */
    const uint8_t src[16] = {1, 2, 3, 5, 10, 20, 30, 40, 0, 0, 255, 255, 7, 9, 255, 254};
    uint8_t dst[4];
    CU_ASSERT_EQUAL(f8_image_resize(src, 4, 4, 1, dst, 2, 2), F8_OK);
    CU_ASSERT_EQUAL(dst[0], 8);   /* 33/4 = 8.25 */
    CU_ASSERT_EQUAL(dst[1], 20);  /* 78/4 = 19.5 */
    CU_ASSERT_EQUAL(dst[2], 4);   /* 16/4 */
    CU_ASSERT_EQUAL(dst[3], 255); /* 1019/4 = 254.75 */
}

static void test_channels_independent(void)
{
    const uint8_t src[18] = {10, 20, 30, 40, 50, 60, 70, 80, 90,
                             100, 110, 120, 130, 140, 150, 160, 170, 180};
    const uint8_t want[18] = {18, 28, 38, 63, 73, 83, 62, 72, 82,
                              107, 117, 127, 108, 118, 128, 153, 163, 173};
    uint8_t dst[18];
    CU_ASSERT_EQUAL(f8_image_resize(src, 2, 3, 3, dst, 3, 2), F8_OK);
    CU_ASSERT_EQUAL(memcmp(dst, want, 18), 0);
}

static void test_edges(void)
{
    const uint8_t one[1] = {77};
    uint8_t dst[10];
    CU_ASSERT_EQUAL(f8_image_resize(one, 1, 1, 1, dst, 2, 3), F8_OK);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(dst[i], 77);
    const uint8_t col[3] = {0, 128, 255};
    const uint8_t want[10] = {0, 0, 51, 51, 128, 128, 204, 204, 255, 255};
    CU_ASSERT_EQUAL(f8_image_resize(col, 3, 1, 1, dst, 5, 2), F8_OK);
    CU_ASSERT_EQUAL(memcmp(dst, want, 10), 0);
}

static void test_larger_cases(void)
{
    uint8_t src[28 * 28], dst[10 * 7];
    for (int i = 0; i < 28 * 28; i++)
        src[i] = (uint8_t)(i * 37 + (i / 28) * 11);
    CU_ASSERT_EQUAL(f8_image_resize(src, 28, 28, 1, dst, 10, 7), F8_OK);
    const uint8_t head[10] = {76, 224, 116, 136, 156, 48, 196, 141, 71, 181};
    CU_ASSERT_EQUAL(memcmp(dst, head, 10), 0);
    CU_ASSERT_EQUAL(dst[67], 211);
    CU_ASSERT_EQUAL(dst[68], 116);
    CU_ASSERT_EQUAL(dst[69], 123);
    unsigned sum = 0;
    for (int i = 0; i < 70; i++)
        sum += dst[i];
    CU_ASSERT_EQUAL(sum, 9263);

    uint8_t src3[5 * 7 * 3], dst3[9 * 4 * 3];
    for (int i = 0; i < 5 * 7 * 3; i++)
        src3[i] = (uint8_t)(i * 13 + 5);
    CU_ASSERT_EQUAL(f8_image_resize(src3, 5, 7, 3, dst3, 9, 4), F8_OK);
    const uint8_t head3[9] = {20, 33, 46, 88, 101, 114, 156, 169, 182};
    CU_ASSERT_EQUAL(memcmp(dst3, head3, 9), 0);
    sum = 0;
    for (int i = 0; i < 9 * 4 * 3; i++)
        sum += dst3[i];
    CU_ASSERT_EQUAL(sum, 13467);
}

static void test_bad_arguments(void)
{
    uint8_t b[4] = {0};
    CU_ASSERT_EQUAL(f8_image_resize(NULL, 2, 2, 1, b, 2, 2), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_image_resize(b, 2, 2, 1, NULL, 2, 2), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_image_resize(b, 0, 2, 1, b, 2, 2), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_image_resize(b, 2, 2, 0, b, 2, 2), F8_EINVAL);
    CU_ASSERT_EQUAL(f8_image_resize(b, 2, 2, 1, b, 2, 0), F8_EINVAL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"identity, 3 channels", test_identity},
        {"identity 28x28", test_identity_28},
        {"2x2 -> 4x4 exact values", test_upscale_2x2_to_4x4},
        {"4x4 -> 2x2 box average", test_downscale_box},
        {"channels resized independently", test_channels_independent},
        {"1-pixel and 1-column edges", test_edges},
        {"28x28 -> 10x7 and 5x7x3 -> 9x4", test_larger_cases},
        {"bad arguments", test_bad_arguments},
        CU_TEST_INFO_NULL,
    };
    return unit_run("resize", tests);
}
