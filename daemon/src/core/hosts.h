/*
 * f8d listening addresses: the `host` setting is a list of entries, "ADDR", "ADDR:PORT",
 * "[IPv6]" or "[IPv6]:PORT", which every front end binds (HTTP on `port` or the entry's own
 * port, gRPC on `grpc_port`).
 */
#ifndef F8D_HOSTS_H
#define F8D_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

/* Splits one entry into the address and its port: "ADDR:PORT", "[V6]:PORT", or an address
 * alone ("127.0.0.1", "::1", "[::1]", a name), which leaves *port as it is. Edits `entry` in
 * place; returns the address (without brackets), or NULL with a message. *explicit_port
 * says whether the entry named its port. */
char *f8d_host_split(char *entry, unsigned *port, bool *explicit_port, char *err,
                     size_t errlen);

#endif /* F8D_HOSTS_H */
