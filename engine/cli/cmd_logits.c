/* f8 logits MODEL RAWFILE: the integer logits of raw images, one line per image. The trainer's
 * bit-exact test compares these lines with its simulator's output. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "f8.h"

#define DEFAULT_BATCH 16
#define MAX_RAW_BYTES ((size_t)4 << 30)

static void logits_usage(FILE *f)
{
    fprintf(f,
            "usage: f8 logits MODEL RAWFILE [--batch B]\n"
            "\n"
            "RAWFILE ('-' = stdin) holds N images of input_h*input_w*input_c u8 bytes (NHWC)\n"
            "back to back; its size must be a multiple of one image. Prints N lines, each the\n"
            "image's num_classes int32 logits separated by spaces.\n"
            "\n"
            "Options:\n"
            "  --batch B   images per f8_run call (default %d)\n",
            DEFAULT_BATCH);
}

int cmd_logits(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0, only_positional = 0;
    uint64_t batch = DEFAULT_BATCH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (!only_positional && cli_is_help(a)) {
            logits_usage(stdout);
            return 0;
        } else if (!only_positional && (r = cli_option(argc, argv, &i, "--batch", &v)) != 0) {
            if (r < 0 || cli_parse_u64(v, 1, 65536, &batch) != 0) {
                cli_error("logits", "--batch needs an integer in [1, 65536]");
                return EXIT_USAGE;
            }
        } else if (!only_positional && a[0] == '-' && a[1] != '\0') {
            cli_error("logits", "unknown option '%s'", a);
            logits_usage(stderr);
            return EXIT_USAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            cli_error("logits", "unexpected argument '%s'", a);
            return EXIT_USAGE;
        }
    }
    if (npos != 2) {
        cli_error("logits", "expected MODEL and RAWFILE");
        logits_usage(stderr);
        return EXIT_USAGE;
    }

    char err[F8_ERRMSG_SIZE];
    f8_model *m = NULL;
    const int open_rc = f8_model_open(pos[0], &m, err, sizeof err);
    if (open_rc != F8_OK) {
        cli_model_error("logits", pos[0], open_rc, err);
        return 1;
    }
    const f8_model_info *mi = f8_model_get_info(m);
    const size_t image_bytes = (size_t)mi->input_h * mi->input_w * mi->input_c;
    uint8_t *raw = NULL;
    size_t size = 0;
    f8_runner *r = NULL;
    int32_t *logits = NULL;
    int status = 1;
    if (cli_read_file(pos[1], MAX_RAW_BYTES, &raw, &size, err, sizeof err) != 0) {
        cli_error("logits", "%s: %s", pos[1], err);
        goto out;
    }
    if (size % image_bytes != 0) {
        cli_error("logits", "%s: size %zu is not a multiple of the image size %zu (%ux%ux%u u8)",
                  pos[1], size, image_bytes, mi->input_h, mi->input_w, mi->input_c);
        goto out;
    }
    const size_t n = size / image_bytes;
    if (batch > n)
        batch = n ? n : 1;
    int rc = f8_runner_create(m, (uint32_t)batch, &r);
    logits = malloc((size_t)batch * mi->num_classes * sizeof *logits);
    if (rc != F8_OK || !logits) {
        cli_error("logits", "cannot prepare the model: %s", f8_strerror(rc ? rc : F8_ENOMEM));
        goto out;
    }
    for (size_t i = 0; i < n; i += batch) {
        const uint32_t b = (uint32_t)(n - i < batch ? n - i : batch);
        rc = f8_run(r, raw + i * image_bytes, b, logits);
        if (rc != F8_OK) {
            cli_error("logits", "run failed: %s", f8_strerror(rc));
            goto out;
        }
        for (uint32_t k = 0; k < b; k++) {
            const int32_t *l = logits + (size_t)k * mi->num_classes;
            for (uint32_t j = 0; j < mi->num_classes; j++)
                printf(j ? " %" PRId32 : "%" PRId32, l[j]);
            putchar('\n');
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("logits", "cannot write the output");
        goto out;
    }
    status = 0;
out:
    free(logits);
    f8_runner_destroy(r);
    free(raw);
    f8_model_close(m);
    return status;
}
