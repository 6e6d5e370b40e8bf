/* f8d media checks: which Content-Types are taken, and image types by their magic bytes. */
#include <CUnit/Basic.h>
#include <string.h>

#include "http/media.h"

static void test_content_types_accepted(void)
{
    char err[256] = "";
    const char *ok[] = {NULL, "", "image/jpeg", "IMAGE/JPEG", "image/jpeg; charset=binary",
                        "  image/jpeg ", "image/jpg", "image/pjpeg", "application/octet-stream",
                        /* curl --data-binary's default: the body is still sniffed */
                        "application/x-www-form-urlencoded", "text/plain"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CU_ASSERT_EQUAL(f8d_content_type_check(ok[i], err, sizeof(err)), 0);
}

static void test_content_types_refused(void)
{
    char err[256] = "";
    CU_ASSERT_EQUAL(f8d_content_type_check("image/png", err, sizeof(err)), 415);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "image/png"));
    CU_ASSERT_EQUAL(f8d_content_type_check("image/gif", err, sizeof(err)), 415);
    CU_ASSERT_EQUAL(f8d_content_type_check("Image/WebP", err, sizeof(err)), 415);
    CU_ASSERT_EQUAL(f8d_content_type_check("image/jpeg2000", err, sizeof(err)), 415);
    CU_ASSERT_EQUAL(
        f8d_content_type_check("multipart/form-data; boundary=x", err, sizeof(err)), 415);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "request body"));
}

static void test_sniff(void)
{
    const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'};
    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
    const uint8_t gif[] = "GIF89a\x01\x00\x01\x00";
    const uint8_t webp[] = "RIFF\x24\x00\x00\x00WEBPVP8 ";
    const uint8_t tiff[] = "II*\x00\x08\x00\x00\x00";
    const uint8_t bmp[] = {'B', 'M', 0x3e, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0};
    const uint8_t avif[] = "\x00\x00\x00\x1c" "ftypavif";
    const uint8_t text[] = "garbage, not an image";
    CU_ASSERT_EQUAL(f8d_media_sniff(jpeg, sizeof(jpeg)), F8D_MEDIA_JPEG);
    CU_ASSERT_EQUAL(f8d_media_sniff(png, sizeof(png)), F8D_MEDIA_PNG);
    CU_ASSERT_EQUAL(f8d_media_sniff(gif, sizeof(gif) - 1), F8D_MEDIA_GIF);
    CU_ASSERT_EQUAL(f8d_media_sniff(webp, sizeof(webp) - 1), F8D_MEDIA_WEBP);
    CU_ASSERT_EQUAL(f8d_media_sniff(tiff, sizeof(tiff) - 1), F8D_MEDIA_TIFF);
    CU_ASSERT_EQUAL(f8d_media_sniff(bmp, sizeof(bmp)), F8D_MEDIA_BMP);
    CU_ASSERT_EQUAL(f8d_media_sniff(avif, sizeof(avif) - 1), F8D_MEDIA_HEIF);
    CU_ASSERT_EQUAL(f8d_media_sniff(text, sizeof(text) - 1), F8D_MEDIA_UNKNOWN);
    /* "BM" followed by text is not a BMP */
    CU_ASSERT_EQUAL(f8d_media_sniff((const uint8_t *)"BMW is a car maker", 18),
                    F8D_MEDIA_UNKNOWN);
    /* truncated signatures */
    CU_ASSERT_EQUAL(f8d_media_sniff(jpeg, 2), F8D_MEDIA_UNKNOWN);
    CU_ASSERT_EQUAL(f8d_media_sniff(png, 7), F8D_MEDIA_UNKNOWN);
    CU_ASSERT_EQUAL(f8d_media_sniff(NULL, 0), F8D_MEDIA_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(f8d_media_name(F8D_MEDIA_PNG), "PNG");
    CU_ASSERT_STRING_EQUAL(f8d_media_name(F8D_MEDIA_UNKNOWN), "unknown");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("daemon_media", NULL, NULL);
    CU_add_test(s, "Content-Types accepted", test_content_types_accepted);
    CU_add_test(s, "Content-Types refused with 415", test_content_types_refused);
    CU_add_test(s, "image types by magic bytes", test_sniff);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
