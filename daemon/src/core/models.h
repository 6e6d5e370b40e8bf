/*
 * f8d models: every DIR/NAME.f8 (version 1) and DIR/NAME/VERSION/model.f8 (the highest
 * VERSION), opened, validated and warmed up, served as model NAME.
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

#include "background.h"
#include "batcher.h"
#include "f8.h"
#include "options.h"

struct f8d_pool;
struct f8d_metrics;
struct f8d_model_metrics;

struct f8d_model {
    char *name;                 /* NAME of NAME.f8 or of NAME/VERSION/model.f8 (or model_name) */
    char *path;
    char version[24];           /* "1" for NAME.f8; VERSION, the highest, for NAME/VERSION/ */
    struct f8d_file_id {        /* the file as it was loaded: a reload keeps the model while
                                 * its file is the same (device, inode, size, mtime) */
        unsigned long long dev, ino, size;
        long long mtime_s, mtime_ns;
    } file;
    f8_model *model;
    const f8_model_info *info;
    size_t image_bytes;         /* input_h * input_w * input_c */
    struct f8d_model_settings cfg; /* from the options: its [model] section over the globals */
    size_t arena_bytes;         /* one runner's activations for max_batch images */
    f8_isa isa;                 /* the kernel path its runners use */
    uint64_t image_ns;          /* one image through the model at load (its runner's threads) */
    f8_runner **runners;        /* [n_runners]: worker i's, made by worker i on first use */
    f8_runner **wide_runners;   /* [n_runners]: worker i's runner on every worker's CPU (with
                                 * n_runners threads), for batches that have the pool to
                                 * themselves (`execution`); made on first use */
    unsigned n_runners;

    /* Loop-thread state, set up by f8d_models_attach. */
    struct f8d_batcher batcher;
    unsigned refs;
    bool attached;
    struct f8d_bg_job destroy;  /* frees it off the loop once the last reference is gone */
    struct f8d_model_metrics *metrics;
};

struct f8d_models {
    struct f8d_model **items;   /* sorted by name */
    size_t count;
};

/* Opens every NAME.f8 in dir (dot files skipped) with its settings from opts
 * (f8d_options_model), plans a runner for each (for max_batch_size) and warms it up (a
 * batch of 1, then frees it: the workers plan their own), and makes room for n_workers
 * runners and a max_queue queue. Fails with a message when the directory cannot be read,
 * holds no .f8 file, or any model does not open (the engine's message) or cannot run. On
 * failure nothing stays allocated. Safe on any thread (opts is only read). */
int f8d_models_load_dir(struct f8d_models *models, const char *dir,
                        const struct f8d_options *opts, unsigned n_workers, char *err,
                        size_t errlen);

/* A model that did not load, and why (a reload lists them instead of failing). */
struct f8d_load_fault {
    char name[256];
    char reason[512];
};

struct f8d_load_faults {
    struct f8d_load_fault *items;
    size_t count;
};

void f8d_load_faults_free(struct f8d_load_faults *faults);

/* As f8d_models_load_dir, but each model on its own: one that does not open or run is listed
 * in *faults (cleared first) and the others load. A model of `keep` (the registry being
 * served; may be NULL) whose file is unchanged is put in *models as it is, not loaded again:
 * the caller (on the loop) takes a reference for each attached model it finds there. Fails
 * only when the directory cannot be read or holds no .f8 file (or with model_name, holds
 * several). Any thread; `keep` is only read (names, paths, file ids: fixed once loaded). */
int f8d_models_load_each(struct f8d_models *models, const char *dir,
                         const struct f8d_options *opts, unsigned n_workers,
                         const struct f8d_models *keep, struct f8d_load_faults *faults,
                         char *err, size_t errlen);

/* Loads the model called name: dir/name.f8 (with model_name, the directory's one model).
 * Returns F8D_OK with *out (not attached), F8D_ENOTFOUND when there is no such file, or
 * F8D_ELOAD with the engine's message. Any thread. */
int f8d_models_load_one(struct f8d_model **out, const char *dir, const char *name,
                        const struct f8d_options *opts, unsigned n_workers, char *err,
                        size_t errlen);

/* Loop thread: a new registry in *out holding every model of `from` (each referenced again)
 * but the one called `drop` (NULL: none), plus `add` (NULL: none; not attached yet; it
 * replaces a model of its name). Attach it (f8d_models_attach skips the models already
 * attached), then release `from`. Returns 0, or -1 when out of memory (nothing referenced). */
int f8d_models_merge(const struct f8d_models *from, struct f8d_model *add, const char *drop,
                     struct f8d_models *out);

/* The model called name, or NULL. */
struct f8d_model *f8d_models_find(const struct f8d_models *models, const char *name);

/* Loop thread: gets each model's metrics, attaches its batcher to the pool and takes the
 * registry's reference (models already attached are left as they are). Returns 0 or -1 (out
 * of memory: nothing attached). */
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
