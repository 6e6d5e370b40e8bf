/* f8d KServe v2 body parsing (http/kserve_parse.c) without a server: the shapes a request can
 * take, the binary tensor extension's tail, and refusals with their messages. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "core/errors.h"
#include "http/kserve_parse.h"
#include "unit.h"

static const struct f8d_input_spec small = {2, 2, 3, 3, 4}; /* 2x2x3, 3 classes, 4 images */

static int parse(const char *body, long long header_len, struct f8d_kserve_request *r)
{
    return f8d_kserve_parse((const uint8_t *)body, strlen(body), header_len, &small, r);
}

static void test_bytes_base64_default_outputs(void)
{
    struct f8d_kserve_request r;
    const char *body = "{\"id\":\"x\",\"inputs\":[{\"name\":\"image_bytes\",\"datatype\":\"BYTES\","
                       "\"shape\":[2],\"data\":[\"Zm9v\",\"YmE=\"]}]}";
    CU_ASSERT_EQUAL_FATAL(parse(body, -1, &r), F8D_OK);
    CU_ASSERT_STRING_EQUAL(r.id, "x");
    CU_ASSERT_EQUAL(r.n_outputs, 2);
    CU_ASSERT_EQUAL(r.outputs[0].kind, F8D_OUT_LOGITS);
    CU_ASSERT_EQUAL(r.outputs[1].kind, F8D_OUT_PROBS);
    CU_ASSERT_EQUAL_FATAL(r.n_items, 2);
    CU_ASSERT_EQUAL(r.items[0].len, 3);
    CU_ASSERT_EQUAL(memcmp(r.items[0].data, "foo", 3), 0);
    CU_ASSERT_EQUAL(r.items[1].len, 2);
    CU_ASSERT_EQUAL(memcmp(r.items[1].data, "ba", 2), 0);
    CU_ASSERT_FALSE(r.items[0].raw);
    f8d_kserve_request_free(&r);
}

static void test_uint8_nested_and_classification(void)
{
    struct f8d_kserve_request r;
    const char *body = "{\"parameters\":{\"classification\":2},\"inputs\":[{\"name\":\"x\","
                       "\"datatype\":\"UINT8\",\"shape\":[2,2,3],"
                       "\"data\":[[[1,2,3],[4,5,6]],[[7,8,9],[10,11,255]]]}]}";
    CU_ASSERT_EQUAL_FATAL(parse(body, -1, &r), F8D_OK);
    CU_ASSERT_EQUAL(r.n_outputs, 1);
    CU_ASSERT_EQUAL(r.outputs[0].classification, 2);
    CU_ASSERT_EQUAL_FATAL(r.n_items, 1);
    CU_ASSERT_TRUE(r.items[0].raw);
    CU_ASSERT_EQUAL(r.items[0].len, 12);
    CU_ASSERT_EQUAL(r.items[0].data[11], 255);
    f8d_kserve_request_free(&r);
}

static void test_binary_extension(void)
{
    const char json[] = "{\"inputs\":[{\"name\":\"b\",\"datatype\":\"BYTES\",\"shape\":[2],"
                        "\"parameters\":{\"binary_data_size\":11}}]}";
    uint8_t body[sizeof(json) - 1 + 11];
    memcpy(body, json, sizeof(json) - 1);
    const uint8_t tail[11] = {3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0};
    memcpy(body + sizeof(json) - 1, tail, sizeof(tail));
    struct f8d_kserve_request r;
    CU_ASSERT_EQUAL_FATAL(f8d_kserve_parse(body, sizeof(body), (long long)sizeof(json) - 1,
                                           &small, &r), F8D_OK);
    CU_ASSERT_EQUAL_FATAL(r.n_items, 2);
    CU_ASSERT_EQUAL(r.items[0].len, 3);
    CU_ASSERT_PTR_EQUAL(r.items[0].data, body + sizeof(json) - 1 + 4);
    CU_ASSERT_EQUAL(r.items[1].len, 0);
    f8d_kserve_request_free(&r);

    /* the same tail one byte short: the second length is cut */
    CU_ASSERT_EQUAL(f8d_kserve_parse(body, sizeof(body) - 1, (long long)sizeof(json) - 1, &small,
                                     &r), F8D_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "binary_data_size"));
    f8d_kserve_request_free(&r);
}

static void test_refusals_have_messages(void)
{
    static const char *const bodies[] = {
        "",
        "[]",
        "{\"inputs\":[]}",
        "{\"id\":1,\"inputs\":[{}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[5],\"data\":[]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1,2,2,3],\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}",
        "{\"outputs\":[{\"name\":\"nope\"}],\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\","
        "\"shape\":[1],\"data\":[\"Zm9v\"]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"!!\"]}]}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct f8d_kserve_request r;
        CU_ASSERT_EQUAL(parse(bodies[i], -1, &r), F8D_EINVAL);
        CU_ASSERT_EQUAL(r.code, F8D_EINVAL);
        CU_ASSERT_NOT_EQUAL(r.error[0], '\0');
        CU_ASSERT_EQUAL(r.n_items == 0 || r.items != NULL, 1);
        f8d_kserve_request_free(&r);
    }
    struct f8d_kserve_request r;
    CU_ASSERT_EQUAL(parse("{}", 3, &r), F8D_EINVAL); /* header length over the body */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "Inference-Header-Content-Length"));
    f8d_kserve_request_free(&r);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"BYTES base64, default outputs", test_bytes_base64_default_outputs},
        {"UINT8 nested, classification", test_uint8_nested_and_classification},
        {"binary tensor extension", test_binary_extension},
        {"refusals have messages", test_refusals_have_messages},
        CU_TEST_INFO_NULL,
    };
    return unit_run("kserve_parse", tests);
}
