/* f8d models: load a directory, instances and warm-up, reference counts, the registry. */
#include "models.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "background.h"
#include "errors.h"
#include "metrics.h"
#include "pool.h"

#define SUFFIX ".f8"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Collects the NAMEs of regular files DIR/NAME.f8, sorted. */
static int list_models(const char *dir, char ***out, size_t *count, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot read models directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= strlen(SUFFIX) ||
            strcmp(e->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **grown = realloc(names, ncap * sizeof(*names));
            if (grown == NULL) {
                rc = -1;
                break;
            }
            names = grown;
            cap = ncap;
        }
        names[n] = strndup(e->d_name, len - strlen(SUFFIX));
        if (names[n] == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory listing %s", dir);
        free_names(names, n);
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "no models in %s (expected files named NAME.f8)", dir);
        free(names);
        return -1;
    }
    qsort(names, n, sizeof(*names), by_name);
    *out = names;
    *count = n;
    return 0;
}

/* Frees all the model holds but the struct itself. */
static void free_contents(struct f8d_model *m)
{
    f8d_batcher_free(&m->batcher);
    for (unsigned i = 0; m->runners != NULL && i < m->n_runners; i++)
        f8_runner_destroy(m->runners[i]);
    free(m->runners);
    if (m->model != NULL)
        f8_model_close(m->model);
    free(m->path);
    free(m->name);
    m->runners = NULL;
    m->model = NULL;
    m->path = m->name = NULL;
}

void f8d_model_destroy(struct f8d_model *m)
{
    if (m == NULL)
        return;
    free_contents(m);
    free(m);
}

/* Plans a runner with its own arena and runs a batch of 1 and a full batch through it: the
 * model runs, and the arena size of every worker's runner is known. The runner is freed: each
 * worker plans its own, lending its one arena. */
static int warm_up(struct f8d_model *m)
{
    size_t nb = m->cfg.max_batch_size;
    uint8_t *input = calloc(nb * (m->image_bytes ? m->image_bytes : 1), 1);
    int32_t *logits = calloc(nb * (m->info->num_classes ? m->info->num_classes : 1),
                             sizeof(int32_t));
    f8_runner *r = NULL;
    int rc = (input && logits) ? 0 : F8_ENOMEM;
    f8_runner_options ro = {.threads = m->cfg.engine_threads, .isa = F8_ISA_AUTO};
    if (rc == 0)
        rc = f8_runner_create_opts(m->model, (uint32_t)nb, &ro, &r);
    if (rc == 0)
        rc = f8_run(r, input, 1, logits);
    if (rc == 0 && nb > 1)
        rc = f8_run(r, input, (uint32_t)nb, logits);
    if (r != NULL) {
        m->arena_bytes = f8_runner_arena_bytes(r);
        m->isa = f8_runner_isa(r);
        f8_runner_destroy(r);
    }
    free(input);
    free(logits);
    return rc;
}

/* Opens dir/file.f8 as the model called name. */
static int open_model(struct f8d_model *m, const char *dir, const char *file, const char *name,
                      unsigned n_workers, char *err, size_t errlen)
{
    char msg[F8_ERRMSG_SIZE] = "";
    size_t plen = strlen(dir) + strlen(file) + sizeof(SUFFIX) + 2;

    m->name = strdup(name);
    m->path = malloc(plen);
    if (m->name == NULL || m->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(m->path, plen, "%s/%s%s", dir, file, SUFFIX);
    int rc = f8_model_open(m->path, &m->model, msg, sizeof(msg));
    if (rc != 0) {
        snprintf(err, errlen, "cannot load model %s: %s", m->path,
                 msg[0] ? msg : f8_strerror(rc));
        return -1;
    }
    m->info = f8_model_get_info(m->model);
    m->image_bytes = (size_t)m->info->input_h * m->info->input_w * m->info->input_c;
    m->runners = calloc(n_workers, sizeof(*m->runners));
    unsigned running = m->cfg.instances && m->cfg.instances < n_workers ? m->cfg.instances
                                                                         : n_workers;
    if (m->runners == NULL ||
        f8d_batcher_init(&m->batcher, m, m->cfg.max_queue, m->cfg.max_batch_size, running,
                         (uint64_t)m->cfg.max_queue_delay_us * 1000u) != F8D_OK) {
        snprintf(err, errlen, "out of memory for model %s", m->path);
        return -1;
    }
    m->n_runners = n_workers;
    rc = warm_up(m);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run model %s (batch of %u): %s", m->path,
                 m->cfg.max_batch_size, f8_strerror(rc));
        return -1;
    }
    return 0;
}

int f8d_models_load_dir(struct f8d_models *models, const char *dir,
                        const struct f8d_options *opts, unsigned n_workers, char *err,
                        size_t errlen)
{
    char **names;
    size_t n;

    memset(models, 0, sizeof(*models));
    if (list_models(dir, &names, &n, err, errlen) != 0)
        return -1;
    const char *rename = opts->model_name[0] ? opts->model_name : NULL;
    if (rename != NULL && n != 1) {
        snprintf(err, errlen, "model_name '%s': %s holds %zu models, and model_name names the "
                 "one model of a directory", rename, dir, n);
        free_names(names, n);
        return -1;
    }
    models->items = calloc(n, sizeof(*models->items));
    if (models->items == NULL) {
        snprintf(err, errlen, "out of memory");
        free_names(names, n);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct f8d_model *m = calloc(1, sizeof(*m));
        if (m == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        const char *name = rename ? rename : names[i];
        f8d_options_model(opts, name, &m->cfg);
        models->items[models->count++] = m;
        rc = open_model(m, dir, names[i], name, n_workers, err, errlen);
    }
    free_names(names, n);
    if (rc != 0) {
        f8d_models_release(models);
        return -1;
    }
    return 0;
}

struct f8d_model *f8d_models_find(const struct f8d_models *models, const char *name)
{
    size_t lo = 0, hi = models->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(models->items[mid]->name, name);
        if (c == 0)
            return models->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int f8d_models_attach(struct f8d_models *models, struct f8d_pool *pool,
                      struct f8d_metrics *metrics)
{
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = models->items[i];
        m->metrics = f8d_metrics_model(metrics, m->name);
        if (m->metrics == NULL)
            return -1;
    }
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = models->items[i];
        assert(!m->attached && m->n_runners == pool->n_workers);
        m->refs = 1;
        f8d_batcher_attach(&m->batcher, pool, pool->loop);
        m->attached = true;
    }
    return 0;
}

/* Unmapping a large model's weights (tens of MB of pages) would hold the loop for
 * milliseconds: it is done on libuv's pool, like loading. */
static void destroy_work(uv_work_t *w)
{
    f8d_background_thread();
    free_contents(w->data);
}

static void destroy_done(uv_work_t *w, int status)
{
    (void)status; /* never cancelled */
    free(w->data);
}

static void on_batcher_closed(uv_handle_t *h)
{
    struct f8d_batcher *b = h->data;
    struct f8d_model *m = b->model;
    m->destroy.data = m;
    if (uv_queue_work(h->loop, &m->destroy, destroy_work, destroy_done) != 0)
        f8d_model_destroy(m); /* cannot happen with valid arguments: free it here, then */
}

void f8d_model_ref(struct f8d_model *m)
{
    assert(m->attached);
    m->refs++;
}

void f8d_model_unref(struct f8d_model *m)
{
    assert(m->refs > 0);
    if (--m->refs > 0)
        return;
    /* No request or batch holds it, so nothing is queued or running: detach, then free. */
    f8d_batcher_detach(&m->batcher, on_batcher_closed);
}

void f8d_models_release(struct f8d_models *models)
{
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = models->items[i];
        if (m != NULL && m->attached)
            f8d_model_unref(m);
        else
            f8d_model_destroy(m);
    }
    free(models->items);
    models->items = NULL;
    models->count = 0;
}
