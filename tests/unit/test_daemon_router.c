/* f8d router: path + method -> route, and the top_k query value. */
#include <CUnit/Basic.h>
#include <string.h>

#include "http/router.h"

static void test_predict_routes(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/predictions/fashion", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_PREDICT);
    CU_ASSERT_STRING_EQUAL(r.model, "fashion");
    CU_ASSERT_EQUAL(f8d_route_parse("PUT", "/predictions/fashion", &r), 0); /* curl -T */
    CU_ASSERT_STRING_EQUAL(r.model, "fashion");
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/predictions/my-model_2.v1", &r), 0);
    CU_ASSERT_STRING_EQUAL(r.model, "my-model_2.v1");
}

static void test_predict_bad_paths(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/predictions/", &r), 404);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_NONE);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/predictions", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/predictions/a/b", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/predictions/fashion/", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/prediction/fashion", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/", &r), 405); /* the demo page: GET only */
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_DEMO);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/", &r), 0);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "//", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse(NULL, "/v2", &r), 404);

    char longpath[400] = "/predictions/";
    memset(longpath + 13, 'a', 300);
    longpath[313] = '\0';
    CU_ASSERT_EQUAL(f8d_route_parse("POST", longpath, &r), 404);
    longpath[13 + F8D_MODEL_NAME_MAX] = '\0';
    CU_ASSERT_EQUAL(f8d_route_parse("POST", longpath, &r), 0);
    CU_ASSERT_EQUAL(strlen(r.model), F8D_MODEL_NAME_MAX);
}

static void test_predict_wrong_method(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/predictions/fashion", &r), 405);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_PREDICT);
    CU_ASSERT_STRING_EQUAL(r.model, "fashion");
    CU_ASSERT_STRING_EQUAL(r.allow, "POST, PUT");
    CU_ASSERT_EQUAL(f8d_route_parse("DELETE", "/predictions/fashion", &r), 405);
    CU_ASSERT_EQUAL(f8d_route_parse("post", "/predictions/fashion", &r), 405); /* case matters */
}

static void test_health_routes(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/health/live", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_LIVE);
    CU_ASSERT_STRING_EQUAL(r.model, "");
    CU_ASSERT_EQUAL(f8d_route_parse("HEAD", "/v2/health/ready", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_READY);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_SERVER_META);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/health/live", &r), 405);
    CU_ASSERT_STRING_EQUAL(r.allow, "GET, HEAD");
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/health", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/health/live/", &r), 404);
}

static void test_model_routes(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_MODEL_META);
    CU_ASSERT_STRING_EQUAL(r.model, "fashion");
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/ready", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_MODEL_READY);
    CU_ASSERT_STRING_EQUAL(r.model, "fashion");
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models//ready", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/live", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/ready/x", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("DELETE", "/v2/models/fashion/ready", &r), 405);
}

static void test_v2_infer_and_versions(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/models/fashion/infer", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_INFER);
    CU_ASSERT_STRING_EQUAL(r.model, "fashion");
    CU_ASSERT_STRING_EQUAL(r.version, "");
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/infer", &r), 405);
    CU_ASSERT_STRING_EQUAL(r.allow, "POST");
    CU_ASSERT_EQUAL(f8d_route_parse("PUT", "/v2/models/fashion/infer", &r), 405);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/models/fashion/versions/1/infer", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_INFER);
    CU_ASSERT_STRING_EQUAL(r.version, "1");
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/versions/7", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_MODEL_META);
    CU_ASSERT_STRING_EQUAL(r.version, "7");
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/versions/1/ready", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_MODEL_READY);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/versions/", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/models/fashion/versions/1/x", &r), 404);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/models/fashion/infer/", &r), 404);
}

static void test_metrics_and_repository(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/metrics", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_METRICS);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/metrics", &r), 405);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/repository/reload", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_RELOAD);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/repository/reload", &r), 405);
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/repository/index", &r), 0);
    CU_ASSERT_EQUAL(r.kind, F8D_ROUTE_REPO_INDEX);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/repository/index", &r), 0);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/repository", &r), 404);
}

static void test_top_k(void)
{
    uint32_t k = 0;
    CU_ASSERT_EQUAL(f8d_parse_top_k(NULL, 10, &k), 0);
    CU_ASSERT_EQUAL(k, 5);
    CU_ASSERT_EQUAL(f8d_parse_top_k(NULL, 3, &k), 0); /* default capped at the classes */
    CU_ASSERT_EQUAL(k, 3);
    CU_ASSERT_EQUAL(f8d_parse_top_k("1", 10, &k), 0);
    CU_ASSERT_EQUAL(k, 1);
    CU_ASSERT_EQUAL(f8d_parse_top_k("10", 10, &k), 0);
    CU_ASSERT_EQUAL(k, 10);
    CU_ASSERT_EQUAL(f8d_parse_top_k("007", 10, &k), 0);
    CU_ASSERT_EQUAL(k, 7);
}

static void test_top_k_bad(void)
{
    uint32_t k = 42;
    const char *bad[] = {"", "0", "11", "-1", "+3", " 3", "3 ", "3a", "abc", "1e1", "2.0",
                         "0x5", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(f8d_parse_top_k(bad[i], 10, &k), -1);
    CU_ASSERT_EQUAL(k, 42); /* untouched on error */
    CU_ASSERT_EQUAL(f8d_parse_top_k("1000", 1000, &k), 0);
    CU_ASSERT_EQUAL(k, 1000);
}

/* restricted_api guards exactly the routes that change the server, whatever the method. */
static void test_changes_server(void)
{
    struct f8d_route r;
    CU_ASSERT_EQUAL(f8d_route_parse("POST", "/v2/repository/reload", &r), 0);
    CU_ASSERT_TRUE(r.changes_server);
    CU_ASSERT_EQUAL(f8d_route_parse("GET", "/v2/repository/reload", &r), 405);
    CU_ASSERT_TRUE(r.changes_server);
    const char *reads[][2] = {
        {"GET", "/v2/repository/index"}, {"POST", "/v2/repository/index"}, {"GET", "/v2"},
        {"GET", "/v2/health/live"}, {"GET", "/v2/health/ready"}, {"GET", "/metrics"},
        {"POST", "/predictions/m"}, {"POST", "/v2/models/m/infer"}, {"GET", "/v2/models/m"},
        {"GET", "/v2/models/m/ready"}, {"GET", "/nowhere"}};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        f8d_route_parse(reads[i][0], reads[i][1], &r);
        CU_ASSERT_FALSE(r.changes_server);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("daemon_router", NULL, NULL);
    CU_add_test(s, "predict routes", test_predict_routes);
    CU_add_test(s, "predict bad paths -> 404", test_predict_bad_paths);
    CU_add_test(s, "predict wrong method -> 405 + Allow", test_predict_wrong_method);
    CU_add_test(s, "health routes", test_health_routes);
    CU_add_test(s, "model routes", test_model_routes);
    CU_add_test(s, "v2 infer and versions", test_v2_infer_and_versions);
    CU_add_test(s, "metrics and repository", test_metrics_and_repository);
    CU_add_test(s, "routes that change the server", test_changes_server);
    CU_add_test(s, "top_k values", test_top_k);
    CU_add_test(s, "top_k bad values", test_top_k_bad);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
