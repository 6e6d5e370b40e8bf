/* f8d request guard: framing headers (RFC 9112 §6.3), Host, and control characters in paths,
 * as a pure function over header lines; and the unescaper that keeps %00 visible. */
#include <CUnit/Basic.h>
#include <string.h>

#include "core/errors.h"
#include "http/http_guard.h"
#include "unit.h"

/* The verdict on header lines given as "Name", "value" pairs, NULL-ended. */
static int verdict_of(const char *version, const char *path, char *err,
                      const char *const *lines)
{
    struct f8d_guard_scan scan;
    f8d_guard_scan_init(&scan);
    for (size_t i = 0; lines[i] != NULL; i += 2)
        f8d_guard_scan_header(&scan, lines[i], lines[i + 1]);
    err[0] = '\0';
    return f8d_guard_verdict(&scan, version, path, err, 256);
}

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define V11(...) verdict_of("HTTP/1.1", "/predictions/m", err, LINES(__VA_ARGS__))

static void test_plain_requests_pass(void)
{
    char err[256];
    CU_ASSERT_EQUAL(V11("Host", "h"), 0);
    CU_ASSERT_EQUAL(V11("Host", "h", "Content-Length", "10"), 0);
    CU_ASSERT_EQUAL(V11("host", "h", "transfer-encoding", "Chunked"), 0);
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "chunked "), 0);
    CU_ASSERT_EQUAL(V11("Host", "h", "Content-Length", "7", "content-length", "7"), 0);
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.0", "/v2", err, LINES("Accept", "*/*")), 0);
}

static void test_content_lengths_that_differ(void)
{
    char err[256];
    CU_ASSERT_EQUAL(V11("Host", "h", "Content-Length", "5", "Content-Length", "47"), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'5', '47'"));
    CU_ASSERT_EQUAL(V11("Host", "h", "Content-Length", "5", "Content-Length", "5",
                        "Content-Length", "6"), F8D_EINVAL);
}

static void test_transfer_encoding_with_content_length(void)
{
    char err[256];
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "chunked", "Content-Length", "3"), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Transfer-Encoding and Content-Length"));
    CU_ASSERT_EQUAL(V11("Host", "h", "Content-Length", "3", "Transfer-Encoding", "gzip"), F8D_EINVAL);
}

static void test_unknown_codings(void)
{
    char err[256];
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "gzip, chunked"), F8D_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'gzip'"));
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "xchunked"), F8D_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'xchunked'"));
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "chunked, chunked"), F8D_EUNSUPPORTED);
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "chunked", "Transfer-Encoding",
                        "chunked"), F8D_EUNSUPPORTED);
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", "chunked;x=1"), F8D_EUNSUPPORTED);
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", ""), F8D_EUNSUPPORTED);
    CU_ASSERT_EQUAL(V11("Host", "h", "Transfer-Encoding", " , "), F8D_EUNSUPPORTED);
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.0", "/p", err, LINES("Transfer-Encoding", "chunked")),
                    F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "HTTP/1.0"));
}

static void test_host(void)
{
    char err[256];
    CU_ASSERT_EQUAL(V11("Accept", "*/*"), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Host"));
    CU_ASSERT_EQUAL(V11("Host", "a", "Host", "b"), F8D_EINVAL);
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.0", "/p", err, LINES("Host", "a", "Host", "b")), F8D_EINVAL);
}

static void test_control_characters_in_path(void)
{
    char err[256];
    const char *const host[] = {"Host", "h", NULL};
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.1", "/predictions/m\x7f.f8", err, host), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "control character"));
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.1", "/predictions/m\n", err, host), F8D_EINVAL);
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.1", "/predictions/\x01m", err, host), F8D_EINVAL);
    CU_ASSERT_EQUAL(verdict_of("HTTP/1.1", "/predictions/caf\xc3\xa9", err, host), 0);
}

static void test_unescape(void)
{
    char a[] = "/predictions/fashion%00.f8";
    CU_ASSERT_EQUAL(f8d_http_unescape(NULL, NULL, a), strlen("/predictions/fashion?.f8"));
    CU_ASSERT_STRING_EQUAL(a, "/predictions/fashion\x7f.f8"); /* the NUL stays visible */
    char b[] = "/a%20b%2Fc%41%zz%4";
    CU_ASSERT_EQUAL(f8d_http_unescape(NULL, NULL, b), strlen("/a b/cA%zz%4"));
    CU_ASSERT_STRING_EQUAL(b, "/a b/cA%zz%4");
    char c[] = "";
    CU_ASSERT_EQUAL(f8d_http_unescape(NULL, NULL, c), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"plain requests pass", test_plain_requests_pass},
        {"Content-Length twice, different -> EINVAL (400)", test_content_lengths_that_differ},
        {"Transfer-Encoding + Content-Length -> EINVAL (400)", test_transfer_encoding_with_content_length},
        {"unknown transfer codings -> EUNSUPPORTED (501)", test_unknown_codings},
        {"Host missing or twice -> EINVAL (400)", test_host},
        {"control characters in the path -> EINVAL (400)", test_control_characters_in_path},
        {"unescape keeps %00 visible", test_unescape},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon_http_guard", tests);
}
