/* f8d media checks: Content-Type and magic bytes. */
#include "media.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const ACCEPTED[] = {
    "image/jpeg", "image/jpg", "image/pjpeg", "application/octet-stream",
};

int f8d_content_type_check(const char *ct, char *err, size_t errlen)
{
    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t len = strcspn(ct, ";");
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < sizeof(ACCEPTED) / sizeof(ACCEPTED[0]); i++) {
        if (strlen(ACCEPTED[i]) == len && strncasecmp(ct, ACCEPTED[i], len) == 0)
            return 0;
    }
    int shown = len > 64 ? 64 : (int)len;
    if (len >= 6 && strncasecmp(ct, "image/", 6) == 0) {
        snprintf(err, errlen, "unsupported media type %.*s: send a JPEG (image/jpeg)", shown,
                 ct);
        return 415;
    }
    if (len >= 10 && strncasecmp(ct, "multipart/", 10) == 0) {
        snprintf(err, errlen,
                 "unsupported media type %.*s: send the JPEG itself as the request body "
                 "(curl --data-binary @image.jpg or curl -T image.jpg)",
                 shown, ct);
        return 415;
    }
    return 0;
}

enum f8d_media f8d_media_sniff(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return F8D_MEDIA_JPEG;
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return F8D_MEDIA_PNG;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return F8D_MEDIA_GIF;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return F8D_MEDIA_WEBP;
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return F8D_MEDIA_TIFF;
    /* BMP: "BM", then the file size, two reserved u16 that are zero. */
    if (n >= 14 && d[0] == 'B' && d[1] == 'M' && d[6] == 0 && d[7] == 0 && d[8] == 0 &&
        d[9] == 0)
        return F8D_MEDIA_BMP;
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        static const char *const brands[] = {"heic", "heix", "hevc", "mif1", "msf1", "avif",
                                             "avis"};
        for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++) {
            if (memcmp(d + 8, brands[i], 4) == 0)
                return F8D_MEDIA_HEIF;
        }
    }
    return F8D_MEDIA_UNKNOWN;
}

const char *f8d_media_name(enum f8d_media media)
{
    switch (media) {
    case F8D_MEDIA_JPEG: return "JPEG";
    case F8D_MEDIA_PNG: return "PNG";
    case F8D_MEDIA_GIF: return "GIF";
    case F8D_MEDIA_WEBP: return "WebP";
    case F8D_MEDIA_TIFF: return "TIFF";
    case F8D_MEDIA_BMP: return "BMP";
    case F8D_MEDIA_HEIF: return "HEIF/AVIF";
    case F8D_MEDIA_UNKNOWN: break;
    }
    return "unknown";
}
