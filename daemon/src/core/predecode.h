/*
 * f8d pre-decoding: large JPEGs are decoded before they queue, on the background pool at the
 * lowest priority (background.h), not by an inference worker.
 *
 * An inference worker decodes the images of its batch before it runs the engine. A photo of
 * tens of megapixels takes it milliseconds to tens of milliseconds, and every request queued
 * meanwhile, of any model, waits for it: a client sending big photos set the p99 of everyone
 * else's small requests. Decoded at the lowest priority instead (background.h), such
 * an image costs the workers only the CPU nobody else wants; it reaches the batcher as the
 * model's input bytes (a raw item), and a cancelled or expired request's images are dropped
 * when their decode ends.
 *
 * Loop thread only (the decoding runs on the background pool and touches only its job).
 */
#ifndef F8D_PREDECODE_H
#define F8D_PREDECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct f8d_item;
struct f8d_request;

/* JPEGs this big or bigger are pre-decoded: a few megapixels. */
#define F8D_PREDECODE_BYTES (256u * 1024u)

/* Whether any image of the request is a JPEG to pre-decode. */
bool f8d_predecode_wanted(const struct f8d_request *req);

/* f8d_request_submit's way for such a request: its raw images are queued now, its JPEGs
 * decoded first; when a decode ends, on the loop, that image is queued as raw pixels, or told
 * its error (decode, pixels, deadline, cancelled, queue full). Returns F8D_OK (on_done will be
 * called, after this returns), or F8D_EOVERLOAD / F8D_ENOMEM with nothing started. */
int f8d_predecode_submit(struct f8d_request *req);

#endif /* F8D_PREDECODE_H */
