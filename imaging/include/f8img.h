/*
 * f8img: turns an encoded image (JPEG) into a model's input tensor, following
 * docs/FORMAT.md §4 (decode to the model's channel count, bilinear resize with
 * f8_image_resize, raw u8 pixels). Used by the daemon's decode workers and by the `f8` CLI.
 *
 * A decoder wraps one TurboJPEG handle and a scratch buffer: one decoder per thread.
 * Functions return 0 or a negative F8IMG_E* code and fill `err` with a message a client
 * can read ("not a JPEG: ...", "image is 9000x9000, over the limit of ...").
 */
#ifndef F8IMG_H
#define F8IMG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    F8IMG_OK = 0,
    F8IMG_EUNSUPPORTED = -1, /* not an image type we decode (not a JPEG) */
    F8IMG_EDECODE = -2,      /* a JPEG, but corrupt or truncated */
    F8IMG_ETOOLARGE = -3,    /* width*height over the caller's max_pixels (known from the header) */
    F8IMG_ENOMEM = -4,
    F8IMG_EINVAL = -5        /* bad arguments */
};

typedef struct f8img_decoder f8img_decoder;

int f8img_decoder_create(f8img_decoder **out);
void f8img_decoder_destroy(f8img_decoder *decoder);

/* Reads only the header: width, height and the number of colour components in the file.
 * Returns F8IMG_EUNSUPPORTED when the bytes do not start like a JPEG. */
int f8img_read_header(f8img_decoder *decoder, const uint8_t *data, size_t size,
                      uint32_t *width, uint32_t *height, char *err, size_t errlen);

/* Decodes `data` into `out` (out_h*out_w*out_c bytes, NHWC): grayscale (libjpeg's
 * luminance) when out_c == 1, RGB when out_c == 3. Baseline and progressive; grayscale, YCbCr,
 * CMYK and YCCK files. The IDCT scales by 1/f8img_scale_denominator() (DCT-domain scaling),
 * then the result is resized (docs/FORMAT.md §4 bilinear) when its size differs from the
 * output's. Images whose header says width*height > max_pixels are refused with
 * F8IMG_ETOOLARGE before any pixel memory is allocated (max_pixels = 0: no limit). */
int f8img_decode_to_input(f8img_decoder *decoder, const uint8_t *data, size_t size,
                          uint32_t out_h, uint32_t out_w, uint32_t out_c, uint64_t max_pixels,
                          uint8_t *out, char *err, size_t errlen);

/* The DCT scaling denominator a used for a width x height JPEG and an out_w x out_h output:
 * the largest of 8, 4, 2 with a*out_w <= width and a*out_h <= height, else 1 (the rule of
 * Pillow's Image.draft). The decoded size is ceil(width/a) x ceil(height/a). */
uint32_t f8img_scale_denominator(uint32_t width, uint32_t height, uint32_t out_w,
                                 uint32_t out_h);

const char *f8img_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* F8IMG_H */
