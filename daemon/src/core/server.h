/*
 * f8d server: the one context that owns everything (options, models, metrics, the libuv loop
 * and its handles, the MHD daemons, counters), and its lifecycle:
 *
 *   f8d_server_init   load models, start the front ends on the loop, install signal handlers
 *   f8d_server_run    run the loop until a signal has stopped the server; returns 0
 *   f8d_server_free   free everything init made (also after a failed init)
 *
 * Threads: everything here runs on the loop thread, except the inference workers (pool.h),
 * an infer parse job and a reload's model loading (the background pool), which touch only what
 * their job owns.
 */
#ifndef F8D_SERVER_H
#define F8D_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "frontend.h"
#include "metrics.h"
#include "models.h"
#include "options.h"
#include "pool.h"

#define F8D_VERSION "0.2.0"

/* Request structs kept for reuse at most (with their bodies: at most 16 MiB held). */
#define F8D_REQUEST_POOL_MAX 256
/* Body buffers at most this big stay with a recycled request. */
#define F8D_KEEP_BODY_BYTES (64u * 1024u)

struct MHD_Daemon;
struct f8d_request;
struct f8d_http_request;

/* Listening addresses at most (the `host` setting lists them). */
#define F8D_MAX_LISTENERS 8

/* One listening address: its own MHD daemon (MHD binds one socket per daemon), watched on the
 * server's loop like the others. */
struct f8d_listener {
    struct MHD_Daemon *mhd;
    int epoll_fd;
    uv_poll_t poll;          /* MHD's epoll fd */
    uv_timer_t timer;        /* MHD's next timeout */
    char addr[64];           /* as logged: "127.0.0.1", "[::1]" */
    unsigned port;           /* bound port */
};
struct f8d_reload;
struct f8d_grpc;
struct f8d_conn;
struct f8d_deadlines;
struct f8d_tls_cred;

struct f8d_server {
    struct f8d_options opts;
    const struct f8d_frontend *frontends[F8D_MAX_FRONTENDS]; /* the protocols it serves */
    size_t n_frontends;
    struct f8d_models models;
    struct f8d_metrics metrics;
    struct f8d_pool pool;    /* the inference workers */
    struct f8d_background background; /* parsing, large JPEGs, model loads and frees */

    uv_loop_t loop;
    bool loop_ready;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t drain_timer;  /* shutdown: drain delay, then give up waiting for slow clients */
    uv_timer_t watchdog_timer; /* systemd watchdog pings */
    unsigned handles_open;   /* handles initialised and not yet closed */

    uv_prepare_t http_hook;  /* runs MHD once per loop turn (http_loop.c) */
    bool http_hook_open;
    struct f8d_conn *hung_up; /* connections whose client hung up, to act on (conn_watch.h) */
    struct f8d_deadlines *deadlines; /* request head and body deadlines (conn_deadline.h) */
    struct f8d_listener listeners[F8D_MAX_LISTENERS];
    unsigned n_listeners;    /* started */
    unsigned port;           /* bound port of the addresses without a port of their own */
    char mhd_error[256];     /* MHD's last log message (for startup errors) */
    struct f8d_tls_cred *tls; /* the certificate new TLS handshakes get (http/tls.h); NULL:
                               * plain HTTP */

    unsigned active_requests; /* from the first access call to "completed" */
    unsigned work_in_flight;  /* requests suspended for a worker (parse, batches) */
    uint64_t requests_total;
    uint64_t requests_cut_at_stop; /* received (HTTP or gRPC), then ended by the shutdown
                                    * before an answer (drain timeout, second signal) */
    uint64_t next_request_id;
    uint32_t id_seed;
    struct f8d_http_request *free_requests; /* HTTP request structs kept for reuse */
    unsigned n_free_requests;

    struct f8d_grpc *grpc;     /* the gRPC front end's state (grpc/), or NULL */

    /* The model repository (repository.h): the change in progress (a reload, a load or an
     * unload), the ones queued behind it, and the models not served (or whose last load
     * failed) with why, for the index. */
    struct f8d_reload *reload;
    struct f8d_reload *jobs;
    struct f8d_load_faults unavailable;

    bool stopping;           /* a signal came: not ready */
    bool accepting_stopped;  /* the listening socket is closed */
    bool drain_expired;      /* stop without waiting for open requests */
    bool stopped;            /* HTTP is down, handles closing */
};

/* Loads the models, starts the pool and the loop's handles, then each front end in
 * frontends[0..n) (at most F8D_MAX_FRONTENDS). */
int f8d_server_init(struct f8d_server *s, const struct f8d_options *opts,
                    const struct f8d_frontend *const *frontends, size_t n, char *err,
                    size_t errlen);
int f8d_server_run(struct f8d_server *s);
void f8d_server_free(struct f8d_server *s);

/* Close callback for the handles the server and its front ends own (handle->data is the
 * server): counts them down. */
void f8d_handle_closed(uv_handle_t *handle);

/* True while the server answers "ready": models loaded and not shutting down. */
bool f8d_server_ready(const struct f8d_server *s);

/* Called on the loop thread once per loop turn, after MHD ran (never from inside an MHD
 * callback): once a stopping server has nothing left in flight, shuts HTTP down and closes
 * every handle. */
void f8d_server_check_stop(struct f8d_server *s);

/* Starts a reload of the models directory (SIGHUP, or the endpoint). When `waiter` is given,
 * its on_done is called when the reload is done, with err set if it failed (F8D_ELOAD, or
 * F8D_ESHUTDOWN). Returns F8D_OK, or F8D_ESHUTDOWN when the server is stopping (the waiter is
 * not called). Loop thread. */
int f8d_server_reload(struct f8d_server *s, struct f8d_request *waiter);

#endif /* F8D_SERVER_H */
