/* f8d TLS files: read the PEM certificate chain and key, check them with GnuTLS (see the
 * header). */
#include "tls_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* Reads the whole file at `path` (at most F8D_TLS_FILE_MAX bytes) into a NUL-terminated
 * buffer. `key` names the setting in messages. */
static int read_file(const char *key, const char *path, char **out, size_t *len, char *err,
                     size_t errlen)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s %s: cannot read: %s", key, path, strerror(errno));
        return -1;
    }
    char *buf = malloc(F8D_TLS_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, F8D_TLS_FILE_MAX + 1, f) : 0;
    int failed = buf == NULL || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s %s: cannot read: %s", key, path,
                 buf == NULL ? "out of memory" : strerror(saved));
        free(buf);
        return -1;
    }
    if (n == 0 || n > F8D_TLS_FILE_MAX) {
        snprintf(err, errlen, "%s %s: %s", key, path,
                 n == 0 ? "the file is empty" : "larger than 1 MiB: not a PEM file");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static void hex(const unsigned char *b, size_t n, char *out, size_t outlen)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && w + 3 <= outlen; i++)
        w += (size_t)snprintf(out + w, outlen - w, "%02X", b[i]);
}

/* What the log says of the server certificate: subject, serial, validity. */
static void describe_cert(gnutls_x509_crt_t crt, struct f8d_tls_files *out)
{
    gnutls_datum_t dn = {NULL, 0};
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0 && dn.data != NULL)
        snprintf(out->subject, sizeof(out->subject), "%.*s", (int)dn.size, (char *)dn.data);
    else
        snprintf(out->subject, sizeof(out->subject), "(no subject)");
    gnutls_free(dn.data);
    unsigned char serial[40];
    size_t size = sizeof(serial);
    if (gnutls_x509_crt_get_serial(crt, serial, &size) == 0)
        hex(serial, size, out->serial, sizeof(out->serial));
    out->not_before = gnutls_x509_crt_get_activation_time(crt);
    out->not_after = gnutls_x509_crt_get_expiration_time(crt);
}

/* Parses the chain, the key, and checks that the key is the first certificate's. */
static int check(const char *cert_path, const char *key_path, struct f8d_tls_files *out,
                 char *err, size_t errlen)
{
    gnutls_datum_t cert = {(unsigned char *)out->cert_pem, (unsigned)out->cert_len};
    gnutls_datum_t key = {(unsigned char *)out->key_pem, (unsigned)out->key_len};
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    int rc = gnutls_x509_crt_list_import2(&crts, &n, &cert, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        snprintf(err, errlen, "tls_cert %s: not a PEM certificate (%s)", cert_path,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate found");
        return -1;
    }
    out->n_certs = n;
    describe_cert(crts[0], out);

    int result = -1;
    gnutls_x509_privkey_t pk = NULL;
    unsigned char cert_id[64], key_id[64];
    size_t cert_id_len = sizeof(cert_id), key_id_len = sizeof(key_id);
    if ((rc = gnutls_x509_privkey_init(&pk)) < 0 ||
        (rc = gnutls_x509_privkey_import2(pk, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, errlen, "tls_key %s: not a PEM private key (%s%s)", key_path,
                 gnutls_strerror(rc),
                 rc == GNUTLS_E_DECRYPTION_FAILED ? "; encrypted keys are not supported" : "");
    } else if ((rc = gnutls_x509_crt_get_key_id(crts[0], GNUTLS_KEYID_USE_SHA256, cert_id,
                                                &cert_id_len)) < 0 ||
               (rc = gnutls_x509_privkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, key_id,
                                                    &key_id_len)) < 0) {
        snprintf(err, errlen, "tls_key %s: cannot compare it with tls_cert %s (%s)", key_path,
                 cert_path, gnutls_strerror(rc));
    } else if (cert_id_len != key_id_len || memcmp(cert_id, key_id, key_id_len) != 0) {
        snprintf(err, errlen, "tls_key %s does not match the certificate in tls_cert %s",
                 key_path, cert_path);
    } else {
        result = 0;
    }
    if (pk != NULL)
        gnutls_x509_privkey_deinit(pk);
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    return result;
}

int f8d_tls_files_load(const char *cert_path, const char *key_path, struct f8d_tls_files *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (read_file("tls_cert", cert_path, &out->cert_pem, &out->cert_len, err, errlen) != 0 ||
        read_file("tls_key", key_path, &out->key_pem, &out->key_len, err, errlen) != 0 ||
        check(cert_path, key_path, out, err, errlen) != 0) {
        f8d_tls_files_free(out);
        return -1;
    }
    return 0;
}

bool f8d_tls_files_same(const struct f8d_tls_files *a, const struct f8d_tls_files *b)
{
    return a->cert_len == b->cert_len && a->key_len == b->key_len &&
           memcmp(a->cert_pem, b->cert_pem, a->cert_len) == 0 &&
           memcmp(a->key_pem, b->key_pem, a->key_len) == 0;
}

void f8d_tls_files_describe(const struct f8d_tls_files *f, time_t now, char *out, size_t n)
{
    char until[32] = "?";
    struct tm tm;
    if (f->not_after != (time_t)-1 && gmtime_r(&f->not_after, &tm) != NULL)
        strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
    const char *state = now > f->not_after ? " (EXPIRED)"
                        : now < f->not_before ? " (NOT YET VALID)" : "";
    snprintf(out, n, "%s, serial %s, valid until %s%s, %u certificate(s) in the chain",
             f->subject, f->serial, until, state, f->n_certs);
}

void f8d_tls_files_free(struct f8d_tls_files *f)
{
    if (f->key_pem != NULL)
        explicit_bzero(f->key_pem, f->key_len);
    free(f->key_pem);
    free(f->cert_pem);
    memset(f, 0, sizeof(*f));
}
