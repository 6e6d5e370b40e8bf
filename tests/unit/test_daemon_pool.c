/*
 * The core on a real libuv loop, without HTTP: protocol-free requests submitted to a model's
 * batcher and run by the inference pool (one worker), completed through their callback with
 * the engine's logits; a request past its deadline refused by submit; a cancelled request's
 * queued images dropped without running; a full queue refused.
 *
 * Uses models/fashion.f8 (run from the repository root, as `make test-c` does).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/errors.h"
#include "core/metrics.h"
#include "core/models.h"
#include "core/pool.h"
#include "core/request.h"
#include "unit.h"

static uv_loop_t loop;
static struct f8d_pool pool;
static struct f8d_metrics metrics;
static struct f8d_models models;
static unsigned done_calls;
static unsigned batch_sizes[16], n_batches; /* the batches run, in the order they finished */

static void on_done(struct f8d_request *req)
{
    (void)req;
    done_calls++;
}

/* What the server does with a finished batch: its metrics. */
static void on_batch(struct f8d_batch *b, void *arg)
{
    (void)arg;
    if (n_batches < 16)
        batch_sizes[n_batches] = b->n;
    n_batches++;
    f8d_metrics_batch(b->model->metrics, b);
}

static void pool_closed(uv_handle_t *h)
{
    (void)h;
}

/* Loads models/ with the given delay, queue and largest batch, on a pool of `workers`. */
static int start_with(unsigned delay_us, unsigned max_queue, unsigned max_batch, unsigned workers)
{
    struct f8d_options opts;
    char err[512];
    f8d_options_defaults(&opts);
    opts.model.max_queue_delay_us = delay_us;
    opts.model.max_queue = max_queue;
    opts.model.max_batch_size = max_batch;
    if (access("models/fashion.f8", R_OK) != 0 || uv_loop_init(&loop) != 0 ||
        f8d_metrics_init(&metrics) != 0 ||
        f8d_pool_start(&pool, &loop, workers, on_batch, NULL, err, sizeof(err)) != 0 ||
        f8d_models_load_dir(&models, "models", &opts, workers, err, sizeof(err)) != 0 ||
        f8d_models_attach(&models, &pool, &metrics) != 0)
        return -1;
    done_calls = 0;
    n_batches = 0;
    return 0;
}

/* The same on one worker, batches of up to 64. */
static int start(unsigned delay_us, unsigned max_queue)
{
    return start_with(delay_us, max_queue, 64, 1);
}

static void stop(void)
{
    f8d_models_release(&models);
    f8d_pool_close(&pool, pool_closed);
    uv_run(&loop, UV_RUN_DEFAULT); /* closes and frees what is left */
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    f8d_metrics_free(&metrics);
}

static struct f8d_model *fashion(void)
{
    return f8d_models_find(&models, "fashion");
}

/* A request for n raw images of value `v`. */
static void make(struct f8d_request *req, uint8_t *pixels, unsigned n, uint8_t v)
{
    f8d_request_init(req, on_done, NULL);
    f8d_request_set_model(req, fashion());
    CU_ASSERT_EQUAL_FATAL(f8d_request_alloc_items(req, n), F8D_OK);
    memset(pixels, v, (size_t)n * fashion()->image_bytes);
    for (unsigned i = 0; i < n; i++) {
        req->items[i].raw = true;
        req->items[i].data = pixels + (size_t)i * fashion()->image_bytes;
        req->items[i].len = fashion()->image_bytes;
    }
}

static void test_requests_complete_with_engine_logits(void)
{
    if (start(0, 64) != 0) {
        printf("\n    (models/fashion.f8 not found: run from the repository root) ");
        return;
    }
    static uint8_t pixels[3 * 784];
    struct f8d_request a, b;
    make(&a, pixels, 3, 40);
    make(&b, pixels, 1, 40);
    CU_ASSERT_EQUAL(f8d_request_submit(&a), F8D_OK);
    CU_ASSERT_EQUAL(f8d_request_submit(&b), F8D_OK);
    CU_ASSERT_EQUAL(done_calls, 0); /* never inside submit */
    while (done_calls < 2 && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    CU_ASSERT_EQUAL(done_calls, 2);
    CU_ASSERT_EQUAL(a.err.code, F8D_OK);
    CU_ASSERT_EQUAL(b.err.code, F8D_OK);
    /* the engine alone on the same pixels */
    f8_runner *r = NULL;
    int32_t want[10];
    CU_ASSERT_EQUAL_FATAL(f8_runner_create(fashion()->model, 1, &r), 0);
    CU_ASSERT_EQUAL(f8_run(r, pixels, 1, want), 0);
    f8_runner_destroy(r);
    for (unsigned i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(memcmp(a.items[i].logits, want, sizeof(want)), 0);
    CU_ASSERT_EQUAL(memcmp(b.items[0].logits, want, sizeof(want)), 0);
    CU_ASSERT_EQUAL(fashion()->metrics->images, 4);
    f8d_request_release(&a);
    f8d_request_release(&b);
    stop();
}

static void test_deadline_cancel_and_full_queue(void)
{
    /* a lone image waits 10 s for company: nothing runs unless flushed */
    if (start(10000000, 4) != 0)
        return;
    static uint8_t pixels[4 * 784];
    struct f8d_request late, gone, big;

    make(&late, pixels, 1, 1);
    late.deadline_ns = uv_hrtime() - 1;
    CU_ASSERT_EQUAL(f8d_request_submit(&late), F8D_EDEADLINE);
    CU_ASSERT_PTR_NOT_NULL(strstr(late.err.message, "deadline"));

    make(&gone, pixels, 2, 1);
    CU_ASSERT_EQUAL(f8d_request_submit(&gone), F8D_OK);
    CU_ASSERT_EQUAL(f8d_batcher_queued(&fashion()->batcher), 2);

    make(&big, pixels, 3, 1); /* 2 + 3 > max_queue 4 */
    CU_ASSERT_EQUAL(f8d_request_submit(&big), F8D_EOVERLOAD);
    CU_ASSERT_EQUAL(fashion()->metrics->rejected_queue_full, 1);

    f8d_request_cancel(&gone); /* dropped at once, told through on_done */
    CU_ASSERT_EQUAL(done_calls, 1);
    CU_ASSERT_EQUAL(gone.err.code, F8D_ECANCELED);
    CU_ASSERT_EQUAL(f8d_batcher_queued(&fashion()->batcher), 0);
    CU_ASSERT_EQUAL(fashion()->metrics->dropped_cancelled, 2);
    CU_ASSERT_EQUAL(fashion()->metrics->images, 0); /* never ran */
    f8d_request_release(&late);
    f8d_request_release(&gone);
    f8d_request_release(&big);
    stop();
}

static void test_ready_batch_is_shared_out(void)
{
    /* 8 single-image requests fill a batch of 8 (a 10 s delay: nothing else makes one
     * ready); two workers, so quarters: the first takes 2 of the 8, the second 2 of the 6
     * left, and the 4 left go without waiting, a quarter of the queue (rounded up) to each
     * worker that comes back (guided self-scheduling) */
    if (start_with(10000000, 64, 8, 2) != 0)
        return;
    static uint8_t pixels[8 * 784];
    struct f8d_request reqs[8];
    for (unsigned i = 0; i < 8; i++) {
        make(&reqs[i], pixels + i * 784, 1, (uint8_t)(10 * i));
        CU_ASSERT_EQUAL(f8d_request_submit(&reqs[i]), F8D_OK);
    }
    CU_ASSERT_EQUAL(f8d_batcher_queued(&fashion()->batcher), 4);
    CU_ASSERT_EQUAL(fashion()->batcher.released, 4);
    const uint64_t t0 = uv_hrtime();
    while (done_calls < 8 && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    CU_ASSERT_EQUAL(done_calls, 8);
    CU_ASSERT(uv_hrtime() - t0 < 5000000000u); /* not after the 10 s delay */
    CU_ASSERT_EQUAL(n_batches, 6);
    unsigned sum = 0, largest = 0;
    for (unsigned i = 0; i < n_batches && i < 16; i++) {
        sum += batch_sizes[i];
        largest = batch_sizes[i] > largest ? batch_sizes[i] : largest;
    }
    CU_ASSERT_EQUAL(sum, 8);
    CU_ASSERT_EQUAL(largest, 2);
    for (unsigned i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(reqs[i].err.code, F8D_OK);
        f8d_request_release(&reqs[i]);
    }
    CU_ASSERT_EQUAL(fashion()->metrics->images, 8);
    stop();
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"requests complete with the engine's logits", test_requests_complete_with_engine_logits},
        {"deadline, cancellation and a full queue", test_deadline_cancel_and_full_queue},
        {"a ready batch is shared out over the workers", test_ready_batch_is_shared_out},
        CU_TEST_INFO_NULL,
    };
    return unit_run("daemon_pool", tests);
}
