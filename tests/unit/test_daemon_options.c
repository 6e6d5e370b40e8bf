/* f8d options: defaults, both flag spellings, bounds, errors, --help. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cpus.h"
#include "core/options.h"
#include "unit.h"

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
    CU_ASSERT_EQUAL(o.header_timeout_s, 10);
    CU_ASSERT_EQUAL(o.body_timeout_s, 20);
    CU_ASSERT_EQUAL(o.body_min_rate, 500);
    char **b = ARGV("--models", "m", "--header-timeout", "1", "--body-timeout=2",
                    "--body-min-rate", "0");
    CU_ASSERT_EQUAL(parse(b, &o, err), 0);
    CU_ASSERT_EQUAL(o.header_timeout_s, 1);
    CU_ASSERT_EQUAL(o.body_timeout_s, 2);
    CU_ASSERT_EQUAL(o.body_min_rate, 0);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--header-timeout", "0"), &o, err), -1);
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
    CU_ASSERT_EQUAL(o.model.max_pixels, 5000);
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
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--threads", "1025"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--max-batch-size", "0"), &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--max-batch-size"));
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--access-log", "maybe"), &o, err), -1);
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--max_queue", "3"), &o, err), -1);
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
    static char buf[16384] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f8d_options_usage(f, "f8d");
    fclose(f);
    const char *flags[] = {"--models", "--host", "--port", "--threads", "--max-body-bytes",
                           "--max-batch-size", "--max-queue-delay-us", "--max-queue",
                           "--config", "F8D_", "--help"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, flags[i]));
}

static void write_conf(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_file(void)
{
    struct f8d_options o;
    char err[512];
    char path[256];
    unit_tmp_template(path, sizeof path, "f8d_test_conf");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    write_conf(path, "# comment\n\nmodels = /srv/models\nport=9001   # trailing comment\n"
                     "host = \"::1\"\nmax_batch_size = 32\nmax_queue_delay_us = 500\n"
                     "access_log = off\n");
    char *argv[] = {"f8d", "--config", path, "--port", "9002", NULL};
    CU_ASSERT_EQUAL(f8d_options_load(5, argv, NULL, &o, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(o.models_dir, "/srv/models");
    CU_ASSERT_STRING_EQUAL(o.host, "::1");
    CU_ASSERT_EQUAL(o.port, 9002); /* the flag wins */
    CU_ASSERT_EQUAL(o.model.max_batch_size, 32);
    CU_ASSERT_EQUAL(o.model.max_queue_delay_us, 500);
    CU_ASSERT_FALSE(o.access_log);
    CU_ASSERT_STRING_EQUAL(o.config, path);

    /* environment over the file, flags over the environment; F8D_CONFIG names the file */
    char envc[512];
    snprintf(envc, sizeof(envc), "F8D_CONFIG=%s", path);
    char *env[] = {envc, "F8D_MAX_BATCH_SIZE=8", "F8D_PORT=7000", "OTHER=1", NULL};
    char *argv2[] = {"f8d", "--port=7001", NULL};
    CU_ASSERT_EQUAL(f8d_options_load(2, argv2, env, &o, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(o.model.max_batch_size, 8);
    CU_ASSERT_EQUAL(o.port, 7001);
    CU_ASSERT_STRING_EQUAL(o.models_dir, "/srv/models");
    char *bad_env[] = {"F8D_MAX_QUEUE=lots", NULL};
    char *argv3[] = {"f8d", "--models", "m", NULL};
    CU_ASSERT_EQUAL(f8d_options_load(3, argv3, bad_env, &o, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "F8D_MAX_QUEUE"));

    /* errors name the file and the line */
    write_conf(path, "models = m\n\nmax_queue = -3\n");
    CU_ASSERT_EQUAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), -1);
    char want[512];
    snprintf(want, sizeof(want), "%s:3: max_queue", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    write_conf(path, "models = m\nbogus_key = 1\n");
    CU_ASSERT_EQUAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: unknown key 'bogus_key'", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    write_conf(path, "models\n");
    CU_ASSERT_EQUAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: expected 'key = value'"));
    write_conf(path, "host = \"unterminated\n");
    CU_ASSERT_EQUAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: host: missing closing quote"));
    unlink(path);
    CU_ASSERT_EQUAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read config file"));
}

static void test_model_sections(void)
{
    struct f8d_options o;
    char err[512];
    char path[256];
    unit_tmp_template(path, sizeof path, "f8d_test_conf");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    write_conf(path, "models = m\nmax_batch_size = 16\n\n[model resnet18]\nmax_batch_size = 8\n"
                     "instances = 1\n# comment\n[ model fashion ]\nmax_queue_delay_us = 200\n"
                     "max_queue = 64\nengine_threads = 2\n");
    char *argv[] = {"f8d", "--config", path, NULL};
    CU_ASSERT_EQUAL_FATAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(o.model.max_batch_size, 16);
    CU_ASSERT_EQUAL_FATAL(o.n_models, 2);
    CU_ASSERT_STRING_EQUAL(o.models[0].name, "resnet18");
    CU_ASSERT_STRING_EQUAL(o.models[1].name, "fashion");
    /* each model: its section's keys over the global values */
    struct f8d_model_settings r18, fashion, other;
    f8d_options_model(&o, "resnet18", &r18);
    f8d_options_model(&o, "fashion", &fashion);
    f8d_options_model(&o, "mobilenet", &other);
    CU_ASSERT_EQUAL(r18.max_batch_size, 8);
    CU_ASSERT_EQUAL(r18.instances, 1);
    CU_ASSERT_EQUAL(r18.max_queue, F8D_DEFAULT_MAX_QUEUE);
    CU_ASSERT_EQUAL(r18.engine_threads, 0);
    CU_ASSERT_EQUAL(fashion.max_batch_size, 16);
    CU_ASSERT_EQUAL(fashion.max_queue_delay_us, 200);
    CU_ASSERT_EQUAL(fashion.max_queue, 64);
    CU_ASSERT_EQUAL(fashion.engine_threads, 2);
    CU_ASSERT_EQUAL(memcmp(&other, &o.model, sizeof(other)), 0);

    /* a flag sets the global value; a section's own value still wins for its model */
    char *argv2[] = {"f8d", "--config", path, "--max-batch-size", "4", "--max-queue", "9", NULL};
    CU_ASSERT_EQUAL_FATAL(f8d_options_load(7, argv2, NULL, &o, err, sizeof(err)), 0);
    f8d_options_model(&o, "resnet18", &r18);
    f8d_options_model(&o, "fashion", &fashion);
    CU_ASSERT_EQUAL(r18.max_batch_size, 8);
    CU_ASSERT_EQUAL(r18.max_queue, 9);
    CU_ASSERT_EQUAL(fashion.max_batch_size, 4);
    CU_ASSERT_EQUAL(fashion.max_queue, 64);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[model a]\nport = 80\n", ":2: port cannot be set per model (in [model a]: instances, "
                                  "engine_threads, execution, max_batch_size, max_queue_delay_us, "
                                  "max_queue, max_pixels)"},
        {"[model a]\nmax_batch_size = 0\n", ":2: max_batch_size: '0' is not an integer"},
        {"[model a]\nbogus = 1\n", ":2: unknown key 'bogus'"},
        {"models = m\n[model a]\n[model a]\n", ":3: [model a] appears twice"},
        {"[server]\n", ":1: unknown section '[server]'"},
        {"[model a/b]\n", ":1: bad model name"},
        {"[model a\n", ":1: expected '[model NAME]'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_conf(path, bad[i].text);
        err[0] = '\0';
        CU_ASSERT_EQUAL(f8d_options_load(3, argv, NULL, &o, err, sizeof(err)), -1);
        if (strstr(err, bad[i].want) == NULL)
            printf("\n    want '%s' in '%s' ", bad[i].want, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
    }
    unlink(path);
}

/* The shipped config/f8d.conf is exactly the defaults, every key present. */
static void test_shipped_config_is_defaults(void)
{
    static char buf[16384];
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f8d_options_write_defaults(f);
    fclose(f);
    FILE *shipped = fopen("config/f8d.conf", "r");
    if (shipped == NULL) {
        printf("\n    (config/f8d.conf not found: run from the repository root) ");
        return;
    }
    static char text[32768];
    size_t n = fread(text, 1, sizeof(text) - 1, shipped);
    fclose(shipped);
    text[n] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(text, buf));
    struct f8d_options o, def;
    char err[512] = "";
    f8d_options_defaults(&def);
    f8d_options_defaults(&o);
    CU_ASSERT_EQUAL(f8d_options_read_file("config/f8d.conf", &o, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(memcmp(&o, &def, sizeof(o)), 0);
}

static void test_cpu_count(void)
{
    unsigned n = f8d_cpu_count();
    CU_ASSERT_TRUE(n >= 1 && n <= 4096);
}

/* Writes DIR/NAME (making DIR/SUB first when name has one) with `text`. */
static void write_in(const char *dir, const char *sub, const char *name, const char *text)
{
    char path[512];
    if (sub != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, sub);
        mkdir(path, 0700);
        snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    } else {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
    }
    write_conf(path, text);
}

static void remove_in(const char *dir, const char *sub, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), sub ? "%s/%s/%s" : "%s/%s", dir, sub ? sub : name, name);
    unlink(path);
}

static void test_cgroup_quota(void)
{
    char root[256], sub[512];
    unit_tmp_template(root, sizeof root, "f8d_test_cgroup");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));

    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 0); /* nothing there: no limit */
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit("/nonexistent/f8d"), 0);

    /* cgroup v2 */
    write_in(root, NULL, "cpu.max", "max 100000\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 0);
    write_in(root, NULL, "cpu.max", "250000 100000\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 3); /* 2.5 CPUs round up */
    write_in(root, NULL, "cpu.max", "50000 100000\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 1);
    remove_in(root, NULL, "cpu.max");

    /* cgroup v1, in cpu/ */
    write_in(root, "cpu", "cpu.cfs_period_us", "100000\n");
    write_in(root, "cpu", "cpu.cfs_quota_us", "-1\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 0);
    write_in(root, "cpu", "cpu.cfs_quota_us", "400000\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 4);
    write_in(root, "cpu", "cpu.cfs_quota_us", "150000\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 2);
    write_in(root, NULL, "cpu.max", "100000 100000\n"); /* v2 wins where both are readable */
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 1);
    remove_in(root, NULL, "cpu.max");
    remove_in(root, "cpu", "cpu.cfs_quota_us");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 0); /* a period without a quota */
    remove_in(root, "cpu", "cpu.cfs_period_us");
    snprintf(sub, sizeof(sub), "%s/cpu", root);
    rmdir(sub);

    /* cgroup v1 where only cpu,cpuacct/ exists */
    write_in(root, "cpu,cpuacct", "cpu.cfs_period_us", "50000\n");
    write_in(root, "cpu,cpuacct", "cpu.cfs_quota_us", "100000\n");
    CU_ASSERT_EQUAL(f8d_cgroup_cpu_limit(root), 2);
    remove_in(root, "cpu,cpuacct", "cpu.cfs_period_us");
    remove_in(root, "cpu,cpuacct", "cpu.cfs_quota_us");
    snprintf(sub, sizeof(sub), "%s/cpu,cpuacct", root);
    CU_ASSERT_EQUAL(rmdir(sub), 0);
    CU_ASSERT_EQUAL(rmdir(root), 0);
}

/* restricted_api = HEADER:VALUE: split, trimmed, checked; errors never quote the value. */
static void test_restricted_api(void)
{
    struct f8d_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m"), &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.restricted_header, "");
    CU_ASSERT_STRING_EQUAL(f8d_options_restricted_value(&o), "");
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--restricted-api", " X-Admin-Key : s3:cret "),
                          &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.restricted_header, "X-Admin-Key");
    CU_ASSERT_STRING_EQUAL(f8d_options_restricted_value(&o), "s3:cret");
    struct f8d_options copy = o; /* the value is found again in a copy (server.opts) */
    CU_ASSERT_STRING_EQUAL(f8d_options_restricted_value(&copy), "s3:cret");
    const char *bad[] = {"s3cret", ":s3cret", "X Key:s3cret", "X(Key):s3cret", "X-Key:",
                         "X-Key:   ", "X-Key:s3\x01" "cret"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--restricted-api", (char *)bad[i]), &o,
                              err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "restricted_api"));
        CU_ASSERT_PTR_NULL(strstr(err, "s3"));
    }
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--user", "nobody"), &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.user, "nobody");
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--user", ""), &o, err), -1);
}

/* tls_cert and tls_key: both or neither (the files themselves: test_daemon_tls_files). */
static void test_tls_pair(void)
{
    struct f8d_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m"), &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.tls_cert, "");
    CU_ASSERT_STRING_EQUAL(o.tls_key, "");
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--tls-cert", "/c.pem", "--tls-key", "/k.pem"),
                          &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.tls_cert, "/c.pem");
    CU_ASSERT_STRING_EQUAL(o.tls_key, "/k.pem");
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--tls-cert", "/c.pem"), &o, err), -1);
    CU_ASSERT_STRING_EQUAL(err, "tls_cert and tls_key go together: set both or neither");
    CU_ASSERT_EQUAL(parse(ARGV("--models", "m", "--tls-key", "/k.pem"), &o, err), -1);
    CU_ASSERT_STRING_EQUAL(err, "tls_cert and tls_key go together: set both or neither");
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
    CU_add_test(s, "config file and environment", test_config_file);
    CU_add_test(s, "[model NAME] sections", test_model_sections);
    CU_add_test(s, "config/f8d.conf holds every key at its default", test_shipped_config_is_defaults);
    CU_add_test(s, "restricted_api and user", test_restricted_api);
    CU_add_test(s, "tls_cert and tls_key", test_tls_pair);
    CU_add_test(s, "cpu count", test_cpu_count);
    CU_add_test(s, "cgroup v1 and v2 CPU quota", test_cgroup_quota);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
