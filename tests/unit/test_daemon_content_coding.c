/* f8d request body codings: the Content-Encoding header, and gzip/deflate bodies inflated
 * under max_body_bytes (a bomb is refused, not inflated). */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/errors.h"
#include "http/content_coding.h"
#include "unit.h"

static void test_parse_accepted(void)
{
    char err[256] = "";
    enum f8d_coding c = F8D_CODING_GZIP;
    CU_ASSERT_EQUAL(f8d_coding_parse(NULL, &c, err, sizeof(err)), F8D_OK);
    CU_ASSERT_EQUAL(c, F8D_CODING_IDENTITY);
    const struct {
        const char *header;
        enum f8d_coding want;
    } cases[] = {
        {"", F8D_CODING_IDENTITY},          {"identity", F8D_CODING_IDENTITY},
        {"gzip", F8D_CODING_GZIP},          {"GZip", F8D_CODING_GZIP},
        {" x-gzip ", F8D_CODING_GZIP},      {"deflate", F8D_CODING_DEFLATE},
        {"identity, gzip", F8D_CODING_GZIP}, {"deflate ,identity", F8D_CODING_DEFLATE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(f8d_coding_parse(cases[i].header, &c, err, sizeof(err)), F8D_OK);
        CU_ASSERT_EQUAL(c, cases[i].want);
    }
    CU_ASSERT_STRING_EQUAL(f8d_coding_name(F8D_CODING_DEFLATE), "deflate");
}

static void test_parse_refused(void)
{
    char err[256] = "";
    enum f8d_coding c;
    CU_ASSERT_EQUAL(f8d_coding_parse("br", &c, err, sizeof(err)), F8D_EMEDIA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'br'"));
    CU_ASSERT_EQUAL(f8d_coding_parse("gzip, zstd", &c, err, sizeof(err)), F8D_EMEDIA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'zstd'"));
    CU_ASSERT_EQUAL(f8d_coding_parse("gzip, gzip", &c, err, sizeof(err)), F8D_EMEDIA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "only one coding"));
    CU_ASSERT_EQUAL(f8d_coding_parse("gzipx", &c, err, sizeof(err)), F8D_EMEDIA);
}

/* Compresses with zlib: window 15 (zlib format), 31 (gzip) or -15 (raw deflate). */
static size_t compress_with(int window, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    CU_ASSERT_FATAL(deflateInit2(&z, 9, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    CU_ASSERT_FATAL(deflate(&z, Z_FINISH) == Z_STREAM_END);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

static uint8_t *text(size_t n)
{
    uint8_t *t = malloc(n);
    CU_ASSERT_FATAL(t != NULL);
    for (size_t i = 0; i < n; i++)
        t[i] = (uint8_t)("{\"inputs\":[{\"name\":\"x\"}]}"[i % 26] + (i / 977) % 3);
    return t;
}

static void round_trip(enum f8d_coding coding, int window, size_t n)
{
    uint8_t *plain = text(n);
    size_t cap = n + 1024;
    uint8_t *packed = malloc(cap);
    size_t plen = compress_with(window, plain, n, packed, cap);
    uint8_t *out = NULL;
    size_t len = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL(f8d_coding_decode(coding, packed, plen, n, &out, &len, err, sizeof(err)),
                    F8D_OK);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT(out != NULL && memcmp(out, plain, n) == 0);
    free(out);
    /* one byte less than the decoded size: refused */
    CU_ASSERT_EQUAL(f8d_coding_decode(coding, packed, plen, n - 1, &out, &len, err, sizeof(err)),
                    F8D_ETOOBIG);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "limit"));
    free(packed);
    free(plain);
}

static void test_round_trips(void)
{
    round_trip(F8D_CODING_GZIP, 16 + 15, 100);
    round_trip(F8D_CODING_GZIP, 16 + 15, 300000); /* grows the output buffer several times */
    round_trip(F8D_CODING_DEFLATE, 15, 5000);     /* zlib format, as HTTP defines deflate */
    round_trip(F8D_CODING_DEFLATE, -15, 5000);    /* raw deflate, as some clients send it */
}

static void test_bomb(void)
{
    /* 64 MiB of zeros is about 64 KiB of gzip: refused once it passes 1 MiB */
    size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n);
    size_t cap = 1u << 20;
    uint8_t *packed = malloc(cap);
    size_t plen = compress_with(16 + 15, zeros, n, packed, cap);
    CU_ASSERT(plen < 128 * 1024);
    uint8_t *out = NULL;
    size_t len = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL(f8d_coding_decode(F8D_CODING_GZIP, packed, plen, 1u << 20, &out, &len, err,
                                      sizeof(err)),
                    F8D_ETOOBIG);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1048576"));
    free(packed);
    free(zeros);
}

static void test_members_and_bad_data(void)
{
    uint8_t plain[2000], packed[2 * 4096];
    memset(plain, 'a', sizeof(plain));
    size_t one = compress_with(16 + 15, plain, 1000, packed, 4096);
    size_t two = compress_with(16 + 15, plain + 1000, 1000, packed + one, 4096);
    uint8_t *out = NULL;
    size_t len = 0;
    char err[256] = "";
    /* RFC 1952: two members make one body */
    CU_ASSERT_EQUAL(f8d_coding_decode(F8D_CODING_GZIP, packed, one + two, 4096, &out, &len, err,
                                      sizeof(err)),
                    F8D_OK);
    CU_ASSERT_EQUAL(len, 2000);
    free(out);
    /* truncated */
    CU_ASSERT_EQUAL(f8d_coding_decode(F8D_CODING_GZIP, packed, one - 4, 4096, &out, &len, err,
                                      sizeof(err)),
                    F8D_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ends early"));
    /* garbage after a deflate stream */
    size_t z = compress_with(15, plain, 1000, packed, 4096);
    memcpy(packed + z, "junk", 4);
    CU_ASSERT_EQUAL(f8d_coding_decode(F8D_CODING_DEFLATE, packed, z + 4, 4096, &out, &len, err,
                                      sizeof(err)),
                    F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "after the end"));
    /* not gzip at all */
    const uint8_t json[] = "{\"inputs\":[]}";
    CU_ASSERT_EQUAL(f8d_coding_decode(F8D_CODING_GZIP, json, sizeof(json) - 1, 4096, &out, &len,
                                      err, sizeof(err)),
                    F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not valid gzip"));
    CU_ASSERT_PTR_NULL(out);
    /* empty input is no stream */
    CU_ASSERT_EQUAL(f8d_coding_decode(F8D_CODING_GZIP, json, 0, 4096, &out, &len, err,
                                      sizeof(err)),
                    F8D_EINVAL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"Content-Encoding values taken", test_parse_accepted},
        {"Content-Encoding values refused (415)", test_parse_refused},
        {"gzip, zlib and raw deflate round trips, limit", test_round_trips},
        {"a gzip bomb stops at the limit", test_bomb},
        {"gzip members, truncated, trailing and invalid data", test_members_and_bad_data},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon content coding", tests);
}
