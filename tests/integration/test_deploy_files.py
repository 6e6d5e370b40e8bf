"""The shipped deployment files follow the settings: the unit and config made by
`make install` name PREFIX's paths (no /usr/local left with PREFIX=/usr); with the shipped
/etc/default/f8d the README's order holds (flags > environment > config file: a port set in
/etc/f8d/f8d.conf is the one f8d listens on); the container's health check probes the port f8d
was given, whichever way it was given."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from deploy_tree import Started, make_install, unit_command
from f8d_process import F8D_BIN, REPO, free_port, models_dir

HEALTHCHECK = os.path.join(REPO, "scripts", "f8d-healthcheck")


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="f8d-deploy-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def text_files(root):
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" not in data:
                yield path, data.decode(errors="replace")


def test_install_prefix_usr_paths(tmp):
    make_install("DESTDIR=" + tmp, "PREFIX=/usr")
    unit = os.path.join(tmp, "etc/systemd/system/f8d.service")
    text = open(unit).read()
    for path, data in text_files(os.path.join(tmp, "etc")):
        assert "/usr/local" not in data, path
    exec_start = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
    assert exec_start == "/usr/bin/f8d"
    assert os.access(tmp + exec_start, os.X_OK)
    assert "@" not in re.sub(r"SystemCallFilter=@\S+", "", text), "a placeholder is left"
    conf = open(os.path.join(tmp, "etc/f8d/f8d.conf")).read()
    models = re.search(r"^models = (\S+)$", conf, re.M).group(1)
    assert models == "/usr/share/f8serve/models"
    assert os.path.exists(os.path.join(tmp + models, "fashion.f8"))
    assert "Environment=F8D_CONFIG=/etc/f8d/f8d.conf" in text
    # no F8D_<KEY> in the unit: it would beat the config file
    assert not re.search(r"^Environment=F8D_(?!CONFIG=)", text, re.M)


def set_key(path, key, value):
    """Sets `key = value` in a config file (replacing the line at the default), as a user
    editing it would."""
    text = open(path).read()
    text, n = re.subn(r"^%s = .*$" % key, "%s = %s" % (key, value), text, count=1, flags=re.M)
    assert n == 1, key
    with open(path, "w") as f:
        f.write(text)


def test_shipped_files_keep_the_order(tmp):
    """Installed with its paths in a temp tree, started as the unit starts it: the config file
    decides, the environment file beats it, F8D_ARGS beats both."""
    prefix, etc = os.path.join(tmp, "usr"), os.path.join(tmp, "etc")
    make_install("PREFIX=" + prefix, "SYSCONFDIR=" + etc)
    unit = os.path.join(etc, "systemd/system/f8d.service")
    conf = os.path.join(etc, "f8d/f8d.conf")
    env_file = os.path.join(etc, "default/f8d")
    set_key(conf, "grpc_port", "0")
    base = {"PATH": os.environ["PATH"]}

    def listening_port():
        argv, env = unit_command(unit, base)
        d = Started(argv, env)
        try:
            d.wait_ready()
            return d.port
        finally:
            assert d.stop() == 0, d.stderr

    # as shipped: the config file's port, and its models (the installed directory)
    p_conf = free_port()
    set_key(conf, "port", p_conf)
    assert listening_port() == p_conf
    # the environment file beats the config file
    p_env = free_port()
    with open(env_file, "a") as f:
        f.write("F8D_PORT=%d\n" % p_env)
    assert listening_port() == p_env
    # flags in F8D_ARGS beat both
    p_flag = free_port()
    with open(env_file, "a") as f:
        f.write('F8D_ARGS="--port %d"\n' % p_flag)
    assert listening_port() == p_flag


def test_dockerfile_healthcheck_follows_settings():
    text = open(os.path.join(REPO, "Dockerfile")).read()
    hc = re.search(r"^HEALTHCHECK .*$", text, re.M).group(0)
    assert "8080" not in hc
    assert "/usr/local/bin/f8d-healthcheck" in hc
    assert re.search(r"^COPY scripts/f8d-healthcheck /usr/local/bin/", text, re.M)


def probe(pid, env=None):
    e = {"PATH": os.environ["PATH"], "F8D_HEALTHCHECK_PID": str(pid)}
    e.update(env or {})
    return subprocess.run([HEALTHCHECK], env=e, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)


@pytest.fixture
def models():
    d = models_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start(argv, env):
    e = {"PATH": os.environ["PATH"], "ASAN_OPTIONS": "detect_leaks=1"}
    e.update(env)
    d = Started([F8D_BIN] + argv, e)
    d.wait_ready()
    return d


@pytest.mark.parametrize("how", ["flag", "flag=", "env", "config", "config-flag", "host-entry"])
def test_healthcheck_follows_the_port(models, tmp, how):
    port = free_port()
    argv, env = ["--models", models, "--grpc-port", "0"], {}
    conf = os.path.join(tmp, "f8d.conf")
    with open(conf, "w") as f:
        f.write('host = "127.0.0.1"  # loopback\nport = %d\n[model fashion]\nmax_queue = 8\n'
                % port)
    if how == "flag":
        argv += ["--port", str(port)]
    elif how == "flag=":
        argv += ["--port=%d" % port, "--host=127.0.0.1"]
    elif how == "env":
        env = {"F8D_PORT": str(port), "F8D_HOST": "0.0.0.0"}
    elif how == "config":
        env = {"F8D_CONFIG": conf}
    elif how == "config-flag":
        argv += ["--config", conf]
    else:
        env = {"F8D_HOST": "127.0.0.1:%d, [::1]:%d" % (port, free_port())}
    d = start(argv, env)
    try:
        assert d.port == port
        r = probe(d.proc.pid, env)
        assert r.returncode == 0, r.stdout
        if how.startswith("flag"):
            # a flag beats the environment, as in f8d
            r = probe(d.proc.pid, {"F8D_PORT": str(free_port())})
            assert r.returncode == 0, r.stdout
    finally:
        assert d.stop() == 0, d.stderr
    # nothing listens there any more: unhealthy (the process is gone: name the port)
    gone = dict(env) if how == "host-entry" else dict(env, F8D_PORT=str(port))
    assert probe(d.proc.pid, gone).returncode != 0


def test_healthcheck_not_ready_is_unhealthy():
    r = probe(os.getpid(), {"F8D_PORT": str(free_port())})
    assert r.returncode != 0
    r = probe(os.getpid(), {"F8D_PORT": "0"})
    assert r.returncode != 0 and b"port is 0" in r.stdout
