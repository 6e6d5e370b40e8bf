"""GET /metrics: Prometheus text format 0.0.4 with requests by model and status, time
histograms, batch sizes, queue depth, models loaded; request ids in headers and the log."""

import re

import fmnist
from test_batching import metric, metrics


def test_metrics_format_and_counts(daemon, fashion_test_set):
    images, _ = fashion_test_set
    before = metrics(daemon)
    try:
        ok0 = metric(before, "f8d_requests_total", model="fashion", protocol="http", code="200")
    except KeyError:  # no answer yet (this test ran first)
        ok0 = 0
    n = 5
    for i in range(n):
        status, _, _ = daemon.request("POST", "/predictions/fashion",
                                      body=fmnist.to_jpeg(images[i]))
        assert status == 200
    daemon.request("POST", "/predictions/fashion", body=b"garbage")  # 400
    daemon.request("GET", "/nowhere")                                # 404, model ""
    text = metrics(daemon)
    assert metric(text, "f8d_requests_total", model="fashion", protocol="http", code="200") == ok0 + n
    assert metric(text, "f8d_requests_total", model="fashion", protocol="http", code="400") >= 1
    assert metric(text, "f8d_requests_total", model="", protocol="http", code="404") >= 1
    assert metric(text, "f8d_models_loaded") == 1
    assert metric(text, "f8d_queue_depth", model="fashion") == 0
    # the /metrics request itself is in flight while rendering
    assert metric(text, "f8d_requests_in_flight") >= 1
    for fam in ("f8d_request_duration_seconds", "f8d_queue_duration_seconds",
                "f8d_decode_duration_seconds", "f8d_compute_duration_seconds",
                "f8d_batch_size"):
        assert "# TYPE %s histogram" % fam in text
        count = metric(text, fam + "_count", model="fashion")
        assert metric(text, fam + "_bucket", model="fashion", le="+Inf") == count
        assert count >= 1
        assert metric(text, fam + "_sum", model="fashion") > 0
        # buckets are cumulative
        values = [float(m.group(1)) for m in re.finditer(
            r'^%s_bucket\{model="fashion",le="[^"]+"\} (\S+)$' % fam, text, re.M)]
        assert values == sorted(values)
    # every family has exactly one HELP and TYPE
    names = re.findall(r"^# TYPE (\S+) ", text, re.M)
    assert len(names) == len(set(names))
    assert "# TYPE f8d_requests_total counter" in text


def test_request_ids(daemon, fashion_test_set):
    images, _ = fashion_test_set
    status, hdrs, _ = daemon.request("POST", "/predictions/fashion",
                                     body=fmnist.to_jpeg(images[0]),
                                     headers={"X-Request-Id": "client-id-42"})
    assert status == 200 and hdrs["x-request-id"] == "client-id-42"
    status, hdrs, _ = daemon.request("GET", "/v2/health/live")
    generated = hdrs["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16,}", generated)
    status, hdrs2, _ = daemon.request("GET", "/v2/health/live")
    assert hdrs2["x-request-id"] != generated
    # a bad id is replaced, not echoed
    status, hdrs, _ = daemon.request("GET", "/v2/health/live",
                                     headers={"X-Request-Id": "bad id\twith spaces"})
    assert hdrs["x-request-id"] != "bad id\twith spaces"
    # the access log names the id, the status and the latency
    import time
    deadline = time.monotonic() + 5
    pat = re.compile(r"f8d: POST /predictions/fashion 200 [\d.]+ ms id=client-id-42 model=fashion")
    while not pat.search(daemon.stderr) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pat.search(daemon.stderr)
    assert re.search(r"f8d: GET /v2/health/live 200 [\d.]+ ms id=%s" % generated, daemon.stderr)


def test_metrics_methods(daemon):
    c = daemon.connection()
    c.request("HEAD", "/metrics")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b""
    assert r.getheader("content-type").startswith("text/plain; version=0.0.4")
    c.close()
    status, hdrs, body = daemon.request("POST", "/metrics", body=b"x")
    assert status == 405 and hdrs["allow"] == "GET, HEAD" and body["error"]


def test_build_info(daemon):
    text = metrics(daemon)
    m = re.search(r'^f8d_build_info\{version="([\d.]+)",libuv="([\d.]+)",isa="(\w+)"\} 1$', text,
                  re.M)
    assert m, text[:2000]
    _, _, server = daemon.request("GET", "/v2")
    assert m.group(1) == server["version"]
