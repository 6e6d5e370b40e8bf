/* f8d options: defaults, both flag spellings, bounds, errors, --help. */
#include <CUnit/Basic.h>
#include <string.h>

#include "options.h"

/* argv from a list of strings; argc counts up to the first NULL. */
#define ARGV(...) ((char *[]){"f8d", __VA_ARGS__, NULL})

static int parse(char **argv, struct f8d_options *o, char *err)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    err[0] = '\0';
    return f8d_options_parse(argc, argv, o, err, 256);
}

static void test_defaults(void)
{
    struct f8d_options o;
    char err[256];
    char **a = ARGV("--models", "models");
    CU_ASSERT_EQUAL(parse(a, &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.models_dir, "models");
    CU_ASSERT_STRING_EQUAL(o.host, "127.0.0.1");
    CU_ASSERT_EQUAL(o.port, 8080);
    CU_ASSERT_EQUAL(o.threads, 0);
    CU_ASSERT_EQUAL(o.max_body_bytes, 16u * 1024 * 1024);
    CU_ASSERT_EQUAL(o.max_connections, F8D_DEFAULT_MAX_CONNECTIONS);
    CU_ASSERT_EQUAL(o.timeout_s, F8D_DEFAULT_TIMEOUT_S);
}

static void test_all_flags(void)
{
    struct f8d_options o;
    char err[256];
    char **a = ARGV("--models", "/srv/m", "--port=9000", "--host", "::1", "--threads", "3",
                    "--max-body-bytes=1000", "--max-pixels", "5000", "--max-connections", "7",
                    "--timeout", "2");
    CU_ASSERT_EQUAL(parse(a, &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.models_dir, "/srv/m");
    CU_ASSERT_STRING_EQUAL(o.host, "::1");
    CU_ASSERT_EQUAL(o.port, 9000);
    CU_ASSERT_EQUAL(o.threads, 3);
    CU_ASSERT_EQUAL(o.max_body_bytes, 1000);
    CU_ASSERT_EQUAL(o.max_pixels, 5000);
    CU_ASSERT_EQUAL(o.max_connections, 7);
    CU_ASSERT_EQUAL(o.timeout_s, 2);
    char **b = ARGV("--port", "0", "--models", "m");
    CU_ASSERT_EQUAL(parse(b, &o, err), 0);
    CU_ASSERT_EQUAL(o.port, 0);
}

static void test_errors(void)
{
    struct f8d_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(ARGV(NULL), &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--models"));
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--port"), &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--port", "65536"), &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "65536"));
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--port", "-1"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--port", "80x"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--threads", "0"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--max-body-bytes", "0"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--bogus"), &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--bogus"));
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "extra"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models="), &o, err), -1);
}

static void test_help(void)
{
    struct f8d_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(ARGV("--help"), &o, err), 1);
    CU_ASSERT_EQUAL(parse(ARGV("--bogus", "-h"), &o, err), 1);
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f8d_options_usage(f, "f8d");
    fclose(f);
    const char *flags[] = {"--models", "--host", "--port", "--threads", "--max-body-bytes",
                           "--help"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, flags[i]));
}

static void test_cpu_count(void)
{
    unsigned n = f8d_cpu_count();
    CU_ASSERT_TRUE(n >= 1 && n <= 4096);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("daemon_options", NULL, NULL);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "every flag, both spellings", test_all_flags);
    CU_add_test(s, "errors name the flag", test_errors);
    CU_add_test(s, "--help", test_help);
    CU_add_test(s, "cpu count", test_cpu_count);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
