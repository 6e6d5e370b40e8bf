"""POST /predictions/fashion with real JPEGs of the Fashion-MNIST test set."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

import fmnist


def check_answer(answer, labels, k):
    assert answer["model"] == "fashion"
    preds = answer["predictions"]
    assert len(preds) == k
    scores = [p["score"] for p in preds]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert sum(scores) <= 1.0 + 1e-5
    assert len({p["index"] for p in preds}) == k
    for p in preds:
        assert set(p) == {"label", "index", "score"}
        assert 0 <= p["index"] < len(labels)
        assert p["label"] == labels[p["index"]]


def test_predictions_match_ground_truth(daemon, fashion_test_set, labels):
    """100 images spread over the test set (every 100th): top-1 right for at least 85%."""
    images, truth = fashion_test_set
    picks = range(0, len(images), 100)
    n = len(picks)
    right = 0
    conn = daemon.connection()
    for i in picks:
        status, hdrs, answer = daemon.request(
            "POST", "/predictions/fashion", body=fmnist.to_jpeg(images[i]),
            headers={"Content-Type": "image/jpeg"}, conn=conn)
        assert status == 200, answer
        assert hdrs["content-type"] == "application/json"
        check_answer(answer, labels, 5)
        right += answer["predictions"][0]["index"] == truth[i]
    conn.close()
    assert right / n >= 0.85, "%d of %d right" % (right, n)


def test_labels_are_fashion_mnist(labels):
    assert labels == fmnist.LABELS


def test_top_k(daemon, fashion_test_set, labels):
    images, truth = fashion_test_set
    jpeg = fmnist.to_jpeg(images[0])
    status, _, one = daemon.request("POST", "/predictions/fashion?top_k=1", body=jpeg)
    assert status == 200
    check_answer(one, labels, 1)
    status, _, ten = daemon.request("POST", "/predictions/fashion?top_k=10", body=jpeg)
    assert status == 200
    check_answer(ten, labels, 10)
    assert abs(sum(p["score"] for p in ten["predictions"]) - 1.0) < 1e-4
    assert ten["predictions"][0] == one["predictions"][0]
    assert sorted(p["index"] for p in ten["predictions"]) == list(range(10))


@pytest.mark.parametrize("value", ["0", "11", "-1", "abc", "", "2.5", "1e1", "99999999999"])
def test_bad_top_k(daemon, fashion_test_set, value):
    images, _ = fashion_test_set
    status, hdrs, body = daemon.request("POST", "/predictions/fashion?top_k=" + value,
                                        body=fmnist.to_jpeg(images[0]))
    assert status == 400
    assert hdrs["content-type"] == "application/json"
    assert "top_k" in body["error"]


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "image/jpeg",
                                          "application/x-www-form-urlencoded"])
def test_content_types_accepted(daemon, fashion_test_set, labels, content_type):
    """No Content-Type (curl -T), octet-stream, image/jpeg, curl --data-binary's default."""
    images, _ = fashion_test_set
    headers = {} if content_type is None else {"Content-Type": content_type}
    status, _, answer = daemon.request("POST", "/predictions/fashion",
                                       body=fmnist.to_jpeg(images[1]), headers=headers)
    assert status == 200, answer
    check_answer(answer, labels, 5)


def test_put_like_curl_upload(daemon, fashion_test_set, labels):
    """curl -T sends PUT without a Content-Type."""
    images, _ = fashion_test_set
    status, _, answer = daemon.request("PUT", "/predictions/fashion",
                                       body=fmnist.to_jpeg(images[2]))
    assert status == 200, answer
    check_answer(answer, labels, 5)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_real_curl_upload(daemon, fashion_test_set, labels):
    images, truth = fashion_test_set
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
        f.write(fmnist.to_jpeg(images[3]))
        path = f.name
    try:
        url = "http://127.0.0.1:%d/predictions/fashion?top_k=3" % daemon.port
        out = subprocess.run(["curl", "-sS", "--fail-with-body", "-T", path, url],
                             capture_output=True, timeout=30)
        assert out.returncode == 0, out.stderr
        check_answer(json.loads(out.stdout), labels, 3)
        out = subprocess.run(["curl", "-sS", "--fail-with-body", "--data-binary", "@" + path,
                              url], capture_output=True, timeout=30)
        assert out.returncode == 0, out.stderr
        check_answer(json.loads(out.stdout), labels, 3)
    finally:
        os.unlink(path)


def test_chunked_upload(daemon, fashion_test_set, labels):
    images, _ = fashion_test_set
    jpeg = fmnist.to_jpeg(images[4])
    c = daemon.connection()
    chunks = [jpeg[i:i + 100] for i in range(0, len(jpeg), 100)]
    c.request("POST", "/predictions/fashion", body=iter(chunks), encode_chunked=True,
              headers={"Content-Type": "image/jpeg"})
    resp = c.getresponse()
    answer = json.loads(resp.read())
    assert resp.status == 200, answer
    check_answer(answer, labels, 5)
    c.close()
