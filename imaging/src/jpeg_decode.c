/*
 * f8img: JPEG bytes -> a model's input tensor (docs/FORMAT.md §4) with TurboJPEG.
 *
 * Decode at full size into TJPF_GRAY (libjpeg's luminance, for 1-channel models) or TJPF_RGB
 * (3-channel), then f8_image_resize when the size differs from the model's input. When it does
 * not, the decoder writes straight into the caller's tensor. The pixel-count limit is checked
 * on the header, before any pixel memory exists.
 *
 * CMYK / YCCK JPEGs are refused with F8IMG_EUNSUPPORTED: converting them needs the Adobe
 * inversion convention guessed right, and a wrong guess would silently feed the model
 * inverted colours. Any libjpeg warning (truncated data, corrupt entropy segments) is an
 * error, F8IMG_EDECODE: the model never sees a half-grey image.
 *
 * After any TurboJPEG failure the handle is replaced: in TurboJPEG 2.1 an error inside
 * tjDecompressHeader3 leaves the decompressor mid-header, and every later call on that handle
 * fails with the same message (seen with "Bogus Huffman table definition").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "f8.h"
#include "f8img.h"

struct f8img_decoder {
    tjhandle tj;
    uint8_t *scratch; /* full-size decoded pixels when a resize follows */
    size_t scratch_size;
};

static int set_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int f8img_decoder_create(f8img_decoder **out)
{
    if (!out)
        return F8IMG_EINVAL;
    *out = NULL;
    f8img_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return F8IMG_ENOMEM;
    d->tj = tjInitDecompress();
    if (!d->tj) {
        free(d);
        return F8IMG_ENOMEM;
    }
    *out = d;
    return F8IMG_OK;
}

void f8img_decoder_destroy(f8img_decoder *decoder)
{
    if (!decoder)
        return;
    if (decoder->tj)
        tjDestroy(decoder->tj);
    free(decoder->scratch);
    free(decoder);
}

/* Replaces the TurboJPEG handle after a failure (see the top of the file). */
static void reset_handle(f8img_decoder *dec)
{
    if (dec->tj)
        tjDestroy(dec->tj);
    dec->tj = tjInitDecompress(); /* NULL on failure: the next call retries */
}

/* Formats TurboJPEG's message, then resets the handle that produced it. */
static int tj_fail(f8img_decoder *dec, char *err, size_t errlen, const char *what)
{
    set_err(err, errlen, F8IMG_EDECODE, "%s: %s", what, tjGetErrorStr2(dec->tj));
    reset_handle(dec);
    return F8IMG_EDECODE;
}

/* What the first bytes look like, for the "not a JPEG" message. */
static const char *sniff(const uint8_t *d, size_t n)
{
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "PNG";
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return "GIF";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return "WebP";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "TIFF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M')
        return "BMP";
    return NULL;
}

/* Checks the JPEG signature and reads the header. */
static int header(f8img_decoder *dec, const uint8_t *data, size_t size, int *w, int *h,
                  int *colorspace, char *err, size_t errlen)
{
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        const char *kind = sniff(data, size);
        if (size == 0)
            return set_err(err, errlen, F8IMG_EUNSUPPORTED, "not a JPEG: the data is empty");
        if (kind)
            return set_err(err, errlen, F8IMG_EUNSUPPORTED,
                           "not a JPEG: the data is a %s image (only JPEG is supported)", kind);
        return set_err(err, errlen, F8IMG_EUNSUPPORTED,
                       "not a JPEG: the data does not start with the JPEG signature FF D8 FF");
    }
    if (size > (unsigned long)-1)
        return set_err(err, errlen, F8IMG_ETOOLARGE, "JPEG of %zu bytes is too large", size);
    if (!dec->tj) {
        reset_handle(dec);
        if (!dec->tj)
            return set_err(err, errlen, F8IMG_ENOMEM, "cannot create a TurboJPEG decompressor");
    }
    int subsamp = 0;
    *w = *h = 0;
    if (tjDecompressHeader3(dec->tj, data, (unsigned long)size, w, h, &subsamp, colorspace) != 0)
        return tj_fail(dec, err, errlen, "corrupt JPEG header");
    if (*w <= 0 || *h <= 0) {
        reset_handle(dec);
        return set_err(err, errlen, F8IMG_EDECODE,
                       "corrupt or truncated JPEG: no frame header before the data ends");
    }
    return F8IMG_OK;
}

int f8img_read_header(f8img_decoder *decoder, const uint8_t *data, size_t size, uint32_t *width,
                      uint32_t *height, char *err, size_t errlen)
{
    if (!decoder || (!data && size))
        return set_err(err, errlen, F8IMG_EINVAL, "f8img_read_header: null argument");
    int w = 0, h = 0, cs = 0;
    const int rc = header(decoder, data, size, &w, &h, &cs, err, errlen);
    if (rc)
        return rc;
    if (width)
        *width = (uint32_t)w;
    if (height)
        *height = (uint32_t)h;
    return F8IMG_OK;
}

int f8img_decode_to_input(f8img_decoder *decoder, const uint8_t *data, size_t size,
                          uint32_t out_h, uint32_t out_w, uint32_t out_c, uint64_t max_pixels,
                          uint8_t *out, char *err, size_t errlen)
{
    if (!decoder || (!data && size) || !out)
        return set_err(err, errlen, F8IMG_EINVAL, "f8img_decode_to_input: null argument");
    if ((out_c != 1 && out_c != 3) || out_h == 0 || out_w == 0)
        return set_err(err, errlen, F8IMG_EINVAL,
                       "f8img_decode_to_input: bad output shape %ux%ux%u (channels must be 1 or 3)",
                       out_h, out_w, out_c);

    int w = 0, h = 0, cs = 0;
    int rc = header(decoder, data, size, &w, &h, &cs, err, errlen);
    if (rc)
        return rc;
    const uint64_t pixels = (uint64_t)w * (uint64_t)h;
    if (max_pixels && pixels > max_pixels)
        return set_err(err, errlen, F8IMG_ETOOLARGE,
                       "image is %dx%d (%llu pixels), over the limit of %llu pixels", w, h,
                       (unsigned long long)pixels, (unsigned long long)max_pixels);
    if (cs == TJCS_CMYK || cs == TJCS_YCCK)
        return set_err(err, errlen, F8IMG_EUNSUPPORTED,
                       "CMYK JPEGs are not supported: convert the image to RGB or grayscale");

    uint8_t *dst = out;
    const int resize = (uint32_t)w != out_w || (uint32_t)h != out_h;
    if (resize) {
        const size_t need = (size_t)pixels * out_c;
        if (need > decoder->scratch_size) {
            free(decoder->scratch);
            decoder->scratch_size = 0;
            decoder->scratch = malloc(need);
            if (!decoder->scratch)
                return set_err(err, errlen, F8IMG_ENOMEM,
                               "out of memory for a %dx%d image", w, h);
            decoder->scratch_size = need;
        }
        dst = decoder->scratch;
    }
    const int pf = out_c == 1 ? TJPF_GRAY : TJPF_RGB;
    if (tjDecompress2(decoder->tj, data, (unsigned long)size, dst, w, w * (int)out_c, h, pf,
                      TJFLAG_STOPONWARNING) != 0)
        return tj_fail(decoder, err, errlen, "corrupt JPEG");
    if (resize && f8_image_resize(dst, (uint32_t)h, (uint32_t)w, out_c, out, out_h, out_w) != F8_OK)
        return set_err(err, errlen, F8IMG_EINVAL, "resize failed");
    return F8IMG_OK;
}

const char *f8img_strerror(int err)
{
    switch (err) {
    case F8IMG_OK: return "success";
    case F8IMG_EUNSUPPORTED: return "unsupported image type";
    case F8IMG_EDECODE: return "corrupt image";
    case F8IMG_ETOOLARGE: return "image too large";
    case F8IMG_ENOMEM: return "out of memory";
    case F8IMG_EINVAL: return "invalid argument";
    default: return "unknown error";
    }
}
