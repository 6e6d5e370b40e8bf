/* f8d gRPC over TLS (grpc_tls.h). */
#include "grpc_tls.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/options.h"

/* gRPC's threads, before a handshake: the pair when it changed since gRPC last took it. */
static grpc_ssl_certificate_config_reload_status fetch(void *user_data,
                                                       grpc_ssl_server_certificate_config **config)
{
    struct f8d_grpc_tls *t = user_data;
    grpc_ssl_certificate_config_reload_status rc = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    uv_mutex_lock(&t->lock);
    if (t->served != t->gen) {
        grpc_ssl_pem_key_cert_pair pair = {t->files.key_pem, t->files.cert_pem};
        /* Root certificates verify client certificates, which f8d does not ask for; gRPC
         * 1.51 still asserts that a fetched config has some, so it gets the server's chain. */
        *config = grpc_ssl_server_certificate_config_create(t->files.cert_pem, &pair, 1);
        t->served = t->gen;
        rc = *config ? GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW
                     : GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
    }
    uv_mutex_unlock(&t->lock);
    return rc;
}

static void log_cert(const char *what, const struct f8d_tls_files *f, const char *path)
{
    char desc[512];
    f8d_tls_files_describe(f, time(NULL), desc, sizeof(desc));
    f8d_log("gRPC TLS: %s %s (%s)", what, desc, path);
}

int f8d_grpc_tls_start(struct f8d_grpc_tls *t, const struct f8d_options *o,
                       grpc_server_credentials **creds, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (o->tls_cert[0] == '\0') {
        *creds = grpc_insecure_server_credentials_create();
        return 0;
    }
    if (f8d_tls_files_load(o->tls_cert, o->tls_key, &t->files, err, errlen) != 0) {
        f8d_tls_files_free(&t->files);
        return -1;
    }
    if (uv_mutex_init(&t->lock) != 0) {
        f8d_tls_files_free(&t->files);
        snprintf(err, errlen, "out of resources for a lock");
        return -1;
    }
    t->on = true;
    t->gen = 1;
    grpc_ssl_server_credentials_options *opts =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, fetch, t);
    *creds = opts ? grpc_ssl_server_credentials_create_with_options(opts) : NULL;
    if (*creds == NULL) {
        snprintf(err, errlen, "gRPC refused the TLS certificate in %s", o->tls_cert);
        return -1;
    }
    log_cert("serving", &t->files, o->tls_cert);
    return 0;
}

void f8d_grpc_tls_reload(struct f8d_grpc_tls *t, const struct f8d_options *o)
{
    if (!t->on)
        return;
    struct f8d_tls_files next;
    char err[512];
    if (f8d_tls_files_load(o->tls_cert, o->tls_key, &next, err, sizeof(err)) != 0) {
        f8d_log("gRPC TLS: keeping the current certificate (serial %s): %s", t->files.serial,
                err);
        f8d_tls_files_free(&next);
        return;
    }
    if (f8d_tls_files_same(&t->files, &next)) {
        f8d_tls_files_free(&next);
        return;
    }
    uv_mutex_lock(&t->lock);
    struct f8d_tls_files old = t->files;
    t->files = next;
    t->gen++;
    uv_mutex_unlock(&t->lock);
    f8d_tls_files_free(&old);
    log_cert("renewed: new connections get", &t->files, o->tls_cert);
}

void f8d_grpc_tls_free(struct f8d_grpc_tls *t)
{
    if (!t->on)
        return;
    f8d_tls_files_free(&t->files);
    uv_mutex_destroy(&t->lock);
    t->on = false;
}
