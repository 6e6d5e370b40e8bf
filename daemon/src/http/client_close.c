/* f8d: noticing a client that closed its side in the middle of a request (see the header). */
#include "client_close.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Seconds an abandoned head-only upload keeps its slot (MHD counts timeouts in seconds). */
#define ABANDONED_TIMEOUT_S 1u

bool f8d_client_closed(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL)
        return false;
    char byte;
    ssize_t n = recv(info->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return true;
    return n < 0 && (errno == ECONNRESET || errno == EPIPE);
}

/* The announced Content-Length, or -1 when there is none (chunked, or no body). MHD has
 * already refused malformed lengths. */
static long long announced_length(struct MHD_Connection *conn)
{
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (te != NULL || cl == NULL)
        return -1;
    char *end;
    long long n = strtoll(cl, &end, 10);
    return end == cl || n < 0 ? -1 : n;
}

bool f8d_upload_abandoned(struct MHD_Connection *conn, uint64_t received)
{
    long long len = announced_length(conn);
    if (len < 0 || received >= (uint64_t)len)
        return false;
    return f8d_client_closed(conn);
}

void f8d_upload_watch_close(struct MHD_Connection *conn)
{
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te == NULL && announced_length(conn) <= 0)
        return; /* no body coming: the request is complete and about to be answered */
    if (f8d_client_closed(conn))
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, ABANDONED_TIMEOUT_S);
}
