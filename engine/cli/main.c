/*
 * f8: inspect .f8 models and run them from the command line.
 *
 *   f8 info MODEL                          the model as JSON
 *   f8 classify MODEL IMAGE.jpg... [--top-k K]   one JSON line per image
 *   f8 logits MODEL RAWFILE [--batch B]    int32 logits of raw u8 images, one line each
 *   f8 bench MODEL [--batch N] [--threads T] [--iters K]   speed, as one JSON line
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "f8.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: f8 COMMAND [ARGS]\n"
            "\n"
            "Commands:\n"
            "  info MODEL                          print the model (header, labels, metadata,\n"
            "                                      values, ops, MACs) as JSON\n"
            "  classify MODEL IMAGE... [--top-k K] classify JPEG images, one JSON line each\n"
            "  logits MODEL RAWFILE [--batch B]    run raw u8 images, print int32 logits\n"
            "  bench MODEL [--batch N] [--threads T] [--iters K] [--isa PATH] [--layers]\n"
            "                                      time f8_run, print one JSON line\n"
            "\n"
            "Run 'f8 COMMAND --help' for a command's options.\n"
            "Options: --help, --version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
        if (strcmp(cmd, "help") == 0 && argc > 2) {
            /* "f8 help CMD" = "f8 CMD --help" */
            char help[] = "--help";
            char *sub[] = {argv[2], help, NULL};
            if (strcmp(argv[2], "info") == 0)
                return cmd_info(2, sub);
            if (strcmp(argv[2], "classify") == 0)
                return cmd_classify(2, sub);
            if (strcmp(argv[2], "logits") == 0)
                return cmd_logits(2, sub);
            if (strcmp(argv[2], "bench") == 0)
                return cmd_bench(2, sub);
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("f8 %d.%d (model formats %d to %d)\n", F8_VERSION_MAJOR, F8_VERSION_MINOR,
               F8_FORMAT_VERSION_MIN, F8_FORMAT_VERSION);
        return 0;
    }
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "classify") == 0)
        return cmd_classify(argc - 1, argv + 1);
    if (strcmp(cmd, "logits") == 0)
        return cmd_logits(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "f8: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
