#!/usr/bin/env python3
"""Example: classify every JPEG of a folder with f8client.Client and print a table.

    clients/examples/classify_folder.py DIR [--grpc 127.0.0.1:8081] [--model fashion]
    clients/examples/classify_folder.py samples/
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from f8client import Client, F8Error  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--grpc", default=None, metavar="HOST:PORT")
    ap.add_argument("--model", default="fashion")
    a = ap.parse_args()
    names = sorted(n for n in os.listdir(a.folder) if n.lower().endswith((".jpg", ".jpeg")))
    with Client(a.url, grpc=a.grpc, model=a.model) as client:
        for name in names:
            try:
                best = client.classify(os.path.join(a.folder, name), top_k=1)["predictions"][0]
                print("%-32s %-16s %.3f" % (name, best["label"], best["score"]))
            except F8Error as e:
                print("%-32s error: %s" % (name, e.message))


if __name__ == "__main__":
    main()
