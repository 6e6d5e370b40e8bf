/*
 * f8d command-line options: one table of flags with defaults and bounds, so --help, parsing
 * and the daemon cannot disagree.
 */
#ifndef F8D_OPTIONS_H
#define F8D_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define F8D_DEFAULT_HOST "127.0.0.1"
#define F8D_DEFAULT_PORT 8080
#define F8D_DEFAULT_MAX_BODY_BYTES (16u * 1024u * 1024u)
#define F8D_DEFAULT_MAX_PIXELS 40000000u
#define F8D_DEFAULT_MAX_CONNECTIONS 256u
#define F8D_DEFAULT_TIMEOUT_S 30u
#define F8D_MAX_THREADS 1024u

struct f8d_options {
    const char *models_dir;  /* --models (required); points into argv */
    const char *host;        /* --host; points into argv or a literal */
    unsigned port;           /* --port; 0 = any free port */
    unsigned threads;        /* --threads; 0 = one per CPU this process may use */
    uint64_t max_body_bytes; /* --max-body-bytes */
    uint64_t max_pixels;     /* --max-pixels: decoded width*height limit */
    unsigned max_connections;
    unsigned timeout_s;      /* idle connection timeout */
};

/* Fills `opts` with the defaults. */
void f8d_options_defaults(struct f8d_options *opts);

/* Parses argv (argv[0] is the program name). Accepts "--flag value" and "--flag=value".
 * Returns 0 on success, 1 when --help/-h was given (nothing else is checked), or -1 with a
 * message in err. */
int f8d_options_parse(int argc, char **argv, struct f8d_options *opts, char *err,
                      size_t errlen);

/* Writes the --help text. */
void f8d_options_usage(FILE *out, const char *prog);

/* CPUs this process may run on: the affinity mask, capped by a cgroup v2 CPU quota. >= 1. */
unsigned f8d_cpu_count(void);

#endif /* F8D_OPTIONS_H */
