/* f8d models: load a directory, instances and warm-up, reference counts, the registry. */
#include "models.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batcher.h"
#include "metrics.h"
#include "server.h"

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

void f8d_model_destroy(struct f8d_model *m)
{
    if (m == NULL)
        return;
    f8d_batcher_free(m);
    for (unsigned i = 0; m->instances != NULL && i < m->cfg.instances; i++) {
        struct f8d_instance *in = &m->instances[i];
        if (in->runner != NULL)
            f8_runner_destroy(in->runner);
        if (in->decoder != NULL)
            f8img_decoder_destroy(in->decoder);
        free(in->input);
        free(in->logits);
    }
    free(m->instances);
    free(m->queue);
    free(m->free_instances);
    if (m->model != NULL)
        f8_model_close(m->model);
    free(m->path);
    free(m->name);
    free(m);
}

/* Runner, decoder and buffers for one instance, warmed up with a batch of 1 and a full
 * batch (the engine touches every buffer it planned). */
static int instance_init(struct f8d_model *m, struct f8d_instance *in)
{
    size_t nb = m->cfg.max_batch;
    in->input = calloc(nb * (m->image_bytes ? m->image_bytes : 1), 1);
    in->logits = calloc(nb * (m->info->num_classes ? m->info->num_classes : 1),
                        sizeof(int32_t));
    if (in->input == NULL || in->logits == NULL)
        return F8_ENOMEM;
    if (f8img_decoder_create(&in->decoder) != 0)
        return F8_ENOMEM;
    f8_runner_options ro = {.threads = m->cfg.engine_threads, .isa = F8_ISA_AUTO};
    int rc = f8_runner_create_opts(m->model, (uint32_t)nb, &ro, &in->runner);
    if (rc == 0)
        rc = f8_run(in->runner, in->input, 1, in->logits);
    if (rc == 0 && nb > 1)
        rc = f8_run(in->runner, in->input, (uint32_t)nb, in->logits);
    return rc;
}

static int open_model(struct f8d_model *m, const char *dir, const char *name, char *err,
                      size_t errlen)
{
    char msg[F8_ERRMSG_SIZE] = "";
    size_t plen = strlen(dir) + strlen(name) + sizeof(SUFFIX) + 2;

    m->name = strdup(name);
    m->path = malloc(plen);
    if (m->name == NULL || m->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(m->path, plen, "%s/%s%s", dir, name, SUFFIX);
    int rc = f8_model_open(m->path, &m->model, msg, sizeof(msg));
    if (rc != 0) {
        snprintf(err, errlen, "cannot load model %s: %s", m->path,
                 msg[0] ? msg : f8_strerror(rc));
        return -1;
    }
    m->info = f8_model_get_info(m->model);
    m->image_bytes = (size_t)m->info->input_h * m->info->input_w * m->info->input_c;
    m->instances = calloc(m->cfg.instances, sizeof(*m->instances));
    m->queue = calloc(m->cfg.max_queue, sizeof(*m->queue));
    m->free_instances = calloc(m->cfg.instances, sizeof(*m->free_instances));
    if (m->instances == NULL || m->queue == NULL || m->free_instances == NULL) {
        snprintf(err, errlen, "out of memory for model %s", m->path);
        return -1;
    }
    for (unsigned i = 0; i < m->cfg.instances; i++) {
        rc = instance_init(m, &m->instances[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot run model %s (batch of %u): %s", m->path,
                     m->cfg.max_batch, f8_strerror(rc));
            return -1;
        }
        m->free_instances[m->n_free++] = m->cfg.instances - 1 - i;
    }
    if (f8d_batcher_prepare(m) != 0) {
        snprintf(err, errlen, "out of memory for model %s", m->path);
        return -1;
    }
    return 0;
}

int f8d_models_load_dir(struct f8d_models *models, const char *dir,
                        const struct f8d_batch_config *cfg, char *err, size_t errlen)
{
    return f8d_models_load_dir_with(models, dir, cfg, NULL, 0, err, errlen);
}

int f8d_models_load_dir_with(struct f8d_models *models, const char *dir,
                             const struct f8d_batch_config *cfg,
                             const struct f8d_model_config *per_model, size_t n_per_model,
                             char *err, size_t errlen)
{
    char **names;
    size_t n;

    memset(models, 0, sizeof(*models));
    if (list_models(dir, &names, &n, err, errlen) != 0)
        return -1;
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
        m->cfg = *cfg;
        for (size_t k = 0; k < n_per_model; k++) {
            if (strcmp(per_model[k].name, names[i]) == 0)
                m->cfg = per_model[k].cfg;
        }
        models->items[models->count++] = m;
        rc = open_model(m, dir, names[i], err, errlen);
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

int f8d_models_attach(struct f8d_models *models, struct f8d_server *s)
{
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = models->items[i];
        m->metrics = f8d_metrics_model(&s->metrics, m->name);
        if (m->metrics == NULL)
            return -1;
    }
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = models->items[i];
        m->server = s;
        m->refs = 1;
        uv_timer_init(&s->loop, &m->timer);
        m->timer.data = m;
        m->attached = true;
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    f8d_model_destroy(h->data);
}

void f8d_model_ref(struct f8d_model *m)
{
    m->refs++;
}

void f8d_model_unref(struct f8d_model *m)
{
    if (--m->refs > 0)
        return;
    /* No request holds it, so nothing is queued or running: close the timer, then free. */
    uv_close((uv_handle_t *)&m->timer, on_timer_closed);
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
