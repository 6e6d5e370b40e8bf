/*
 * f8d models: every DIR/NAME.f8, opened, validated and warmed up, served as model NAME.
 *
 * A model object is immutable once loaded (the engine's model, its instances) plus the
 * batcher state that the loop thread owns (batcher.h). It is reference-counted on the loop
 * thread: the registry holds one reference, each request that named it another. A reload
 * builds a whole new registry off the loop (f8d_models_load_dir is thread-safe and touches
 * no libuv handle), then swaps it in; the old models are freed when their last request ends.
 */
#ifndef F8D_MODELS_H
#define F8D_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "f8.h"
#include "f8img.h"

struct f8d_item;
struct f8d_server;
struct f8d_model_metrics;

/* One instance: what one worker thread needs to run one batch of this model. */
struct f8d_instance {
    f8_runner *runner;          /* planned for max_batch images */
    f8img_decoder *decoder;
    uint8_t *input;             /* max_batch * image_bytes */
    int32_t *logits;            /* max_batch * num_classes */
    struct f8d_batch *batch;    /* the batch job that uses it (batcher.c) */
};

struct f8d_batch_config {
    unsigned max_batch;         /* images per f8_run */
    unsigned instances;         /* batches that may run at once */
    unsigned engine_threads;    /* threads inside one f8_run */
    unsigned max_queue;         /* queued images at most */
    uint64_t max_delay_ns;      /* max_queue_delay_us, in ns */
    uint64_t max_pixels;
};

/* Settings for one model by name (a [model NAME] config section), over the default. */
struct f8d_model_config {
    const char *name;
    struct f8d_batch_config cfg;
};

struct f8d_model {
    char *name;                 /* file name without ".f8" */
    char *path;
    f8_model *model;
    const f8_model_info *info;
    size_t image_bytes;         /* input_h * input_w * input_c */
    struct f8d_batch_config cfg;
    struct f8d_instance *instances; /* cfg.instances of them */

    /* Loop-thread state, set up by f8d_model_attach. */
    struct f8d_server *server;
    unsigned refs;
    struct f8d_item **queue;    /* ring of cfg.max_queue items */
    unsigned q_head, q_len;
    unsigned *free_instances;   /* stack of idle instance indices */
    unsigned n_free;
    uv_timer_t timer;           /* the oldest queued image's deadline */
    bool attached;
    struct f8d_model_metrics *metrics;
};

struct f8d_models {
    struct f8d_model **items;   /* sorted by name */
    size_t count;
};

/* Opens every NAME.f8 in dir (dot files skipped), creates cfg->instances instances of each
 * and warms each up (batch of 1 and of max_batch). Fails with a message when the directory
 * cannot be read, holds no .f8 file, or any model does not open (the engine's message) or
 * cannot run. On failure nothing stays allocated. Safe on any thread. */
int f8d_models_load_dir(struct f8d_models *models, const char *dir,
                        const struct f8d_batch_config *cfg, char *err, size_t errlen);

/* Same, with per-model settings: a model named in per_model[0..n) gets that entry's cfg. */
int f8d_models_load_dir_with(struct f8d_models *models, const char *dir,
                             const struct f8d_batch_config *cfg,
                             const struct f8d_model_config *per_model, size_t n, char *err,
                             size_t errlen);

/* The model called name, or NULL. */
struct f8d_model *f8d_models_find(const struct f8d_models *models, const char *name);

/* Loop thread: starts each model's timer and queue and takes the registry's reference.
 * Returns 0 or -1 (out of memory: nothing attached). */
int f8d_models_attach(struct f8d_models *models, struct f8d_server *s);

/* Loop thread: drops the registry's references (attached models are freed when unused) and
 * frees the array. Models never attached are freed at once. */
void f8d_models_release(struct f8d_models *models);

void f8d_model_ref(struct f8d_model *m);
void f8d_model_unref(struct f8d_model *m);

/* Frees a model that was never attached (or whose timer is closed). */
void f8d_model_destroy(struct f8d_model *m);

#endif /* F8D_MODELS_H */
