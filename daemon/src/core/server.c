/* f8d server: the context, its lifecycle, signals, reload, shutdown, systemd notification. */
#include "server.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "errors.h"
#include "background.h"
#include "cpus.h"
#include "log.h"
#include "privileges.h"
#include "repository.h"
#include "request.h"

bool f8d_server_ready(const struct f8d_server *s)
{
    return !s->stopping && s->models.count > 0;
}

void f8d_handle_closed(uv_handle_t *handle)
{
    struct f8d_server *s = handle->data;
    s->handles_open--;
}

static void frontends_stop(struct f8d_server *s)
{
    for (size_t i = 0; i < s->n_frontends; i++)
        s->frontends[i]->stop(s); /* completes (and frees) every open request */
}

static void frontends_release(struct f8d_server *s)
{
    for (size_t i = 0; i < s->n_frontends; i++)
        s->frontends[i]->release(s);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, f8d_handle_closed);
}

static void pool_closed(uv_handle_t *h)
{
    struct f8d_pool *pool = h->data;
    struct f8d_server *s = (struct f8d_server *)((char *)pool - offsetof(struct f8d_server, pool));
    s->handles_open--;
}

/* Metrics of a finished batch (the pool's callback, on the loop). */
static void on_batch(struct f8d_batch *b, void *arg)
{
    (void)arg;
    if (b->model->metrics != NULL)
        f8d_metrics_batch(b->model->metrics, b);
}

void f8d_server_check_stop(struct f8d_server *s)
{
    if (!s->stopping || s->stopped || !s->accepting_stopped)
        return;
    if (s->work_in_flight > 0 || s->pool.busy > 0 || s->reload != NULL)
        return; /* workers hold requests: always wait for them */
    if (s->active_requests > 0 && !s->drain_expired)
        return;
    s->stopped = true;
    if (s->active_requests > 0)
        f8d_log("closing %u open connection(s) that did not finish in time",
                s->active_requests);
    frontends_stop(s);
    f8d_models_release(&s->models);
    frontends_release(s);
    f8d_pool_close(&s->pool, pool_closed);
    uv_timer_stop(&s->drain_timer);
    close_handle((uv_handle_t *)&s->drain_timer);
    uv_timer_stop(&s->watchdog_timer);
    close_handle((uv_handle_t *)&s->watchdog_timer);
    close_handle((uv_handle_t *)&s->sigint);
    close_handle((uv_handle_t *)&s->sigterm);
    close_handle((uv_handle_t *)&s->sighup);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct f8d_server *s = t->data;
    s->drain_expired = true;
}

static void stop_accepting(struct f8d_server *s)
{
    s->accepting_stopped = true;
    for (size_t i = 0; i < s->n_frontends; i++)
        s->frontends[i]->quiesce(s); /* open connections are still served */
    uv_timer_start(&s->drain_timer, on_drain_timeout, s->opts.drain_timeout_ms, 0);
}

static void on_drain_delay(uv_timer_t *t)
{
    struct f8d_server *s = t->data;
    f8d_log("drain delay over: no longer accepting connections");
    stop_accepting(s);
}

static void begin_shutdown(struct f8d_server *s, const char *why)
{
    s->stopping = true;
    sd_notify(0, "STOPPING=1"); /* a no-op unless run by systemd with Type=notify */
    f8d_log("%s: shutting down (%u request(s) open, %u waiting for workers)", why,
            s->active_requests, s->work_in_flight);
    f8d_pool_flush(&s->pool); /* queued images leave without waiting for company */
    if (s->opts.drain_delay_ms > 0)
        uv_timer_start(&s->drain_timer, on_drain_delay, s->opts.drain_delay_ms, 0);
    else
        stop_accepting(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct f8d_server *s = h->data;

    if (signum == SIGHUP) {
        if (f8d_server_reload(s, NULL) != 0) {
            f8d_log("SIGHUP ignored: shutting down");
            return;
        }
        for (size_t i = 0; i < s->n_frontends; i++) {
            if (s->frontends[i]->reload != NULL)
                s->frontends[i]->reload(s);
        }
        return;
    }
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (s->stopping) {
        f8d_log("%s again: closing open connections now", name);
        if (!s->accepting_stopped)
            stop_accepting(s);
        s->drain_expired = true;
        return;
    }
    begin_shutdown(s, name);
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

/* ---- watchdog ------------------------------------------------------------------------- */

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1"); /* sent from the loop: a stuck loop stops the pings */
}

static void start_watchdog(struct f8d_server *s)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        uint64_t ms = usec / 2000u;
        if (ms == 0)
            ms = 1;
        uv_timer_start(&s->watchdog_timer, on_watchdog, ms, ms);
        f8d_log("systemd watchdog: pinging every %" PRIu64 " ms", ms);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int f8d_server_init(struct f8d_server *s, const struct f8d_options *opts,
                    const struct f8d_frontend *const *frontends, size_t n, char *err,
                    size_t errlen)
{
    assert(n <= F8D_MAX_FRONTENDS);
    memset(s, 0, sizeof(*s));
    s->opts = *opts;
    for (size_t i = 0; i < n; i++)
        s->frontends[s->n_frontends++] = frontends[i];
    if (s->opts.threads == 0)
        s->opts.threads = f8d_cpu_count();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->id_seed = (uint32_t)(ts.tv_nsec ^ (ts.tv_sec << 10) ^ (long)getpid() << 20);

    /* A client that hangs up must not kill the process. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    /* Root binds the ports and reads the models, then becomes `user` (below). The user is
     * looked up first, so a wrong name fails the start before anything is loaded. */
    struct f8d_user user;
    bool drop = false;
    if (s->opts.user[0] != '\0') {
        if (f8d_user_lookup(s->opts.user, &user, err, errlen) != 0)
            return -1;
        drop = geteuid() == 0;
        if (!drop)
            f8d_log("user %s ignored: not started as root (running as uid %u)", user.name,
                    (unsigned)geteuid());
    } else if (geteuid() == 0) {
        f8d_log("warning: running as root; set `user` (--user NAME, F8D_USER) to run as "
                "another user once the ports are bound and the models read");
    }

    if (f8d_metrics_init(&s->metrics) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (f8d_models_load_dir(&s->models, s->opts.models_dir, &s->opts, s->opts.threads, err,
                            errlen) != 0)
        return -1;
    for (unsigned i = 0; i < s->opts.n_models; i++) {
        if (f8d_models_find(&s->models, s->opts.models[i].name) == NULL)
            f8d_log("config: [model %s] names no model in %s (yet)", s->opts.models[i].name,
                    s->opts.models_dir);
    }

    int rc = uv_loop_init(&s->loop);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the event loop: %s", uv_strerror(rc));
        return -1;
    }
    s->loop_ready = true;
    /* a reload and a model being freed can hold a background thread each while requests are
     * still parsed on one per CPU */
    if (f8d_background_start(&s->background, &s->loop, s->opts.threads + 2, err, errlen) != 0)
        return -1;
    if (f8d_pool_start(&s->pool, &s->loop, s->opts.threads, on_batch, s, err, errlen) != 0)
        return -1;
    s->pool.background = &s->background;
    s->handles_open++; /* the pool's wake-up handle */
    s->pool.requests_open = &s->active_requests;
    if (f8d_models_attach(&s->models, &s->pool, &s->metrics) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f8d_repository_log_models(s);
    uv_timer_init(&s->loop, &s->drain_timer);
    s->drain_timer.data = s;
    s->handles_open++;
    uv_timer_init(&s->loop, &s->watchdog_timer);
    s->watchdog_timer.data = s;
    s->handles_open++;
    if (start_signal(s, &s->sigint, SIGINT, err, errlen) != 0 ||
        start_signal(s, &s->sigterm, SIGTERM, err, errlen) != 0 ||
        start_signal(s, &s->sighup, SIGHUP, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < s->n_frontends; i++) {
        if (s->frontends[i]->start(s, err, errlen) != 0)
            return -1;
    }
    if (drop) {
        if (f8d_drop_privileges(&user, err, errlen) != 0)
            return -1;
        f8d_log("running as user %s (uid %u, gid %u, no supplementary groups)", user.name,
                (unsigned)user.uid, (unsigned)user.gid);
    }
    if (s->opts.restricted_header[0] != '\0')
        f8d_log("restricted API: calls that change the server need the header %s",
                s->opts.restricted_header);
    start_watchdog(s);
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
    sigaction(SIGHUP, &sa, NULL);
    f8d_log("stopped after %" PRIu64 " request(s), %" PRIu64 " of them closed unanswered at "
            "shutdown", s->requests_total, s->requests_cut_at_stop);
    return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
    if (h->data == arg && !uv_is_closing(h)) /* the server's own handles */
        uv_close(h, f8d_handle_closed);
}

void f8d_server_free(struct f8d_server *s)
{
    frontends_stop(s); /* init failed after a front end started, or run never happened */
    if (s->loop_ready) {
        f8d_models_release(&s->models);
        f8d_pool_close(&s->pool, pool_closed);
        uv_walk(&s->loop, close_any, s);
        uv_run(&s->loop, UV_RUN_DEFAULT); /* runs until the background jobs are done too */
        f8d_background_stop(&s->background);
        uv_run(&s->loop, UV_RUN_DEFAULT); /* its poll's close */
        int rc = uv_loop_close(&s->loop);
        if (rc != 0)
            f8d_log("event loop still busy at exit: %s", uv_strerror(rc));
        s->loop_ready = false;
    } else {
        f8d_models_release(&s->models);
    }
    frontends_release(s);
    f8d_repository_free(s);
    f8d_metrics_free(&s->metrics);
}
