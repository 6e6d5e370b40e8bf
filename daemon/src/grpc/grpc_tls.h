/*
 * f8d gRPC over TLS: the same tls_cert / tls_key as HTTPS (read and checked by
 * core/tls_files.c), served by gRPC's own TLS, and renewed on SIGHUP without a restart.
 *
 * gRPC's C core asks a certificate-config callback before each handshake whether the
 * certificate changed (grpc_ssl_server_credentials_create_options_using_config_fetcher):
 * a reload swaps the PEM texts under a lock and bumps a generation; the callback, on one of
 * gRPC's threads, hands the new pair over once. Connections already up keep theirs. A bad or
 * unchanged file on reload keeps the current certificate (logged), as HTTPS does.
 */
#ifndef F8D_GRPC_TLS_H
#define F8D_GRPC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc_security.h>
#include <uv.h>

#include "core/tls_files.h"

struct f8d_options;

struct f8d_grpc_tls {
    bool on;
    uv_mutex_t lock;            /* guards files, gen and served (gRPC's threads read them) */
    struct f8d_tls_files files; /* the current pair */
    uint64_t gen;               /* bumped by each renewal */
    uint64_t served;            /* the generation gRPC last took */
};

/* The server's credentials: TLS with the files when tls_cert is set, else plaintext.
 * Returns 0 with *creds (released by the caller once the ports are added), or -1 with a
 * message naming the file. */
int f8d_grpc_tls_start(struct f8d_grpc_tls *t, const struct f8d_options *o,
                       grpc_server_credentials **creds, char *err, size_t errlen);

/* SIGHUP: reads the files again; a valid new pair serves the next handshakes. Loop thread. */
void f8d_grpc_tls_reload(struct f8d_grpc_tls *t, const struct f8d_options *o);

/* After the gRPC server is destroyed. */
void f8d_grpc_tls_free(struct f8d_grpc_tls *t);

#endif /* F8D_GRPC_TLS_H */
