"""Deadlines, cancellation, health streams, SIGTERM and reloads with gRPC calls (and the REST
deadline), against real f8d processes. The "slow" daemon holds images in the queue for
seconds (max_queue_delay_us) waiting for company, so that calls are certain to be queued when
their deadline passes or their client cancels."""

import base64
import json
import os
import signal
import threading
import time

import grpc
import numpy as np
import pytest

from f8d_process import serving
from grpc_stubs import health, health_grpc, pb, pb_grpc
from test_abuse_cancel import metric, wait_for
from test_grpc import jpeg_request
import fmnist


@pytest.fixture(scope="module")
def jpeg():
    images, _ = fmnist.load_test_set()
    return fmnist.to_jpeg(images[0])


@pytest.fixture
def slow(model_file):
    # a small ASan quarantine, so that memory freed is memory the RSS can give back
    env = {"ASAN_OPTIONS": "detect_leaks=1:quarantine_size_mb=1"}
    with serving("--threads", 1, "--max-queue-delay-us", 5000000, "--max-batch-size", 1024,
                 "--max-queue", 2000, "--grpc-max-streams", 1100, grpc=True, env=env) as proc:
        yield proc


def stub_of(d):
    ch = grpc.insecure_channel("127.0.0.1:%d" % d.grpc_port)
    return ch, pb_grpc.GRPCInferenceServiceStub(ch)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def test_deadline_passes_in_queue(slow, jpeg):
    """A call whose deadline passes while its image waits is answered DEADLINE_EXCEEDED long
    before the batch would have run, and the image never reaches the engine."""
    ch, stub = stub_of(slow)
    with ch:
        # (0.5 s: under ASan on a busy 2-core host a 0.2 s call once expired before its
        # image reached the queue, answered rightly but not counted as dropped from it)
        for timeout in (0.001, 0.5):
            t0 = time.monotonic()
            with pytest.raises(grpc.RpcError) as e:
                stub.ModelInfer(jpeg_request([jpeg]), timeout=timeout)
            assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert time.monotonic() - t0 < 2.0
        # the 0.5 s call reached the queue and was dropped from it as expired
        assert wait_for(lambda: metric(slow, "f8d_images_dropped_total", model="fashion",
                                       reason="deadline") >= 1.0), slow.stderr[-2000:]
        assert metric(slow, "f8d_queue_depth", model="fashion") == 0.0
        assert metric(slow, "f8d_inference_images_total", model="fashion") == 0.0


def test_timeout_parameter_counts_the_parse(model_file):
    """The `timeout` parameter counts from the call's arrival, as REST's does: 1,000 images
    as a value list (parsed on the background pool, tens of ms) with a 1 ms timeout are answered
    DEADLINE_EXCEEDED, never run; without it, the same call is answered."""
    n = 1000
    values = (np.arange(n * 784) % 256).tolist()
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="image", datatype="UINT8", shape=[n, 28, 28, 1],
        contents=pb.InferTensorContents(uint_contents=values))
    with serving("--threads", 1, "--max-batch-size", 1024, "--max-queue", 4000,
                 grpc=True) as d:
        ch, stub = stub_of(d)
        with ch:
            timed = pb.ModelInferRequest(model_name="fashion", inputs=[tensor])
            timed.parameters["timeout"].int64_param = 1000
            with pytest.raises(grpc.RpcError) as e:
                stub.ModelInfer(timed, timeout=30)
            assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "deadline" in e.value.details()
            assert metric(d, "f8d_inference_images_total", model="fashion") == 0.0
            answer = stub.ModelInfer(pb.ModelInferRequest(model_name="fashion", inputs=[tensor]),
                                     timeout=30)
            assert len(answer.raw_output_contents[0]) == n * 10 * 4


def test_rest_timeout_parameter(slow, jpeg):
    """REST: the KServe "timeout" parameter (microseconds) -> 504, dropped before the engine."""
    body = {"parameters": {"timeout": 200000},
            "inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [2],
                        "data": [base64.b64encode(jpeg).decode()] * 2}]}
    t0 = time.monotonic()
    status, _, answer = slow.request("POST", "/v2/models/fashion/infer", body=json.dumps(body))
    assert status == 504, answer
    assert "deadline" in answer["error"]
    assert time.monotonic() - t0 < 2.0
    assert metric(slow, "f8d_images_dropped_total", model="fashion", reason="deadline") == 2.0
    assert metric(slow, "f8d_inference_images_total", model="fashion") == 0.0
    bad = dict(body, parameters={"timeout": -5})
    status, _, answer = slow.request("POST", "/v2/models/fashion/infer", body=json.dumps(bad))
    assert status == 400 and "timeout" in answer["error"]


def cancel_thousand(d, stub, jpeg, round_no):
    calls = [stub.ModelInfer.future(jpeg_request([jpeg])) for _ in range(1000)]
    assert wait_for(lambda: metric(d, "f8d_queue_depth", model="fashion") == 1000.0, 10.0), \
        d.stderr[-2000:]
    for c in calls:
        c.cancel()
    assert wait_for(lambda: metric(d, "f8d_images_dropped_total", model="fashion",
                                   reason="cancelled") == 1000.0 * round_no, 10.0)
    assert metric(d, "f8d_queue_depth", model="fashion") == 0.0
    assert metric(d, "f8d_inference_images_total", model="fashion") == 0.0
    assert all(c.cancelled() for c in calls)
    assert wait_for(lambda: metric(d, "f8d_requests_in_flight") <= 1.0, 5.0)


def test_thousand_cancelled_calls(slow, jpeg):
    """1,000 calls cancelled while queued: dropped (not decoded, not run), queue back to 0,
    memory back: three rounds cost no more than the first (the heap keeps what it grew to)."""
    ch, stub = stub_of(slow)
    with ch:
        stub.ServerReady(pb.ServerReadyRequest())  # connected
        cancel_thousand(slow, stub, jpeg, 1)
        after_first = rss_kib(slow.proc.pid)
        cancel_thousand(slow, stub, jpeg, 2)
        cancel_thousand(slow, stub, jpeg, 3)
        grown = rss_kib(slow.proc.pid) - after_first
        assert grown < 8 * 1024, "RSS grew by %d KiB in two rounds" % grown
        # still serving: a call that waits gets its answer after the delay
        assert stub.ModelInfer(jpeg_request([jpeg]), timeout=30).outputs


def test_health_watch_follows_readiness(model_file):
    """Watch: SERVING at once; NOT_SERVING when SIGTERM makes the server not ready; the stream
    ends with UNAVAILABLE once it stops accepting."""
    with serving("--drain-delay-ms", 2500, grpc=True) as d:
        with grpc.insecure_channel("127.0.0.1:%d" % d.grpc_port) as ch:
            stream = health_grpc.HealthStub(ch).Watch(health.HealthCheckRequest(), timeout=30)
            first = next(stream)
            assert first.status == health.HealthCheckResponse.SERVING
            d.send_signal(signal.SIGTERM)
            second = next(stream)
            assert second.status == health.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.RpcError) as e:
                next(stream)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def load(d, jpeg, stop, results, images=2):
    ch = grpc.insecure_channel("127.0.0.1:%d" % d.grpc_port)
    stub = pb_grpc.GRPCInferenceServiceStub(ch)
    while not stop.is_set():
        try:
            r = stub.ModelInfer(jpeg_request([jpeg] * images), timeout=30)
            results.append("OK" if len(r.raw_output_contents) == 2 else "bad answer")
        except grpc.RpcError as e:
            results.append(e.code().name)
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                break  # the server is gone: a real client goes elsewhere
    ch.close()


def test_reload_under_grpc_load(model_file, jpeg):
    with serving("--threads", 2, grpc=True) as d:
        stop, results = threading.Event(), []
        threads = [threading.Thread(target=load, args=(d, jpeg, stop, results))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for _ in range(6):
            time.sleep(0.3)
            os.kill(d.proc.pid, signal.SIGHUP)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(30)
        assert len(results) > 50
        assert set(results) == {"OK"}, {r: results.count(r) for r in set(results)}
        assert wait_for(lambda: "reload" in d.stderr)


def test_sigterm_under_grpc_load_answers_every_accepted_call(model_file, jpeg):
    """SIGTERM with calls in flight: every call the server accepted is answered OK; later ones
    are refused UNAVAILABLE (never accepted), and the process exits 0."""
    with serving("--threads", 2, "--drain-delay-ms", 300, grpc=True) as d:
        stop, results = threading.Event(), []
        threads = [threading.Thread(target=load, args=(d, jpeg, stop, results))
                   for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        d.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(30)
        stop.set()
        assert d.proc.wait(30) == 0
        counts = {r: results.count(r) for r in set(results)}
        assert counts.get("OK", 0) > 20, counts
        # A call sent after the drain delay is refused by the library, never reaching f8d:
        # UNAVAILABLE (connection refused, GOAWAY), or CANCELLED for a stream opened as the
        # GOAWAY crossed it.
        assert set(counts) <= {"OK", "UNAVAILABLE", "CANCELLED"}, counts
        # The server's own log: every ModelInfer call it accepted was answered OK, and each
        # is one of the client's OKs (none accepted then failed).
        answered = [l for l in d.lines if l.startswith("f8d: gRPC ModelInfer ")]
        assert answered and all(" OK " in l for l in answered), answered[-5:]
        assert len(answered) == counts["OK"]


def test_full_queue_is_resource_exhausted(model_file, jpeg):
    """A call whose images do not fit in the model's queue: RESOURCE_EXHAUSTED at once, counted
    as queue_full; the queued call is still answered."""
    with serving("--threads", 1, "--max-queue-delay-us", 2000000, "--max-batch-size", 64,
                 "--max-queue", 3, grpc=True) as d:
        ch, stub = stub_of(d)
        with ch:
            first = stub.ModelInfer.future(jpeg_request([jpeg, jpeg]), timeout=30)
            assert wait_for(lambda: metric(d, "f8d_queue_depth", model="fashion") == 2.0)
            with pytest.raises(grpc.RpcError) as e:
                stub.ModelInfer(jpeg_request([jpeg, jpeg]), timeout=30)
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "overloaded" in e.value.details()
            assert metric(d, "f8d_rejected_total", model="fashion", reason="queue_full") == 1.0
            assert len(first.result().raw_output_contents) == 2


def test_idle_connection_closed_after_timeout(model_file):
    """A gRPC connection with no call for `timeout` s is closed by the server (GOAWAY): idle
    clients do not hold connections for ever. Seen as the channel leaving READY."""
    with serving("--timeout", 1, grpc=True) as d:
        ch = grpc.insecure_channel("127.0.0.1:%d" % d.grpc_port)
        states = []
        ch.subscribe(lambda s: states.append(s), try_to_connect=True)
        pb_grpc.GRPCInferenceServiceStub(ch).ServerLive(pb.ServerLiveRequest(), timeout=10)
        assert wait_for(lambda: grpc.ChannelConnectivity.READY in states, 5)
        assert wait_for(lambda: states[-1] != grpc.ChannelConnectivity.READY, 5.0), states
        ch.close()


def closed_after(port, first_bytes, limit):
    """Seconds until the server closes a connection that sent first_bytes and then nothing
    (None if still open after limit)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(0.5)
    t0 = time.monotonic()
    try:
        s.sendall(first_bytes)
        while time.monotonic() - t0 < limit:
            try:
                if not s.recv(4096):
                    return time.monotonic() - t0
            except socket.timeout:
                continue
            except ConnectionResetError:
                return time.monotonic() - t0
        return None
    finally:
        s.close()


def test_silent_and_stalled_connections_are_closed(model_file):
    """Bad clients on the gRPC port: one that connects and sends nothing is closed at
    header_timeout (its HTTP/2 handshake never finishes), one that sends only the preface at
    `timeout` (idle); a real client is served meanwhile."""
    with serving("--header-timeout", 2, "--timeout", 3, grpc=True) as d:
        took = closed_after(d.grpc_port, b"", 15)
        assert took is not None and 1.5 <= took <= 5, took
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
        took = closed_after(d.grpc_port, preface, 15)
        assert took is not None and took <= 8, took
        ch, stub = stub_of(d)
        with ch:
            assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
