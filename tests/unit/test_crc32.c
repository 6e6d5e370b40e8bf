/* CRC-32 (docs/FORMAT.md §2: zlib / ISO-HDLC, Python's zlib.crc32) on known vectors, chained,
 * and at every length and alignment against a bit-at-a-time reference. */
#include <stdint.h>
#include <string.h>

#include "../../engine/src/f8_internal.h"
#include "unit.h"

static uint32_t bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static void test_vectors(void)
{
    CU_ASSERT_EQUAL(f8_crc32(0, "", 0), 0u);
    CU_ASSERT_EQUAL(f8_crc32(0, "123456789", 9), 0xCBF43926u);
    CU_ASSERT_EQUAL(f8_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    CU_ASSERT_EQUAL(f8_crc32(0, "a", 1), 0xE8B7BE43u);
}

static void test_chaining_and_alignment(void)
{
    uint8_t buf[200];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    int ok = 1;
    for (size_t start = 0; start < 8; start++)
        for (size_t n = 0; n + start <= 80; n++) {
            ok &= f8_crc32(0, buf + start, n) == bitwise(buf + start, n);
            const size_t half = n / 3;
            ok &= f8_crc32(f8_crc32(0, buf + start, half), buf + start + half, n - half) ==
                  bitwise(buf + start, n);
        }
    CU_ASSERT(ok);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"known vectors", test_vectors},
        {"chaining, every length and alignment", test_chaining_and_alignment},
        CU_TEST_INFO_NULL,
    };
    return unit_run("crc32", tests);
}
