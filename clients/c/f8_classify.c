/*
 * f8-classify: classify JPEG files with a running f8d, from the command line.
 *
 *   f8-classify [--url http://HOST:PORT | --grpc HOST:PORT] [--model NAME] [--top-k K]
 *               [--table] [--timeout SECONDS] FILE|DIR|- ...
 *
 * Each FILE is a JPEG; a DIR means every *.jpg / *.jpeg in it (sorted by name); "-" reads one
 * image from stdin. Over HTTP (a plain socket, HTTP/1.1 keep-alive) each image is POSTed to
 * /predictions/NAME?top_k=K; over gRPC (gRPC's C core) it goes through the KServe v2
 * ModelInfer with the classification extension. Either way one JSON line per image is printed,
 * {"file","model","predictions":[{"label","index","score"}]} (as clients/f8client.py prints),
 * or with --table one line per prediction: file, rank, label, score.
 *
 * Exit status: 0 every image classified; 1 f8d refused some image (its message on stderr);
 * 2 usage; 3 f8d could not be reached or the connection failed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "f8_classify.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: f8-classify [--url http://HOST:PORT | --grpc HOST:PORT] [--model NAME]\n"
                 "                   [--top-k K] [--table] [--timeout SECONDS] FILE|DIR|- ...\n");
}

/* The whole file (or stdin for "-"), malloc'd; NULL with errno set. */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static int has_jpeg_suffix(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_answer(const struct f8c_answer *a, const char *file, int table)
{
    if (table) {
        for (unsigned i = 0; i < a->n; i++)
            printf("%s\t%u\t%s\t%.6f\n", file, i + 1, a->p[i].label, a->p[i].score);
        return;
    }
    printf("{\"file\": ");
    f8c_print_json_string(stdout, file);
    printf(", \"model\": ");
    f8c_print_json_string(stdout, a->model);
    printf(", \"predictions\": [");
    for (unsigned i = 0; i < a->n; i++) {
        printf("%s{\"label\": ", i ? ", " : "");
        f8c_print_json_string(stdout, a->p[i].label);
        printf(", \"index\": %u, \"score\": %.6f}", a->p[i].index, a->p[i].score);
    }
    printf("]}\n");
    fflush(stdout);
}

/* Classifies one image; returns 0, 1 (refused) or 3 (transport). */
static int one(struct f8c_client *c, const char *path)
{
    size_t len;
    unsigned char *data = read_all(path, &len);
    if (data == NULL) {
        fprintf(stderr, "%s: cannot read: %m\n", path);
        return 1;
    }
    struct f8c_answer a;
    char err[512];
    int rc = c->classify(c, data, len, &a, err, sizeof(err));
    free(data);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return rc;
    }
    print_answer(&a, path, c->table);
    f8c_answer_free(&a);
    return 0;
}

/* A directory's JPEGs, by name. */
static int dir(struct f8c_client *c, const char *path, int *worst)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_jpeg_suffix(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        if ((names[n] = malloc(l)) == NULL)
            break;
        snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        int rc = *worst == 3 ? 3 : one(c, names[i]);
        if (rc > *worst)
            *worst = rc;
        free(names[i]);
    }
    free(names);
    return 0;
}

int main(int argc, char **argv)
{
    struct f8c_options o = {"http://127.0.0.1:8080", NULL, "fashion", 0, 0, 30.0};
    /* options anywhere among the inputs; "--" ends them */
    char **inputs = calloc((size_t)argc, sizeof(*inputs));
    int n_inputs = 0, options_done = 0;
    if (inputs == NULL)
        return 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0)
            inputs[n_inputs++] = argv[i];
        else if (strcmp(a, "--") == 0)
            options_done = 1;
        else if (strcmp(a, "--url") == 0 && v)
            o.url = v, i++;
        else if (strcmp(a, "--grpc") == 0 && v)
            o.grpc = v, i++;
        else if (strcmp(a, "--model") == 0 && v)
            o.model = v, i++;
        else if (strcmp(a, "--top-k") == 0 && v)
            o.top_k = atoi(v), i++;
        else if (strcmp(a, "--timeout") == 0 && v)
            o.timeout_s = atof(v), i++;
        else if (strcmp(a, "--table") == 0)
            o.table = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            free(inputs);
            return 0;
        } else {
            usage(stderr);
            free(inputs);
            return 2;
        }
    }
    if (n_inputs == 0 || o.top_k < 0 || o.timeout_s <= 0) {
        usage(stderr);
        free(inputs);
        return 2;
    }
    char err[512];
    struct f8c_client *c = o.grpc ? f8c_grpc_open(&o, err, sizeof(err))
                                  : f8c_http_open(&o, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "f8-classify: %s\n", err);
        free(inputs);
        return strstr(err, "usage") ? 2 : 3;
    }
    int worst = 0;
    for (int i = 0; i < n_inputs && worst != 3; i++) {
        if (strcmp(inputs[i], "-") != 0 && dir(c, inputs[i], &worst) == 0)
            continue;
        int rc = one(c, inputs[i]);
        if (rc > worst)
            worst = rc;
    }
    c->close(c);
    free(inputs);
    return worst;
}
