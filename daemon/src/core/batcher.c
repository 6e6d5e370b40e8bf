/* f8d batcher: queue, deadline timer, batch jobs on workers, completion on the loop. */
#include "batcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/handlers.h"
#include "http/http_loop.h"
#include "metrics.h"
#include "server.h"

unsigned f8d_decode_status(int err)
{
    switch (err) {
    case F8IMG_OK: return 200;
    case F8IMG_EUNSUPPORTED: /* not a JPEG: a client mistake */
    case F8IMG_EDECODE: return 400;
    case F8IMG_ETOOLARGE: return 422;
    case F8IMG_ENOMEM: return 503;
    default: return 500;
    }
}

int f8d_batcher_prepare(struct f8d_model *m)
{
    for (unsigned i = 0; i < m->cfg.instances; i++) {
        struct f8d_batch *b = calloc(1, sizeof(*b));
        if (b == NULL)
            return -1;
        m->instances[i].batch = b;
        b->model = m;
        b->instance = i;
        b->work.data = b;
        b->items = calloc(m->cfg.max_batch, sizeof(*b->items));
        if (b->items == NULL)
            return -1;
    }
    return 0;
}

void f8d_batcher_free(struct f8d_model *m)
{
    for (unsigned i = 0; m->instances != NULL && i < m->cfg.instances; i++) {
        struct f8d_batch *b = m->instances[i].batch;
        if (b != NULL)
            free(b->items);
        free(b);
        m->instances[i].batch = NULL;
    }
}

unsigned f8d_batcher_queued(const struct f8d_model *m)
{
    return m->q_len;
}

unsigned f8d_batcher_running(const struct f8d_model *m)
{
    return m->cfg.instances - m->n_free;
}

unsigned f8d_batcher_submit(struct f8d_model *m, struct f8d_item *items, unsigned n)
{
    if (n > m->cfg.max_queue - m->q_len)
        return 503;
    uint64_t now = uv_hrtime();
    for (unsigned i = 0; i < n; i++) {
        items[i].enqueue_ns = now;
        items[i].status = 0;
        m->queue[(m->q_head + m->q_len) % m->cfg.max_queue] = &items[i];
        m->q_len++;
    }
    f8d_batcher_pump(m);
    return 0;
}

void f8d_batch_run(struct f8d_batch *b)
{
    struct f8d_model *m = b->model;
    struct f8d_instance *inst = &m->instances[b->instance];
    const f8_model_info *info = m->info;
    char err[F8D_ITEM_ERR_SIZE];

    b->start_ns = uv_hrtime();
    unsigned rows = 0;
    for (unsigned i = 0; i < b->n; i++) {
        struct f8d_item *it = b->items[i];
        uint8_t *dst = inst->input + (size_t)rows * m->image_bytes;
        uint64_t t0 = uv_hrtime();
        if (it->raw) {
            memcpy(dst, it->data, m->image_bytes);
        } else {
            err[0] = '\0';
            int rc = f8img_decode_to_input(inst->decoder, it->data, it->len, info->input_h,
                                           info->input_w, info->input_c, m->cfg.max_pixels,
                                           dst, err, sizeof(err));
            if (rc != 0) {
                it->decode_ns = uv_hrtime() - t0;
                it->status = f8d_decode_status(rc);
                snprintf(it->error, sizeof(it->error), "%s", err[0] ? err : f8img_strerror(rc));
                continue;
            }
        }
        it->decode_ns = uv_hrtime() - t0;
        it->row = rows++;
        it->status = 200;
    }
    b->rows = rows;
    b->compute_ns = 0;
    if (rows == 0)
        return;
    uint64_t t0 = uv_hrtime();
    int rc = f8_run(inst->runner, inst->input, rows, inst->logits);
    b->compute_ns = uv_hrtime() - t0;
    size_t c = info->num_classes;
    for (unsigned i = 0; i < b->n; i++) {
        struct f8d_item *it = b->items[i];
        if (it->status != 200)
            continue;
        if (rc != 0) {
            it->status = 500;
            snprintf(it->error, sizeof(it->error), "inference failed: %s", f8_strerror(rc));
            continue;
        }
        memcpy(it->logits, inst->logits + (size_t)it->row * c, c * sizeof(int32_t));
    }
}

static void batch_work(uv_work_t *w)
{
    f8d_batch_run(w->data);
}

static void batch_done(uv_work_t *w, int status)
{
    struct f8d_batch *b = w->data;
    struct f8d_model *m = b->model;
    struct f8d_server *s = m->server;

    f8d_model_ref(m); /* the requests told below may drop the last references */
    s->batches_in_flight--;
    if (m->metrics != NULL)
        f8d_metrics_batch(m->metrics, b);
    for (unsigned i = 0; i < b->n; i++) {
        struct f8d_item *it = b->items[i];
        if (status != 0) { /* UV_ECANCELED: never cancelled, but answer sensibly */
            it->status = 503;
            snprintf(it->error, sizeof(it->error), "the batch was cancelled");
        }
        b->items[i] = NULL;
        f8d_request_item_done(it->req, it);
    }
    b->n = 0;
    m->free_instances[m->n_free++] = b->instance;
    f8d_batcher_pump(m);
    f8d_model_unref(m);
    f8d_http_run(s);
}

static void on_deadline(uv_timer_t *t)
{
    struct f8d_model *m = t->data;
    f8d_batcher_pump(m);
    f8d_http_run(m->server);
}

void f8d_batcher_pump(struct f8d_model *m)
{
    struct f8d_server *s = m->server;
    uint64_t now = uv_hrtime();

    while (m->q_len > 0 && m->n_free > 0) {
        struct f8d_item *oldest = m->queue[m->q_head];
        bool full = m->q_len >= m->cfg.max_batch;
        bool expired = now - oldest->enqueue_ns >= m->cfg.max_delay_ns;
        if (!full && !expired && !s->stopping)
            break;
        unsigned idx = m->free_instances[--m->n_free];
        struct f8d_batch *b = m->instances[idx].batch;
        unsigned n = m->q_len < m->cfg.max_batch ? m->q_len : m->cfg.max_batch;
        for (unsigned i = 0; i < n; i++) {
            b->items[i] = m->queue[m->q_head];
            m->q_head = (m->q_head + 1) % m->cfg.max_queue;
        }
        m->q_len -= n;
        b->n = n;
        int rc = uv_queue_work(&s->loop, &b->work, batch_work, batch_done);
        if (rc != 0) { /* only on bad arguments: put everything back, retry on the timer */
            m->q_head = (m->q_head + m->cfg.max_queue - n) % m->cfg.max_queue;
            m->q_len += n;
            b->n = 0;
            m->free_instances[m->n_free++] = idx;
            uv_timer_start(&m->timer, on_deadline, 1, 0);
            return;
        }
        s->batches_in_flight++;
    }
    if (m->q_len > 0 && m->n_free > 0) {
        uint64_t waited = now - m->queue[m->q_head]->enqueue_ns;
        uint64_t left = m->cfg.max_delay_ns > waited ? m->cfg.max_delay_ns - waited : 0;
        uv_timer_start(&m->timer, on_deadline, (left + 999999) / 1000000, 0);
    } else if (m->attached) {
        uv_timer_stop(&m->timer);
    }
}
