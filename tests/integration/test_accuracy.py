"""THE ACCEPTANCE TEST: all 10,000 Fashion-MNIST test images, as JPEG (quality 90), through
the daemon; top-1 accuracy must be at least 90%."""

import threading
import time

import fmnist

THREADS = 4


def test_accuracy_10000_images(daemon, fashion_test_set):
    images, truth = fashion_test_set
    n = len(images)
    assert n == 10000
    jpegs = [fmnist.to_jpeg(images[i], quality=90) for i in range(n)]
    predicted = [None] * n
    errors = []

    def client(t):
        conn = daemon.connection(timeout=60)
        try:
            for i in range(t, n, THREADS):
                status, _, answer = daemon.request("POST", "/predictions/fashion?top_k=1",
                                                   body=jpegs[i],
                                                   headers={"Content-Type": "image/jpeg"},
                                                   conn=conn)
                if status != 200:
                    errors.append((i, status, answer))
                    continue
                predicted[i] = answer["predictions"][0]["index"]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(("client %d" % t, repr(e)))
        finally:
            conn.close()

    t0 = time.monotonic()
    workers = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - t0
    assert not errors, errors[:5]
    right = sum(1 for i in range(n) if predicted[i] == truth[i])
    accuracy = right / n
    print("\nf8d top-1 accuracy on the 10,000 Fashion-MNIST test images (JPEG q90): "
          "%.2f%% (%d/%d), %.1f s, %.0f images/s" % (100 * accuracy, right, n, elapsed,
                                                    n / elapsed))
    assert accuracy >= 0.90
