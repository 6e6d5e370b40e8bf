/* f8d logging: each line is formatted first, then written with one call, so lines from the
 * loop thread and from workers never interleave mid-line. */
#include "log.h"

#include <stdio.h>

void f8d_logv(const char *fmt, va_list ap)
{
    char line[1024];
    size_t n = (size_t)snprintf(line, sizeof(line), "f8d: ");
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
    fflush(stderr);
}

void f8d_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f8d_logv(fmt, ap);
    va_end(ap);
}
