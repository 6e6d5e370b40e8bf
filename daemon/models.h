/*
 * f8d model registry: every DIR/NAME.f8, opened, validated and warmed up at startup, served
 * as model NAME. The registry is immutable while the daemon serves.
 */
#ifndef F8D_MODELS_H
#define F8D_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "f8.h"
#include "worker.h"

struct f8d_model {
    char *name;                 /* file name without ".f8" */
    char *path;
    f8_model *model;
    const f8_model_info *info;
    struct f8d_pool pool;       /* worker slots for this model */
    int pool_ready;             /* pool initialised (to destroy) */
};

struct f8d_models {
    struct f8d_model *items;    /* sorted by name */
    size_t count;
};

/* Opens every NAME.f8 in dir (dot files skipped). Fails with a message when the directory
 * cannot be read, holds no .f8 file, or any model does not open (the engine's message) or
 * cannot run. On failure nothing stays allocated. */
int f8d_models_load_dir(struct f8d_models *models, const char *dir, char *err, size_t errlen);

/* The model called name, or NULL. */
struct f8d_model *f8d_models_find(const struct f8d_models *models, const char *name);

void f8d_models_free(struct f8d_models *models);

#endif /* F8D_MODELS_H */
