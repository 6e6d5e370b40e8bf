/*
 * f8d model registry and worker job: loading a models directory (and its errors), the slot
 * pool, and one decode + inference job on real JPEG bytes.
 *
 * The parts that need a valid model use models/fashion.f8 (run from the repository root, as
 * `make test-c` does), or the file named by F8D_TEST_MODEL.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbojpeg.h>

#include "models.h"
#include "worker.h"

static char tmpdir[64];

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static const char *model_path(void)
{
    const char *p = getenv("F8D_TEST_MODEL");
    if (p == NULL)
        p = "models/fashion.f8";
    return access(p, R_OK) == 0 ? p : NULL;
}

/* Reads a whole file; NULL if it cannot. */
static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static int setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/f8d_test_models_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void)
{
    return rmdir(tmpdir);
}

static void test_missing_dir(void)
{
    struct f8d_models m;
    char err[512] = "";
    CU_ASSERT_EQUAL(f8d_models_load_dir(&m, "/nonexistent/f8d/models", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read models directory /nonexistent/f8d/models"));
    CU_ASSERT_EQUAL(m.count, 0);
}

static void test_no_models(void)
{
    struct f8d_models m;
    char err[512] = "";
    write_file(tmpdir, "README.txt", "hello", 5);
    write_file(tmpdir, ".hidden.f8", "x", 1);
    write_file(tmpdir, ".f8", "x", 1);
    CU_ASSERT_EQUAL(f8d_models_load_dir(&m, tmpdir, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no models in"));
    remove_file(tmpdir, "README.txt");
    remove_file(tmpdir, ".hidden.f8");
    remove_file(tmpdir, ".f8");
}

static void test_invalid_model(void)
{
    struct f8d_models m;
    char err[512] = "";
    write_file(tmpdir, "broken.f8", "this is not a model file at all", 31);
    CU_ASSERT_EQUAL(f8d_models_load_dir(&m, tmpdir, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot load model"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "broken.f8: ") || strstr(err, "broken.f8"));
    CU_ASSERT_TRUE(strlen(err) > strlen("cannot load model ") + strlen(tmpdir) + 12);
    CU_ASSERT_EQUAL(m.count, 0);
    CU_ASSERT_PTR_NULL(m.items);
    remove_file(tmpdir, "broken.f8");
}

static void test_decode_status(void)
{
    CU_ASSERT_EQUAL(f8d_decode_status(F8IMG_OK), 200);
    CU_ASSERT_EQUAL(f8d_decode_status(F8IMG_EUNSUPPORTED), 400);
    CU_ASSERT_EQUAL(f8d_decode_status(F8IMG_EDECODE), 400);
    CU_ASSERT_EQUAL(f8d_decode_status(F8IMG_ETOOLARGE), 413);
    CU_ASSERT_EQUAL(f8d_decode_status(F8IMG_ENOMEM), 503);
    CU_ASSERT_EQUAL(f8d_decode_status(F8IMG_EINVAL), 500);
}

/* A 28x28 grayscale JPEG (quality 90) of a bright rectangle on black. */
static uint8_t *make_jpeg(unsigned long *size)
{
    uint8_t pixels[28 * 28];
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            pixels[y * 28 + x] = (x > 6 && x < 21 && y > 2 && y < 26) ? 200 : 0;
    tjhandle tj = tjInitCompress();
    uint8_t *jpeg = NULL;
    *size = 0;
    int rc = tjCompress2(tj, pixels, 28, 0, 28, TJPF_GRAY, &jpeg, size, TJSAMP_GRAY, 90, 0);
    tjDestroy(tj);
    return rc == 0 ? jpeg : NULL;
}

static void run_job(struct f8d_model *m, const uint8_t *body, size_t len, uint32_t k,
                    uint64_t max_pixels, struct f8d_job *job)
{
    uint32_t n = m->info->num_classes;
    memset(job, 0, sizeof(*job));
    job->model = m->model;
    job->pool = &m->pool;
    job->body = body;
    job->body_len = len;
    job->max_pixels = max_pixels;
    job->top_k = k;
    job->logits = calloc(n, sizeof(int32_t));
    job->indices = calloc(n, sizeof(uint32_t));
    job->scores = calloc(n, sizeof(double));
    f8d_job_run(job);
}

static void free_job(struct f8d_job *job)
{
    free(job->logits);
    free(job->indices);
    free(job->scores);
}

static void test_real_model(void)
{
    const char *path = model_path();
    if (path == NULL) {
        printf("\n    (no models/fashion.f8 and no F8D_TEST_MODEL: valid-model checks not run) ");
        return;
    }
    size_t n;
    uint8_t *bytes = read_all(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    write_file(tmpdir, "zeta.f8", bytes, n);
    write_file(tmpdir, "alpha.f8", bytes, n);
    write_file(tmpdir, "notes.txt", "x", 1);
    free(bytes);

    struct f8d_models m;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(f8d_models_load_dir(&m, tmpdir, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(m.count, 2);
    CU_ASSERT_STRING_EQUAL(m.items[0].name, "alpha"); /* sorted */
    CU_ASSERT_STRING_EQUAL(m.items[1].name, "zeta");
    CU_ASSERT_PTR_EQUAL(f8d_models_find(&m, "zeta"), &m.items[1]);
    CU_ASSERT_PTR_NULL(f8d_models_find(&m, "zet"));
    CU_ASSERT_PTR_NULL(f8d_models_find(&m, "notes"));
    struct f8d_model *model = f8d_models_find(&m, "alpha");
    CU_ASSERT_PTR_NOT_NULL_FATAL(model);
    CU_ASSERT_EQUAL(model->pool.created, 1); /* warmed up with one slot */
    uint32_t classes = model->info->num_classes;
    CU_ASSERT_TRUE(classes >= 2);

    /* a real JPEG: 200, top 5 best first, probabilities */
    unsigned long jsize;
    uint8_t *jpeg = make_jpeg(&jsize);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jpeg);
    struct f8d_job job;
    uint32_t k = classes < 5 ? classes : 5;
    run_job(model, jpeg, jsize, k, 0, &job);
    CU_ASSERT_EQUAL(job.status, 200);
    CU_ASSERT_EQUAL(job.count, k);
    double sum = 0;
    for (uint32_t i = 0; i < job.count; i++) {
        CU_ASSERT_TRUE(job.indices[i] < classes);
        CU_ASSERT_TRUE(job.scores[i] >= 0.0 && job.scores[i] <= 1.0);
        if (i > 0)
            CU_ASSERT_TRUE(job.scores[i] <= job.scores[i - 1]);
        sum += job.scores[i];
    }
    CU_ASSERT_TRUE(sum <= 1.0 + 1e-12);
    free_job(&job);

    /* all classes: the scores sum to 1 */
    run_job(model, jpeg, jsize, classes, 0, &job);
    CU_ASSERT_EQUAL(job.count, classes);
    sum = 0;
    for (uint32_t i = 0; i < job.count; i++)
        sum += job.scores[i];
    CU_ASSERT_DOUBLE_EQUAL(sum, 1.0, 1e-9);
    free_job(&job);

    /* over the pixel limit: 413 with f8img's message */
    run_job(model, jpeg, jsize, 1, 100, &job);
    CU_ASSERT_EQUAL(job.status, 413);
    CU_ASSERT_TRUE(strlen(job.error) > 0);
    free_job(&job);

    /* truncated JPEG and non-JPEG bytes: 400 with a message */
    run_job(model, jpeg, jsize / 3, 1, 0, &job);
    CU_ASSERT_EQUAL(job.status, 400);
    CU_ASSERT_TRUE(strlen(job.error) > 0);
    free_job(&job);
    run_job(model, (const uint8_t *)"hello, world", 12, 1, 0, &job);
    CU_ASSERT_EQUAL(job.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(job.error, "JPEG"));
    free_job(&job);
    tjFree(jpeg);

    /* the pool: two slots out at once makes a second one; given back, they are reused */
    struct f8d_slot *a, *b, *c;
    CU_ASSERT_EQUAL(f8d_pool_acquire(&model->pool, model->model, &a), 0);
    CU_ASSERT_EQUAL(f8d_pool_acquire(&model->pool, model->model, &b), 0);
    CU_ASSERT_PTR_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(model->pool.created, 2);
    f8d_pool_release(&model->pool, a);
    f8d_pool_release(&model->pool, b);
    CU_ASSERT_EQUAL(f8d_pool_acquire(&model->pool, model->model, &c), 0);
    CU_ASSERT_TRUE(c == a || c == b);
    CU_ASSERT_EQUAL(model->pool.created, 2);
    f8d_pool_release(&model->pool, c);

    f8d_models_free(&m);
    CU_ASSERT_EQUAL(m.count, 0);
    remove_file(tmpdir, "zeta.f8");
    remove_file(tmpdir, "alpha.f8");
    remove_file(tmpdir, "notes.txt");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("daemon_models", setup, teardown);
    CU_add_test(s, "missing directory", test_missing_dir);
    CU_add_test(s, "directory without models", test_no_models);
    CU_add_test(s, "invalid model file: the engine's message", test_invalid_model);
    CU_add_test(s, "f8img errors -> HTTP status", test_decode_status);
    CU_add_test(s, "registry, job and pool on a real model", test_real_model);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
