/*
 * f8d HTTPS: the certificate libmicrohttpd's GnuTLS sessions present, and its renewal on
 * SIGHUP without dropping a connection.
 *
 * MHD 0.9.75 reads MHD_OPTION_HTTPS_MEM_CERT/KEY once, when a daemon starts, and cannot change
 * them on a running daemon. Two ways out: restart the listener (quiesce the MHD daemon, start
 * another on its listening socket with the new certificate, let the old one drain), or give
 * MHD a certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK, GnuTLS's
 * gnutls_certificate_retrieve_function2) that GnuTLS calls in every handshake. f8d uses the
 * callback: the listening socket is never closed or handed over (no refused connect, no
 * second daemon per address with its own epoll fd, timer, connection limit and shutdown to
 * drive), and a renewal is one pointer swapped on the loop thread.
 *
 * The callback answers with the current credential (certificate chain and key, parsed once
 * per renewal). GnuTLS does not copy or free what a retrieve_function2 returns: the session
 * points at it until it ends. So a credential is reference counted: the server holds the
 * current one, each connection holds the one it handshook with (in its conn_watch state)
 * until MHD closes it. A renewal swaps the server's reference; connections that handshook
 * before keep theirs, and the old credential is freed when the last of them closes.
 *
 * Loop thread only: MHD runs (and so GnuTLS handshakes) there, and SIGHUP arrives there.
 */
#ifndef F8D_TLS_H
#define F8D_TLS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

struct f8d_server;
struct f8d_tls_cred;

/* With tls_cert and tls_key set: reads and checks them (core/tls_files.h) into the server's
 * current credential and logs the certificate. Returns 0 (also when TLS is off), or -1 with a
 * message naming the file. */
int f8d_tls_start(struct f8d_server *s, char *err, size_t errlen);

/* SIGHUP: reads the files again. A new certificate or key serves every handshake from now
 * on; the same files change nothing; a file that is unreadable or invalid keeps the current
 * credential. Logs which. Does nothing when TLS is off. */
void f8d_tls_reload(struct f8d_server *s);

/* Drops the server's reference (after MHD stopped: the connections dropped theirs). */
void f8d_tls_stop(struct f8d_server *s);

/* A connection's reference, dropped when MHD closes it (NULL: none). */
void f8d_tls_cred_release(struct f8d_tls_cred *cred);

/* MHD_OPTION_HTTPS_CERT_CALLBACK: the server's current credential for the connection that is
 * handshaking (found through the session's pointer, which MHD sets to the connection). */
int f8d_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                     gnutls_pcert_st **pcert, unsigned int *pcert_length,
                     gnutls_privkey_t *privkey);

/* TLS versions and ciphers: GnuTLS's NORMAL set, TLS 1.2 and 1.3 only. */
#define F8D_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

#endif /* F8D_TLS_H */
