/* f8d server: the context, its lifecycle, signals and shutdown. */
#include "server.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "http_loop.h"
#include "log.h"

bool f8d_server_ready(const struct f8d_server *s)
{
    return !s->stopping && s->models.count > 0;
}

static void close_handle(struct f8d_server *s, uv_handle_t *h)
{
    (void)s;
    if (!uv_is_closing(h))
        uv_close(h, f8d_handle_closed);
}

void f8d_server_check_stop(struct f8d_server *s)
{
    if (!s->stopping || s->stopped)
        return;
    if (s->work_in_flight > 0) /* workers hold requests: always wait for them */
        return;
    if (s->active_requests > 0 && !s->drain_expired)
        return;
    s->stopped = true;
    if (s->active_requests > 0)
        f8d_log("closing %u open connection(s) that did not finish in time",
                s->active_requests);
    f8d_http_stop(s);
    uv_timer_stop(&s->drain_timer);
    close_handle(s, (uv_handle_t *)&s->drain_timer);
    close_handle(s, (uv_handle_t *)&s->sigint);
    close_handle(s, (uv_handle_t *)&s->sigterm);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct f8d_server *s = t->data;
    s->drain_expired = true;
    f8d_server_check_stop(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct f8d_server *s = h->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";

    if (s->stopping) {
        f8d_log("%s again: closing open connections now", name);
        s->drain_expired = true;
        f8d_http_run(s);
        return;
    }
    s->stopping = true;
    f8d_http_quiesce(s);        /* stop accepting; open connections are still served */
    sd_notify(0, "STOPPING=1"); /* a no-op unless run by systemd with Type=notify */
    f8d_log("%s: shutting down (%u request(s) open, %u prediction(s) running)", name,
            s->active_requests, s->work_in_flight);
    uv_timer_start(&s->drain_timer, on_drain_timeout, F8D_DRAIN_TIMEOUT_MS, 0);
    f8d_http_run(s);
}

static int start_signal(struct f8d_server *s, uv_signal_t *h, int signum, char *err,
                        size_t errlen)
{
    uv_signal_init(&s->loop, h);
    h->data = s;
    s->handles_open++;
    int rc = uv_signal_start(h, on_signal, signum);
    if (rc != 0)
        snprintf(err, errlen, "cannot handle signal %d: %s", signum, uv_strerror(rc));
    return rc;
}

static void log_models(const struct f8d_server *s)
{
    for (size_t i = 0; i < s->models.count; i++) {
        const struct f8d_model *m = &s->models.items[i];
        const f8_model_info *info = m->info;
        f8d_log("model %s: %s, input %" PRIu32 "x%" PRIu32 "x%" PRIu32 ", %" PRIu32
                " classes, %" PRIu32 " ops, %" PRIu64 " bytes",
                m->name, m->path, info->input_h, info->input_w, info->input_c,
                info->num_classes, info->num_ops, info->file_size);
    }
}

int f8d_server_init(struct f8d_server *s, const struct f8d_options *opts, char *err,
                    size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->opts = *opts;
    s->mhd_epoll_fd = -1;
    if (s->opts.threads == 0)
        s->opts.threads = f8d_cpu_count();

    /* A client that hangs up must not kill the process. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (f8d_models_load_dir(&s->models, s->opts.models_dir, err, errlen) != 0)
        return -1;
    log_models(s);

    int rc = uv_loop_init(&s->loop);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the event loop: %s", uv_strerror(rc));
        return -1;
    }
    s->loop_ready = true;
    uv_timer_init(&s->loop, &s->drain_timer);
    s->drain_timer.data = s;
    s->handles_open++;
    if (start_signal(s, &s->sigint, SIGINT, err, errlen) != 0 ||
        start_signal(s, &s->sigterm, SIGTERM, err, errlen) != 0)
        return -1;
    if (f8d_http_start(s, err, errlen) != 0)
        return -1;
    const char *host = s->opts.host;
    int v6 = strchr(host, ':') != NULL;
    f8d_log("listening on http://%s%s%s:%u (%zu model(s), %u worker thread(s), max body %" PRIu64
            " bytes)",
            v6 ? "[" : "", host, v6 ? "]" : "", s->port, s->models.count, s->opts.threads,
            s->opts.max_body_bytes);
    sd_notify(0, "READY=1");
    return 0;
}

int f8d_server_run(struct f8d_server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    /* The signal handles are closed (libuv restored the default actions): a repeated
     * SIGTERM must not kill the process while it frees everything and exits 0. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    f8d_log("stopped after %" PRIu64 " request(s)", s->requests_total);
    return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, f8d_handle_closed);
}

void f8d_server_free(struct f8d_server *s)
{
    if (s->mhd != NULL) /* init failed after HTTP started, or run never happened */
        f8d_http_stop(s);
    if (s->loop_ready) {
        uv_walk(&s->loop, close_any, NULL);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        int rc = uv_loop_close(&s->loop);
        if (rc != 0)
            f8d_log("event loop still busy at exit: %s", uv_strerror(rc));
        s->loop_ready = false;
    }
    f8d_models_free(&s->models);
}
