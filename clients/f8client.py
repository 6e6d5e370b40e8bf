#!/usr/bin/env python3
"""Classify images with a running f8d, using only the Python standard library.

    clients/f8client.py shoe.jpg shirt.jpg
    clients/f8client.py --url http://127.0.0.1:8080 --model fashion --top-k 3 shoe.jpg

Prints one JSON line per image: the daemon's answer, with "file" added. Exits 1 if any
request failed (the daemon's error message is printed on stderr).
"""
import argparse
import http.client
import json
import sys
import urllib.parse


def classify(conn, model, data, top_k=None):
    """POSTs one JPEG to /predictions/{model}; returns (status, parsed JSON body)."""
    path = "/predictions/" + urllib.parse.quote(model, safe="")
    if top_k is not None:
        path += "?top_k=%d" % top_k
    conn.request("POST", path, body=data, headers={"Content-Type": "image/jpeg"})
    resp = conn.getresponse()
    body = resp.read()
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {"error": body.decode("utf-8", "replace")}
    return resp.status, parsed


def main(argv=None):
    parser = argparse.ArgumentParser(description="Classify JPEG images with f8d.")
    parser.add_argument("images", nargs="+", help="JPEG files")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="daemon base URL")
    parser.add_argument("--model", default="fashion", help="model name")
    parser.add_argument("--top-k", type=int, default=None, help="number of predictions")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)

    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        parser.error("--url must look like http://HOST:PORT")
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=args.timeout)
    failed = 0
    for name in args.images:
        try:
            with open(name, "rb") as f:
                data = f.read()
            status, answer = classify(conn, args.model, data, args.top_k)
        except (OSError, http.client.HTTPException) as e:
            print("%s: %s" % (name, e), file=sys.stderr)
            conn.close()
            failed += 1
            continue
        if status != 200:
            print("%s: HTTP %d: %s" % (name, status, answer.get("error", answer)),
                  file=sys.stderr)
            failed += 1
            continue
        answer["file"] = name
        print(json.dumps(answer))
    conn.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
