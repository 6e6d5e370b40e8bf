/*
 * f8-classify over HTTP/1.1 with a plain socket: POST /predictions/MODEL?top_k=K on one
 * keep-alive connection (reopened when the server closed it), the JSON answer read with
 * jansson.
 */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "f8_classify.h"

struct http_client {
    struct f8c_client base;
    char host[256], port[16];
    char model[256];
    int top_k;
    double timeout_s;
    int fd;
};

static int connect_to(struct http_client *h, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(h->host, h->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", h->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {(time_t)h->timeout_s,
                             (suseconds_t)((h->timeout_s - (double)(time_t)h->timeout_s) * 1e6)};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            snprintf(err, errlen, "cannot connect to %s:%s: %s", h->host, h->port,
                     strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    h->fd = fd;
    return fd < 0 ? -1 : 0;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response: status, whether the server closes, and the body (malloc'd, NUL-
 * terminated). -1 when the connection failed before a whole response came. */
static int read_response(int fd, int *status, int *closes, char **body, size_t *body_len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    char *head_end = NULL;
    while (buf != NULL && head_end == NULL) {
        if (n == cap) {
            free(buf);
            return -1; /* headers over 8 KiB: not f8d */
        }
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        n += (size_t)r;
        buf[n] = '\0';
        head_end = strstr(buf, "\r\n\r\n");
    }
    if (buf == NULL || sscanf(buf, "HTTP/1.%*d %d", status) != 1) {
        free(buf);
        return -1;
    }
    size_t head_len = (size_t)(head_end - buf) + 4;
    long long content_length = -1;
    *closes = 0;
    for (char *line = strstr(buf, "\r\n") + 2; line < head_end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = strtoll(line + 15, NULL, 10);
        else if (strncasecmp(line, "Connection:", 11) == 0 && strstr(line, "close") != NULL)
            *closes = 1;
    }
    if (content_length < 0 || content_length > (1 << 26)) {
        free(buf);
        return -1;
    }
    size_t total = head_len + (size_t)content_length;
    if (total > cap) {
        char *grown = realloc(buf, total + 1);
        if (grown == NULL) {
            free(buf);
            return -1;
        }
        buf = grown;
    }
    while (n < total) {
        ssize_t r = recv(fd, buf + n, total - n, 0);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        n += (size_t)r;
    }
    *body_len = (size_t)content_length;
    memmove(buf, buf + head_len, *body_len);
    buf[*body_len] = '\0';
    *body = buf;
    return 0;
}

/* {"model","predictions":[{"label","index","score"}]} into a. */
static int parse_answer(const char *body, struct f8c_answer *a)
{
    json_error_t jerr;
    json_t *root = json_loads(body, 0, &jerr);
    json_t *preds = json_object_get(root, "predictions");
    const char *model = json_string_value(json_object_get(root, "model"));
    if (!json_is_array(preds) || model == NULL) {
        json_decref(root);
        return -1;
    }
    a->n = (unsigned)json_array_size(preds);
    a->p = calloc(a->n ? a->n : 1, sizeof(*a->p));
    a->model = strdup(model);
    for (unsigned i = 0; a->p != NULL && i < a->n; i++) {
        json_t *p = json_array_get(preds, i);
        const char *label = json_string_value(json_object_get(p, "label"));
        a->p[i].label = strdup(label ? label : "");
        a->p[i].index = (unsigned)json_integer_value(json_object_get(p, "index"));
        a->p[i].score = json_number_value(json_object_get(p, "score"));
    }
    json_decref(root);
    return a->p != NULL && a->model != NULL ? 0 : -1;
}

static int exchange(struct http_client *h, const unsigned char *jpeg, size_t len, int *status,
                    char **body, char *err, size_t errlen)
{
    char head[1024], topk[32] = "";
    if (h->top_k > 0)
        snprintf(topk, sizeof(topk), "?top_k=%d", h->top_k);
    int hl = snprintf(head, sizeof(head),
                      "POST /predictions/%s%s HTTP/1.1\r\nHost: %s:%s\r\n"
                      "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
                      h->model, topk, h->host, h->port, len);
    /* A kept-alive connection the server has closed fails on first use: open a new one once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (h->fd < 0 && connect_to(h, err, errlen) != 0)
            return 3;
        int closes = 0;
        size_t body_len;
        if (send_all(h->fd, head, (size_t)hl) == 0 && send_all(h->fd, jpeg, len) == 0 &&
            read_response(h->fd, status, &closes, body, &body_len) == 0) {
            if (closes) {
                close(h->fd);
                h->fd = -1;
            }
            return 0;
        }
        close(h->fd);
        h->fd = -1;
        snprintf(err, errlen, "the connection to %s:%s failed: %s", h->host, h->port,
                 errno ? strerror(errno) : "closed");
    }
    return 3;
}

static int http_classify(struct f8c_client *c, const unsigned char *jpeg, size_t len,
                         struct f8c_answer *a, char *err, size_t errlen)
{
    struct http_client *h = (struct http_client *)c;
    int status = 0;
    char *body = NULL;
    memset(a, 0, sizeof(*a));
    int rc = exchange(h, jpeg, len, &status, &body, err, errlen);
    if (rc != 0)
        return rc;
    if (status != 200) {
        json_t *root = json_loads(body, 0, NULL);
        const char *msg = json_string_value(json_object_get(root, "error"));
        snprintf(err, errlen, "HTTP %d: %s", status, msg ? msg : body);
        json_decref(root);
        free(body);
        return 1;
    }
    rc = parse_answer(body, a);
    free(body);
    if (rc != 0) {
        f8c_answer_free(a);
        snprintf(err, errlen, "the answer is not f8d's JSON");
        return 3;
    }
    return 0;
}

static void http_close(struct f8c_client *c)
{
    struct http_client *h = (struct http_client *)c;
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

struct f8c_client *f8c_http_open(const struct f8c_options *o, char *err, size_t errlen)
{
    const char *rest = strncmp(o->url, "http://", 7) == 0 ? o->url + 7 : NULL;
    const char *colon = rest ? strrchr(rest, ':') : NULL;
    if (rest == NULL || colon == NULL || colon == rest || strlen(colon + 1) >= 16 ||
        strlen(o->model) >= 256 || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        snprintf(err, errlen, "usage: --url must look like http://HOST:PORT, not '%s'", o->url);
        return NULL;
    }
    struct http_client *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t hl = (size_t)(colon - rest);
    if (hl >= sizeof(h->host))
        hl = sizeof(h->host) - 1;
    memcpy(h->host, rest, hl);
    snprintf(h->port, sizeof(h->port), "%s", colon + 1);
    snprintf(h->model, sizeof(h->model), "%s", o->model);
    h->top_k = o->top_k;
    h->timeout_s = o->timeout_s;
    h->fd = -1;
    h->base.classify = http_classify;
    h->base.close = http_close;
    h->base.table = o->table;
    return &h->base;
}
