/* f8d model registry: load a directory, look models up by name, free them. */
#include "models.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static int open_model(struct f8d_model *m, const char *dir, char *name, char *err,
                      size_t errlen)
{
    char msg[F8_ERRMSG_SIZE] = "";
    size_t plen = strlen(dir) + strlen(name) + sizeof(SUFFIX) + 2;

    m->name = name;
    m->path = malloc(plen);
    if (m->path == NULL) {
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
    if (f8d_pool_init(&m->pool) != 0) {
        snprintf(err, errlen, "cannot create a worker pool for %s", m->path);
        return -1;
    }
    m->pool_ready = 1;
    rc = f8d_model_warm_up(m->model, &m->pool);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run model %s: %s", m->path, f8_strerror(rc));
        return -1;
    }
    return 0;
}

int f8d_models_load_dir(struct f8d_models *models, const char *dir, char *err, size_t errlen)
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
    size_t i;
    for (i = 0; i < n; i++) {
        models->count = i + 1; /* the model owns names[i] from here on */
        if (open_model(&models->items[i], dir, names[i], err, errlen) != 0)
            break;
    }
    for (size_t j = i + 1; j < n; j++)
        free(names[j]);
    free(names);
    if (i < n) {
        f8d_models_free(models);
        return -1;
    }
    return 0;
}

struct f8d_model *f8d_models_find(const struct f8d_models *models, const char *name)
{
    for (size_t i = 0; i < models->count; i++) {
        if (strcmp(models->items[i].name, name) == 0)
            return &models->items[i];
    }
    return NULL;
}

void f8d_models_free(struct f8d_models *models)
{
    for (size_t i = 0; i < models->count; i++) {
        struct f8d_model *m = &models->items[i];
        if (m->pool_ready)
            f8d_pool_destroy(&m->pool);
        if (m->model != NULL)
            f8_model_close(m->model);
        free(m->path);
        free(m->name);
    }
    free(models->items);
    models->items = NULL;
    models->count = 0;
}
