#!/usr/bin/python3
"""Makes a man page (roff) from its source in man/ (NAME.SECTION.in, hand-written roff): the
placeholders are filled from the built f8d, so that the pages list exactly the settings of
daemon/src/core/options.c's table (read back from `f8d --help`, which that table prints):

    @OPTIONS@    f8d(8): every flag, its argument, default and help
    @SETTINGS@   f8d.conf(5): every key, its default, help, flag and environment variable
    @PER_MODEL@  f8d.conf(5): the keys a [model NAME] section may set
    @VERSION@    "MAJOR.MINOR" of engine/include/f8.h

    scripts/make-man.py --f8d build/f8d --header engine/include/f8.h man/f8d.8.in OUT"""

import argparse
import re
import subprocess

OPTION = re.compile(r"^  (--[a-z0-9-]+)(?: (\S+))?\s+(.*)$")
TAIL = re.compile(r"^(.*?)(?: \(default (.*)\))?( \[per model\])?$")


def options(f8d):
    """[(flag, arg, help, default, per_model)] in --help's order, --config first."""
    out = subprocess.run([f8d, "--help"], check=True, stdout=subprocess.PIPE,
                         env={"PATH": "/usr/bin:/bin"}).stdout.decode()
    found = []
    for line in out.splitlines():
        m = OPTION.match(line)
        if not m or m.group(1) in ("--default-config", "--help", "--version"):
            continue
        flag, arg, rest = m.groups()
        t = TAIL.match(rest)
        found.append((flag, arg or "", t.group(1), t.group(2), bool(t.group(3))))
    assert any(o[0] == "--models" for o in found), "no --models in f8d --help"
    return found


def esc(text):
    """Plain text as roff: backslashes, leading dots and quotes, hyphens of options."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    if text[:1] in ".'":
        text = "\\&" + text
    return text


def key_of(flag):
    return flag[2:].replace("-", "_")


def option_list(opts):
    lines = []
    for flag, arg, help_, default, per_model in opts:
        lines.append(".TP")
        lines.append("\\fB%s\\fR%s" % (esc(flag), " \\fI%s\\fR" % esc(arg) if arg else ""))
        text = esc(help_)
        if default is not None and default != "":
            text += " (default: %s)" % esc(default)
        if per_model:
            text += "; may be set per model in \\fBf8d.conf\\fR(5)"
        lines.append(text + ".")
        if flag != "--config":
            lines.append("Environment: \\fBF8D_%s\\fR; config key: \\fB%s\\fR." %
                         (esc(key_of(flag).upper()), esc(key_of(flag))))
    return "\n".join(lines)


def setting_list(opts):
    lines = []
    for flag, arg, help_, default, per_model in opts:
        if flag == "--config":
            continue
        key = key_of(flag)
        lines.append(".TP")
        lines.append("\\fB%s\\fR = \\fI%s\\fR" % (esc(key), esc(arg or "VALUE")))
        text = esc(help_).rstrip(".")
        text += ". Default: %s." % (esc(default) if default else "none")
        if per_model:
            text += " May be set per model."
        lines.append(text)
        lines.append(".br")
        lines.append("Flag: \\fB%s\\fR; environment: \\fBF8D_%s\\fR." %
                     (esc(flag), esc(key.upper())))
    return "\n".join(lines)


def version(header):
    text = open(header).read()
    major = re.search(r"#define F8_VERSION_MAJOR (\d+)", text).group(1)
    minor = re.search(r"#define F8_VERSION_MINOR (\d+)", text).group(1)
    return "%s.%s" % (major, minor)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--f8d", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("source")
    ap.add_argument("out")
    args = ap.parse_args()
    text = open(args.source).read()
    opts = options(args.f8d) if re.search(r"@(OPTIONS|SETTINGS|PER_MODEL)@", text) else []
    per_model = ", ".join("\\fB%s\\fR" % esc(key_of(o[0])) for o in opts if o[4])
    text = (text.replace("@OPTIONS@", option_list(opts))
                .replace("@SETTINGS@", setting_list(opts))
                .replace("@PER_MODEL@", per_model)
                .replace("@VERSION@", version(args.header)))
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, "unfilled placeholders: %s" % left
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
