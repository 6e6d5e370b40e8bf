/* f8d logging: one line per event on stderr, prefixed "f8d: ". */
#ifndef F8D_LOG_H
#define F8D_LOG_H

#include <stdarg.h>

void f8d_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void f8d_logv(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif /* F8D_LOG_H */
