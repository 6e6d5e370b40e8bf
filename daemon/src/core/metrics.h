/*
 * f8d metrics: counters and histograms kept on the loop thread (no locks, no atomics: every
 * update happens there), rendered in the Prometheus text exposition format 0.0.4.
 *
 * Per model name (kept across reloads; requests naming no known model count under
 * model=""): requests by status code, rejections by reason, request / queue / decode /
 * compute time histograms, batch size histogram. Gauges (queue depth, running batches,
 * models loaded, requests in flight) are read from the server when rendered.
 */
#ifndef F8D_METRICS_H
#define F8D_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define F8D_TIME_BUCKETS 16
#define F8D_BATCH_BUCKETS 12
#define F8D_CODE_SLOTS 16

struct f8d_server;
struct f8d_batch;

struct f8d_hist {
    uint64_t counts[F8D_TIME_BUCKETS + 1]; /* per bucket (not cumulative); last = +Inf */
    uint64_t count;
    double sum;
};

struct f8d_model_metrics {
    char *name;
    /* answered requests by protocol and the front end's status label ("http" "200",
     * "grpc" "NOT_FOUND"): the first F8D_CODE_SLOTS pairs seen get a counter, later ones
     * count as "other" */
    struct f8d_code_count {
        char protocol[8];
        char code[24];
        uint64_t count;
    } by_code[F8D_CODE_SLOTS];
    uint64_t by_code_other;
    uint64_t images;                 /* images that reached the engine */
    uint64_t batches_wide;           /* batches run on every worker's CPU */
    uint64_t rejected_queue_full;    /* F8D_EOVERLOAD */
    uint64_t rejected_too_large;     /* F8D_ETOOBIG, F8D_EPIXELS */
    uint64_t dropped_cancelled;      /* queued images whose client went away */
    uint64_t dropped_deadline;       /* queued images whose deadline passed */
    struct f8d_hist request, queue, decode, compute, batch;
};

struct f8d_metrics {
    struct f8d_model_metrics **models;
    size_t count, cap;
    struct f8d_model_metrics none;   /* model="" */
    uint64_t reloads_ok, reloads_failed;
    uint64_t start_ns;
};

int f8d_metrics_init(struct f8d_metrics *mx);
void f8d_metrics_free(struct f8d_metrics *mx);

/* The metrics of a model name, created on first use; NULL when out of memory. */
struct f8d_model_metrics *f8d_metrics_model(struct f8d_metrics *mx, const char *name);

/* One answered request: its protocol ("http", "grpc"), the status label its front end
 * answered with ("200", "OK"), its F8D_E* code (F8D_OK when it succeeded) and its time from
 * arrival to answer queued. */
void f8d_metrics_request(struct f8d_model_metrics *m, const char *protocol, const char *code,
                         int err, double seconds);

/* One finished batch: batch size, compute time, each image's queue and decode time. */
void f8d_metrics_batch(struct f8d_model_metrics *m, const struct f8d_batch *b);

/* Histogram helpers (exposed for tests): time buckets in seconds, batch buckets in images. */
void f8d_hist_observe(struct f8d_hist *h, const double *bounds, size_t nbounds, double v);
extern const double F8D_TIME_BOUNDS[F8D_TIME_BUCKETS];
extern const double F8D_BATCH_BOUNDS[F8D_BATCH_BUCKETS];

/* The exposition text (malloc'd; the caller frees), or NULL when out of memory. */
char *f8d_metrics_render(const struct f8d_server *s, size_t *len);

#endif /* F8D_METRICS_H */
