"""deploy/: the Kubernetes and KServe manifests, parsed (python3-yaml) and checked against the
real daemon: f8d started with each manifest's own arguments serves the probes, the metrics
path and the model name they promise."""

import os
import shutil
import tempfile

import grpc
import pytest
import yaml

from f8d_process import Daemon, MODEL_PATH, free_port
from grpc_stubs import health, health_grpc

DEPLOY = os.path.join(os.path.dirname(__file__), "..", "..", "deploy")


def docs(path):
    with open(os.path.join(DEPLOY, path)) as f:
        return {d["kind"]: d for d in yaml.safe_load_all(f) if d}


def run_with(args, model_file_name, model_dir_arg, name=None):
    """f8d started with a manifest's args: its models dir replaced by a temp dir holding the
    Fashion model as model_file_name, its ports by free ones (returned with the daemon)."""
    d = tempfile.mkdtemp(prefix="f8d-manifest-")
    shutil.copy(MODEL_PATH, os.path.join(d, model_file_name))
    ports = {"8080": str(free_port()), "8081": str(free_port())}
    argv = [d if a == model_dir_arg else ports.get(a, a) for a in args]
    argv = [name if a == "{{.Name}}" else a for a in argv]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    argv[argv.index("--host") + 1] = "127.0.0.1"
    proc = Daemon(d, *argv[2:], port=int(ports["8080"]))
    proc.grpc_port = int(ports["8081"])
    return proc, d


def grpc_serving(port):
    with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
        return health_grpc.HealthStub(ch).Check(health.HealthCheckRequest(), timeout=10).status \
            == health.HealthCheckResponse.SERVING


def test_kubernetes_deployment_matches_the_daemon(model_file):
    k = docs("kubernetes/f8d.yaml")
    assert set(k) == {"PersistentVolumeClaim", "Deployment", "Service",
                      "HorizontalPodAutoscaler"}
    dep = k["Deployment"]
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "grpc": 8081}
    args = c["args"]
    assert args[:2] == ["--models", "/models"]
    assert args[args.index("--port") + 1] == "8080"
    assert args[args.index("--grpc-port") + 1] == "8081"
    # the models volume is mounted where --models points
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert mounts["models"] == "/models"
    assert vols["models"]["persistentVolumeClaim"]["claimName"] == \
        k["PersistentVolumeClaim"]["metadata"]["name"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert isinstance(pod["spec"]["securityContext"]["runAsUser"], int)
    assert c["resources"]["limits"]["cpu"] and c["resources"]["requests"]["memory"]
    # the Service and the autoscaler point at it
    svc = k["Service"]["spec"]
    assert svc["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert {p["targetPort"] for p in svc["ports"]} == {"http", "grpc"}
    hpa = k["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    assert hpa["minReplicas"] <= dep["spec"]["replicas"] <= hpa["maxReplicas"]

    proc, d = run_with(args, "fashion.f8", "/models")
    try:
        proc.wait_ready()
        for probe in ("livenessProbe", "readinessProbe"):
            path = c[probe]["httpGet"]["path"]
            assert c[probe]["httpGet"]["port"] == "http"
            status, _, _ = proc.request("GET", path)
            assert status == 200, (probe, path)
        assert c["startupProbe"]["grpc"]["port"] == ports["grpc"]
        assert grpc_serving(proc.grpc_port)
        ann = pod["metadata"]["annotations"]
        assert int(ann["prometheus.io/port"]) == ports["http"]
        status, _, text = proc.request("GET", ann["prometheus.io/path"])
        assert status == 200 and b"f8d_requests_total" in text
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
    proc.assert_clean_exit(rc)


def test_kserve_runtime_serves_the_inference_service_name(model_file):
    rt = docs("kserve/servingruntime.yaml")["ServingRuntime"]
    isvc = docs("kserve/inferenceservice.yaml")["InferenceService"]
    spec = rt["spec"]
    assert spec["supportedModelFormats"][0]["name"] == "f8"
    assert {"v2", "grpc-v2"} <= set(spec["protocolVersions"])
    c = spec["containers"][0]
    assert c["name"] == "kserve-container"
    args = c["args"]
    assert args[:2] == ["--models", "/mnt/models"]
    assert args[args.index("--model-name") + 1] == "{{.Name}}"
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtime"] == rt["metadata"]["name"]
    assert model["modelFormat"]["name"] == "f8" and model["protocolVersion"] == "v2"
    name = isvc["metadata"]["name"]
    # KServe's storage initializer keeps the file's own name: serve it as the service's name
    proc, d = run_with(args, os.path.basename(model["storageUri"]), "/mnt/models", name)
    try:
        proc.wait_ready()
        status, _, body = proc.request("GET", "/v2/models/%s/ready" % name)
        assert status == 200 and body == {"name": name, "ready": True}
        status, _, _ = proc.request("GET", c["readinessProbe"]["httpGet"]["path"])
        assert status == 200
        ann = spec["annotations"]
        assert ann["prometheus.kserve.io/port"] == str(c["ports"][0]["containerPort"])
        status, _, _ = proc.request("GET", ann["prometheus.kserve.io/path"])
        assert status == 200
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
    proc.assert_clean_exit(rc)
