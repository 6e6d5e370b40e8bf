/*
 * f8img: real JPEGs made here with tjCompress2 (quality 100), decoded to 1 and 3 channels and
 * compared with their source pixels; the resize path against f8_image_resize; and the error
 * classes: not a JPEG, corrupt/truncated, over the pixel limit, bad arguments; CMYK,
 * progressive and DCT-scaled decodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "f8.h"
#include "f8img.h"
#include "unit.h"

#define W 48
#define H 32

static uint8_t gray_src[H * W], rgb_src[H * W * 3];

static void make_sources(void)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            gray_src[y * W + x] = (uint8_t)(x * 3 + y * 2 + 20);
            uint8_t *p = rgb_src + (y * W + x) * 3;
            p[0] = (uint8_t)(x * 5);
            p[1] = (uint8_t)(y * 7);
            p[2] = (uint8_t)(128 + (x - y) * 2);
        }
}

/* A JPEG of the pixels, in a malloc'ed buffer of exactly its size (so that ASan sees any
 * read past the end). */
static uint8_t *encode(const uint8_t *pixels, int w, int h, int pf, int subsamp, size_t *size)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long n = 0;
    const int rc = tjCompress2(tj, pixels, w, 0, h, pf, &jpeg, &n, subsamp, 100,
                               TJFLAG_ACCURATEDCT);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    uint8_t *copy = malloc(n);
    memcpy(copy, jpeg, n);
    tjFree(jpeg);
    tjDestroy(tj);
    *size = n;
    return copy;
}

static int max_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        const int d = abs((int)a[i] - (int)b[i]);
        if (d > m)
            m = d;
    }
    return m;
}

static void test_gray_roundtrip(void)
{
    size_t size;
    uint8_t *jpeg = encode(gray_src, W, H, TJPF_GRAY, TJSAMP_GRAY, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    uint32_t w = 0, h = 0;
    char err[256];
    CU_ASSERT_EQUAL(f8img_read_header(d, jpeg, size, &w, &h, err, sizeof err), F8IMG_OK);
    CU_ASSERT_EQUAL(w, W);
    CU_ASSERT_EQUAL(h, H);

    uint8_t out1[H * W], out3[H * W * 3];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 1, 0, out1, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT(max_abs_diff(out1, gray_src, sizeof out1) <= 2);
    /* a grayscale JPEG into an RGB model: three equal channels */
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 3, 0, out3, err, sizeof err),
                    F8IMG_OK);
    int equal = 1;
    for (int i = 0; i < H * W; i++)
        equal &= out3[3 * i] == out1[i] && out3[3 * i + 1] == out1[i] && out3[3 * i + 2] == out1[i];
    CU_ASSERT(equal);
    f8img_decoder_destroy(d);
    free(jpeg);
}

static void test_rgb_roundtrip(void)
{
    size_t size;
    uint8_t *jpeg = encode(rgb_src, W, H, TJPF_RGB, TJSAMP_444, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    uint8_t out3[H * W * 3], out1[H * W];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 3, 0, out3, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT(max_abs_diff(out3, rgb_src, sizeof out3) <= 4);

    /* an RGB JPEG into a grayscale model: libjpeg's luminance Y = .299 R + .587 G + .114 B */
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 1, 0, out1, err, sizeof err),
                    F8IMG_OK);
    uint8_t luma[H * W];
    for (int i = 0; i < H * W; i++) {
        const uint8_t *p = rgb_src + 3 * i;
        luma[i] = (uint8_t)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] + 0.5);
    }
    CU_ASSERT(max_abs_diff(out1, luma, sizeof out1) <= 3);
    f8img_decoder_destroy(d);
    free(jpeg);
}

static void test_resize_path(void)
{
    size_t size;
    uint8_t *jpeg = encode(rgb_src, W, H, TJPF_RGB, TJSAMP_444, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    uint8_t full[H * W * 3], want[28 * 28 * 3], got[28 * 28 * 3];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 3, 0, full, err, sizeof err),
                    F8IMG_OK);
    /* downscale to 28x28: exactly f8_image_resize of the full decode */
    CU_ASSERT_EQUAL(f8_image_resize(full, H, W, 3, want, 28, 28), F8_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 28, 28, 3, 0, got, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);

    /* then a bigger image through the same decoder (its scratch buffer grows), then upscale */
    static uint8_t big[100 * 90 * 3];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i % 251);
    size_t big_size;
    uint8_t *big_jpeg = encode(big, 90, 100, TJPF_RGB, TJSAMP_420, &big_size);
    uint8_t small[10 * 12];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, big_jpeg, big_size, 10, 12, 1, 0, small, err,
                                          sizeof err), F8IMG_OK);
    static uint8_t up[64 * 96 * 3], up_want[64 * 96 * 3];
    CU_ASSERT_EQUAL(f8_image_resize(full, H, W, 3, up_want, 64, 96), F8_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 64, 96, 3, 0, up, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(up, up_want, sizeof up), 0);
    free(big_jpeg);
    f8img_decoder_destroy(d);
    free(jpeg);
}

static void test_not_a_jpeg(void)
{
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256] = "";
    uint8_t out[4];
    const uint8_t png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                             'I',  'H', 'D', 'R'};
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, png, sizeof png, 2, 2, 1, 0, out, err, sizeof err),
                    F8IMG_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a JPEG"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "PNG"));
    uint32_t w, h;
    CU_ASSERT_EQUAL(f8img_read_header(d, png, sizeof png, &w, &h, err, sizeof err),
                    F8IMG_EUNSUPPORTED);

    const uint8_t text[] = "hello, world";
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, text, sizeof text, 2, 2, 1, 0, out, err, sizeof err),
                    F8IMG_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "FF D8 FF"));
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, text, 0, 2, 2, 1, 0, out, err, sizeof err),
                    F8IMG_EUNSUPPORTED);
    const uint8_t soi_only[2] = {0xFF, 0xD8};
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, soi_only, 2, 2, 2, 1, 0, out, err, sizeof err),
                    F8IMG_EUNSUPPORTED);
    f8img_decoder_destroy(d);
}

static void test_truncated_and_corrupt(void)
{
    size_t size;
    uint8_t *jpeg = encode(rgb_src, W, H, TJPF_RGB, TJSAMP_444, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    uint8_t out[H * W * 3];
    const size_t cuts[] = {3, 4, 20, 150, size / 2, size - 100, size - 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        uint8_t *part = malloc(cuts[i]);
        memcpy(part, jpeg, cuts[i]);
        err[0] = '\0';
        const int rc = f8img_decode_to_input(d, part, cuts[i], H, W, 3, 0, out, err, sizeof err);
        if (rc != F8IMG_EDECODE)
            fprintf(stderr, "\n    cut at %zu of %zu: rc %d (%s)\n", cuts[i], size, rc, err);
        CU_ASSERT_EQUAL(rc, F8IMG_EDECODE);
        CU_ASSERT(err[0] != '\0');
        free(part);
    }
    /* random damage after the signature: never a crash, only these outcomes */
    uint64_t s = 12345;
    uint8_t *bad = malloc(size);
    int ok = 1;
    for (int iter = 0; iter < 300; iter++) {
        memcpy(bad, jpeg, size);
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            bad[3 + (s >> 33) % (size - 3)] = (uint8_t)(s >> 13);
        }
        const int rc = f8img_decode_to_input(d, bad, size, 28, 28, 3, 0, out, err, sizeof err);
        ok &= rc == F8IMG_OK || rc == F8IMG_EDECODE || rc == F8IMG_EUNSUPPORTED ||
              rc == F8IMG_ETOOLARGE;
        /* and a failure never poisons the decoder (TurboJPEG 2.1 handles stay broken after
         * a header error unless replaced) */
        ok &= f8img_decode_to_input(d, jpeg, size, H, W, 3, 0, out, err, sizeof err) == F8IMG_OK;
    }
    CU_ASSERT(ok);
    free(bad);
    /* and still works at the end */
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 3, 0, out, err, sizeof err),
                    F8IMG_OK);
    f8img_decoder_destroy(d);
    free(jpeg);
}

/* Finds the SOF0 marker and rewrites the frame's height and width. */
static int patch_size(uint8_t *jpeg, size_t size, uint16_t h, uint16_t w)
{
    for (size_t i = 2; i + 9 < size; i++)
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
            jpeg[i + 5] = (uint8_t)(h >> 8);
            jpeg[i + 6] = (uint8_t)h;
            jpeg[i + 7] = (uint8_t)(w >> 8);
            jpeg[i + 8] = (uint8_t)w;
            return 1;
        }
    return 0;
}

static void test_too_large(void)
{
    size_t size;
    uint8_t *jpeg = encode(gray_src, W, H, TJPF_GRAY, TJSAMP_GRAY, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    uint8_t out[H * W];
    /* the limit is inclusive */
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 1, W * H, out, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 1, W * H - 1, out, err, sizeof err),
                    F8IMG_ETOOLARGE);
    /* a header claiming 60000x60000 is refused from the header alone */
    CU_ASSERT_FATAL(patch_size(jpeg, size, 60000, 60000));
    uint32_t w = 0, h = 0;
    CU_ASSERT_EQUAL(f8img_read_header(d, jpeg, size, &w, &h, err, sizeof err), F8IMG_OK);
    CU_ASSERT_EQUAL(w, 60000);
    CU_ASSERT_EQUAL(h, 60000);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 28, 28, 1, 100000000, out, err,
                                          sizeof err), F8IMG_ETOOLARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "60000x60000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "100000000"));
    f8img_decoder_destroy(d);
    free(jpeg);
}

static uint8_t *encode_flags(const uint8_t *pixels, int w, int h, int pf, int subsamp,
                             int flags, size_t *size)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long n = 0;
    const int rc = tjCompress2(tj, pixels, w, 0, h, pf, &jpeg, &n, subsamp, 100,
                               TJFLAG_ACCURATEDCT | flags);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    uint8_t *copy = malloc(n);
    memcpy(copy, jpeg, n);
    tjFree(jpeg);
    tjDestroy(tj);
    *size = n;
    return copy;
}

static uint8_t muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

/* TurboJPEG writes CMYK as YCCK with an Adobe marker and the values as given; readers that
 * follow Photoshop (Pillow, f8img) take them as inverted inks. */
static void test_cmyk(void)
{
    enum { S = 16 };
    static uint8_t cmyk[S * S * 4];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            uint8_t *p = cmyk + (y * S + x) * 4;
            p[0] = (uint8_t)(40 + x * 8);
            p[1] = (uint8_t)(200 - y * 6);
            p[2] = (uint8_t)(90 + x * 3 + y * 3);
            p[3] = (uint8_t)(255 - x * 4);
        }
    size_t size;
    uint8_t *jpeg = encode(cmyk, S, S, TJPF_CMYK, TJSAMP_444, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    uint8_t rgb[S * S * 3], gray[S * S], want_rgb[S * S * 3], want_gray[S * S];
    for (int i = 0; i < S * S; i++) {
        const uint8_t *p = cmyk + i * 4;
        unsigned k = p[3];
        for (int c = 0; c < 3; c++)
            want_rgb[i * 3 + c] = (uint8_t)(k - muldiv255(255u - p[c], k));
        want_gray[i] = (uint8_t)((want_rgb[i * 3] * 19595u + want_rgb[i * 3 + 1] * 38470u +
                                  want_rgb[i * 3 + 2] * 7471u + 32768u) >> 16);
    }
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, S, S, 3, 0, rgb, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_TRUE(max_abs_diff(rgb, want_rgb, sizeof rgb) <= 4);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, S, S, 1, 0, gray, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_TRUE(max_abs_diff(gray, want_gray, sizeof gray) <= 4);
    /* resized (2x DCT scaling, then bilinear): close to the resize of the full conversion */
    uint8_t small[6 * 6 * 3], small_want[6 * 6 * 3];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 6, 6, 3, 0, small, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(f8_image_resize(want_rgb, S, S, 3, small_want, 6, 6), F8_OK);
    CU_ASSERT_TRUE(max_abs_diff(small, small_want, sizeof small) <= 12);
    f8img_decoder_destroy(d);
    free(jpeg);
}

static void test_scale_rule(void)
{
    CU_ASSERT_EQUAL(f8img_scale_denominator(224, 224, 28, 28), 8);
    CU_ASSERT_EQUAL(f8img_scale_denominator(223, 224, 28, 28), 4);
    CU_ASSERT_EQUAL(f8img_scale_denominator(56, 56, 28, 28), 2);
    CU_ASSERT_EQUAL(f8img_scale_denominator(55, 56, 28, 28), 1);
    CU_ASSERT_EQUAL(f8img_scale_denominator(28, 28, 28, 28), 1);
    CU_ASSERT_EQUAL(f8img_scale_denominator(10, 10, 28, 28), 1); /* upscale */
    CU_ASSERT_EQUAL(f8img_scale_denominator(640, 480, 224, 224), 2);
    CU_ASSERT_EQUAL(f8img_scale_denominator(4000, 3000, 224, 224), 8);
    CU_ASSERT_EQUAL(f8img_scale_denominator(90, 100, 12, 10), 4);
}

/* A 224x160 JPEG to 28x20: the IDCT writes 1/8 scale, no resize; equal to TurboJPEG's own
 * scaled decode. To 40x30: 1/4 scale (56x40), then the bilinear resize. */
static void test_dct_scaling(void)
{
    enum { BW = 224, BH = 160 };
    static uint8_t src[BW * BH * 3];
    for (int y = 0; y < BH; y++)
        for (int x = 0; x < BW; x++) {
            uint8_t *p = src + (y * BW + x) * 3;
            p[0] = (uint8_t)(x + y);
            p[1] = (uint8_t)(x * 2 - y);
            p[2] = (uint8_t)((x ^ y) & 0xFF);
        }
    size_t size;
    uint8_t *jpeg = encode(src, BW, BH, TJPF_RGB, TJSAMP_420, &size);
    tjhandle tj = tjInitDecompress();
    static uint8_t eighth[28 * 20 * 3], quarter[56 * 40 * 3], q_gray[56 * 40];
    CU_ASSERT_EQUAL(tjDecompress2(tj, jpeg, size, eighth, 28, 0, 20, TJPF_RGB, 0), 0);
    CU_ASSERT_EQUAL(tjDecompress2(tj, jpeg, size, quarter, 56, 0, 40, TJPF_RGB, 0), 0);
    CU_ASSERT_EQUAL(tjDecompress2(tj, jpeg, size, q_gray, 56, 0, 40, TJPF_GRAY, 0), 0);
    tjDestroy(tj);

    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    static uint8_t got[28 * 20 * 3], want[40 * 30 * 3], got2[40 * 30 * 3];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 20, 28, 3, 0, got, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(got, eighth, sizeof got), 0);
    CU_ASSERT_EQUAL(f8_image_resize(quarter, 40, 56, 3, want, 30, 40), F8_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 30, 40, 3, 0, got2, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(got2, want, sizeof got2), 0);
    static uint8_t gwant[30 * 40], ggot[30 * 40];
    CU_ASSERT_EQUAL(f8_image_resize(q_gray, 40, 56, 1, gwant, 30, 40), F8_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 30, 40, 1, 0, ggot, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(ggot, gwant, sizeof ggot), 0);
    f8img_decoder_destroy(d);
    free(jpeg);
}

/* Progressive coding reorders the same quantised coefficients: the pixels are the same as
 * the baseline file's, at full size and DCT-scaled. */
static void test_progressive(void)
{
    size_t bsize, psize;
    uint8_t *base = encode_flags(rgb_src, W, H, TJPF_RGB, TJSAMP_420, 0, &bsize);
    uint8_t *prog = encode_flags(rgb_src, W, H, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE, &psize);
    CU_ASSERT_NOT_EQUAL(bsize, psize); /* really a different file */
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    static uint8_t a[H * W * 3], b[H * W * 3], sa[16 * 24], sb[16 * 24];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, base, bsize, H, W, 3, 0, a, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, prog, psize, H, W, 3, 0, b, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    CU_ASSERT_TRUE(max_abs_diff(a, rgb_src, sizeof a) <= 16);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, base, bsize, 16, 24, 1, 0, sa, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, prog, psize, 16, 24, 1, 0, sb, err, sizeof err),
                    F8IMG_OK);
    CU_ASSERT_EQUAL(memcmp(sa, sb, sizeof sa), 0);
    /* a truncated progressive file is an error, not a half-decoded image */
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, prog, psize * 2 / 3, H, W, 3, 0, b, err,
                                          sizeof err), F8IMG_EDECODE);
    f8img_decoder_destroy(d);
    free(base);
    free(prog);
}

static void test_bad_arguments(void)
{
    size_t size;
    uint8_t *jpeg = encode(gray_src, W, H, TJPF_GRAY, TJSAMP_GRAY, &size);
    f8img_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(f8img_decoder_create(&d), F8IMG_OK);
    char err[256];
    uint8_t out[H * W * 4];
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 2, 0, out, err, sizeof err),
                    F8IMG_EINVAL);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, 0, W, 1, 0, out, err, sizeof err),
                    F8IMG_EINVAL);
    CU_ASSERT_EQUAL(f8img_decode_to_input(NULL, jpeg, size, H, W, 1, 0, out, err, sizeof err),
                    F8IMG_EINVAL);
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, size, H, W, 1, 0, NULL, err, sizeof err),
                    F8IMG_EINVAL);
    /* no message buffer is fine */
    CU_ASSERT_EQUAL(f8img_decode_to_input(d, jpeg, 10, H, W, 1, 0, out, NULL, 0), F8IMG_EDECODE);
    CU_ASSERT_EQUAL(f8img_decoder_create(NULL), F8IMG_EINVAL);
    CU_ASSERT_STRING_EQUAL(f8img_strerror(F8IMG_ETOOLARGE), "image too large");
    CU_ASSERT_STRING_EQUAL(f8img_strerror(12345), "unknown error");
    f8img_decoder_destroy(NULL);
    f8img_decoder_destroy(d);
    free(jpeg);
}

int main(void)
{
    make_sources();
    CU_TestInfo tests[] = {
        {"grayscale JPEG to 1 and 3 channels", test_gray_roundtrip},
        {"RGB JPEG to 3 channels and to luminance", test_rgb_roundtrip},
        {"resize path equals f8_image_resize; scratch reuse", test_resize_path},
        {"not a JPEG", test_not_a_jpeg},
        {"truncated and damaged JPEGs", test_truncated_and_corrupt},
        {"pixel limit from the header", test_too_large},
        {"CMYK (Adobe, inverted inks) to RGB and luminance", test_cmyk},
        {"DCT scaling rule (Pillow's draft)", test_scale_rule},
        {"DCT-scaled decode equals TurboJPEG's, then the resize", test_dct_scaling},
        {"progressive equals baseline", test_progressive},
        {"bad arguments", test_bad_arguments},
        CU_TEST_INFO_NULL,
    };
    return unit_run("jpeg", tests);
}
