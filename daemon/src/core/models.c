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

/* One model of a repository directory: DIR/NAME.f8 (version "1"), or Triton's layout
 * DIR/NAME/VERSION/model.f8 (the highest numeric VERSION). */
struct found {
    char *name;
    char *path;
    char version[24];
    bool versioned;      /* NAME/VERSION/model.f8 */
};

/* The identity of the file at path (0 when it cannot be read). */
static int file_id(const char *path, struct f8d_file_id *out)
{
    struct stat st;
    memset(out, 0, sizeof(*out));
    if (stat(path, &st) != 0)
        return -1;
    out->dev = (unsigned long long)st.st_dev;
    out->ino = (unsigned long long)st.st_ino;
    out->size = (unsigned long long)st.st_size;
    out->mtime_s = (long long)st.st_mtim.tv_sec;
    out->mtime_ns = (long long)st.st_mtim.tv_nsec;
    return 0;
}

/* A model of keep serving `name` from this very file, unchanged since it was loaded. */
static struct f8d_model *unchanged(const struct f8d_models *keep, const char *name,
                                   const char *path)
{
    struct f8d_model *m = keep ? f8d_models_find(keep, name) : NULL;
    struct f8d_file_id now;
    if (m == NULL || strcmp(m->path, path) != 0 || file_id(path, &now) != 0)
        return NULL;
    return memcmp(&now, &m->file, sizeof(now)) == 0 ? m : NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct found *)a)->name, ((const struct found *)b)->name);
}

static void free_found(struct found *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        free(f[i].path);
    }
    free(f);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The highest numeric VERSION of DIR/NAME/VERSION/model.f8 into version (0 when none). */
static unsigned long highest_version(const char *model_dir)
{
    DIR *d = opendir(model_dir);
    if (d == NULL)
        return 0;
    unsigned long best = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue; /* numeric, no leading zero */
        unsigned long v = strtoul(e->d_name, &end, 10);
        if (*end != '\0' || v <= best || v >= 1000000000ul)
            continue;
        char path[4096];
        int w = snprintf(path, sizeof(path), "%s/%lu/model%s", model_dir, v, SUFFIX);
        if (w > 0 && (size_t)w < sizeof(path) && is_file(path))
            best = v;
    }
    closedir(d);
    return best;
}

/* Whether dir holds model `name` (entry: a file NAME.f8 or a directory NAME), and where. */
static bool find_model(const char *dir, const char *entry, struct found *out)
{
    char path[4096];
    size_t len = strlen(entry);
    if (entry[0] == '.' || strchr(entry, '/') != NULL)
        return false;
    snprintf(path, sizeof(path), "%s/%s", dir, entry);
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (S_ISDIR(st.st_mode)) {
        unsigned long v = highest_version(path);
        if (v == 0)
            return false;
        snprintf(out->version, sizeof(out->version), "%lu", v);
        out->versioned = true;
        out->name = strdup(entry);
        if (asprintf(&out->path, "%s/%lu/model%s", path, v, SUFFIX) < 0)
            out->path = NULL;
        return true;
    }
    if (!S_ISREG(st.st_mode) || len <= strlen(SUFFIX) ||
        strcmp(entry + len - strlen(SUFFIX), SUFFIX) != 0)
        return false;
    snprintf(out->version, sizeof(out->version), "1");
    out->name = strndup(entry, len - strlen(SUFFIX));
    out->path = strdup(path);
    return true;
}

/* Collects the models of dir, sorted by name; a versioned directory wins over a flat file of
 * the same name. */
static int list_models(const char *dir, struct found **out, size_t *count, char *err,
                       size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot read models directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct found *found = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        struct found f = {NULL, NULL, "", false};
        if (!find_model(dir, e->d_name, &f))
            continue;
        if (f.name == NULL || f.path == NULL) {
            free(f.name);
            free(f.path);
            rc = -1;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct found *grown = realloc(found, ncap * sizeof(*found));
            if (grown == NULL) {
                free(f.name);
                free(f.path);
                rc = -1;
                break;
            }
            found = grown;
            cap = ncap;
        }
        found[n++] = f;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory listing %s", dir);
        free_found(found, n);
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "no models in %s (expected NAME.f8, or NAME/VERSION/model.f8)",
                 dir);
        free(found);
        return -1;
    }
    qsort(found, n, sizeof(*found), by_name);
    size_t kept = 0; /* NAME.f8 beside NAME/: the versioned one (listed with the same name) */
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp(found[kept - 1].name, found[i].name) == 0) {
            bool prev_flat = !found[kept - 1].versioned;
            struct found *drop = prev_flat ? &found[kept - 1] : &found[i];
            free(drop->name);
            free(drop->path);
            if (prev_flat)
                found[kept - 1] = found[i];
            continue;
        }
        found[kept++] = found[i];
    }
    *out = found;
    *count = kept;
    return 0;
}

/* Frees all the model holds but the struct itself. */
static void free_contents(struct f8d_model *m)
{
    f8d_batcher_free(&m->batcher);
    for (unsigned i = 0; m->runners != NULL && i < m->n_runners; i++)
        f8_runner_destroy(m->runners[i]);
    for (unsigned i = 0; m->wide_runners != NULL && i < m->n_runners; i++)
        f8_runner_destroy(m->wide_runners[i]);
    free(m->runners);
    free(m->wide_runners);
    m->wide_runners = NULL;
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

/* Plans a runner for full batches and runs a batch of 1 through it: the model runs (every
 * weight is read once), and the arena size of every worker's runner is known from the plan.
 * A full batch is not run: it would check nothing more (the engine's kernels do not fail),
 * and on a reload it cost a CPU for most of a second (ResNet-50, batch 16) while requests
 * were being served. The runner is freed: each worker plans its own, lending its one arena. */
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
    /* the time of one image decides whether splitting it over the workers can pay
     * (`execution = auto`) */
    if (rc == 0) {
        uint64_t ns = 0;
        rc = f8_runner_time_image(r, input, logits, &ns);
        m->image_ns = ns;
    }
    if (r != NULL) {
        m->arena_bytes = f8_runner_arena_bytes(r);
        m->isa = f8_runner_isa(r);
        f8_runner_destroy(r);
    }
    free(input);
    free(logits);
    return rc;
}

/* Opens the file at path as the model called name, of that version. */
static int open_model(struct f8d_model *m, const struct found *f, const char *name,
                      unsigned n_workers, char *err, size_t errlen)
{
    char msg[F8_ERRMSG_SIZE] = "";

    m->name = strdup(name);
    m->path = strdup(f->path);
    snprintf(m->version, sizeof(m->version), "%s", f->version);
    file_id(f->path, &m->file); /* before reading it: a change while loading shows next time */
    if (m->name == NULL || m->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = f8_model_open(m->path, &m->model, msg, sizeof(msg));
    if (rc != 0) {
        snprintf(err, errlen, "cannot load model %s: %s", m->path,
                 msg[0] ? msg : f8_strerror(rc));
        return -1;
    }
    m->info = f8_model_get_info(m->model);
    m->image_bytes = (size_t)m->info->input_h * m->info->input_w * m->info->input_c;
    m->runners = calloc(n_workers, sizeof(*m->runners));
    m->wide_runners = calloc(n_workers, sizeof(*m->wide_runners));
    unsigned running = m->cfg.instances && m->cfg.instances < n_workers ? m->cfg.instances
                                                                         : n_workers;
    if (m->runners == NULL || m->wide_runners == NULL ||
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

/* A new model, the file f served as name, opened and warmed up; NULL with a message. */
static struct f8d_model *load_model(const struct found *f, const char *name,
                                    const struct f8d_options *opts, unsigned n_workers,
                                    char *err, size_t errlen)
{
    struct f8d_model *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f8d_options_model(opts, name, &m->cfg);
    if (open_model(m, f, name, n_workers, err, errlen) != 0) {
        f8d_model_destroy(m);
        return NULL;
    }
    return m;
}

static int add_fault(struct f8d_load_faults *faults, const char *name, const char *reason)
{
    struct f8d_load_fault *grown =
        realloc(faults->items, (faults->count + 1) * sizeof(*faults->items));
    if (grown == NULL)
        return -1;
    faults->items = grown;
    struct f8d_load_fault *f = &faults->items[faults->count++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
    return 0;
}

void f8d_load_faults_free(struct f8d_load_faults *faults)
{
    free(faults->items);
    faults->items = NULL;
    faults->count = 0;
}

/* Loads every model of dir. faults NULL: the first failure fails it all; else each model that
 * does not load is listed there and the others load. */
static int load_names(struct f8d_models *models, const char *dir,
                      const struct f8d_options *opts, unsigned n_workers,
                      const struct f8d_models *keep, struct f8d_load_faults *faults, char *err,
                      size_t errlen)
{
    struct found *found;
    size_t n;

    memset(models, 0, sizeof(*models));
    if (list_models(dir, &found, &n, err, errlen) != 0)
        return -1;
    const char *rename = opts->model_name[0] ? opts->model_name : NULL;
    if (rename != NULL && n != 1) {
        snprintf(err, errlen, "model_name '%s': %s holds %zu models, and model_name names the "
                 "one model of a directory", rename, dir, n);
        free_found(found, n);
        return -1;
    }
    models->items = calloc(n, sizeof(*models->items));
    if (models->items == NULL) {
        snprintf(err, errlen, "out of memory");
        free_found(found, n);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *name = rename ? rename : found[i].name;
        char why[512];
        struct f8d_model *m = unchanged(keep, name, found[i].path);
        if (m == NULL)
            m = load_model(&found[i], name, opts, n_workers, why, sizeof(why));
        if (m != NULL) {
            models->items[models->count++] = m;
        } else if (faults == NULL || add_fault(faults, name, why) != 0) {
            snprintf(err, errlen, "%s", faults == NULL ? why : "out of memory");
            rc = -1;
        }
    }
    free_found(found, n);
    if (rc != 0) {
        /* the models kept from `keep` are not this set's to release (and it runs off the
         * loop): only the ones it loaded are freed */
        for (size_t i = 0; i < models->count; i++)
            if (!models->items[i]->attached)
                f8d_model_destroy(models->items[i]);
        free(models->items);
        models->items = NULL;
        models->count = 0;
        return -1;
    }
    return 0;
}

int f8d_models_load_dir(struct f8d_models *models, const char *dir,
                        const struct f8d_options *opts, unsigned n_workers, char *err,
                        size_t errlen)
{
    return load_names(models, dir, opts, n_workers, NULL, NULL, err, errlen);
}

int f8d_models_load_each(struct f8d_models *models, const char *dir,
                         const struct f8d_options *opts, unsigned n_workers,
                         const struct f8d_models *keep, struct f8d_load_faults *faults,
                         char *err, size_t errlen)
{
    memset(faults, 0, sizeof(*faults));
    return load_names(models, dir, opts, n_workers, keep, faults, err, errlen);
}

int f8d_models_load_one(struct f8d_model **out, const char *dir, const char *name,
                        const struct f8d_options *opts, unsigned n_workers, char *err,
                        size_t errlen)
{
    *out = NULL;
    struct found *found = NULL, one = {NULL, NULL, "", false};
    size_t n = 0;
    const struct found *f = &one;
    if (opts->model_name[0] != '\0') {
        /* the directory's one model, whatever its file is called */
        if (strcmp(name, opts->model_name) != 0) {
            snprintf(err, errlen, "no model '%s' in %s (model_name serves only '%s')", name,
                     dir, opts->model_name);
            return F8D_ENOTFOUND;
        }
        if (list_models(dir, &found, &n, err, errlen) != 0)
            return F8D_ELOAD;
        if (n != 1) {
            snprintf(err, errlen, "model_name '%s': %s holds %zu models", name, dir, n);
            free_found(found, n);
            return F8D_ELOAD;
        }
        f = &found[0];
    } else {
        /* NAME/ (versions) first, as the listing prefers it, then NAME.f8 */
        char file[300];
        snprintf(file, sizeof(file), "%s%s", name, SUFFIX);
        if (!find_model(dir, name, &one) && !find_model(dir, file, &one)) {
            snprintf(err, errlen, "no model '%s' in %s (no file %s%s, no %s/VERSION/model%s)",
                     name, dir, name, SUFFIX, name, SUFFIX);
            return F8D_ENOTFOUND;
        }
        if (one.name == NULL || one.path == NULL) {
            free(one.name);
            free(one.path);
            snprintf(err, errlen, "out of memory");
            return F8D_ENOMEM;
        }
    }
    *out = load_model(f, name, opts, n_workers, err, errlen);
    free_found(found, n);
    free(one.name);
    free(one.path);
    return *out != NULL ? F8D_OK : F8D_ELOAD;
}

int f8d_models_merge(const struct f8d_models *from, struct f8d_model *add, const char *drop,
                     struct f8d_models *out)
{
    const char *skip = add != NULL ? add->name : drop;
    memset(out, 0, sizeof(*out));
    out->items = calloc(from->count + 1, sizeof(*out->items));
    if (out->items == NULL)
        return -1;
    bool placed = add == NULL;
    for (size_t i = 0; i < from->count; i++) {
        struct f8d_model *m = from->items[i];
        if (!placed && strcmp(add->name, m->name) < 0) {
            out->items[out->count++] = add;
            placed = true;
        }
        if (skip != NULL && strcmp(m->name, skip) == 0)
            continue; /* replaced or dropped */
        f8d_model_ref(m);
        out->items[out->count++] = m;
    }
    if (!placed)
        out->items[out->count++] = add;
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
        if (m->attached)
            continue; /* kept from the registry before (f8d_models_merge) */
        m->metrics = f8d_metrics_model(metrics, m->name);
        if (m->metrics == NULL)
            return -1;
    }
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = models->items[i];
        if (m->attached)
            continue;
        assert(m->n_runners == pool->n_workers);
        m->refs = 1;
        f8d_batcher_attach(&m->batcher, pool, pool->loop);
        m->attached = true;
    }
    return 0;
}

/* Unmapping a large model's weights (tens of MB of pages) would hold the loop for
 * milliseconds: it is done on the background pool, like loading. */
static void destroy_work(struct f8d_bg_job *job)
{
    free_contents(job->data);
}

static void destroy_done(struct f8d_bg_job *job)
{
    free(job->data);
}

static void on_batcher_closed(uv_handle_t *h)
{
    struct f8d_batcher *b = h->data;
    struct f8d_model *m = b->model;
    struct f8d_background *bg = b->pool->background;
    if (bg != NULL)
        f8d_background_queue(bg, &m->destroy, destroy_work, destroy_done, m);
    else
        f8d_model_destroy(m); /* no background pool (a test's core): on the loop */
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
