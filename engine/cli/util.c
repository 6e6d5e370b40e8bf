/* Helpers shared by the `f8` subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "f8.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "f8 %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_model_error(const char *cmd, const char *path, int rc, const char *err)
{
    if (rc == F8_EIO)
        cli_error(cmd, "%s", err);
    else
        cli_error(cmd, "%s: %s", path, err[0] ? err : f8_strerror(rc));
}

int cli_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size, char *err,
                  size_t errlen)
{
    const int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (len == cap) {
            if (cap > max_bytes) {
                snprintf(err, errlen, "file is larger than the limit of %zu bytes", max_bytes);
                rc = -1;
                break;
            }
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        const size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "read error: %s", strerror(errno));
                rc = -1;
            }
            break;
        }
    }
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if (rc == 0 && len > max_bytes) {
        snprintf(err, errlen, "file is larger than the limit of %zu bytes", max_bytes);
        rc = -1;
    }
    if (!is_stdin)
        fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = len;
    return 0;
}

int cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    const size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}
