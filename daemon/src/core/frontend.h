/*
 * f8d front ends: a protocol that brings requests to the server (HTTP today, gRPC next).
 *
 * The server knows its front ends only through this table of callbacks, so that nothing in
 * core/ depends on a protocol: a new protocol is a new front end, its requests are
 * protocol-free f8d_requests (request.h), and its own table maps F8D_E* codes to its statuses.
 * main.c hands the server the front ends to run. Every callback runs on the loop thread.
 */
#ifndef F8D_FRONTEND_H
#define F8D_FRONTEND_H

#include <stddef.h>

struct f8d_server;

struct f8d_frontend {
    const char *name;
    /* Binds and starts serving (after the models are loaded). Returns 0, or -1 with a message
     * (what it started is stopped by `stop`). Logs where it listens. */
    int (*start)(struct f8d_server *s, char *err, size_t errlen);
    /* Shutdown, first step: stops accepting; open connections and calls are still served. */
    void (*quiesce)(struct f8d_server *s);
    /* Closes everything (open requests are completed and freed) and its loop handles. Safe to
     * call twice, and after a failed start. */
    void (*stop)(struct f8d_server *s);
    /* Frees what it keeps for reuse (after stop). */
    void (*release)(struct f8d_server *s);
    /* SIGHUP: reads again what it read from files at start (a TLS certificate), keeping what
     * it has when the new files are bad. NULL: nothing to read. */
    void (*reload)(struct f8d_server *s);
};

#define F8D_MAX_FRONTENDS 4

#endif /* F8D_FRONTEND_H */
