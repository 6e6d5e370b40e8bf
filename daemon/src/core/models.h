/*
 * f8d models: every DIR/NAME.f8, opened, validated and warmed up, served as model NAME.
 *
 * A model object is immutable once loaded (the engine's model and settings), plus its batcher
 * (batcher.h), which the loop thread owns, and one runner slot per inference worker, which
 * that worker fills on first use and alone touches (batch.h). It is reference-counted on the
 * loop thread: the registry holds one reference, each request that named it and each batch
 * out on a worker another. A reload builds a whole new registry off the loop
 * (f8d_models_load_dir is thread-safe and touches no libuv handle), then swaps it in; the old
 * models are freed when their last request and batch are done.
 */
#ifndef F8D_MODELS_H
#define F8D_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "batcher.h"
#include "f8.h"
#include "options.h"

struct f8d_pool;
struct f8d_metrics;
struct f8d_model_metrics;

struct f8d_model {
    char *name;                 /* file name without ".f8" */
    char *path;
    f8_model *model;
    const f8_model_info *info;
    size_t image_bytes;         /* input_h * input_w * input_c */
    struct f8d_model_settings cfg; /* from the options: its [model] section over the globals */
    size_t arena_bytes;         /* one runner's activations for max_batch images */
    f8_isa isa;                 /* the kernel path its runners use */
    f8_runner **runners;        /* [n_runners]: worker i's, made by worker i on first use */
    unsigned n_runners;

    /* Loop-thread state, set up by f8d_models_attach. */
    struct f8d_batcher batcher;
    unsigned refs;
    bool attached;
    uv_work_t destroy;          /* frees it off the loop once the last reference is gone */
    struct f8d_model_metrics *metrics;
};

struct f8d_models {
    struct f8d_model **items;   /* sorted by name */
    size_t count;
};

/* Opens every NAME.f8 in dir (dot files skipped) with its settings from opts
 * (f8d_options_model), plans a runner for each and warms it up (batch of 1 and of
 * max_batch_size, then frees it: the workers plan their own), and makes room for n_workers
 * runners and a max_queue queue. Fails with a message when the directory cannot be read,
 * holds no .f8 file, or any model does not open (the engine's message) or cannot run. On
 * failure nothing stays allocated. Safe on any thread (opts is only read). */
int f8d_models_load_dir(struct f8d_models *models, const char *dir,
                        const struct f8d_options *opts, unsigned n_workers, char *err,
                        size_t errlen);

/* The model called name, or NULL. */
struct f8d_model *f8d_models_find(const struct f8d_models *models, const char *name);

/* Loop thread: gets each model's metrics, attaches its batcher to the pool and takes the
 * registry's reference. Returns 0 or -1 (out of memory: nothing attached). */
int f8d_models_attach(struct f8d_models *models, struct f8d_pool *pool,
                      struct f8d_metrics *metrics);

/* Loop thread: drops the registry's references (attached models are freed when unused) and
 * frees the array. Models never attached are freed at once. */
void f8d_models_release(struct f8d_models *models);

void f8d_model_ref(struct f8d_model *m);
void f8d_model_unref(struct f8d_model *m);

/* Frees a model that was never attached (or whose batcher is detached). */
void f8d_model_destroy(struct f8d_model *m);

#endif /* F8D_MODELS_H */
