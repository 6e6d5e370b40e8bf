/*
 * f8d server: the one context that owns everything (options, models, the libuv loop and its
 * handles, the MHD daemon, counters), and its lifecycle:
 *
 *   f8d_server_init   load models, start HTTP on the loop, install signal handlers
 *   f8d_server_run    run the loop until a signal has stopped the server; returns 0
 *   f8d_server_free   free everything init made (also after a failed init)
 *
 * Threads: everything here runs on the loop thread, except the worker side of a prediction
 * (worker.h), which touches only its f8d_job.
 */
#ifndef F8D_SERVER_H
#define F8D_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "models.h"
#include "options.h"

#define F8D_VERSION "0.1.0"

/* How long a stopping server waits for open requests before closing their connections. */
#define F8D_DRAIN_TIMEOUT_MS 10000

struct MHD_Daemon;

struct f8d_server {
    struct f8d_options opts;
    struct f8d_models models;

    uv_loop_t loop;
    bool loop_ready;
    uv_signal_t sigint, sigterm;
    uv_poll_t mhd_poll;      /* MHD's epoll fd */
    uv_timer_t mhd_timer;    /* MHD's next timeout */
    uv_timer_t drain_timer;  /* shutdown: give up waiting for slow clients */
    unsigned handles_open;   /* handles initialised and not yet closed */

    struct MHD_Daemon *mhd;
    int mhd_epoll_fd;
    unsigned port;           /* bound port */
    char mhd_error[256];     /* MHD's last log message (for startup errors) */

    unsigned active_requests; /* from the first access call to "completed" */
    unsigned work_in_flight;  /* predictions handed to workers, not yet back */
    uint64_t requests_total;
    bool stopping;           /* a signal came: not ready, not accepting */
    bool drain_expired;      /* stop without waiting for open requests */
    bool stopped;            /* HTTP is down, handles closing */
};

int f8d_server_init(struct f8d_server *s, const struct f8d_options *opts, char *err,
                    size_t errlen);
int f8d_server_run(struct f8d_server *s);
void f8d_server_free(struct f8d_server *s);

/* True while the server answers "ready": models loaded and not shutting down. */
bool f8d_server_ready(const struct f8d_server *s);

/* Called on the loop thread after every MHD_run (never from inside an MHD callback): once a
 * stopping server has nothing left in flight, shuts HTTP down and closes every handle. */
void f8d_server_check_stop(struct f8d_server *s);

#endif /* F8D_SERVER_H */
