"""HTTPS (tls_cert, tls_key): certificates made with openssl for each test module, a client
that verifies them (Python's ssl with the test CA as its only trust anchor), real inference
over HTTPS, plain HTTP to the TLS port closed at once, renewal on SIGHUP seen by new
connections while an open one keeps working, a bad renewal keeping the current certificate,
and start-up errors that name the file."""

import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time

import pytest

import fmnist
from f8d_process import F8D_BIN, models_dir, raw_exchange, serving


class Pki:
    """A test CA in `dir` that signs server certificates for 127.0.0.1 (EC P-256: fast)."""

    def __init__(self, d):
        self.dir = d
        self.ca = self.path("ca.pem")
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                     "-subj", "/CN=f8d test CA")
        with open(self.path("san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), cwd=self.dir, check=True,
                       capture_output=True)

    def server_cert(self, serial, name):
        """A new key and a certificate for 127.0.0.1 with `serial` (int), signed by the CA:
        (cert path, key path, SHA-256 of the certificate's DER)."""
        cert, key = self.path(name + ".pem"), self.path(name + ".key")
        self.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", key, "-out", name + ".csr", "-subj", "/CN=127.0.0.1")
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-set_serial", str(serial), "-days", "1", "-extfile", "san.ext",
                     "-out", cert)
        with open(cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        return cert, key, hashlib.sha256(der).hexdigest()

    def client_context(self):
        """Verifies the server's certificate against the test CA only, and its name."""
        ctx = ssl.create_default_context(cafile=self.ca)
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        return ctx


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="f8d-tls-")
    try:
        yield Pki(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def install(pki, cert, key):
    """Puts a certificate and key where f8d reads them (each replaced atomically)."""
    for src, dst in ((cert, "served.pem"), (key, "served.key")):
        tmp = pki.path(dst + ".tmp")
        shutil.copy(src, tmp)
        os.replace(tmp, pki.path(dst))
    return pki.path("served.pem"), pki.path("served.key")


def peer(conn):
    """(serial as the ssl module gives it, SHA-256 of the DER) of a connected HTTPSConnection."""
    return (conn.sock.getpeercert()["serialNumber"],
            hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest())


def wait_logged(proc, words, count=1, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.stderr.count(words) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("no %r in the log:\n%s" % (words, proc.stderr[-3000:]))


@pytest.fixture(scope="module")
def tls_daemon(pki, model_file):
    cert, key, fingerprint = pki.server_cert(0x1001, "first")
    served_cert, served_key = install(pki, cert, key)
    with serving("--tls-cert", served_cert, "--tls-key", served_key, "--threads", 2,
                 ssl_context=pki.client_context()) as proc:
        proc.fingerprint = fingerprint
        yield proc


def test_startup_line_says_https(tls_daemon):
    assert "listening on https://127.0.0.1:%d" % tls_daemon.port in tls_daemon.stderr
    assert "TLS: serving certificate CN=127.0.0.1, serial 1001" in tls_daemon.stderr


def test_inference_over_verified_https(tls_daemon, daemon, fashion_test_set):
    """The same JPEGs over HTTPS (verified) and over the plain-HTTP session daemon: the same
    answers, on one kept-alive TLS connection, by both REST conventions."""
    images, _ = fashion_test_set
    conn = tls_daemon.connection()
    for i in range(0, 2000, 400):
        jpeg = fmnist.to_jpeg(images[i])
        status, _, over_tls = tls_daemon.request("POST", "/predictions/fashion", body=jpeg,
                                                 headers={"Content-Type": "image/jpeg"},
                                                 conn=conn)
        assert status == 200, over_tls
        status, _, plain = daemon.request("POST", "/predictions/fashion", body=jpeg,
                                          headers={"Content-Type": "image/jpeg"})
        assert status == 200
        assert over_tls == plain
        assert len(over_tls["predictions"]) == 5
    assert peer(conn) == ("1001", tls_daemon.fingerprint)
    assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")

    body = {"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [1],
                        "data": [base64.b64encode(fmnist.to_jpeg(images[7])).decode()]}],
            "outputs": [{"name": "logits"}]}
    status, _, over_tls = tls_daemon.request("POST", "/v2/models/fashion/infer",
                                             body=json.dumps(body), conn=conn)
    assert status == 200, over_tls
    status, _, plain = daemon.request("POST", "/v2/models/fashion/infer", body=json.dumps(body))
    assert over_tls["outputs"] == plain["outputs"]
    assert over_tls["outputs"][0]["shape"] == [1, 10]
    conn.close()


def test_client_with_another_ca_refuses(tls_daemon, tmp_path):
    """The client really verifies: trusting another CA only, the handshake fails."""
    other = Pki(str(tmp_path))
    conn = http.client.HTTPSConnection("127.0.0.1", tls_daemon.port, timeout=10,
                                       context=other.client_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/v2/health/live")
    conn.close()
    status, _, _ = tls_daemon.request("GET", "/v2/health/live")
    assert status == 200


def test_plain_http_to_the_tls_port_is_closed(tls_daemon):
    """Not TLS: the handshake fails and the connection is closed at once (no answer, no
    hang), and HTTPS goes on."""
    start = time.monotonic()
    data, closed = raw_exchange(tls_daemon.port,
                                b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n", timeout=5)
    assert closed and time.monotonic() - start < 2.0
    assert not data.startswith(b"HTTP/")
    status, _, answer = tls_daemon.request("GET", "/v2/health/live")
    assert status == 200 and answer == {"live": True}


def test_renewal_on_sighup(pki, model_file, fashion_test_set):
    """SIGHUP with a new certificate and key: a new connection gets them, a connection opened
    before keeps working (on the certificate it handshook with); a bad file then (not PEM, or a
    key of another certificate) keeps the current one, and the log says why. (Requests are
    predictions: MHD 0.9.75 closes the connection after an answer queued in its first
    callback, as f8d's GETs are.)"""
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])

    def predict(conn):
        status, _, answer = proc.request("POST", "/predictions/fashion", body=jpeg, conn=conn)
        assert status == 200, answer
        return answer["predictions"]

    cert1, key1, fp1 = pki.server_cert(0x2001, "renew1")
    cert2, key2, fp2 = pki.server_cert(0x2002, "renew2")
    served_cert, served_key = install(pki, cert1, key1)
    with serving("--tls-cert", served_cert, "--tls-key", served_key, "--threads", 1,
                 ssl_context=pki.client_context()) as proc:
        old = proc.connection()
        expected = predict(old)
        assert peer(old) == ("2001", fp1)

        install(pki, cert2, key2)
        proc.proc.send_signal(signal.SIGHUP)
        wait_logged(proc, "TLS: new connections get certificate CN=127.0.0.1, serial 2002")
        new = proc.connection()
        assert predict(new) == expected
        assert peer(new) == ("2002", fp2)
        assert predict(old) == expected  # the connection from before: not dropped
        assert peer(old) == ("2001", fp1)

        with open(served_cert, "w") as f:
            f.write("not a certificate\n")
        proc.proc.send_signal(signal.SIGHUP)
        wait_logged(proc, "TLS: keeping the current certificate (serial 2002): tls_cert %s: "
                          "not a PEM certificate" % served_cert)
        install(pki, cert1, key2)  # a certificate with another certificate's key
        proc.proc.send_signal(signal.SIGHUP)
        wait_logged(proc, "TLS: keeping the current certificate (serial 2002): tls_key %s "
                          "does not match the certificate in tls_cert %s"
                          % (served_key, served_cert))
        third = proc.connection()
        assert predict(third) == expected
        assert peer(third) == ("2002", fp2)
        for c in (old, new, third):
            assert predict(c) == expected
            c.close()

        install(pki, cert2, key2)  # the files serving already: nothing changes
        proc.proc.send_signal(signal.SIGHUP)
        wait_logged(proc, "TLS: certificate unchanged (serial 2002)")


def start_error(pki, *args):
    """Runs f8d with `args`; it must fail to start: (exit status, stderr)."""
    d = models_dir()
    try:
        r = subprocess.run([F8D_BIN, "--models", d, "--host", "127.0.0.1", "--port", "0",
                            "--grpc-port", "0"] + list(args),
                           capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return r.returncode, r.stderr


def test_start_errors_name_the_file(pki):
    cert, key, _ = pki.server_cert(0x3001, "start")
    _, other_key, _ = pki.server_cert(0x3002, "start_other")
    garbage = pki.path("garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    missing = pki.path("missing.pem")
    cases = [
        (("--tls-cert", missing, "--tls-key", key),
         "f8d: tls_cert %s: cannot read: No such file or directory" % missing),
        (("--tls-cert", garbage, "--tls-key", key),
         "f8d: tls_cert %s: not a PEM certificate" % garbage),
        (("--tls-cert", cert, "--tls-key", garbage),
         "f8d: tls_key %s: not a PEM private key" % garbage),
        (("--tls-cert", cert, "--tls-key", other_key),
         "f8d: tls_key %s does not match the certificate in tls_cert %s" % (other_key, cert)),
        (("--tls-cert", cert), "f8d: tls_cert and tls_key go together: set both or neither"),
        (("--tls-key", key), "f8d: tls_cert and tls_key go together: set both or neither"),
    ]
    for args, message in cases:
        rc, err = start_error(pki, *args)
        assert rc == 1, (args, err)
        assert message in err, (args, err)
        assert "listening on" not in err


def test_stalled_handshake_is_cut_at_header_timeout(pki, model_file):
    """A client that connects to the TLS port and sends nothing, or half a ClientHello, holds
    its slot only until header_timeout, as on plain HTTP."""
    cert, key, _ = pki.server_cert(0x4001, "stall")
    with serving("--tls-cert", cert, "--tls-key", key, "--header-timeout", 1,
                 ssl_context=pki.client_context()) as proc:
        for first in (b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
            start = time.monotonic()
            data, closed = raw_exchange(proc.port, first, timeout=4)
            took = time.monotonic() - start
            assert closed and 0.8 <= took <= 2.5, (first, closed, took)
            assert data == b""
        assert proc.request("GET", "/v2/health/live")[0] == 200
