/*
 * f8d media checks, done on the loop thread before any decoding: is the declared
 * Content-Type one we take, and what kind of image do the first bytes of the body look like.
 */
#ifndef F8D_MEDIA_H
#define F8D_MEDIA_H

#include <stddef.h>
#include <stdint.h>

enum f8d_media {
    F8D_MEDIA_UNKNOWN = 0, /* not recognised: left to the JPEG decoder (400 if not a JPEG) */
    F8D_MEDIA_JPEG,
    F8D_MEDIA_PNG,
    F8D_MEDIA_GIF,
    F8D_MEDIA_WEBP,
    F8D_MEDIA_TIFF,
    F8D_MEDIA_BMP,
    F8D_MEDIA_HEIF /* HEIC / AVIF (ISO BMFF "ftyp") */
};

/* Checks a Content-Type header value (may be NULL: none sent). Returns 0 if accepted
 * (none, image/jpeg, image/jpg, image/pjpeg, application/octet-stream, or any non-image type
 * such as curl --data-binary's application/x-www-form-urlencoded), or 415 with a message for
 * another image type or multipart/form-data. */
int f8d_content_type_check(const char *content_type, char *err, size_t errlen);

/* Recognises an image type from the first bytes. */
enum f8d_media f8d_media_sniff(const uint8_t *data, size_t len);

/* "JPEG", "PNG", ... */
const char *f8d_media_name(enum f8d_media media);

#endif /* F8D_MEDIA_H */
