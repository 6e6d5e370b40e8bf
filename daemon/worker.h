/*
 * f8d workers: what a worker thread needs to answer one prediction, and the work itself.
 *
 * A slot holds one thread's private state for one model (an f8img decoder, an f8_runner and
 * the input buffer). Each model keeps a small mutex-protected pool of slots: a worker takes
 * one, uses it, gives it back; new slots are created on demand, so a model never holds more
 * slots than there are worker threads. Everything here runs off the loop thread.
 */
#ifndef F8D_WORKER_H
#define F8D_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "f8.h"
#include "f8img.h"

#define F8D_ERR_SIZE 256

struct f8d_slot {
    f8img_decoder *decoder;
    f8_runner *runner;
    uint8_t *input;        /* input_h * input_w * input_c bytes */
    struct f8d_slot *next; /* free list */
};

struct f8d_pool {
    pthread_mutex_t lock;
    struct f8d_slot *free;
    unsigned created;
};

int f8d_pool_init(struct f8d_pool *pool);
/* Frees every slot; all must have been released. */
void f8d_pool_destroy(struct f8d_pool *pool);
/* Takes a free slot or creates one. Returns 0, or a negative F8_E* code. */
int f8d_pool_acquire(struct f8d_pool *pool, const f8_model *model, struct f8d_slot **out);
void f8d_pool_release(struct f8d_pool *pool, struct f8d_slot *slot);

/* One prediction: what the loop thread hands to a worker and gets back. */
struct f8d_job {
    /* in */
    const f8_model *model;
    struct f8d_pool *pool;
    const uint8_t *body;
    size_t body_len;
    uint64_t max_pixels;
    uint32_t top_k;
    /* out: buffers of num_classes logits and top_k indices/scores, owned by the caller */
    int32_t *logits;
    uint32_t *indices;
    double *scores;
    uint32_t count;
    unsigned status;            /* HTTP status: 200, or the error's */
    char error[F8D_ERR_SIZE];   /* message for the client when status != 200 */
};

/* Maps an f8img error code to the HTTP status a client gets. */
unsigned f8d_decode_status(int f8img_err);

/* Decodes the JPEG, runs the model, ranks the classes. Fills status/error/count. */
void f8d_job_run(struct f8d_job *job);

/* Runs the model once on a blank image (warm-up, and a check that a runner can be made).
 * Returns 0 or a negative F8_E* code. */
int f8d_model_warm_up(const f8_model *model, struct f8d_pool *pool);

#endif /* F8D_WORKER_H */
