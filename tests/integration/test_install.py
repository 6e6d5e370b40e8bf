"""`make install DESTDIR=... PREFIX=/usr` yields a tree that works: its f8d serves the
installed models, its client finds the installed proto files, `pkg-config f8` points into it
and a small C program links libf8 (shared and static) and opens the installed model, its man
pages render without a warning and list every setting; `make uninstall` takes it all away
(an edited config file excepted, which it keeps and names)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from deploy_tree import Started, make_install
from f8d_process import REPO, free_port

SAMPLES = os.path.join(REPO, "samples")
MAJOR, MINOR = (re.search(r"#define F8_VERSION_%s (\d+)" % w,
                          open(os.path.join(REPO, "engine/include/f8.h")).read()).group(1)
                for w in ("MAJOR", "MINOR"))
EXPECTED = {
    "usr/bin/f8d", "usr/bin/f8", "usr/bin/f8-classify", "usr/bin/f8client",
    "usr/lib/libf8.a", "usr/lib/libf8.so.%s.%s" % (MAJOR, MINOR),
    "usr/lib/libf8.so.%s" % MAJOR, "usr/lib/libf8.so", "usr/lib/pkgconfig/f8.pc",
    "usr/include/f8.h",
    "usr/share/f8serve/models/fashion.f8", "usr/share/f8serve/models/fashion-ternary.f8",
    "usr/share/f8serve/proto/grpc_predict_v2.proto", "usr/share/f8serve/proto/health.proto",
    "usr/share/doc/f8serve/README.md",
    "usr/share/man/man8/f8d.8", "usr/share/man/man5/f8d.conf.5", "usr/share/man/man1/f8.1",
    "etc/systemd/system/f8d.service", "etc/default/f8d", "etc/f8d/f8d.conf",
}
OWN_DIRS = ["usr/share/f8serve", "usr/share/doc/f8serve", "etc/f8d"]

PROGRAM = r"""
#include <stdio.h>
#include <f8.h>

int main(int argc, char **argv)
{
    char err[256];
    f8_model *m;
    int rc = f8_model_open(argv[1], &m, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s (%s)\n", argv[1], err, f8_strerror(rc));
        return 1;
    }
    const f8_model_info *info = f8_model_get_info(m);
    printf("classes=%u input=%ux%ux%u label9=%s\n", (unsigned)info->num_classes,
           (unsigned)info->input_h, (unsigned)info->input_w, (unsigned)info->input_c,
           f8_model_label(m, 9));
    f8_model_close(m);
    return argc == 2 ? 0 : 2;
}
"""


def files_in(root):
    """Paths (relative) of the files and links under root."""
    found = set()
    for dirpath, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


@pytest.fixture(scope="module")
def tree():
    d = tempfile.mkdtemp(prefix="f8d-install-")
    make_install("DESTDIR=" + d, "PREFIX=/usr")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_tree_holds_what_it_should(tree):
    assert files_in(tree) == EXPECTED
    lib = os.path.join(tree, "usr/lib")
    assert os.readlink(os.path.join(lib, "libf8.so")) == "libf8.so.%s" % MAJOR
    assert os.readlink(os.path.join(lib, "libf8.so.%s" % MAJOR)) == "libf8.so.%s.%s" % (MAJOR,
                                                                                      MINOR)
    dyn = subprocess.run(["readelf", "-d", os.path.join(lib, "libf8.so")], check=True,
                         stdout=subprocess.PIPE).stdout.decode()
    assert "Library soname: [libf8.so.%s]" % MAJOR in dyn
    # exported: exactly the functions f8.h declares (the engine's internals stay inside)
    syms = subprocess.run(["nm", "-D", "--defined-only", os.path.join(lib, "libf8.so")],
                          check=True, stdout=subprocess.PIPE).stdout.decode().split("\n")
    exported = {l.split()[-1] for l in syms if l.strip()}
    declared = set(re.findall(r"\b(f8_[a-z0-9_]+)\s*\(",
                              open(os.path.join(tree, "usr/include/f8.h")).read()))
    assert exported and exported <= declared
    assert {"f8_model_open", "f8_run", "f8_runner_create", "f8_strerror"} <= exported


def test_installed_f8d_serves_installed_models(tree):
    usr = os.path.join(tree, "usr")
    grpc_port = free_port()
    d = Started([os.path.join(usr, "bin/f8d"), "--config", os.path.join(tree, "etc/f8d/f8d.conf"),
                 "--models", os.path.join(usr, "share/f8serve/models"), "--host", "127.0.0.1",
                 "--port", "0", "--grpc-port", str(grpc_port)], {"PATH": os.environ["PATH"]})
    try:
        d.wait_ready()
        url = "http://127.0.0.1:%d" % d.port
        client = os.path.join(usr, "bin/f8client")
        out = subprocess.run([sys.executable, client, "--url", url, "--model", "fashion",
                              "--top-k", "1", os.path.join(SAMPLES, "bag.jpg")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert out.returncode == 0, out.stdout
        assert b"Bag" in out.stdout
        # over gRPC: the installed client generates its stubs from share/f8serve/proto
        out = subprocess.run([sys.executable, client, "--grpc", "127.0.0.1:%d" % grpc_port,
                              "--model", "fashion", "--top-k", "1",
                              os.path.join(SAMPLES, "trouser.jpg")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                             cwd=tree)
        assert out.returncode == 0, out.stdout
        assert b"Trouser" in out.stdout
    finally:
        assert d.stop() == 0, d.stderr
    info = subprocess.run([os.path.join(usr, "bin/f8"), "info",
                           os.path.join(usr, "share/f8serve/models/fashion.f8")],
                          stdout=subprocess.PIPE, check=True).stdout
    assert b"Ankle boot" in info


def pkg_config(tree, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(tree, "usr/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=tree, PKG_CONFIG_LIBDIR="")
    out = subprocess.run(["pkg-config"] + list(args) + ["f8"], env=env, check=True,
                         stdout=subprocess.PIPE).stdout.decode()
    return out.split()


def test_pkg_config_and_a_program_linking_libf8(tree, tmp_path):
    cflags = pkg_config(tree, "--cflags")
    libs = pkg_config(tree, "--libs")
    assert cflags == ["-I%s/usr/include" % tree]
    assert libs == ["-L%s/usr/lib" % tree, "-lf8"]
    assert pkg_config(tree, "--modversion") == ["%s.%s" % (MAJOR, MINOR)]
    src = tmp_path / "open_model.c"
    src.write_text(PROGRAM)
    model = os.path.join(tree, "usr/share/f8serve/models/fashion.f8")
    want = b"classes=10 input=28x28x1 label9=Ankle boot\n"

    shared = str(tmp_path / "open_shared")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-o", shared, str(src)] + cflags +
                   libs, check=True)
    needed = subprocess.run(["readelf", "-d", shared], check=True,
                            stdout=subprocess.PIPE).stdout.decode()
    assert "Shared library: [libf8.so.%s]" % MAJOR in needed
    run = subprocess.run([shared, model], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(tree, "usr/lib")))
    assert run.stdout == want

    static = str(tmp_path / "open_static")
    private = [f for f in pkg_config(tree, "--static", "--libs-only-l") if f != "-lf8"]
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-o", static, str(src)] + cflags +
                   [os.path.join(tree, "usr/lib/libf8.a")] + private, check=True)
    assert b"libf8" not in subprocess.run(["readelf", "-d", static], check=True,
                                          stdout=subprocess.PIPE).stdout
    assert subprocess.run([static, model], stdout=subprocess.PIPE, check=True).stdout == want


@pytest.mark.parametrize("page", ["man8/f8d.8", "man5/f8d.conf.5", "man1/f8.1"])
def test_man_pages_render_cleanly(tree, page):
    path = os.path.join(tree, "usr/share/man", page)
    out = subprocess.run(["man", "--warnings=w", "-l", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0",
                                  LC_ALL="C.UTF-8"))
    assert out.returncode == 0
    assert out.stderr == b"", out.stderr.decode()
    text = re.sub(r".\x08", "", out.stdout.decode())
    assert "NAME" in text and "SEE ALSO" in text
    assert "@" not in text.replace("@system-service", "")
    if page.endswith("f8d.conf.5") or page.endswith("f8d.8"):
        # every key of the config table, as `f8d --default-config` prints it
        conf = subprocess.run([os.path.join(tree, "usr/bin/f8d"), "--default-config"],
                              stdout=subprocess.PIPE, check=True).stdout.decode()
        keys = re.findall(r"^#? ?([a-z_]+) = ", conf, re.M)
        assert len(keys) > 20
        flat = re.sub(r"\s+", " ", text.replace("\u2010\n", "").replace("-\n", "-"))
        for key in keys:
            name = key if page.endswith(".5") else "--" + key.replace("_", "-")
            assert name in flat, name


def test_uninstall_leaves_nothing(tmp_path):
    root = str(tmp_path / "a")
    make_install("DESTDIR=" + root, "PREFIX=/usr")
    assert files_in(root) == EXPECTED
    out = make_install("DESTDIR=" + root, "PREFIX=/usr", target="uninstall")
    assert files_in(root) == set(), out
    for d in OWN_DIRS:
        assert not os.path.exists(os.path.join(root, d)), d


def test_uninstall_keeps_an_edited_config(tmp_path):
    root = str(tmp_path / "b")
    make_install("DESTDIR=" + root, "PREFIX=/usr")
    conf = os.path.join(root, "etc/f8d/f8d.conf")
    with open(conf, "a") as f:
        f.write("max_batch_size = 32\n")
    # a second install keeps the edited file as it is
    make_install("DESTDIR=" + root, "PREFIX=/usr")
    assert open(conf).read().endswith("max_batch_size = 32\n")
    out = make_install("DESTDIR=" + root, "PREFIX=/usr", target="uninstall")
    assert files_in(root) == {"etc/f8d/f8d.conf"}
    assert "kept %s" % conf in out
