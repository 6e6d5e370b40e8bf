/* f8 classify MODEL IMAGE... : decode, resize, run, rank; one JSON line per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "f8.h"
#include "f8img.h"

#define DEFAULT_TOP_K 5
#define DEFAULT_MAX_PIXELS 100000000ull  /* 100 megapixels */
#define MAX_IMAGE_BYTES ((size_t)256 << 20)

static void classify_usage(FILE *f)
{
    fprintf(f,
            "usage: f8 classify MODEL IMAGE.jpg... [--top-k K] [--max-pixels N]\n"
            "\n"
            "Decodes each JPEG to the model's input (docs/FORMAT.md §4), runs the model and prints\n"
            "one JSON line per image:\n"
            "  {\"file\": ..., \"predictions\": [{\"label\", \"index\", \"score\"}, ...]}\n"
            "best first (ties: lower index first); score = softmax(logit * 2^-output_fl).\n"
            "A file that cannot be read or decoded is reported on stderr and the exit status is 1.\n"
            "\n"
            "Options:\n"
            "  --top-k K        predictions per image (default %d, capped at num_classes)\n"
            "  --max-pixels N   refuse images with more than N pixels (default %llu, 0: no limit)\n",
            DEFAULT_TOP_K, DEFAULT_MAX_PIXELS);
}

typedef struct {
    f8_model *model;
    f8_runner *runner;
    f8img_decoder *decoder;
    uint8_t *input;
    int32_t *logits;
    double *probs;
    uint32_t *top;
} classify_ctx;

static int classify_one(classify_ctx *c, const char *file, uint32_t top_k, uint64_t max_pixels)
{
    const f8_model_info *mi = f8_model_get_info(c->model);
    char err[F8_ERRMSG_SIZE];
    uint8_t *data = NULL;
    size_t size = 0;
    if (cli_read_file(file, MAX_IMAGE_BYTES, &data, &size, err, sizeof err) != 0) {
        cli_error("classify", "%s: %s", file, err);
        return 1;
    }
    int rc = f8img_decode_to_input(c->decoder, data, size, mi->input_h, mi->input_w, mi->input_c,
                                   max_pixels, c->input, err, sizeof err);
    free(data);
    if (rc != F8IMG_OK) {
        cli_error("classify", "%s: %s", file, err);
        return 1;
    }
    rc = f8_run(c->runner, c->input, 1, c->logits);
    if (rc != F8_OK) {
        cli_error("classify", "%s: run failed: %s", file, f8_strerror(rc));
        return 1;
    }
    f8_softmax(c->logits, mi->num_classes, mi->output_fl, c->probs);
    const uint32_t k = f8_top_k(c->logits, mi->num_classes, top_k, c->top);

    json_t *preds = json_array();
    for (uint32_t j = 0; j < k; j++) {
        const uint32_t idx = c->top[j];
        json_array_append_new(preds, json_pack("{sssIsf}", "label", f8_model_label(c->model, idx),
                                                "index", (json_int_t)idx, "score", c->probs[idx]));
    }
    json_t *line = json_object();
    json_object_set_new(line, "file", json_string(file));
    json_object_set_new(line, "predictions", preds);
    if (!json_object_get(line, "file")) /* a file name that is not UTF-8 */
        json_object_set_new(line, "file", json_string("(file name not UTF-8)"));
    rc = json_dumpf(line, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF;
    json_decref(line);
    fflush(stdout);
    if (rc)
        cli_error("classify", "cannot write the output");
    return rc;
}

int cmd_classify(int argc, char **argv)
{
    const char *model_path = NULL;
    char **files = calloc((size_t)argc, sizeof *files);
    int nfiles = 0, status = 0;
    uint64_t top_k = DEFAULT_TOP_K, max_pixels = DEFAULT_MAX_PIXELS;
    classify_ctx c = {0};
    if (!files) {
        cli_error("classify", "out of memory");
        return 1;
    }
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (!only_positional && cli_is_help(a)) {
            classify_usage(stdout);
            goto out;
        } else if (!only_positional && (r = cli_option(argc, argv, &i, "--top-k", &v)) != 0) {
            if (r < 0 || cli_parse_u64(v, 1, UINT32_MAX, &top_k) != 0) {
                cli_error("classify", "--top-k needs a positive integer");
                status = EXIT_USAGE;
                goto out;
            }
        } else if (!only_positional && (r = cli_option(argc, argv, &i, "--max-pixels", &v)) != 0) {
            if (r < 0 || cli_parse_u64(v, 0, UINT64_MAX, &max_pixels) != 0) {
                cli_error("classify", "--max-pixels needs a non-negative integer");
                status = EXIT_USAGE;
                goto out;
            }
        } else if (!only_positional && a[0] == '-' && a[1] != '\0') {
            cli_error("classify", "unknown option '%s'", a);
            classify_usage(stderr);
            status = EXIT_USAGE;
            goto out;
        } else if (!model_path) {
            model_path = a;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!model_path || nfiles == 0) {
        cli_error("classify", "expected MODEL and at least one IMAGE");
        classify_usage(stderr);
        status = EXIT_USAGE;
        goto out;
    }

    char err[F8_ERRMSG_SIZE];
    const int open_rc = f8_model_open(model_path, &c.model, err, sizeof err);
    if (open_rc != F8_OK) {
        cli_model_error("classify", model_path, open_rc, err);
        status = 1;
        goto out;
    }
    const f8_model_info *mi = f8_model_get_info(c.model);
    int rc = f8_runner_create(c.model, 1, &c.runner);
    if (rc == F8_OK)
        rc = f8img_decoder_create(&c.decoder) == F8IMG_OK ? F8_OK : F8_ENOMEM;
    c.input = malloc((size_t)mi->input_h * mi->input_w * mi->input_c);
    c.logits = malloc(mi->num_classes * sizeof *c.logits);
    c.probs = malloc(mi->num_classes * sizeof *c.probs);
    c.top = malloc(mi->num_classes * sizeof *c.top);
    if (rc != F8_OK || !c.input || !c.logits || !c.probs || !c.top) {
        cli_error("classify", "cannot prepare the model: %s",
                  f8_strerror(rc != F8_OK ? rc : F8_ENOMEM));
        status = 1;
        goto out;
    }
    for (int j = 0; j < nfiles; j++)
        if (classify_one(&c, files[j], (uint32_t)top_k, max_pixels) != 0)
            status = 1;
out:
    free(c.input);
    free(c.logits);
    free(c.probs);
    free(c.top);
    f8img_decoder_destroy(c.decoder);
    f8_runner_destroy(c.runner);
    f8_model_close(c.model);
    free(files);
    return status;
}
