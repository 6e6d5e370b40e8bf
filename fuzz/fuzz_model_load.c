/*
 * libFuzzer harness: the .f8 loader (f8_model_open_buffer), and one f8_run of a batch of one
 * (zeros) on the scalar path when a model is accepted.
 *
 * With the CPU's best path (AVX2, AVX-512) the run is repeated and must give the scalar
 * path's logits bit for bit (f8.h: every path computes bit-identical results).
 *
 * The input is opened twice: as it is (so the header and CRC checks are fuzzed too), then with
 * both CRCs recomputed (mb_fix_crc), so that mutations reach the structural checks behind
 * them instead of stopping at a CRC mismatch. Models whose total MACs or activation bytes are
 * large are loaded but not run, so that each input stays cheap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/model_builder.h" /* mb_fix_crc */
#include "f8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MACS (1u << 22)          /* per image */
#define MAX_VALUE_BYTES (1u << 24)   /* all values of the model together */

static void run_once(const f8_model *model)
{
    const f8_model_info *info = f8_model_get_info(model);
    uint64_t macs = 0, value_bytes = 0;
    for (uint32_t i = 0; i < info->num_ops; i++) {
        f8_op_desc op;
        if (f8_model_op(model, i, &op) != F8_OK)
            abort(); /* every index below num_ops must be readable */
        macs += op.macs;
    }
    for (uint32_t i = 0; i < info->num_values; i++) {
        f8_value_desc v;
        if (f8_model_value(model, i, &v) != F8_OK)
            abort();
        value_bytes += (uint64_t)v.h * v.w * v.c * (v.dtype == F8_DTYPE_S32 ? 4 : 1);
    }
    for (uint32_t i = 0; i < info->num_classes; i++)
        (void)f8_model_label(model, i);
    for (uint32_t i = 0; i < f8_model_meta_count(model); i++) {
        const char *k, *v;
        if (f8_model_meta_get(model, i, &k, &v) != F8_OK || strlen(k) + strlen(v) > info->file_size)
            abort();
    }
    if (macs > MAX_MACS || value_bytes > MAX_VALUE_BYTES)
        return;

    size_t image_bytes = (size_t)info->input_h * info->input_w * info->input_c;
    uint8_t *image = calloc(image_bytes ? image_bytes : 1, 1);
    int32_t *logits[2] = {calloc(info->num_classes + 1u, sizeof(int32_t)),
                          calloc(info->num_classes + 1u, sizeof(int32_t))};
    /* the scalar path, and the best one this CPU has: every path must give the same bits */
    f8_isa isas[2] = {F8_ISA_SCALAR, f8_isa_best()};
    int runs = isas[1] == F8_ISA_SCALAR ? 1 : 2;
    int ran = 0;
    for (int i = 0; i < runs && image != NULL && logits[0] != NULL && logits[1] != NULL; i++) {
        f8_runner_options opts = {.threads = 1, .isa = isas[i], .lend_arena = 0};
        f8_runner *runner = NULL;
        if (f8_runner_create_opts(model, 1, &opts, &runner) != F8_OK)
            break;
        if (f8_run(runner, image, 1, logits[i]) != F8_OK)
            abort(); /* an accepted model must run */
        f8_runner_destroy(runner);
        ran++;
    }
    if (ran == 2 && memcmp(logits[0], logits[1], info->num_classes * sizeof(int32_t)) != 0)
        abort(); /* the scalar and SIMD paths disagree */
    free(image);
    free(logits[0]);
    free(logits[1]);
}

static void open_one(const uint8_t *data, size_t size)
{
    char err[F8_ERRMSG_SIZE];
    f8_model *model = NULL;
    int rc = f8_model_open_buffer(data, size, &model, err, sizeof(err));
    if (rc != F8_OK) {
        if (model != NULL || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        return;
    }
    run_once(model);
    f8_model_close(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_one(data, size);
    if (size < 128)
        return 0;
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    mb_fix_crc(copy, size);
    open_one(copy, size);
    free(copy);
    return 0;
}
