"""KServe v2 style health and metadata endpoints."""


def test_live(daemon):
    status, hdrs, body = daemon.request("GET", "/v2/health/live")
    assert status == 200
    assert hdrs["content-type"] == "application/json"
    assert body == {"live": True}


def test_ready(daemon):
    status, hdrs, body = daemon.request("GET", "/v2/health/ready")
    assert status == 200
    assert hdrs["content-type"] == "application/json"
    assert body == {"ready": True}


def test_head_ready(daemon):
    c = daemon.connection()
    c.request("HEAD", "/v2/health/ready")
    resp = c.getresponse()
    assert resp.status == 200
    assert resp.read() == b""
    c.close()


def test_model_ready(daemon):
    status, _, body = daemon.request("GET", "/v2/models/fashion/ready")
    assert status == 200
    assert body == {"name": "fashion", "ready": True}
    status, _, body = daemon.request("GET", "/v2/models/nosuchmodel/ready")
    assert status == 404
    assert "nosuchmodel" in body["error"]


def test_model_metadata(daemon, labels):
    status, _, meta = daemon.request("GET", "/v2/models/fashion")
    assert status == 200
    assert meta["name"] == "fashion"
    assert meta["platform"] == "f8"
    assert meta["versions"] == ["1"]
    assert meta["inputs"][0] == {"name": "image", "datatype": "UINT8", "shape": [-1, 28, 28, 1]}
    assert meta["inputs"][1] == {"name": "image_bytes", "datatype": "BYTES", "shape": [-1]}
    assert meta["outputs"][0] == {"name": "logits", "datatype": "INT32", "shape": [-1, 10]}
    assert meta["outputs"][1] == {"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}
    assert meta["parameters"]["max_batch_size"] >= 1
    assert len(labels) == 10 and all(isinstance(l, str) and l for l in labels)


def test_server_metadata(daemon):
    status, _, meta = daemon.request("GET", "/v2")
    assert status == 200
    assert meta["name"] == "f8d"
    assert meta["version"]


def test_health_wrong_method(daemon):
    status, hdrs, body = daemon.request("POST", "/v2/health/live", body=b"x")
    assert status == 405
    assert "GET" in hdrs["allow"]
    assert "error" in body
