/* f8d base64 (BYTES tensors in KServe v2 JSON) and metrics histograms. */
#include <CUnit/Basic.h>
#include <string.h>

#include "http/base64.h"
#include "core/metrics.h"
#include "unit.h"

static size_t dec(const char *text, unsigned char *out)
{
    return f8d_base64_decode(text, strlen(text), out);
}

static void test_rfc4648_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                        "Zm9vYmFy"};
    unsigned char out[16];
    for (size_t i = 0; i < 7; i++) {
        size_t n = dec(coded[i], out);
        CU_ASSERT_EQUAL(n, strlen(plain[i]));
        CU_ASSERT_EQUAL(memcmp(out, plain[i], n), 0);
    }
    CU_ASSERT_EQUAL(dec("Zm9vYg", out), 4); /* padding optional */
    CU_ASSERT_EQUAL(memcmp(out, "foob", 4), 0);
}

static void test_binary_and_urlsafe(void)
{
    unsigned char out[8];
    CU_ASSERT_EQUAL(dec("/9j/", out), 3); /* a JPEG's first bytes */
    CU_ASSERT_EQUAL(out[0], 0xFF);
    CU_ASSERT_EQUAL(out[1], 0xD8);
    CU_ASSERT_EQUAL(out[2], 0xFF);
    CU_ASSERT_EQUAL(dec("_9j_", out), 3);
    CU_ASSERT_EQUAL(out[2], 0xFF);
    CU_ASSERT_EQUAL(dec("-+", out), 1);
    CU_ASSERT_EQUAL(out[0], 0xFB);
}

static void test_invalid(void)
{
    unsigned char out[16];
    CU_ASSERT_EQUAL(dec("Zm9v!", out), (size_t)-1);
    CU_ASSERT_EQUAL(dec("Zm 9v", out), (size_t)-1);
    CU_ASSERT_EQUAL(dec("Z", out), (size_t)-1);
    CU_ASSERT_EQUAL(dec("Zm9vY", out), (size_t)-1);
    CU_ASSERT_EQUAL(dec("Zm=v", out), (size_t)-1);
}

static void test_histogram(void)
{
    struct f8d_hist h;
    memset(&h, 0, sizeof(h));
    f8d_hist_observe(&h, F8D_BATCH_BOUNDS, F8D_BATCH_BUCKETS, 1);
    f8d_hist_observe(&h, F8D_BATCH_BOUNDS, F8D_BATCH_BUCKETS, 5);
    f8d_hist_observe(&h, F8D_BATCH_BOUNDS, F8D_BATCH_BUCKETS, 16);
    f8d_hist_observe(&h, F8D_BATCH_BOUNDS, F8D_BATCH_BUCKETS, 1000);
    CU_ASSERT_EQUAL(h.count, 4);
    CU_ASSERT_DOUBLE_EQUAL(h.sum, 1022.0, 1e-9);
    CU_ASSERT_EQUAL(h.counts[0], 1);                 /* le=1 */
    CU_ASSERT_EQUAL(h.counts[4], 1);                 /* le=6 */
    CU_ASSERT_EQUAL(h.counts[7], 1);                 /* le=16 (bounds are inclusive) */
    CU_ASSERT_EQUAL(h.counts[F8D_BATCH_BUCKETS], 1); /* +Inf */
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"RFC 4648 test vectors", test_rfc4648_vectors},
        {"binary bytes, URL-safe alphabet", test_binary_and_urlsafe},
        {"invalid text is refused", test_invalid},
        {"histogram buckets", test_histogram},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon_base64", tests);
}
