"""Several clients at once: every request answered, every answer right."""

import threading

import fmnist


def test_concurrent_clients(daemon, fashion_test_set):
    images, truth = fashion_test_set
    jpegs = [fmnist.to_jpeg(images[i]) for i in range(64)]
    threads, per_thread = 8, 25
    results = [[] for _ in range(threads)]
    errors = []

    def client(t):
        conn = daemon.connection()
        try:
            for j in range(per_thread):
                i = (t * per_thread + j) % len(jpegs)
                status, _, answer = daemon.request("POST", "/predictions/fashion?top_k=1",
                                                   body=jpegs[i], conn=conn)
                results[t].append((i, status, answer))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            conn.close()

    workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not errors, errors
    assert sum(len(r) for r in results) == threads * per_thread
    # the same image always gets the same answer, whichever worker ran it
    seen = {}
    for r in results:
        for i, status, answer in r:
            assert status == 200, answer
            top = answer["predictions"][0]["index"]
            assert seen.setdefault(i, top) == top


def test_many_connections_at_once(daemon, fashion_test_set):
    """32 connections open together, each sends one request before any is read."""
    images, _ = fashion_test_set
    jpeg = fmnist.to_jpeg(images[10])
    conns = [daemon.connection() for _ in range(32)]
    for c in conns:
        c.request("POST", "/predictions/fashion", body=jpeg)
    statuses = []
    for c in conns:
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        c.close()
    assert statuses == [200] * 32
