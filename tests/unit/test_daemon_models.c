/*
 * f8d model registry and batch job: loading a models directory (and its errors), and batches
 * of decode + inference on real JPEG bytes (the worker side, without a loop), on two workers'
 * states whose runners lend each worker's one arena.
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

#include "core/batch.h"
#include "core/errors.h"
#include "core/models.h"
#include "core/request.h"
#include "unit.h"

static char tmpdir[4096];

static struct f8d_options CFG; /* max_batch_size 4, max_queue 8 (setup) */
#define WORKERS 2

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
    f8d_options_defaults(&CFG);
    CFG.model.max_batch_size = 4;
    CFG.model.max_queue = 8;
    unit_tmp_template(tmpdir, sizeof(tmpdir), "f8d_test_models");
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
    CU_ASSERT_EQUAL(f8d_models_load_dir(&m, "/nonexistent/f8d/models", &CFG, WORKERS, err, sizeof(err)), -1);
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
    CU_ASSERT_EQUAL(f8d_models_load_dir(&m, tmpdir, &CFG, WORKERS, err, sizeof(err)), -1);
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
    CU_ASSERT_EQUAL(f8d_models_load_dir(&m, tmpdir, &CFG, WORKERS, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot load model"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "broken.f8: ") || strstr(err, "broken.f8"));
    CU_ASSERT_TRUE(strlen(err) > strlen("cannot load model ") + strlen(tmpdir) + 12);
    CU_ASSERT_EQUAL(m.count, 0);
    CU_ASSERT_PTR_NULL(m.items);
    remove_file(tmpdir, "broken.f8");
}

static void test_decode_error(void)
{
    CU_ASSERT_EQUAL(f8d_decode_error(F8IMG_OK), F8D_OK);
    CU_ASSERT_EQUAL(f8d_decode_error(F8IMG_EUNSUPPORTED), F8D_EDECODE);
    CU_ASSERT_EQUAL(f8d_decode_error(F8IMG_EDECODE), F8D_EDECODE);
    CU_ASSERT_EQUAL(f8d_decode_error(F8IMG_ETOOLARGE), F8D_EPIXELS);
    CU_ASSERT_EQUAL(f8d_decode_error(F8IMG_ENOMEM), F8D_ENOMEM);
    CU_ASSERT_EQUAL(f8d_decode_error(F8IMG_EINVAL), F8D_EINTERNAL);
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

static struct f8d_worker_state workers[WORKERS];

/* Runs n items of m on worker w, as the pool would; returns the rows that reached the
 * engine. */
static unsigned run_batch(struct f8d_model *m, unsigned w, struct f8d_item *items, unsigned n,
                          int32_t *logits)
{
    struct f8d_item *ptrs[4];
    struct f8d_batch b = {.model = m, .items = ptrs, .n = n, .cap = 4};
    for (unsigned i = 0; i < n; i++) {
        items[i].logits = logits + (size_t)i * m->info->num_classes;
        items[i].err = -100; /* the worker must set it */
        ptrs[i] = &items[i];
    }
    f8d_batch_run(&b, &workers[w]);
    return b.rows;
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
    CU_ASSERT_EQUAL_FATAL(f8d_models_load_dir(&m, tmpdir, &CFG, WORKERS, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(m.count, 2);
    CU_ASSERT_STRING_EQUAL(m.items[0]->name, "alpha"); /* sorted */
    CU_ASSERT_STRING_EQUAL(m.items[1]->name, "zeta");
    CU_ASSERT_PTR_EQUAL(f8d_models_find(&m, "zeta"), m.items[1]);
    CU_ASSERT_PTR_EQUAL(f8d_models_find(&m, "alpha"), m.items[0]);
    CU_ASSERT_PTR_NULL(f8d_models_find(&m, "zet"));
    CU_ASSERT_PTR_NULL(f8d_models_find(&m, "notes"));
    struct f8d_model *model = f8d_models_find(&m, "alpha");
    CU_ASSERT_PTR_NOT_NULL_FATAL(model);
    CU_ASSERT_EQUAL(model->n_runners, WORKERS);
    CU_ASSERT_PTR_NULL(model->runners[0]); /* planned by each worker on first use */
    CU_ASSERT_TRUE(model->arena_bytes > 0);
    uint32_t classes = model->info->num_classes;
    for (unsigned w = 0; w < WORKERS; w++)
        CU_ASSERT_EQUAL_FATAL(f8d_worker_state_init(&workers[w], w), F8D_OK);
    CU_ASSERT_TRUE(classes >= 2);

    unsigned long jsize;
    uint8_t *jpeg = make_jpeg(&jsize);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jpeg);
    int32_t *logits = calloc(4 * classes, sizeof(int32_t));
    CU_ASSERT_PTR_NOT_NULL_FATAL(logits);

    /* one image alone, then the same image in a batch of 4 with bad ones: same logits */
    struct f8d_item items[4];
    memset(items, 0, sizeof(items));
    items[0].data = jpeg;
    items[0].len = jsize;
    CU_ASSERT_EQUAL(run_batch(model, 0, items, 1, logits), 1);
    CU_ASSERT_EQUAL(items[0].err, F8D_OK);
    CU_ASSERT_PTR_NOT_NULL(model->runners[0]);
    CU_ASSERT_PTR_NULL(model->runners[1]);
    CU_ASSERT_TRUE(workers[0].arena_cap >= model->arena_bytes);
    int32_t alone[64];
    CU_ASSERT_FATAL(classes <= 64);
    memcpy(alone, logits, classes * sizeof(int32_t));

    memset(items, 0, sizeof(items));
    items[0].data = (const uint8_t *)"hello, world"; /* not a JPEG */
    items[0].len = 12;
    items[1].data = jpeg;
    items[1].len = jsize;
    items[2].data = jpeg; /* truncated */
    items[2].len = jsize / 3;
    items[3].data = jpeg;
    items[3].len = jsize;
    memset(logits, 0x55, 4 * classes * sizeof(int32_t));
    /* on the other worker: its own runner and arena give the same logits */
    CU_ASSERT_EQUAL(run_batch(model, 1, items, 4, logits), 2); /* only the good ones ran */
    CU_ASSERT_EQUAL(items[0].err, F8D_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(items[0].message, "JPEG"));
    CU_ASSERT_EQUAL(items[1].err, F8D_OK);
    CU_ASSERT_EQUAL(items[2].err, F8D_EDECODE);
    CU_ASSERT_TRUE(strlen(items[2].message) > 0);
    CU_ASSERT_EQUAL(items[3].err, F8D_OK);
    CU_ASSERT_PTR_NOT_NULL(model->runners[1]);
    CU_ASSERT_EQUAL(memcmp(items[1].logits, alone, classes * sizeof(int32_t)), 0);
    CU_ASSERT_EQUAL(memcmp(items[3].logits, alone, classes * sizeof(int32_t)), 0);

    /* raw pixels skip the decoder; over the pixel limit is 422 with f8img's message */
    uint8_t *pixels = calloc(model->image_bytes, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pixels);
    memset(items, 0, sizeof(items));
    items[0].data = pixels;
    items[0].len = model->image_bytes;
    items[0].raw = true;
    items[1].data = jpeg;
    items[1].len = jsize;
    model->cfg.max_pixels = 100;
    CU_ASSERT_EQUAL(run_batch(model, 0, items, 2, logits), 1);
    model->cfg.max_pixels = 0;
    CU_ASSERT_EQUAL(items[0].err, F8D_OK);
    CU_ASSERT_EQUAL(items[1].err, F8D_EPIXELS);
    CU_ASSERT_PTR_NOT_NULL(strstr(items[1].message, "28x28"));
    free(pixels);
    free(logits);
    tjFree(jpeg);

    for (unsigned w = 0; w < WORKERS; w++)
        f8d_worker_state_free(&workers[w]);
    f8d_models_release(&m); /* never attached: freed at once (runners included) */
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
    CU_add_test(s, "f8img errors -> F8D_E* codes", test_decode_error);
    CU_add_test(s, "registry, and batches on two workers' states on a real model",
                test_real_model);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
