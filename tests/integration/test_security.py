"""Who may change the server (restricted_api: a header the management calls must carry) and
privileges (started as root, f8d warns, or becomes `user` once it has bound and loaded)."""

import os
import pwd
import shutil

import pytest

from f8d_process import Daemon, models_dir

SECRET = "s3cr3t-Value:42"
HEADER = "X-F8d-Admin"


def reload(daemon, headers=None):
    return daemon.request("POST", "/v2/repository/reload", headers=headers)


def finish(daemon, d):
    rc = daemon.stop()
    shutil.rmtree(d, ignore_errors=True)
    daemon.assert_clean_exit(rc)
    return rc


def test_reload_unrestricted_by_default(model_file):
    d = models_dir()
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        status, _, out = reload(daemon)
        assert status == 200, out
        assert [m["name"] for m in out["models"]] == ["fashion"]
        assert "restricted API" not in daemon.stderr
    finally:
        finish(daemon, d)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_restricted_reload_needs_the_header(model_file, how):
    d = models_dir()
    spec = "%s: %s" % (HEADER, SECRET)
    if how == "flag":
        daemon = Daemon(d, "--restricted-api", spec)
    else:
        daemon = Daemon(d, env={"F8D_RESTRICTED_API": spec})
    try:
        daemon.wait_ready()
        for headers in (None, {HEADER: "wrong"}, {HEADER: SECRET[:-1]}, {HEADER: SECRET + "x"},
                        {HEADER: ""}, {"X-Other": SECRET}):
            status, _, out = reload(daemon, headers)
            assert status == 403, (headers, status, out)
            assert HEADER in out["error"], out
            assert SECRET not in out["error"], out
        # with the header (any case of its name) the reload runs
        for headers in ({HEADER: SECRET}, {HEADER.lower(): SECRET}):
            status, _, out = reload(daemon, headers)
            assert status == 200, out
            assert [m["name"] for m in out["models"]] == ["fashion"]
        # the wrong method is still 405, and the other routes are unaffected
        assert daemon.request("GET", "/v2/repository/reload")[0] == 405
        for path in ("/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/fashion",
                     "/v2/models/fashion/ready", "/metrics", "/v2/repository/index"):
            assert daemon.request("GET", path)[0] == 200, path
        assert daemon.request("POST", "/v2/repository/index")[0] == 200
        status, _, _ = daemon.request("GET", "/metrics")
        text = daemon.request("GET", "/metrics")[2].decode()
        assert 'code="403"' in text
    finally:
        finish(daemon, d)
    assert "restricted API: calls that change the server need the header %s" % HEADER \
        in daemon.stderr
    assert SECRET not in daemon.stderr  # neither at startup nor in the access log
    assert daemon.stderr.count("reloaded 1 model(s)") == 2


def test_restricted_reload_with_a_body_is_drained_then_refused(model_file):
    d = models_dir()
    daemon = Daemon(d, "--restricted-api", "%s:%s" % (HEADER, SECRET))
    try:
        daemon.wait_ready()
        conn = daemon.connection()
        try:
            status, _, out = daemon.request("POST", "/v2/repository/reload", body=b"{}" * 100,
                                            conn=conn)
            assert status == 403, out
            # the connection is still usable
            status, _, out = daemon.request("POST", "/v2/repository/reload", body=b"{}",
                                            headers={HEADER: SECRET}, conn=conn)
            assert status == 200, out
        finally:
            conn.close()
    finally:
        finish(daemon, d)


def start(args):
    """f8d started with args on a fresh models dir, expected to exit by itself: (its exit
    status, the Daemon, whose stderr says why)."""
    d = models_dir()
    daemon = Daemon(d, *args)
    try:
        rc = daemon.proc.wait(30)
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    return rc, daemon


@pytest.mark.parametrize("spec", ["no-colon", ":s3cr3t", "Bad Header:s3cr3t", "X-Key:",
                                  "X-Key:s3cr3t\x01"])
def test_restricted_api_malformed_fails_the_start(model_file, spec):
    rc, daemon = start(("--restricted-api", spec))
    assert rc == 1
    assert "restricted_api" in daemon.stderr, daemon.stderr
    assert "s3cr3t" not in daemon.stderr  # the value is never quoted


def test_unknown_user_fails_the_start(model_file):
    rc, daemon = start(("--user", "no-such-user-f8d"))
    assert rc == 1
    assert "no such user 'no-such-user-f8d'" in daemon.stderr, daemon.stderr
    assert "listening on" not in daemon.stderr


def ids(pid):
    """(uids, gids, groups) from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
    return out["Uid"], out["Gid"], out["Groups"]


def test_root_without_user_only_warns(model_file):
    if os.geteuid() != 0:
        pytest.skip("not root: f8d warns only when started as root")
    d = models_dir()
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        uids, _, _ = ids(daemon.proc.pid)
        assert uids == [0, 0, 0, 0]
    finally:
        finish(daemon, d)
    assert "warning: running as root" in daemon.stderr


def test_root_drops_to_user_nobody(model_file):
    if os.geteuid() != 0:
        pytest.skip("not root: dropping privileges needs f8d started as root")
    nobody = pwd.getpwnam("nobody")
    d = models_dir(("fashion", "other"))
    os.chmod(d, 0o755)  # mkdtemp makes it 0700: nobody must read it to reload
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    daemon = Daemon(d, "--user", "nobody")
    try:
        daemon.wait_ready()
        uids, gids, groups = ids(daemon.proc.pid)
        assert uids == [nobody.pw_uid] * 4, uids  # real, effective, saved, filesystem
        assert gids == [nobody.pw_gid] * 4, gids
        assert groups == []
        # still serves, and reloads what nobody can read
        assert daemon.request("GET", "/v2/health/ready")[0] == 200
        status, _, out = reload(daemon)
        assert status == 200, out
        assert [m["name"] for m in out["models"]] == ["fashion", "other"]
        os.remove(os.path.join(d, "other.f8"))
        status, _, out = reload(daemon)
        assert status == 200, out
        assert [m["name"] for m in out["models"]] == ["fashion"]
        # a model file nobody cannot read fails the reload; the others keep serving
        shutil.copy(os.path.join(d, "fashion.f8"), os.path.join(d, "secret.f8"))
        os.chmod(os.path.join(d, "secret.f8"), 0o600)
        status, _, out = reload(daemon)
        assert status == 500, out
        assert daemon.request("GET", "/v2/models/fashion/ready")[0] == 200
    finally:
        finish(daemon, d)
    assert "running as user nobody (uid %d, gid %d" % (nobody.pw_uid, nobody.pw_gid) \
        in daemon.stderr
    assert "warning: running as root" not in daemon.stderr
