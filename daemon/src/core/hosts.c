/* f8d listening addresses: one `host` entry split into address and port. */
#include "hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *f8d_host_split(char *entry, unsigned *port, bool *explicit_port, char *err,
                     size_t errlen)
{
    char *host = entry, *colon = NULL;
    *explicit_port = false;
    if (entry[0] == '[') {
        char *close = strchr(entry, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            snprintf(err, errlen, "host: '%s': expected [IPv6] or [IPv6]:PORT", entry);
            return NULL;
        }
        *close = '\0';
        host = entry + 1;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else if (strchr(entry, ':') != NULL && strchr(entry, ':') == strrchr(entry, ':')) {
        colon = strchr(entry, ':');     /* one colon: ADDR:PORT (IPv6 has two or more) */
        *colon = '\0';
    }
    if (colon != NULL) {
        char *end = NULL;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || p > 65535) {
            snprintf(err, errlen, "host: '%s': the port must be a number from 0 to 65535",
                     colon + 1);
            return NULL;
        }
        *port = (unsigned)p;
        *explicit_port = true;
    }
    return host;
}
