/*
 * http/json_out.c writes, byte for byte, what jansson writes for the same values
 * (JSON_COMPACT | JSON_REAL_PRECISION(6), strings through f8d_json_string): reals over many
 * magnitudes, strings with every escape, non-ASCII UTF-8 and invalid UTF-8.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/json_out.h"
#include "http/json_reply.h"
#include "unit.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6) | JSON_ENCODE_ANY)

/* jansson's text for j (consumed) equals the writer's in b (freed). */
static void assert_same(json_t *j, struct f8d_bytes *b)
{
    CU_ASSERT_FATAL(j != NULL);
    char *want = json_dumps(j, FLAGS);
    json_decref(j);
    CU_ASSERT_FATAL(want != NULL);
    CU_ASSERT_FALSE(b->failed);
    const bool same = b->len == strlen(want) && memcmp(b->p, want, b->len) == 0;
    CU_ASSERT(same);
    if (!same)
        fprintf(stderr, "\n  jansson: %s\n  json_out: %.*s\n", want, (int)b->len, (char *)b->p);
    free(want);
    free(b->p);
    *b = (struct f8d_bytes){0};
}

static void same_real(double v)
{
    struct f8d_bytes b = {0};
    f8d_json_out_real6(&b, v);
    assert_same(json_real(v), &b);
}

static void same_string(const char *s)
{
    struct f8d_bytes b = {0};
    f8d_json_out_string(&b, s);
    assert_same(f8d_json_string(s), &b);
}

static void test_reals_match_jansson(void)
{
    static const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.5, 0.894647, 0.0155045, 1e-7,
                                   1.5e-5, 0.0001, 123456.0, 1234567.0, 1e20, -2.5e-300,
                                   1e300, 0.1, 1.0 / 3.0, 99999.95, 999999.5};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_real(fixed[i]);
    srand(7);
    for (int i = 0; i < 20000; i++) { /* softmax scores and far beyond */
        double mant = (double)rand() / RAND_MAX;
        int e = rand() % 80 - 40;
        same_real((rand() & 1 ? -1 : 1) * mant * pow(10.0, e));
    }
}

static void test_strings_match_jansson(void)
{
    static const char *const fixed[] = {
        "", "T-shirt/top", "Ankle boot", "quote \" backslash \\ slash /",
        "\b\f\n\r\t", "\x01\x02\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "bad \xff byte", "overlong \xc0\xaf", "surrogate \xed\xa0\x80", "cut \xe2\x82",
        "beyond \xf4\x90\x80\x80", "lone continuation \x80", "max \xf4\x8f\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_string(fixed[i]);
    srand(11);
    char s[33];
    for (int i = 0; i < 20000; i++) { /* random bytes, mostly ASCII, some high and control */
        size_t n = (size_t)(rand() % 32);
        for (size_t k = 0; k < n; k++) {
            int r = rand() % 10;
            s[k] = (char)(r < 6 ? 32 + rand() % 95 : r < 9 ? 0x80 + rand() % 128 : 1 + rand() % 31);
        }
        s[n] = '\0';
        same_string(s);
    }
}

static void test_uint_and_document(void)
{
    struct f8d_bytes b = {0};
    f8d_json_out_raw(&b, "{\"label\":");
    f8d_json_out_string(&b, "Pullover");
    f8d_json_out_raw(&b, ",\"index\":");
    f8d_json_out_uint(&b, 18446744073709551615u);
    f8d_json_out_raw(&b, ",\"score\":");
    f8d_json_out_real6(&b, 0.25);
    f8d_json_out_raw(&b, "}");
    const char *want = "{\"label\":\"Pullover\",\"index\":18446744073709551615,\"score\":0.25}";
    CU_ASSERT_EQUAL(b.len, strlen(want));
    CU_ASSERT(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0);
    free(b.p);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"reals: jansson's text, 6 significant digits", test_reals_match_jansson},
        {"strings: jansson's escapes, UTF-8 kept, invalid UTF-8 as '?'",
         test_strings_match_jansson},
        {"integers and a whole object", test_uint_and_document},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon_json_out", tests);
}
