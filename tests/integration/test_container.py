"""The container image, built with podman from the Dockerfile and run: a numeric USER (what
Kubernetes' runAsNonRoot can check), stripped binaries, its size reported; it serves the
samples, and its health check follows the port it is given (-e F8D_PORT, or --port after the
image name).

Skipped when podman is missing, or when no Debian 12 base image is in podman's store (no
registry can be reached here: ../shared/notes/containers.md makes one with debootstrap; a
machine that can pull simply has debian:bookworm-slim). F8D_TEST_CONTAINER=0 skips it too.
The build reuses podman's layer cache, so only a changed source rebuilds the binaries."""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from f8d_process import REPO, free_port

PODMAN = shutil.which("podman")
TAG = "localhost/f8serve-test:latest"
BASES = ["debian:bookworm-slim", "localhost/debian:bookworm-slim"]

pytestmark = pytest.mark.skipif(PODMAN is None or os.environ.get("F8D_TEST_CONTAINER") == "0",
                                reason="podman is not installed (or F8D_TEST_CONTAINER=0)")


def podman(*args, timeout=120, check=True):
    """Runs podman; its warnings (stderr) stay out of .stdout."""
    out = subprocess.run([PODMAN] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=timeout)
    if check:
        assert out.returncode == 0, "podman %s:\n%s%s" % (
            " ".join(args), out.stdout.decode(errors="replace"),
            out.stderr.decode(errors="replace"))
    return out


@pytest.fixture(scope="module")
def image():
    base = next((b for b in BASES if podman("image", "exists", b, check=False).returncode == 0),
                None)
    if base is None:
        pytest.skip("no %s image in podman's store (see ../shared/notes/containers.md)"
                    % " or ".join(BASES))
    start = time.monotonic()
    podman("build", "--network=host", "--format", "docker", "--build-arg", "BASE=" + base,
           "-t", TAG, REPO, timeout=1800)
    print("container: built in %.0f s" % (time.monotonic() - start))
    yield TAG
    podman("rmi", "-f", TAG, check=False)


def base_of(info):
    """The base image: the one whose top layer is the image's first."""
    first = info["RootFS"]["Layers"][0]
    for b in BASES:
        if podman("image", "exists", b, check=False).returncode == 0:
            if inspect(b)["RootFS"]["Layers"][-1] == first:
                return b
    raise AssertionError("no base image found for %s" % info["Id"])


def inspect(image_tag):
    return json.loads(podman("image", "inspect", image_tag).stdout)[0]


def test_image_user_size_and_stripped_binaries(image, tmp_path):
    info = inspect(image)
    user = info["Config"]["User"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and (gid == "" or gid.isdigit()), user
    hc = info.get("Healthcheck") or info.get("HealthCheck") or info["Config"].get("Healthcheck")
    test = " ".join(hc["Test"])
    assert "/usr/local/bin/f8d-healthcheck" in test and "8080" not in test, test
    # what the image adds to its base: the run-time libraries, the binaries, the models
    size_mb = info["Size"] / 1e6
    added_mb = size_mb - inspect(base_of(info))["Size"] / 1e6
    print("container: %s is %.1f MB, %.1f MB over its base" % (image, size_mb, added_mb))
    assert added_mb < 120, "the runtime image grew to %.1f MB over its base" % added_mb
    for binary in ("f8d", "f8"):
        path = tmp_path / binary
        with open(path, "wb") as f:
            subprocess.run([PODMAN, "run", "--rm", "--entrypoint", "cat", image,
                            "/usr/local/bin/" + binary], stdout=f, check=True, timeout=120)
        sections = subprocess.run(["readelf", "-S", "-W", str(path)], check=True,
                                  stdout=subprocess.PIPE).stdout.decode()
        assert ".symtab" not in sections and ".debug_info" not in sections, binary
    # the process runs as that user
    out = podman("run", "--rm", "--entrypoint", "id", image).stdout.decode()
    assert out.startswith("uid=%s(" % uid), out


def wait_ready(port, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v2/health/ready" % port,
                                        timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the container never became ready on port %d" % port)


@pytest.mark.parametrize("how", ["env", "flag"])
def test_runs_and_health_check_follows_the_port(image, how):
    port = free_port()
    args = ["run", "-d", "--network=host", "-e", "F8D_HOST=127.0.0.1", "-e", "F8D_GRPC_PORT=0"]
    if how == "env":
        args += ["-e", "F8D_PORT=%d" % port, image]
    else:
        args += [image, "--port", str(port)]
    cid = podman(*args).stdout.decode().strip().splitlines()[-1]
    try:
        wait_ready(port)
        with open(os.path.join(REPO, "samples", "ankle-boot.jpg"), "rb") as f:
            req = urllib.request.Request("http://127.0.0.1:%d/predictions/fashion?top_k=1" % port,
                                         data=f.read(), headers={"Content-Type": "image/jpeg"})
        with urllib.request.urlopen(req, timeout=30) as r:
            answer = json.loads(r.read())
        assert answer["predictions"][0]["label"] == "Ankle boot"
        hc = podman("healthcheck", "run", cid, check=False)
        assert hc.returncode == 0, (hc.stdout + hc.stderr).decode()
    finally:
        podman("rm", "-f", cid, check=False)


def test_health_check_fails_when_nothing_answers(image):
    """The check is not vacuous: with no f8d behind the port it reports unhealthy."""
    cid = podman("run", "-d", "--network=host", "-e", "F8D_PORT=%d" % free_port(),
                 "--entrypoint", "sleep", image, "60").stdout.decode().strip().splitlines()[-1]
    try:
        hc = podman("healthcheck", "run", cid, check=False)
        assert hc.returncode != 0, (hc.stdout + hc.stderr).decode()
    finally:
        podman("rm", "-f", "-t", "0", cid, check=False)
