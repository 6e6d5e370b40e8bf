/*
 * f8d batch: the images of one engine run, and what one worker needs to run them.
 *
 * The pool's loop side fills a batch with items taken from a model's batcher and hands it to
 * an idle worker; the worker decodes each JPEG straight into its row of the worker's input
 * buffer (so the loop thread never decodes), runs the model's runner for that worker on all
 * the rows at once in the worker's one arena, and copies each image's logits to its item.
 *
 * A worker keeps one decoder and one arena, input and logits buffer for every model it runs
 * (each grown to the largest it has needed), and one planned runner per model it has run,
 * created on first use and kept by the model: memory grows with models + workers x one arena,
 * not models x workers.
 */
#ifndef F8D_BATCH_H
#define F8D_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "f8img.h"

struct f8d_item;
struct f8d_model;

/* What one worker thread owns. */
struct f8d_worker_state {
    unsigned id;                /* index into each model's runners */
    f8img_decoder *decoder;
    void *arena;                /* lent to every runner this worker runs (64-byte aligned) */
    size_t arena_cap;
    uint8_t *input;
    size_t input_cap;
    int32_t *logits;
    size_t logits_cap;
};

struct f8d_batch {
    struct f8d_batch *next;     /* the pool's lists */
    struct f8d_model *model;    /* a reference while the batch is out */
    struct f8d_item **items;
    unsigned n, cap;
    unsigned width;             /* workers it occupies: 1, or all of them (a wide batch runs
                                 * on every CPU while the other workers wait) */
    unsigned rows;              /* images that reached the engine */
    uint64_t start_ns, compute_ns;
};

/* Makes a worker's decoder. Returns F8D_OK or F8D_ENOMEM. */
int f8d_worker_state_init(struct f8d_worker_state *w, unsigned id);
void f8d_worker_state_free(struct f8d_worker_state *w);

/* Worker side of one batch: decode, run, copy logits; each item's err says how it went. */
void f8d_batch_run(struct f8d_batch *b, struct f8d_worker_state *w);

/* Maps an f8img error code to the F8D_E* code a client gets. */
int f8d_decode_error(int f8img_err);

#endif /* F8D_BATCH_H */
