/*
 * The `f8` command-line tool: shared helpers and the subcommands.
 *
 * Exit codes: 0 success, 1 a runtime failure (bad model, unreadable or undecodable file),
 * 2 a usage error. Messages go to stderr, results to stdout.
 */
#ifndef F8_CLI_H
#define F8_CLI_H

#include <stddef.h>
#include <stdint.h>

#define EXIT_USAGE 2

/* Subcommands: argv[0] is the subcommand's name. */
int cmd_info(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "f8 <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a failed f8_model_open: the loader's I/O messages already name the file, its
 * format messages do not. */
void cli_model_error(const char *cmd, const char *path, int rc, const char *err);

/* Reads a whole file ("-" = stdin) into a malloc'ed buffer. Fails with a message in `err`
 * when the file cannot be read or is larger than max_bytes. */
int cli_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size, char *err,
                  size_t errlen);

/* Option parsing. If argv[*i] is `name` (followed by a value in argv[*i+1]) or `name=value`,
 * sets *value, advances *i past what it used and returns 1; returns -1 when the value is
 * missing, 0 when argv[*i] is another argument. */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses a decimal integer in [min, max]; returns 0 on success. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* True for "--help" and "-h". */
int cli_is_help(const char *arg);

#endif /* F8_CLI_H */
