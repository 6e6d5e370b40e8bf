/* f8 info MODEL: the whole model as one JSON document; f8 info --plan MODEL: the kernel that
 * runs each op (f8_runner_op_kernel). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "f8.h"

static void info_usage(FILE *f)
{
    fprintf(f,
            "usage: f8 info MODEL\n"
            "       f8 info --plan [--isa PATH] MODEL\n"
            "\n"
            "Loads and validates MODEL (.f8) and prints it as JSON: name, file size, input\n"
            "(h, w, c, fl, preprocess), num_classes, output_fl, labels, metadata (every key),\n"
            "values (with their bits: 4 for FGQ's 4-bit activations), ops (type, inputs,\n"
            "output, kernel/stride/pad/groups, weight_bits and FGQ group_size, relu, MACs) and the\n"
            "total multiply-accumulates per image.\n"
            "\n"
            "With --plan, prints instead one line per op: its index, type and the kernel that\n"
            "runs it on PATH (auto, scalar, avx2, avx512vnni; default auto: cpuid / $F8_ISA),\n"
            "followed for GEMMs on avx512vnni by the register tile of their full 6x64 tiles, and\n"
            "a last line with one image's time on one thread and what f8d's `execution = auto`\n"
            "does with a lone request of this model (one core, or every core).\n");
}

static const char *preprocess_name(uint32_t code)
{
    return code == F8_PREPROCESS_DIRECT ? "direct" : "unknown";
}

static json_t *u32_pair(uint32_t a, uint32_t b)
{
    return json_pack("[II]", (json_int_t)a, (json_int_t)b);
}

static json_t *op_json(uint32_t i, const f8_op_desc *d)
{
    json_t *o = json_object();
    json_t *inputs = json_array();
    json_array_append_new(inputs, json_integer(d->input0));
    if (d->type == F8_OP_ADD)
        json_array_append_new(inputs, json_integer(d->input1));
    json_object_set_new(o, "index", json_integer(i));
    json_object_set_new(o, "type", json_string(f8_op_type_name(d->type)));
    json_object_set_new(o, "inputs", inputs);
    json_object_set_new(o, "output", json_integer(d->output));
    if (d->type == F8_OP_CONV2D || d->type == F8_OP_MAXPOOL || d->type == F8_OP_AVGPOOL) {
        json_object_set_new(o, "kernel", u32_pair(d->kernel_h, d->kernel_w));
        json_object_set_new(o, "stride", u32_pair(d->stride_h, d->stride_w));
        json_object_set_new(o, "pad", json_pack("[IIII]", (json_int_t)d->pad_top,
                                                (json_int_t)d->pad_left, (json_int_t)d->pad_bottom,
                                                (json_int_t)d->pad_right));
    }
    if (d->type == F8_OP_CONV2D)
        json_object_set_new(o, "groups", json_integer(d->groups));
    if (d->type == F8_OP_AVGPOOL)
        json_object_set_new(o, "avg_shift", json_integer(d->avg_shift));
    if (d->weight_bits)
        json_object_set_new(o, "weight_bits", json_integer(d->weight_bits));
    if (d->group_size) /* FGQ ternary: weights per alpha */
        json_object_set_new(o, "group_size", json_integer(d->group_size));
    if (d->weight_bits == 2) /* FGQ ternary: how the codes and alphas are stored */
        json_object_set_new(o, "packing", json_string(d->packing ? "dense" : "2bit"));
    json_object_set_new(o, "relu", json_boolean(d->relu));
    json_object_set_new(o, "macs", json_integer(d->macs > INT64_MAX ? INT64_MAX : (json_int_t)d->macs));
    return o;
}

/* One line per op: index, type, kernel [tile]; then what `execution = auto` does. */
static int print_plan(const f8_model *m, const char *isa_name)
{
    f8_runner_options opts = {.threads = 1, .isa = F8_ISA_AUTO};
    if (isa_name && f8_isa_parse(isa_name, &opts.isa) != F8_OK) {
        cli_error("info", "--isa: unknown path '%s' (auto, scalar, avx2, avx512vnni)", isa_name);
        return EXIT_USAGE;
    }
    f8_runner *r = NULL;
    const int rc = f8_runner_create_opts(m, 1, &opts, &r);
    if (rc != F8_OK) {
        cli_error("info", "cannot plan the model: %s", f8_strerror(rc));
        return 1;
    }
    const f8_model_info *mi = f8_model_get_info(m);
    printf("# path %s\n", f8_isa_name(f8_runner_isa(r)));
    for (uint32_t i = 0; i < mi->num_ops; i++) {
        f8_op_desc d;
        const char *kernel = NULL, *tile = NULL;
        f8_model_op(m, i, &d);
        f8_runner_op_kernel(r, i, &kernel, &tile);
        printf("%u\t%s\t%s%s%s\n", i, f8_op_type_name(d.type), kernel, tile ? "\t" : "",
               tile ? tile : "");
    }
    /* one zero image, as f8d's warm-up times it */
    uint8_t *image = calloc((size_t)mi->input_h * mi->input_w * mi->input_c + 1, 1);
    int32_t *logits = calloc((size_t)mi->num_classes + 1, sizeof *logits);
    uint64_t image_ns = 0;
    const int trc = image && logits ? f8_runner_time_image(r, image, logits, &image_ns)
                                     : F8_ENOMEM;
    free(image);
    free(logits);
    f8_runner_destroy(r);
    if (trc != F8_OK) {
        cli_error("info", "cannot run the model: %s", f8_strerror(trc));
        return 1;
    }
    /* what f8d's `execution = auto` does with a lone request (its warm-up measures the same) */
    printf("# execution auto: one image takes %.0f us on 1 thread, so f8d runs a lone request "
           "on %s (every core from %u us)\n",
           (double)image_ns / 1e3,
           image_ns >= F8_SPLIT_MIN_IMAGE_NS ? "every core" : "one core",
           F8_SPLIT_MIN_IMAGE_NS / 1000u);
    if (fflush(stdout) != 0) {
        cli_error("info", "cannot write the output");
        return 1;
    }
    return 0;
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL, *isa_name = NULL;
    int plan = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            info_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--plan") == 0) {
            plan = 1;
            continue;
        }
        if ((r = cli_option(argc, argv, &i, "--isa", &isa_name)) != 0) {
            if (r < 0) {
                cli_error("info", "--isa needs a path name");
                return EXIT_USAGE;
            }
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error("info", "unknown option '%s'", argv[i]);
            info_usage(stderr);
            return EXIT_USAGE;
        }
        if (path) {
            cli_error("info", "expected one MODEL, got '%s' too", argv[i]);
            return EXIT_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        info_usage(stderr);
        return EXIT_USAGE;
    }

    char err[F8_ERRMSG_SIZE];
    f8_model *m = NULL;
    const int open_rc = f8_model_open(path, &m, err, sizeof err);
    if (open_rc != F8_OK) {
        cli_model_error("info", path, open_rc, err);
        return 1;
    }
    if (plan) {
        const int prc = print_plan(m, isa_name);
        f8_model_close(m);
        return prc;
    }
    const f8_model_info *mi = f8_model_get_info(m);

    json_t *root = json_object();
    json_object_set_new(root, "name", json_string(mi->name));
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "file_size", json_integer((json_int_t)mi->file_size));
    json_object_set_new(root, "input",
                        json_pack("{sIsIsIsiss}", "h", (json_int_t)mi->input_h, "w",
                                  (json_int_t)mi->input_w, "c", (json_int_t)mi->input_c, "fl",
                                  mi->input_fl, "preprocess", preprocess_name(mi->preprocess)));
    json_object_set_new(root, "num_classes", json_integer(mi->num_classes));
    json_object_set_new(root, "output_fl", json_integer(mi->output_fl));

    json_t *labels = json_array();
    for (uint32_t i = 0; i < mi->num_classes; i++)
        json_array_append_new(labels, json_string(f8_model_label(m, i)));
    json_object_set_new(root, "labels", labels);

    /* Keys in file order; a repeated key keeps its first value, as f8_model_meta_find does. */
    json_t *meta = json_object();
    for (uint32_t i = 0; i < f8_model_meta_count(m); i++) {
        const char *k = NULL, *v = NULL;
        f8_model_meta_get(m, i, &k, &v);
        if (!json_object_get(meta, k))
            json_object_set_new(meta, k, json_string(v));
    }
    json_object_set_new(root, "metadata", meta);

    json_t *values = json_array();
    for (uint32_t i = 0; i < mi->num_values; i++) {
        f8_value_desc v;
        f8_model_value(m, i, &v);
        /* bits: the word length, 8 or 32 unless a narrow (4-bit) value says otherwise */
        const json_int_t bits = v.bits ? v.bits : v.dtype == F8_DTYPE_S32 ? 32 : 8;
        json_array_append_new(values, json_pack("{sIsIsIsIsssisI}", "id", (json_int_t)i, "h",
                                                (json_int_t)v.h, "w", (json_int_t)v.w, "c",
                                                (json_int_t)v.c, "dtype", f8_dtype_name(v.dtype),
                                                "fl", v.fl, "bits", bits));
    }
    json_object_set_new(root, "values", values);

    json_t *ops = json_array();
    uint64_t total = 0;
    for (uint32_t i = 0; i < mi->num_ops; i++) {
        f8_op_desc d;
        f8_model_op(m, i, &d);
        total = total + d.macs < total ? UINT64_MAX : total + d.macs;
        json_array_append_new(ops, op_json(i, &d));
    }
    json_object_set_new(root, "ops", ops);
    json_object_set_new(root, "total_macs",
                        json_integer(total > INT64_MAX ? INT64_MAX : (json_int_t)total));

    int rc = 0;
    if (json_dumpf(root, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF ||
        fflush(stdout) != 0) {
        cli_error("info", "cannot write the output");
        rc = 1;
    }
    json_decref(root);
    f8_model_close(m);
    return rc;
}
