/* f8d batch: decode and run one batch on a worker thread. */
#include "batch.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "errors.h"
#include "models.h"
#include "request.h"

int f8d_worker_state_init(struct f8d_worker_state *w, unsigned id)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    return f8img_decoder_create(&w->decoder) == 0 ? F8D_OK : F8D_ENOMEM;
}

void f8d_worker_state_free(struct f8d_worker_state *w)
{
    if (w->decoder != NULL)
        f8img_decoder_destroy(w->decoder);
    free(w->arena);
    free(w->input);
    free(w->logits);
    memset(w, 0, sizeof(*w));
}

int f8d_decode_error(int err)
{
    switch (err) {
    case F8IMG_OK: return F8D_OK;
    case F8IMG_EUNSUPPORTED: /* not a JPEG: a client mistake */
    case F8IMG_EDECODE: return F8D_EDECODE;
    case F8IMG_ETOOLARGE: return F8D_EPIXELS;
    case F8IMG_ENOMEM: return F8D_ENOMEM;
    default: return F8D_EINTERNAL;
    }
}

/* Grows *buf to at least `need` bytes (64-byte aligned when `aligned`). */
static int grow(void **buf, size_t *cap, size_t need, int aligned)
{
    if (need <= *cap)
        return 0;
    void *p = NULL;
    if (aligned ? posix_memalign(&p, 64, need) != 0 : (p = malloc(need)) == NULL)
        return -1;
    free(*buf);
    *buf = p;
    *cap = need;
    return 0;
}

/* This worker's runner for the model, planned on first use (it lends the worker's arena):
 * the one on its own CPU, or (wide) the one whose threads use every worker's. */
static f8_runner *runner_for(struct f8d_model *m, struct f8d_worker_state *w, bool wide,
                             int *rc)
{
    assert(w->id < m->n_runners);
    f8_runner **slot = wide ? &m->wide_runners[w->id] : &m->runners[w->id];
    f8_runner *r = *slot; /* only this worker touches this slot */
    if (r == NULL) {
        f8_runner_options o = {.threads = wide ? m->n_runners : m->cfg.engine_threads,
                               .isa = F8_ISA_AUTO, .lend_arena = 1};
        *rc = f8_runner_create_opts(m->model, m->cfg.max_batch_size, &o, &r);
        if (*rc != 0)
            return NULL;
        *slot = r;
    }
    size_t need = f8_runner_arena_bytes(r);
    if (grow(&w->arena, &w->arena_cap, need ? need : 64, 1) != 0) {
        *rc = F8_ENOMEM;
        return NULL;
    }
    *rc = f8_runner_set_arena(r, w->arena, w->arena_cap);
    return *rc == 0 ? r : NULL;
}

static void fail_item(struct f8d_item *it, int code, const char *msg)
{
    it->err = code;
    snprintf(it->message, sizeof(it->message), "%s", msg);
}

/* Decodes (or copies) each item into its row; returns the rows filled. */
static unsigned fill_rows(struct f8d_batch *b, struct f8d_worker_state *w)
{
    struct f8d_model *m = b->model;
    const f8_model_info *info = m->info;
    char err[F8D_ITEM_ERR_SIZE];
    unsigned rows = 0;
    for (unsigned i = 0; i < b->n; i++) {
        struct f8d_item *it = b->items[i];
        uint8_t *dst = w->input + (size_t)rows * m->image_bytes;
        uint64_t t0 = uv_hrtime();
        it->err = F8D_OK;
        if (it->raw) {
            memcpy(dst, it->data, m->image_bytes);
            if (it->decoded != NULL) { /* decoded before it queued: that time counts */
                it->row = rows++;
                continue;
            }
        } else {
            err[0] = '\0';
            int rc = f8img_decode_to_input(w->decoder, it->data, it->len, info->input_h,
                                           info->input_w, info->input_c, m->cfg.max_pixels, dst,
                                           err, sizeof(err));
            if (rc != 0) {
                it->decode_ns = uv_hrtime() - t0;
                fail_item(it, f8d_decode_error(rc), err[0] ? err : f8img_strerror(rc));
                continue;
            }
        }
        it->decode_ns = uv_hrtime() - t0;
        it->row = rows++;
    }
    return rows;
}

void f8d_batch_run(struct f8d_batch *b, struct f8d_worker_state *w)
{
    struct f8d_model *m = b->model;
    size_t c = m->info->num_classes;
    int rc = 0;

    b->start_ns = uv_hrtime();
    b->rows = 0;
    b->compute_ns = 0;
    f8_runner *r = runner_for(m, w, b->width > 1, &rc);
    if (r == NULL || grow((void **)&w->input, &w->input_cap, b->n * m->image_bytes + 1, 0) != 0 ||
        grow((void **)&w->logits, &w->logits_cap, b->n * c * sizeof(int32_t) + 1, 0) != 0) {
        char msg[F8D_ITEM_ERR_SIZE];
        snprintf(msg, sizeof(msg), "cannot run model %s: %s", m->name,
                 f8_strerror(rc ? rc : F8_ENOMEM));
        for (unsigned i = 0; i < b->n; i++)
            fail_item(b->items[i], rc == F8_ENOMEM || rc == 0 ? F8D_ENOMEM : F8D_EINTERNAL, msg);
        return;
    }
    unsigned rows = fill_rows(b, w);
    b->rows = rows;
    if (rows == 0)
        return;
    uint64_t t0 = uv_hrtime();
    rc = f8_run(r, w->input, rows, w->logits);
    b->compute_ns = uv_hrtime() - t0;
    for (unsigned i = 0; i < b->n; i++) {
        struct f8d_item *it = b->items[i];
        if (it->err != F8D_OK)
            continue;
        if (rc != 0) {
            char msg[F8D_ITEM_ERR_SIZE];
            snprintf(msg, sizeof(msg), "inference failed: %s", f8_strerror(rc));
            fail_item(it, F8D_EINTERNAL, msg);
            continue;
        }
        memcpy(it->logits, w->logits + (size_t)it->row * c, c * sizeof(int32_t));
    }
}
