/* f8d metrics: updates on the loop thread and the Prometheus text exposition. */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "errors.h"
#include "batcher.h"
#include "request.h"
#include "server.h"

const double F8D_TIME_BOUNDS[F8D_TIME_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
const double F8D_BATCH_BOUNDS[F8D_BATCH_BUCKETS] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128};


int f8d_metrics_init(struct f8d_metrics *mx)
{
    memset(mx, 0, sizeof(*mx));
    mx->none.name = strdup("");
    mx->start_ns = uv_hrtime();
    return mx->none.name ? 0 : -1;
}

void f8d_metrics_free(struct f8d_metrics *mx)
{
    for (size_t i = 0; i < mx->count; i++) {
        free(mx->models[i]->name);
        free(mx->models[i]);
    }
    free(mx->models);
    free(mx->none.name);
    memset(mx, 0, sizeof(*mx));
}

struct f8d_model_metrics *f8d_metrics_model(struct f8d_metrics *mx, const char *name)
{
    for (size_t i = 0; i < mx->count; i++) {
        if (strcmp(mx->models[i]->name, name) == 0)
            return mx->models[i];
    }
    if (mx->count == mx->cap) {
        size_t cap = mx->cap ? mx->cap * 2 : 8;
        struct f8d_model_metrics **grown = realloc(mx->models, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        mx->models = grown;
        mx->cap = cap;
    }
    struct f8d_model_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->name = strdup(name)) == NULL) {
        free(m);
        return NULL;
    }
    mx->models[mx->count++] = m;
    return m;
}

void f8d_hist_observe(struct f8d_hist *h, const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

static void observe_time(struct f8d_hist *h, double seconds)
{
    f8d_hist_observe(h, F8D_TIME_BOUNDS, F8D_TIME_BUCKETS, seconds);
}

void f8d_metrics_request(struct f8d_model_metrics *m, const char *protocol, const char *code,
                         int err, double seconds)
{
    size_t i = 0;
    while (i < F8D_CODE_SLOTS && m->by_code[i].code[0] != '\0' &&
           (strcmp(m->by_code[i].code, code) != 0 || strcmp(m->by_code[i].protocol, protocol) != 0))
        i++;
    if (i == F8D_CODE_SLOTS) {
        m->by_code_other++;
    } else {
        struct f8d_code_count *c = &m->by_code[i];
        if (c->code[0] == '\0') {
            snprintf(c->protocol, sizeof(c->protocol), "%s", protocol);
            snprintf(c->code, sizeof(c->code), "%s", code);
        }
        c->count++;
    }
    if (err == F8D_ETOOBIG || err == F8D_EPIXELS)
        m->rejected_too_large++;
    observe_time(&m->request, seconds);
}

void f8d_metrics_batch(struct f8d_model_metrics *m, const struct f8d_batch *b)
{
    if (b->rows > 0) {
        f8d_hist_observe(&m->batch, F8D_BATCH_BOUNDS, F8D_BATCH_BUCKETS, (double)b->rows);
        observe_time(&m->compute, (double)b->compute_ns / 1e9);
        m->images += b->rows;
        if (b->width > 1)
            m->batches_wide++;
    }
    for (unsigned i = 0; i < b->n; i++) {
        const struct f8d_item *it = b->items[i];
        uint64_t q = b->start_ns > it->enqueue_ns ? b->start_ns - it->enqueue_ns : 0;
        observe_time(&m->queue, (double)q / 1e9);
        observe_time(&m->decode, (double)it->decode_ns / 1e9);
    }
}

/* ---- rendering ------------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
}

/* A label value with \, " and newline escaped (model names come from file names). */
static const char *esc(const char *s, char *out, size_t n)
{
    size_t w = 0;
    for (; *s && w + 3 < n; s++) {
        if (*s == '\\' || *s == '"') {
            out[w++] = '\\';
            out[w++] = *s;
        } else if (*s == '\n') {
            out[w++] = '\\';
            out[w++] = 'n';
        } else {
            out[w++] = *s;
        }
    }
    out[w] = '\0';
    return out;
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void hist(struct buf *b, const char *name, const char *model, const struct f8d_hist *h,
                 const double *bounds, size_t nbounds)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < nbounds; i++) {
        cum += h->counts[i];
        put(b, "%s_bucket{model=\"%s\",le=\"%g\"} %" PRIu64 "\n", name, model, bounds[i], cum);
    }
    cum += h->counts[nbounds];
    put(b, "%s_bucket{model=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name, model, cum);
    put(b, "%s_sum{model=\"%s\"} %.9g\n", name, model, h->sum);
    put(b, "%s_count{model=\"%s\"} %" PRIu64 "\n", name, model, h->count);
}

typedef const struct f8d_hist *(*hist_of)(const struct f8d_model_metrics *);
static const struct f8d_hist *h_request(const struct f8d_model_metrics *m) { return &m->request; }
static const struct f8d_hist *h_queue(const struct f8d_model_metrics *m) { return &m->queue; }
static const struct f8d_hist *h_decode(const struct f8d_model_metrics *m) { return &m->decode; }
static const struct f8d_hist *h_compute(const struct f8d_model_metrics *m) { return &m->compute; }
static const struct f8d_hist *h_batch(const struct f8d_model_metrics *m) { return &m->batch; }

static void each_hist(struct buf *b, const struct f8d_metrics *mx, const char *name,
                      const char *help, hist_of get, const double *bounds, size_t nbounds,
                      bool with_none)
{
    char e[600];
    family(b, name, "histogram", help);
    if (with_none)
        hist(b, name, "", get(&mx->none), bounds, nbounds);
    for (size_t i = 0; i < mx->count; i++)
        hist(b, name, esc(mx->models[i]->name, e, sizeof(e)), get(mx->models[i]), bounds,
             nbounds);
}

static void requests_total(struct buf *b, const struct f8d_model_metrics *m)
{
    char e[600];
    esc(m->name, e, sizeof(e));
    for (size_t i = 0; i < F8D_CODE_SLOTS && m->by_code[i].code[0] != '\0'; i++)
        put(b, "f8d_requests_total{model=\"%s\",protocol=\"%s\",code=\"%s\"} %" PRIu64 "\n", e,
            m->by_code[i].protocol, m->by_code[i].code, m->by_code[i].count);
    if (m->by_code_other != 0)
        put(b, "f8d_requests_total{model=\"%s\",protocol=\"other\",code=\"other\"} %" PRIu64 "\n",
            e, m->by_code_other);
}

char *f8d_metrics_render(const struct f8d_server *s, size_t *len)
{
    const struct f8d_metrics *mx = &s->metrics;
    struct buf b = {malloc(16384), 0, 16384, false};
    if (b.p == NULL)
        return NULL;
    char e[600];

    family(&b, "f8d_requests_total", "counter",
           "Requests answered, by model (\"\" when none or unknown), protocol and status code.");
    requests_total(&b, &mx->none);
    for (size_t i = 0; i < mx->count; i++)
        requests_total(&b, mx->models[i]);
    family(&b, "f8d_rejected_total", "counter",
           "Requests refused before inference, by model and reason.");
    for (size_t i = 0; i < mx->count; i++) {
        esc(mx->models[i]->name, e, sizeof(e));
        put(&b, "f8d_rejected_total{model=\"%s\",reason=\"queue_full\"} %" PRIu64 "\n", e,
            mx->models[i]->rejected_queue_full);
        put(&b, "f8d_rejected_total{model=\"%s\",reason=\"too_large\"} %" PRIu64 "\n", e,
            mx->models[i]->rejected_too_large);
    }
    family(&b, "f8d_inference_images_total", "counter", "Images run through the engine.");
    for (size_t i = 0; i < mx->count; i++)
        put(&b, "f8d_inference_images_total{model=\"%s\"} %" PRIu64 "\n",
            esc(mx->models[i]->name, e, sizeof(e)), mx->models[i]->images);
    family(&b, "f8d_batches_wide_total", "counter",
           "Batches run on every worker's CPU (execution: auto for a lone request, or latency).");
    for (size_t i = 0; i < mx->count; i++)
        put(&b, "f8d_batches_wide_total{model=\"%s\"} %" PRIu64 "\n",
            esc(mx->models[i]->name, e, sizeof(e)), mx->models[i]->batches_wide);
    each_hist(&b, mx, "f8d_request_duration_seconds",
              "Time from the request's first byte to its answer being queued.", h_request,
              F8D_TIME_BOUNDS, F8D_TIME_BUCKETS, true);
    each_hist(&b, mx, "f8d_queue_duration_seconds",
              "Time an image waited in its model's queue before its batch started.", h_queue,
              F8D_TIME_BOUNDS, F8D_TIME_BUCKETS, false);
    each_hist(&b, mx, "f8d_decode_duration_seconds",
              "Time to decode and resize one image on a worker thread.", h_decode,
              F8D_TIME_BOUNDS, F8D_TIME_BUCKETS, false);
    each_hist(&b, mx, "f8d_compute_duration_seconds", "Time of one engine run (one batch).",
              h_compute, F8D_TIME_BOUNDS, F8D_TIME_BUCKETS, false);
    each_hist(&b, mx, "f8d_batch_size", "Images per engine run.", h_batch, F8D_BATCH_BOUNDS,
              F8D_BATCH_BUCKETS, false);

    family(&b, "f8d_queue_depth", "gauge", "Images waiting in the model's queue.");
    for (size_t i = 0; i < s->models.count; i++)
        put(&b, "f8d_queue_depth{model=\"%s\"} %u\n", esc(s->models.items[i]->name, e, sizeof(e)),
            f8d_batcher_queued(&s->models.items[i]->batcher));
    family(&b, "f8d_batches_running", "gauge", "Batches of the model running on workers.");
    for (size_t i = 0; i < s->models.count; i++)
        put(&b, "f8d_batches_running{model=\"%s\"} %u\n",
            esc(s->models.items[i]->name, e, sizeof(e)), s->models.items[i]->batcher.running);
    family(&b, "f8d_images_dropped_total", "counter",
           "Queued images dropped before a worker took them, by reason: the client went away "
           "(cancelled) or the request's deadline passed (deadline).");
    for (size_t i = 0; i < mx->count; i++) {
        const char *name = esc(mx->models[i]->name, e, sizeof(e));
        put(&b, "f8d_images_dropped_total{model=\"%s\",reason=\"cancelled\"} %" PRIu64 "\n",
            name, mx->models[i]->dropped_cancelled);
        put(&b, "f8d_images_dropped_total{model=\"%s\",reason=\"deadline\"} %" PRIu64 "\n",
            name, mx->models[i]->dropped_deadline);
    }
    family(&b, "f8d_workers", "gauge", "Inference worker threads.");
    put(&b, "f8d_workers %u\n", s->pool.n_workers);
    family(&b, "f8d_workers_busy", "gauge", "Inference workers running a batch.");
    put(&b, "f8d_workers_busy %u\n", s->pool.busy);
    family(&b, "f8d_models_loaded", "gauge", "Models being served.");
    put(&b, "f8d_models_loaded %zu\n", s->models.count);
    family(&b, "f8d_requests_in_flight", "gauge", "HTTP requests received and not yet answered.");
    put(&b, "f8d_requests_in_flight %u\n", s->active_requests);
    family(&b, "f8d_reloads_total", "counter", "Model reloads (SIGHUP or endpoint), by result.");
    put(&b, "f8d_reloads_total{result=\"ok\"} %" PRIu64 "\n", mx->reloads_ok);
    put(&b, "f8d_reloads_total{result=\"failed\"} %" PRIu64 "\n", mx->reloads_failed);
    family(&b, "f8d_build_info", "gauge",
           "1, labelled with the daemon's version, libuv's and the engine's best kernel path.");
    put(&b, "f8d_build_info{version=\"%s\",libuv=\"%s\",isa=\"%s\"} 1\n", F8D_VERSION,
        uv_version_string(), f8_isa_name(f8_isa_best()));
    family(&b, "f8d_uptime_seconds", "gauge", "Seconds since the daemon started.");
    put(&b, "f8d_uptime_seconds %.3f\n", (double)(uv_hrtime() - mx->start_ns) / 1e9);

    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
