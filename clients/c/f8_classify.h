/*
 * f8-classify's parts: one client interface, an HTTP implementation (plain socket) and a gRPC
 * one (gRPC's C core), both returning the same answer.
 */
#ifndef F8_CLASSIFY_H
#define F8_CLASSIFY_H

#include <stddef.h>
#include <stdio.h>

struct f8c_options {
    const char *url;    /* http://HOST:PORT */
    const char *grpc;   /* HOST:PORT, or NULL for HTTP */
    const char *model;
    int top_k;          /* 0: the server's default (5) */
    int table;
    double timeout_s;
};

struct f8c_prediction {
    char *label;
    unsigned index;
    double score;
};

struct f8c_answer {
    char *model;
    struct f8c_prediction *p;
    unsigned n;
};

void f8c_answer_free(struct f8c_answer *a);

struct f8c_client {
    /* 0 with *a filled; 1 when f8d refused the image (err: its status and message); 3 when
     * it could not be reached (err says why). */
    int (*classify)(struct f8c_client *c, const unsigned char *jpeg, size_t len,
                    struct f8c_answer *a, char *err, size_t errlen);
    void (*close)(struct f8c_client *c);
    int table;
};

/* NULL with a message when the address is malformed (the message starts with "usage"). */
struct f8c_client *f8c_http_open(const struct f8c_options *o, char *err, size_t errlen);
struct f8c_client *f8c_grpc_open(const struct f8c_options *o, char *err, size_t errlen);

/* s as a JSON string, quoted and escaped. */
void f8c_print_json_string(FILE *out, const char *s);

#endif /* F8_CLASSIFY_H */
