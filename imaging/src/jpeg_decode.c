/*
 * f8img: JPEG bytes -> a model's input tensor (docs/FORMAT.md §4) with TurboJPEG.
 *
 * Decode into TJPF_GRAY (libjpeg's luminance, for 1-channel models) or TJPF_RGB (3-channel),
 * scaled in the DCT domain by 1/a, a in {8, 4, 2, 1} the largest with a*out_w <= width and
 * a*out_h <= height (Pillow's Image.draft rule, so the trainer's PIL pipeline gets the same
 * pixels), then f8_image_resize when the scaled size differs from the model's input. When it
 * does not, the decoder writes straight into the caller's tensor. The pixel-count limit is
 * checked on the header, before any pixel memory exists. Progressive JPEGs decode the same way.
 *
 * CMYK / YCCK JPEGs are decoded to CMYK and converted as Pillow converts them (inverted inks
 * when the Adobe APP14 marker is present, as Photoshop writes them), then to luminance for
 * 1-channel models. Any libjpeg warning (truncated data, corrupt entropy segments) is an
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

/* Whether the JPEG carries an Adobe APP14 segment (Photoshop's CMYK JPEGs store inverted
 * ink values; Pillow and Photoshop read them inverted when the marker is there). Walks the
 * marker segments up to the first SOS. */
static int has_adobe_marker(const uint8_t *d, size_t n)
{
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xFF)
            return 0;
        uint8_t m = d[i + 1];
        if (m == 0xFF) {
            i++;
            continue;
        }
        if (m == 0xDA || m == 0xD9)
            return 0;
        size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
        if (len < 2)
            return 0;
        if (m == 0xEE && len >= 7 && i + 9 <= n && memcmp(d + i + 4, "Adobe", 5) == 0)
            return 1;
        i += 2 + len;
    }
    return 0;
}

/* Pillow's MULDIV255: a*b/255, rounded. */
static inline uint8_t muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

/* CMYK (as stored) to RGB or libjpeg's luminance, as Pillow converts it: with the Adobe
 * marker the stored values are inverted inks (R = K' - K'*(255-C')/255), without it plain
 * inks (R = (255-K) - (255-K)*C/255). */
static void cmyk_convert(const uint8_t *src, size_t pixels, int adobe, uint32_t out_c,
                         uint8_t *dst)
{
    for (size_t i = 0; i < pixels; i++, src += 4) {
        unsigned c = adobe ? 255u - src[0] : src[0];
        unsigned m = adobe ? 255u - src[1] : src[1];
        unsigned y = adobe ? 255u - src[2] : src[2];
        unsigned nk = adobe ? src[3] : 255u - src[3];
        uint8_t r = (uint8_t)(nk - muldiv255(c, nk));
        uint8_t g = (uint8_t)(nk - muldiv255(m, nk));
        uint8_t b = (uint8_t)(nk - muldiv255(y, nk));
        if (out_c == 3) {
            dst[0] = r;
            dst[1] = g;
            dst[2] = b;
            dst += 3;
        } else { /* ITU-R 601 luminance, libjpeg's and Pillow's fixed point */
            *dst++ = (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 32768u) >> 16);
        }
    }
}

static int grow_scratch(f8img_decoder *dec, size_t need)
{
    if (need <= dec->scratch_size)
        return 0;
    free(dec->scratch);
    dec->scratch_size = 0;
    dec->scratch = malloc(need);
    if (!dec->scratch)
        return -1;
    dec->scratch_size = need;
    return 0;
}

uint32_t f8img_scale_denominator(uint32_t width, uint32_t height, uint32_t out_w, uint32_t out_h)
{
    static const uint32_t denoms[] = {8, 4, 2};
    if (out_w == 0 || out_h == 0)
        return 1;
    for (size_t i = 0; i < sizeof(denoms) / sizeof(denoms[0]); i++) {
        uint64_t a = denoms[i];
        if (a * out_w <= width && a * out_h <= height)
            return (uint32_t)a;
    }
    return 1;
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

    /* DCT-domain scaling: libjpeg's IDCT writes 1/a of the size directly. */
    const uint32_t a = f8img_scale_denominator((uint32_t)w, (uint32_t)h, out_w, out_h);
    const uint32_t sw = ((uint32_t)w + a - 1) / a, sh = ((uint32_t)h + a - 1) / a;
    const int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    const uint32_t dec_c = cmyk ? 4 : out_c;
    const int resize = sw != out_w || sh != out_h;
    const size_t scaled = (size_t)sw * sh;

    uint8_t *dst = out, *conv = out;
    if (resize || cmyk) {
        size_t need = scaled * dec_c + ((cmyk && resize) ? scaled * out_c : 0);
        if (grow_scratch(decoder, need) != 0)
            return set_err(err, errlen, F8IMG_ENOMEM, "out of memory for a %dx%d image", w, h);
        dst = decoder->scratch;
        conv = cmyk ? (resize ? decoder->scratch + scaled * 4 : out) : dst;
    }
    const int pf = cmyk ? TJPF_CMYK : (out_c == 1 ? TJPF_GRAY : TJPF_RGB);
    if (tjDecompress2(decoder->tj, data, (unsigned long)size, dst, (int)sw, (int)(sw * dec_c),
                      (int)sh, pf, TJFLAG_STOPONWARNING) != 0)
        return tj_fail(decoder, err, errlen, "corrupt JPEG");
    if (cmyk)
        cmyk_convert(dst, scaled, has_adobe_marker(data, size), out_c, conv);
    if (resize && f8_image_resize(conv, sh, sw, out_c, out, out_h, out_w) != F8_OK)
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
