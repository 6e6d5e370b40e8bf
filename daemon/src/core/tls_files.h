/*
 * f8d TLS files: reads the PEM files named by `tls_cert` and `tls_key` and checks them, for
 * any front end that serves TLS (HTTP through libmicrohttpd today, gRPC later). It knows no
 * front end: it returns the PEM texts, as every TLS stack takes them, after GnuTLS has parsed
 * both and found that the key belongs to the first certificate, and what the log should say
 * of the certificate.
 *
 * Errors name the key and the file: "tls_cert /etc/f8d/cert.pem: cannot read: No such file
 * or directory", "tls_key /etc/f8d/key.pem: not a PEM private key (...)", "tls_key ... does
 * not match the certificate in tls_cert ...". Any thread; no state.
 */
#ifndef F8D_TLS_FILES_H
#define F8D_TLS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Larger files are refused: a chain of a few certificates is a few KB. */
#define F8D_TLS_FILE_MAX (1024 * 1024)

struct f8d_tls_files {
    char *cert_pem;      /* the chain as read (NUL-terminated): the server's certificate first */
    size_t cert_len;
    char *key_pem;       /* its private key as read (NUL-terminated; wiped when freed) */
    size_t key_len;
    unsigned n_certs;    /* certificates in the chain */
    char subject[256];   /* the server certificate's distinguished name */
    char serial[80];     /* its serial number in upper-case hex, as `openssl x509 -serial` */
    time_t not_before, not_after;
};

/* Reads and checks both files into *out (freed with f8d_tls_files_free, also after a
 * failure). Returns 0, or -1 with a message naming the key and the file. */
int f8d_tls_files_load(const char *cert_path, const char *key_path, struct f8d_tls_files *out,
                       char *err, size_t errlen);

/* Whether a and b hold the same certificate chain and key (a reload that changes nothing). */
bool f8d_tls_files_same(const struct f8d_tls_files *a, const struct f8d_tls_files *b);

/* "CN=f8d.example, serial 1f2e..., valid until 2027-03-01 12:00 UTC" (plus " (EXPIRED)" or
 * " (NOT YET VALID)" against `now`), for the log. */
void f8d_tls_files_describe(const struct f8d_tls_files *f, time_t now, char *out, size_t n);

void f8d_tls_files_free(struct f8d_tls_files *f);

#endif /* F8D_TLS_FILES_H */
