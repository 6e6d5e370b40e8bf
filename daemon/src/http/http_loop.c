/* f8d HTTP on the libuv loop: MHD <-> libuv glue. */
#include "http_loop.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "conn_deadline.h"
#include "conn_watch.h"
#include "handlers.h"
#include "http_guard.h"
#include "tls.h"
#include "core/hosts.h"
#include "core/log.h"
#include "core/server.h"

/* MHD's messages: kept for startup errors, logged once serving. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    struct f8d_server *s = cls;
    vsnprintf(s->mhd_error, sizeof(s->mhd_error), fmt, ap);
    size_t n = strlen(s->mhd_error);
    while (n > 0 && (s->mhd_error[n - 1] == '\n' || s->mhd_error[n - 1] == '\r'))
        s->mhd_error[--n] = '\0';
    if (s->n_listeners > 0)
        f8d_log("mhd: %s", s->mhd_error);
}

/* The listener that embeds `handle` (its poll or its timer); handle->data is the server, as
 * for every handle the server owns. */
static struct f8d_listener *listener_of(struct f8d_server *s, const uv_handle_t *handle)
{
    for (unsigned i = 0; i < s->n_listeners; i++) {
        struct f8d_listener *l = &s->listeners[i];
        if (handle == (const uv_handle_t *)&l->poll || handle == (const uv_handle_t *)&l->timer)
            return l;
    }
    return NULL;
}

/* MHD's poll and timer only wake the loop: the prepare hook runs MHD on that same turn. */
static void on_timer(uv_timer_t *handle)
{
    (void)handle;
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    (void)events;
    if (status < 0) {
        struct f8d_server *s = handle->data;
        struct f8d_listener *l = listener_of(s, (uv_handle_t *)handle);
        f8d_log("poll on MHD's epoll fd (%s) failed: %s", l ? l->addr : "?",
                uv_strerror(status));
    }
}

static void arm_timer(struct f8d_listener *l)
{
    MHD_UNSIGNED_LONG_LONG timeout;
    if (MHD_get_timeout(l->mhd, &timeout) == MHD_YES) {
        if (timeout > 24ull * 3600 * 1000)
            timeout = 24ull * 3600 * 1000;
        uv_timer_start(&l->timer, on_timer, timeout, 0);
    } else {
        uv_timer_stop(&l->timer);
    }
}

static unsigned open_connections(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* One MHD_run, again while it closed connections. MHD takes its listening socket out of its
 * epoll set at the connection limit and puts it back only at the start of a run, but closes
 * connections at the end of one: without the second run nothing would wake the loop to accept
 * again once the clients at the limit have gone (a run that closes nothing costs one
 * epoll_wait that returns at once). */
static void run_listener(struct f8d_listener *l)
{
    if (l->mhd == NULL)
        return;
    unsigned before = open_connections(l->mhd);
    MHD_run(l->mhd);
    for (unsigned after = open_connections(l->mhd); after < before;
         after = open_connections(l->mhd)) {
        before = after;
        MHD_run(l->mhd);
    }
    arm_timer(l);
}

/* The one place MHD runs: once per loop turn, just before the loop blocks (redis's
 * beforeSleep), after every callback of the turn (I/O, batches done, timers, signals) has
 * queued its answers and resumed its connections. Never from inside an MHD callback. */
static void before_sleep(uv_prepare_t *handle)
{
    struct f8d_server *s = handle->data;
    for (unsigned i = 0; i < s->n_listeners; i++)
        run_listener(&s->listeners[i]);
    if (s->hung_up != NULL) {
        f8d_conns_after_run(s); /* shut-down sockets: MHD closes them on this same turn */
        for (unsigned i = 0; i < s->n_listeners; i++)
            run_listener(&s->listeners[i]);
    }
    f8d_server_check_stop(s);
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

/* The address as the log shows it in a URL: numeric, IPv6 in brackets. */
static void format_addr(const struct sockaddr_storage *addr, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN];
    const void *raw = addr->ss_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)addr)->sin_addr;
    if (inet_ntop(addr->ss_family, raw, host, sizeof(host)) == NULL)
        snprintf(host, sizeof(host), "?");
    snprintf(out, n, addr->ss_family == AF_INET6 ? "[%s]" : "%s", host);
}

/* Starts listener number s->n_listeners on one `host` entry: its own port when it names one,
 * else s->port (0 = any free port, then the bound port becomes s->port for the entries after
 * it without a port). */
static int start_listener(struct f8d_server *s, char *entry, char *err, size_t errlen)
{
    struct f8d_listener *l = &s->listeners[s->n_listeners];
    struct sockaddr_storage addr;
    memset(l, 0, sizeof(*l));
    l->epoll_fd = -1;
    memset(&addr, 0, sizeof(addr));
    unsigned port = s->port;
    bool explicit_port;
    const char *host = f8d_host_split(entry, &port, &explicit_port, err, errlen);
    if (host == NULL)
        return -1;
    if (resolve(host, port, &addr, err, errlen) != 0)
        return -1;
    format_addr(&addr, l->addr, sizeof(l->addr));

    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6; /* IPv6 only: "::" does not take IPv4 too, list 0.0.0.0 */
    /* HTTPS: every handshake asks tls.c for the current certificate (renewed on SIGHUP). */
    gnutls_certificate_retrieve_function2 *retrieve = f8d_tls_retrieve;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)retrieve},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)F8D_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    if (s->tls != NULL)
        flags |= MHD_USE_TLS;
    s->mhd_error[0] = '\0';
    /* No MHD_OPTION_LISTENING_ADDRESS_REUSE: it sets SO_REUSEPORT, which would let a second
     * f8d (or an address listed twice) bind the same port and silently split the traffic.
     * MHD's default SO_REUSEADDR is enough to restart while old connections linger. */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, f8d_access_handler, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->opts.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->opts.max_connections,
        MHD_OPTION_NOTIFY_COMPLETED, f8d_request_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, f8d_conn_notify, s,
        MHD_OPTION_UNESCAPE_CALLBACK, f8d_http_unescape, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s,
        MHD_OPTION_ARRAY, s->tls != NULL ? tls_opts : &tls_opts[2],
        MHD_OPTION_END);
    if (d == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", l->addr, port,
                 s->mhd_error[0] ? s->mhd_error : "libmicrohttpd failed to start");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    l->epoll_fd = info ? info->epoll_fd : -1;
    int rc = l->epoll_fd >= 0 ? uv_poll_init(&s->loop, &l->poll, l->epoll_fd) : UV_EINVAL;
    if (rc != 0) {
        snprintf(err, errlen, "cannot watch libmicrohttpd's epoll fd: %s", uv_strerror(rc));
        MHD_stop_daemon(d);
        return -1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info && info->port ? info->port : port;
    if (!explicit_port && s->port == 0)
        s->port = l->port;
    l->mhd = d;
    l->poll.data = s;
    s->handles_open++;
    uv_timer_init(&s->loop, &l->timer);
    l->timer.data = s;
    s->handles_open++;
    s->n_listeners++;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    arm_timer(l);
    return 0;
}

/* "listening on http://127.0.0.1:8080, http://[::1]:8080 (...)": tests and tools read the
 * port from this line. */
static void log_listening(const struct f8d_server *s)
{
    char urls[F8D_MAX_LISTENERS * 80];
    size_t used = 0;
    urls[0] = '\0';
    for (unsigned i = 0; i < s->n_listeners; i++)
        used += (size_t)snprintf(urls + used, sizeof(urls) - used, "%s%s://%s:%u",
                                 i ? ", " : "", s->tls ? "https" : "http",
                                 s->listeners[i].addr, s->listeners[i].port);
    f8d_log("listening on %s (%zu model(s), %u inference worker(s), max body %" PRIu64
            " bytes%s%s)",
            urls, s->models.count, s->pool.n_workers, s->opts.max_body_bytes,
            s->opts.config[0] ? ", config " : "", s->opts.config);
}

int f8d_http_start(struct f8d_server *s, char *err, size_t errlen)
{
    uv_prepare_init(&s->loop, &s->http_hook);
    s->http_hook.data = s;
    s->http_hook_open = true;
    s->handles_open++;
    uv_prepare_start(&s->http_hook, before_sleep);
    s->deadlines = f8d_deadlines_start(&s->loop, &s->opts); /* NULL: MHD's idle timeout only */
    if (f8d_tls_start(s, err, errlen) != 0)
        return -1;
    char list[sizeof(s->opts.host)];
    char *save = NULL;
    snprintf(list, sizeof(list), "%s", s->opts.host);
    s->port = s->opts.port;
    for (char *host = strtok_r(list, ", \t", &save); host != NULL;
         host = strtok_r(NULL, ", \t", &save)) {
        if (s->n_listeners == F8D_MAX_LISTENERS) {
            snprintf(err, errlen, "host: more than %d addresses", F8D_MAX_LISTENERS);
            return -1;
        }
        if (start_listener(s, host, err, errlen) != 0)
            return -1; /* the ones started are stopped by f8d_http_stop */
    }
    if (s->n_listeners == 0) {
        snprintf(err, errlen, "host: no address to listen on");
        return -1;
    }
    log_listening(s);
    return 0;
}

void f8d_http_quiesce(struct f8d_server *s)
{
    for (unsigned i = 0; i < s->n_listeners; i++) {
        if (s->listeners[i].mhd == NULL)
            continue;
        MHD_socket fd = MHD_quiesce_daemon(s->listeners[i].mhd);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

void f8d_http_stop(struct f8d_server *s)
{
    if (s->http_hook_open) {
        s->http_hook_open = false;
        uv_prepare_stop(&s->http_hook);
        uv_close((uv_handle_t *)&s->http_hook, f8d_handle_closed);
    }
    for (unsigned i = 0; i < s->n_listeners; i++) {
        struct f8d_listener *l = &s->listeners[i];
        if (l->mhd == NULL)
            continue;
        /* Stop watching the epoll fd before MHD closes it. */
        uv_poll_stop(&l->poll);
        uv_close((uv_handle_t *)&l->poll, f8d_handle_closed);
        uv_timer_stop(&l->timer);
        uv_close((uv_handle_t *)&l->timer, f8d_handle_closed);
        struct MHD_Daemon *d = l->mhd;
        l->mhd = NULL;
        MHD_stop_daemon(d); /* tells conn_watch of every close */
    }
    f8d_deadlines_close(&s->deadlines);
    f8d_tls_stop(s); /* the connections let go of theirs as MHD closed them */
}

const struct f8d_frontend f8d_http_frontend = {
    .name = "http",
    .start = f8d_http_start,
    .quiesce = f8d_http_quiesce,
    .stop = f8d_http_stop,
    .release = f8d_http_free_requests,
    .reload = f8d_tls_reload,
};
