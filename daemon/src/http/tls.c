/* f8d HTTPS: reference-counted credentials behind MHD's certificate callback (see the
 * header). */
#include "tls.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "conn_watch.h"
#include "core/log.h"
#include "core/server.h"
#include "core/tls_files.h"

struct f8d_tls_cred {
    unsigned refs;              /* the server's (while current) + one per connection */
    struct f8d_tls_files files; /* the PEM texts, to tell a renewal from a repeat */
    gnutls_pcert_st *pcerts;    /* the chain as GnuTLS sends it */
    unsigned n_pcerts;
    gnutls_privkey_t key;
};

static void cred_free(struct f8d_tls_cred *c)
{
    for (unsigned i = 0; i < c->n_pcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    free(c->pcerts);
    if (c->key != NULL)
        gnutls_privkey_deinit(c->key);
    f8d_tls_files_free(&c->files);
    free(c);
}

void f8d_tls_cred_release(struct f8d_tls_cred *cred)
{
    if (cred == NULL)
        return;
    assert(cred->refs > 0);
    if (--cred->refs == 0)
        cred_free(cred);
}

/* A credential (one reference) from files already checked; NULL with a message. */
static struct f8d_tls_cred *cred_new(struct f8d_tls_files *files, char *err, size_t errlen)
{
    struct f8d_tls_cred *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->refs = 1;
    c->files = *files; /* owned now */
    memset(files, 0, sizeof(*files));
    gnutls_datum_t cert = {(unsigned char *)c->files.cert_pem, (unsigned)c->files.cert_len};
    gnutls_datum_t key = {(unsigned char *)c->files.key_pem, (unsigned)c->files.key_len};
    unsigned n = c->files.n_certs;
    c->pcerts = calloc(n, sizeof(*c->pcerts));
    int rc = c->pcerts ? gnutls_pcert_list_import_x509_raw(c->pcerts, &n, &cert,
                                                            GNUTLS_X509_FMT_PEM, 0)
                       : GNUTLS_E_MEMORY_ERROR;
    if (rc >= 0)
        c->n_pcerts = n;
    if (rc >= 0)
        rc = gnutls_privkey_init(&c->key);
    if (rc >= 0)
        rc = gnutls_privkey_import_x509_raw(c->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        snprintf(err, errlen, "GnuTLS cannot use the certificate and key: %s",
                 gnutls_strerror(rc));
        cred_free(c);
        return NULL;
    }
    return c;
}

/* Reads the files into a new credential; NULL with a message naming the file. */
static struct f8d_tls_cred *cred_load(const struct f8d_options *o, char *err, size_t errlen)
{
    struct f8d_tls_files files;
    if (f8d_tls_files_load(o->tls_cert, o->tls_key, &files, err, errlen) != 0)
        return NULL;
    struct f8d_tls_cred *c = cred_new(&files, err, errlen);
    f8d_tls_files_free(&files); /* empty unless cred_new failed before taking it */
    return c;
}

static void log_cred(const char *what, const struct f8d_tls_cred *c, const char *path)
{
    char desc[512];
    f8d_tls_files_describe(&c->files, time(NULL), desc, sizeof(desc));
    f8d_log("TLS: %s %s (%s)", what, desc, path);
}

int f8d_tls_start(struct f8d_server *s, char *err, size_t errlen)
{
    if (s->opts.tls_cert[0] == '\0')
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
        snprintf(err, errlen, "tls_cert: this libmicrohttpd has no HTTPS certificate callback "
                              "(built without GnuTLS?)");
        return -1;
    }
    s->tls = cred_load(&s->opts, err, errlen);
    if (s->tls == NULL)
        return -1;
    log_cred("serving certificate", s->tls, s->opts.tls_cert);
    return 0;
}

void f8d_tls_reload(struct f8d_server *s)
{
    if (s->tls == NULL)
        return;
    char err[1024];
    struct f8d_tls_files files;
    if (f8d_tls_files_load(s->opts.tls_cert, s->opts.tls_key, &files, err, sizeof(err)) != 0) {
        f8d_log("TLS: keeping the current certificate (serial %s): %s",
                s->tls->files.serial, err);
        return;
    }
    if (f8d_tls_files_same(&files, &s->tls->files)) {
        f8d_tls_files_free(&files);
        f8d_log("TLS: certificate unchanged (serial %s)", s->tls->files.serial);
        return;
    }
    struct f8d_tls_cred *c = cred_new(&files, err, sizeof(err));
    f8d_tls_files_free(&files);
    if (c == NULL) {
        f8d_log("TLS: keeping the current certificate (serial %s): %s",
                s->tls->files.serial, err);
        return;
    }
    f8d_tls_cred_release(s->tls); /* freed when the last connection using it closes */
    s->tls = c;
    log_cred("new connections get certificate", c, s->opts.tls_cert);
}

void f8d_tls_stop(struct f8d_server *s)
{
    f8d_tls_cred_release(s->tls);
    s->tls = NULL;
}

int f8d_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                     gnutls_pcert_st **pcert, unsigned int *pcert_length,
                     gnutls_privkey_t *privkey)
{
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    struct f8d_conn *c = conn ? f8d_conn_of(conn) : NULL;
    if (c == NULL || c->server->tls == NULL)
        return -1; /* no state for the connection (out of memory): the handshake fails */
    struct f8d_tls_cred *cred = c->server->tls;
    if (c->tls_cred != cred) {
        f8d_tls_cred_release(c->tls_cred); /* a second handshake on the connection */
        cred->refs++;
        c->tls_cred = cred;
    }
    *pcert = cred->pcerts;
    *pcert_length = cred->n_pcerts;
    *privkey = cred->key;
    return 0;
}
