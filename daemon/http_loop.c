/* f8d HTTP on the libuv loop: MHD <-> libuv glue. */
#include "http_loop.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "handlers.h"
#include "log.h"
#include "server.h"

void f8d_handle_closed(uv_handle_t *handle)
{
    struct f8d_server *s = handle->data;
    s->handles_open--;
}

/* MHD's messages: kept for startup errors, logged once serving. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    struct f8d_server *s = cls;
    vsnprintf(s->mhd_error, sizeof(s->mhd_error), fmt, ap);
    size_t n = strlen(s->mhd_error);
    while (n > 0 && (s->mhd_error[n - 1] == '\n' || s->mhd_error[n - 1] == '\r'))
        s->mhd_error[--n] = '\0';
    if (s->mhd != NULL)
        f8d_log("mhd: %s", s->mhd_error);
}

static void on_timer(uv_timer_t *handle)
{
    f8d_http_run(handle->data);
}

static void arm_timer(struct f8d_server *s)
{
    MHD_UNSIGNED_LONG_LONG timeout;
    if (MHD_get_timeout(s->mhd, &timeout) == MHD_YES) {
        if (timeout > 24ull * 3600 * 1000)
            timeout = 24ull * 3600 * 1000;
        uv_timer_start(&s->mhd_timer, on_timer, timeout, 0);
    } else {
        uv_timer_stop(&s->mhd_timer);
    }
}

void f8d_http_run(struct f8d_server *s)
{
    if (s->mhd == NULL)
        return;
    MHD_run(s->mhd);
    arm_timer(s);
    f8d_server_check_stop(s);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct f8d_server *s = handle->data;
    if (status < 0)
        f8d_log("poll on MHD's epoll fd failed: %s", uv_strerror(status));
    f8d_http_run(s);
}

static int resolve(const char *host, unsigned port, struct sockaddr_storage *out, char *err,
                   size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char service[16];

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve host '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int f8d_http_start(struct f8d_server *s, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    if (resolve(s->opts.host, s->opts.port, &addr, err, errlen) != 0)
        return -1;

    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->mhd_error[0] = '\0';
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->opts.port, NULL, NULL, f8d_access_handler, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->opts.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->opts.max_connections,
        MHD_OPTION_NOTIFY_COMPLETED, f8d_request_completed, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s,
        MHD_OPTION_END);
    if (d == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", s->opts.host, s->opts.port,
                 s->mhd_error[0] ? s->mhd_error : "libmicrohttpd failed to start");
        return -1;
    }
    s->mhd = d;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    s->mhd_epoll_fd = info ? info->epoll_fd : -1;
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = (info && info->port) ? info->port : s->opts.port;

    int rc = s->mhd_epoll_fd >= 0 ? uv_poll_init(&s->loop, &s->mhd_poll, s->mhd_epoll_fd)
                                  : UV_EINVAL;
    if (rc != 0) {
        snprintf(err, errlen, "cannot watch libmicrohttpd's epoll fd: %s", uv_strerror(rc));
        MHD_stop_daemon(d);
        s->mhd = NULL;
        return -1;
    }
    s->mhd_poll.data = s;
    s->handles_open++;
    uv_timer_init(&s->loop, &s->mhd_timer);
    s->mhd_timer.data = s;
    s->handles_open++;
    uv_poll_start(&s->mhd_poll, UV_READABLE, on_poll);
    arm_timer(s);
    return 0;
}

void f8d_http_quiesce(struct f8d_server *s)
{
    if (s->mhd == NULL)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void f8d_http_stop(struct f8d_server *s)
{
    if (s->mhd == NULL)
        return;
    /* Stop watching the epoll fd before MHD closes it. */
    uv_poll_stop(&s->mhd_poll);
    uv_close((uv_handle_t *)&s->mhd_poll, f8d_handle_closed);
    uv_timer_stop(&s->mhd_timer);
    uv_close((uv_handle_t *)&s->mhd_timer, f8d_handle_closed);
    struct MHD_Daemon *d = s->mhd;
    s->mhd = NULL;
    MHD_stop_daemon(d);
}
