/* f8d TLS files: reading and checking tls_cert / tls_key (core/tls_files.c). The PEM texts
 * are a self-signed EC P-256 certificate valid for 100 years (made once with `openssl req
 * -x509 -newkey ec ... -days 36500 -subj "/CN=f8d unit test" -set_serial 0xABC`), its key, and
 * a key of no certificate. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tls_files.h"
#include "unit.h"

static const char CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdDCCARugAwIBAgICCrwwCgYIKoZIzj0EAwIwGDEWMBQGA1UEAwwNZjhkIHVu\n"
    "aXQgdGVzdDAgFw0yNjEyMDcwMzEzMDJaGA8yMTI2MTExMzAzMTMwMlowGDEWMBQG\n"
    "A1UEAwwNZjhkIHVuaXQgdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOuy\n"
    "+TLUVpaMwNA1RzmqE+K8EkWltxN0ecN3ltqpH8TiYRXCrkTmgTuhbAzQZhzJVJgR\n"
    "EmuRZy8+TON60Fp5xbajUzBRMB0GA1UdDgQWBBQwd8cRSZqz95zS/7t+xX/a8p+2\n"
    "lDAfBgNVHSMEGDAWgBQwd8cRSZqz95zS/7t+xX/a8p+2lDAPBgNVHRMBAf8EBTAD\n"
    "AQH/MAoGCCqGSM49BAMCA0cAMEQCIGwLxSjZ7XZr79ji6v+0bPbk0m/tnVC3usCt\n"
    "VMdhY7igAiBBgK6nZjr7ZSfw9r0N2/IX4sTDuxQ6+bDxQltCC1jmZA==\n"
    "-----END CERTIFICATE-----\n";

static const char KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGDHcjjG7NqM/rJZS\n"
    "CAazDgFeLd/YZ0xAz7Xxw4I2q6uhRANCAATrsvky1FaWjMDQNUc5qhPivBJFpbcT\n"
    "dHnDd5baqR/E4mEVwq5E5oE7oWwM0GYcyVSYERJrkWcvPkzjetBaecW2\n"
    "-----END PRIVATE KEY-----\n";

static const char OTHER_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5Qktxi/ZSLNclMdr\n"
    "GTGxq6KNeWk4DNB0db3UEw4hrDShRANCAAS1TBD1EscFS5NsJUQHf06cYXr3kElh\n"
    "4bIQeOQppUFZ3l4Wnm52J6/OF8ZmPh60XchhZHeOGHCc+JgthKYJs2vY\n"
    "-----END PRIVATE KEY-----\n";

/* A temp file holding `text`; the path goes to out (unlinked by the caller). */
static void temp_file(char *out, size_t n, const char *text)
{
    unit_tmp_template(out, n, "f8d_test_tls");
    int fd = mkstemp(out);
    CU_ASSERT_FATAL(fd >= 0);
    size_t len = strlen(text);
    CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

static void test_load_and_describe(void)
{
    char cert[256], key[256], err[512] = "";
    temp_file(cert, sizeof cert, CERT);
    temp_file(key, sizeof key, KEY);
    struct f8d_tls_files f;
    CU_ASSERT_EQUAL_FATAL(f8d_tls_files_load(cert, key, &f, err, sizeof err), 0);
    CU_ASSERT_EQUAL(f.n_certs, 1);
    CU_ASSERT_STRING_EQUAL(f.subject, "CN=f8d unit test");
    CU_ASSERT_STRING_EQUAL(f.serial, "0ABC");
    CU_ASSERT_EQUAL(f.cert_len, strlen(CERT));
    CU_ASSERT_EQUAL(memcmp(f.cert_pem, CERT, f.cert_len), 0);
    CU_ASSERT_EQUAL(f.key_len, strlen(KEY));
    CU_ASSERT_TRUE(f.not_after > f.not_before);
    CU_ASSERT_TRUE(f8d_tls_files_same(&f, &f));

    char desc[512];
    f8d_tls_files_describe(&f, f.not_before + 60, desc, sizeof desc);
    CU_ASSERT_PTR_NOT_NULL(strstr(desc, "CN=f8d unit test, serial 0ABC, valid until 2126-11-13 "));
    CU_ASSERT_PTR_NULL(strstr(desc, "EXPIRED"));
    CU_ASSERT_PTR_NOT_NULL(strstr(desc, "1 certificate(s) in the chain"));
    f8d_tls_files_describe(&f, f.not_after + 1, desc, sizeof desc);
    CU_ASSERT_PTR_NOT_NULL(strstr(desc, "(EXPIRED)"));
    f8d_tls_files_describe(&f, f.not_before - 1, desc, sizeof desc);
    CU_ASSERT_PTR_NOT_NULL(strstr(desc, "(NOT YET VALID)"));

    /* the same chain with another key file: not the same */
    char key2[256];
    temp_file(key2, sizeof key2, KEY);
    struct f8d_tls_files g;
    CU_ASSERT_EQUAL_FATAL(f8d_tls_files_load(cert, key2, &g, err, sizeof err), 0);
    CU_ASSERT_TRUE(f8d_tls_files_same(&f, &g));
    g.key_pem[g.key_len - 2] ^= 1; /* one byte of the key text differs */
    CU_ASSERT_FALSE(f8d_tls_files_same(&f, &g));
    f8d_tls_files_free(&g);
    CU_ASSERT_PTR_NULL(g.key_pem);
    f8d_tls_files_free(&f);
    unlink(cert);
    unlink(key);
    unlink(key2);
}

/* Loading must fail with a message holding `want` (and leave nothing allocated). */
static void expect_error(const char *cert, const char *key, const char *want)
{
    char err[512] = "";
    struct f8d_tls_files f;
    CU_ASSERT_EQUAL(f8d_tls_files_load(cert, key, &f, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    if (strstr(err, want) == NULL)
        fprintf(stderr, "\nwanted '%s' in '%s'\n", want, err);
    CU_ASSERT_PTR_NULL(f.cert_pem);
    CU_ASSERT_PTR_NULL(f.key_pem);
}

static void test_errors_name_the_file(void)
{
    char cert[256], key[256], other[256], empty[256], junk[256], want[700];
    temp_file(cert, sizeof cert, CERT);
    temp_file(key, sizeof key, KEY);
    temp_file(other, sizeof other, OTHER_KEY);
    temp_file(empty, sizeof empty, "");
    temp_file(junk, sizeof junk, "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");

    expect_error("/nonexistent/cert.pem", key,
                 "tls_cert /nonexistent/cert.pem: cannot read: No such file or directory");
    expect_error(cert, "/nonexistent/key.pem",
                 "tls_key /nonexistent/key.pem: cannot read: No such file or directory");
    snprintf(want, sizeof want, "tls_cert %s: the file is empty", empty);
    expect_error(empty, key, want);
    snprintf(want, sizeof want, "tls_cert %s: not a PEM certificate (", junk);
    expect_error(junk, key, want);
    snprintf(want, sizeof want, "tls_cert %s: not a PEM certificate (", key);
    expect_error(key, key, want); /* a key where the certificate belongs */
    snprintf(want, sizeof want, "tls_key %s: not a PEM private key (", cert);
    expect_error(cert, cert, want);
    snprintf(want, sizeof want, "tls_key %s does not match the certificate in tls_cert %s",
             other, cert);
    expect_error(cert, other, want);

    unlink(cert);
    unlink(key);
    unlink(other);
    unlink(empty);
    unlink(junk);
}

int main(void)
{
    CU_TestInfo tests[] = {{"load_and_describe", test_load_and_describe},
                           {"errors_name_the_file", test_errors_name_the_file},
                           CU_TEST_INFO_NULL};
    return unit_run("daemon_tls_files", tests);
}
