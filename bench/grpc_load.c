/*
 * grpc_load: a closed-loop gRPC load client for f8d's ModelInfer (what wrk is for REST; ghz is
 * not in Debian). S streams each keep one call in flight, spread over one HTTP/2 connection
 * per 16 streams, for D seconds; every call sends the same JPEG as a BYTES input (raw, with
 * "classification" 1 unless --no-classification). One thread drives every call from one
 * completion queue, as the daemon does.
 *
 *   grpc_load --target 127.0.0.1:8081 --model fashion --jpeg FILE [--streams 16]
 *             [--duration 10] [--classification 1]
 *
 * Prints one JSON line: calls, ok, errors (by status), seconds, calls/s, p50/p99 latency ms.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "grpc_request.h"

#define STREAMS_PER_CONNECTION 16
#define MAX_STREAMS 4096

struct stream {
    grpc_call *call;
    grpc_metadata_array initial, trailing;
    grpc_byte_buffer *request;      /* a copy per call: sending takes its slices */
    grpc_byte_buffer *reply;
    grpc_status_code status;
    grpc_slice details;
    grpc_channel *channel;
    double t0;
};

struct run {
    grpc_completion_queue *cq;
    grpc_byte_buffer *request;
    double end;
    double *lat;
    size_t n_lat, cap_lat;
    uint64_t calls, errors[17];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static grpc_byte_buffer *make_request(const char *model, const char *jpeg_path, int k)
{
    FILE *f = fopen(jpeg_path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *jpeg = len > 0 ? malloc((size_t)len) : NULL;
    grpc_byte_buffer *bb = NULL;
    if (jpeg != NULL && fread(jpeg, 1, (size_t)len, f) == (size_t)len)
        bb = f8c_grpc_request(model, jpeg, (size_t)len, k);
    fclose(f);
    free(jpeg);
    return bb;
}

static int start_call(struct run *run, struct stream *st)
{
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                         gpr_time_from_seconds(30, GPR_TIMESPAN));
    st->call = grpc_channel_create_call(
        st->channel, NULL, GRPC_PROPAGATE_DEFAULTS, run->cq,
        grpc_slice_from_static_string("/inference.GRPCInferenceService/ModelInfer"), NULL,
        deadline, NULL);
    grpc_metadata_array_init(&st->initial);
    grpc_metadata_array_init(&st->trailing);
    st->reply = NULL;
    st->request = grpc_byte_buffer_copy(run->request);
    st->t0 = now_s();
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = st->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &st->initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &st->reply;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &st->trailing;
    ops[5].data.recv_status_on_client.status = &st->status;
    ops[5].data.recv_status_on_client.status_details = &st->details;
    return grpc_call_start_batch(st->call, ops, 6, st, NULL) == GRPC_CALL_OK ? 0 : -1;
}

static void finish_call(struct run *run, struct stream *st)
{
    double t = now_s() - st->t0;
    run->calls++;
    if (st->status == GRPC_STATUS_OK && st->reply != NULL) {
        if (run->n_lat == run->cap_lat) {
            run->cap_lat = run->cap_lat ? run->cap_lat * 2 : 65536;
            run->lat = realloc(run->lat, run->cap_lat * sizeof(double));
            if (run->lat == NULL) {
                fprintf(stderr, "grpc_load: out of memory\n");
                exit(1);
            }
        }
        run->lat[run->n_lat++] = t;
    } else {
        run->errors[(unsigned)st->status < 17 ? st->status : GRPC_STATUS_UNKNOWN]++;
    }
    if (st->reply != NULL)
        grpc_byte_buffer_destroy(st->reply);
    grpc_byte_buffer_destroy(st->request);
    grpc_slice_unref(st->details);
    grpc_metadata_array_destroy(&st->initial);
    grpc_metadata_array_destroy(&st->trailing);
    grpc_call_unref(st->call);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *target = "127.0.0.1:8081", *model = "fashion", *jpeg = NULL;
    int streams = 16, k = 1;
    double duration = 10;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--target") == 0 && v)
            target = v, i++;
        else if (strcmp(argv[i], "--model") == 0 && v)
            model = v, i++;
        else if (strcmp(argv[i], "--jpeg") == 0 && v)
            jpeg = v, i++;
        else if (strcmp(argv[i], "--streams") == 0 && v)
            streams = atoi(v), i++;
        else if (strcmp(argv[i], "--duration") == 0 && v)
            duration = atof(v), i++;
        else if (strcmp(argv[i], "--classification") == 0 && v)
            k = atoi(v), i++;
        else {
            fprintf(stderr, "usage: %s --jpeg FILE [--target HOST:PORT] [--model NAME] "
                    "[--streams N] [--duration S] [--classification K (0: logits)]\n", argv[0]);
            return 2;
        }
    }
    if (jpeg == NULL || streams < 1 || streams > MAX_STREAMS || duration <= 0) {
        fprintf(stderr, "grpc_load: --jpeg FILE is required; 1 <= streams <= %d\n", MAX_STREAMS);
        return 2;
    }
    grpc_init();
    struct run run = {0};
    run.cq = grpc_completion_queue_create_for_next(NULL);
    run.request = make_request(model, jpeg, k);
    if (run.request == NULL) {
        fprintf(stderr, "grpc_load: cannot read %s\n", jpeg);
        return 1;
    }
    int n_channels = (streams + STREAMS_PER_CONNECTION - 1) / STREAMS_PER_CONNECTION;
    grpc_channel **channels = calloc((size_t)n_channels, sizeof(*channels));
    struct stream *st = calloc((size_t)streams, sizeof(*st));
    /* a local subchannel pool: each channel its own connection */
    grpc_arg arg = {GRPC_ARG_INTEGER, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, {.integer = 1}};
    grpc_channel_args args = {1, &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    for (int i = 0; i < n_channels; i++)
        channels[i] = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);

    double t_start = now_s();
    run.end = t_start + duration;
    int outstanding = 0;
    for (int i = 0; i < streams; i++) {
        st[i].channel = channels[i / STREAMS_PER_CONNECTION];
        if (start_call(&run, &st[i]) == 0)
            outstanding++;
    }
    while (outstanding > 0) {
        grpc_event ev = grpc_completion_queue_next(
            run.cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(5, GPR_TIMESPAN)),
            NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        struct stream *s = ev.tag;
        finish_call(&run, s);
        if (now_s() < run.end && start_call(&run, s) == 0)
            continue;
        outstanding--;
    }
    double seconds = now_s() - t_start;
    qsort(run.lat, run.n_lat, sizeof(double), cmp);
    double p50 = run.n_lat ? run.lat[run.n_lat / 2] * 1e3 : 0;
    double p99 = run.n_lat ? run.lat[(size_t)((double)run.n_lat * 0.99)] * 1e3 : 0;
    uint64_t errors = 0;
    for (int i = 0; i < 17; i++)
        errors += run.errors[i];
    printf("{\"calls\": %" PRIu64 ", \"ok\": %zu, \"errors\": %" PRIu64 ", \"seconds\": %.3f, "
           "\"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"streams\": %d, "
           "\"connections\": %d}\n",
           run.calls, run.n_lat, errors, seconds, (double)run.n_lat / seconds, p50, p99, streams,
           n_channels);
    for (int i = 0; i < n_channels; i++)
        grpc_channel_destroy(channels[i]);
    grpc_completion_queue_shutdown(run.cq);
    while (grpc_completion_queue_next(run.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(run.cq);
    grpc_byte_buffer_destroy(run.request);
    free(run.lat);
    free(st);
    free(channels);
    grpc_shutdown();
    return errors == 0 ? 0 : 1;
}
