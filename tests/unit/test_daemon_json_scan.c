/* f8d's raw-text JSON scanner (http/json_scan.h): syntax, finding inputs[0].data, the value
 * bound, and reading the data array without jansson. */
#include <CUnit/Basic.h>
#include <string.h>

#include "http/json_scan.h"
#include "unit.h"

static int scan(const char *text, size_t max, struct f8d_json_scan *out)
{
    return f8d_json_scan(text, strlen(text), max, out);
}

static void test_finds_the_data_array(void)
{
    struct f8d_json_scan s;
    const char *t = "{\"id\":\"a\",\"inputs\":[{\"name\":\"x\",\"data\":[1, [2,3]]},"
                    "{\"data\":[9]}],\"data\":[8]}";
    CU_ASSERT_EQUAL(scan(t, 100, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(strncmp(t + s.data_start, "[1, [2,3]]", s.data_end - s.data_start), 0);
    CU_ASSERT_EQUAL(s.data_end - s.data_start, strlen("[1, [2,3]]"));
    /* escaped keys are the same keys */
    t = "{\"\\u0069nputs\":[{\"d\\u0061ta\":[7]}]}";
    CU_ASSERT_EQUAL(scan(t, 100, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(strncmp(t + s.data_start, "[7]", 3), 0);
    /* not an array, or not in the first input: none */
    CU_ASSERT_EQUAL(scan("{\"inputs\":[{\"data\":\"AAAA\"}]}", 100, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(s.data_end, 0);
    CU_ASSERT_EQUAL(scan("{\"inputs\":[{}, {\"data\":[1]}]}", 100, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(s.data_end, 0);
    CU_ASSERT_EQUAL(scan("[{\"inputs\":[{\"data\":[1]}]}]", 100, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(s.data_end, 0);
}

static void test_syntax_errors(void)
{
    static const char *const bad[] = {
        "", "  ", "1", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[01]", "[1.]",
        "[1e]", "[-]", "[tru]", "[\"\\x\"]", "[\"\\u12G4\"]", "[\"abc]", "[\"a\nb\"]", "{} x",
        "{\"inputs\":[{\"data\":[1,2,}]}", "{\"inputs\":[{\"data\":[1 2]}]}", "[1}", "{\"a\":1]",
    };
    struct f8d_json_scan s;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(scan(bad[i], 100, &s), F8D_JSON_SCAN_SYNTAX);
        CU_ASSERT_PTR_NOT_NULL(s.error);
        CU_ASSERT_EQUAL(s.data_end, 0);
    }
    CU_ASSERT_EQUAL(scan("{\n \"a\": x}", 100, &s), F8D_JSON_SCAN_SYNTAX);
    CU_ASSERT_EQUAL(s.line, 2);
    CU_ASSERT_EQUAL(s.column, 7);
    static const char *const good[] = {
        "{}", "[]", " [ ] ", "[-0,0.5e+3,1E-2,true,false,null,\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]",
        "{\"a\":{\"b\":[{}]}}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CU_ASSERT_EQUAL(scan(good[i], 100, &s), F8D_JSON_SCAN_OK);
    /* nesting is bounded, without recursing deeper */
    char deep[2 * F8D_JSON_MAX_DEPTH + 3];
    memset(deep, '[', F8D_JSON_MAX_DEPTH + 1);
    memset(deep + F8D_JSON_MAX_DEPTH + 1, ']', F8D_JSON_MAX_DEPTH + 1);
    deep[2 * F8D_JSON_MAX_DEPTH + 2] = '\0';
    CU_ASSERT_EQUAL(scan(deep, 1000, &s), F8D_JSON_SCAN_SYNTAX);
}

static void test_value_bound(void)
{
    struct f8d_json_scan s;
    /* the data array is not counted; everything else is, keys included */
    CU_ASSERT_EQUAL(scan("{\"inputs\":[{\"data\":[1,2,3,4,5,6,7,8]}]}", 5, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(s.values, 5);
    CU_ASSERT_EQUAL(scan("{\"inputs\":[{\"data\":[1]}],\"x\":[1,2]}", 5, &s),
                    F8D_JSON_SCAN_TOO_MANY);
}

static void test_span_bytes(void)
{
    const char *t = "[0, [255,\n-0], [[ 7 ]]]";
    size_t n = strlen(t);
    uint8_t out[4];
    CU_ASSERT_EQUAL(f8d_json_span_bytes(t, 0, n, NULL, 4), 4);
    CU_ASSERT_EQUAL(f8d_json_span_bytes(t, 0, n, out, 4), 4);
    CU_ASSERT(out[0] == 0 && out[1] == 255 && out[2] == 0 && out[3] == 7);
    CU_ASSERT_EQUAL(f8d_json_span_bytes(t, 0, n, NULL, 3), -1); /* more than max */
    static const char *const bad[] = {"[256]", "[-1]", "[1.0]", "[1e2]", "[\"1\"]", "[true]",
                                      "[null]", "[{}]", "[99999999999999999999]",
                                      "[[[[[[[[[[1]]]]]]]]]]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(f8d_json_span_bytes(bad[i], 0, strlen(bad[i]), NULL, 10), -1);
    CU_ASSERT_EQUAL(f8d_json_span_bytes("[[[[[[[[1]]]]]]]]", 0, 17, NULL, 10), 1); /* 8 deep */
    CU_ASSERT_EQUAL(f8d_json_span_bytes("[[[[[[[[[]]]]]]]]]", 0, 18, NULL, 10), 0);
}

static void test_span_strings(void)
{
    const char *t = "[\"a\\\"],\", [\"\"]]";
    CU_ASSERT_EQUAL(f8d_json_span_strings(t, 0, strlen(t), 2), 2);
    CU_ASSERT_EQUAL(f8d_json_span_strings(t, 0, strlen(t), 1), -1);
    CU_ASSERT_EQUAL(f8d_json_span_strings("[1]", 0, 3, 5), -1);
    CU_ASSERT_EQUAL(f8d_json_span_strings("[{}]", 0, 4, 5), -1);
}

static void test_load_reads_the_array_as_empty(void)
{
    const char *t = "{\"inputs\":[{\"data\":[1,\n2,3],\"shape\":[3]}],\"id\":\"z\"}";
    struct f8d_json_scan s;
    CU_ASSERT_EQUAL(scan(t, 100, &s), F8D_JSON_SCAN_OK);
    json_error_t err;
    json_t *root = f8d_json_load(t, strlen(t), &s, JSON_REJECT_DUPLICATES, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *in = json_array_get(json_object_get(root, "inputs"), 0);
    CU_ASSERT(json_is_array(json_object_get(in, "data")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(in, "data")), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(in, "shape")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "id")), "z");
    json_decref(root);
    /* jansson's own checks still apply, with positions that did not move */
    t = "{\"inputs\":[{\"data\":[1,2]}],\"a\":1,\"a\":2}";
    CU_ASSERT_EQUAL(scan(t, 100, &s), F8D_JSON_SCAN_OK);
    CU_ASSERT_PTR_NULL(f8d_json_load(t, strlen(t), &s, JSON_REJECT_DUPLICATES, &err));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"finds inputs[0].data", test_finds_the_data_array},
        {"syntax errors", test_syntax_errors},
        {"value bound", test_value_bound},
        {"span bytes", test_span_bytes},
        {"span strings", test_span_strings},
        {"load with the array empty", test_load_reads_the_array_as_empty},
        CU_TEST_INFO_NULL,
    };
    return unit_run("json_scan", tests);
}
