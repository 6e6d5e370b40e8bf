/* f8d command-line options: parsing, defaults, --help, CPU count. */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_STRING, OPT_UINT, OPT_U64 };

struct opt_def {
    const char *name;
    const char *arg;
    enum opt_kind kind;
    uint64_t min, max;
    size_t offset;
    const char *help;
};

#define OFF(field) offsetof(struct f8d_options, field)

static const struct opt_def OPTS[] = {
    {"models", "DIR", OPT_STRING, 0, 0, OFF(models_dir),
     "serve every DIR/NAME.f8 as model NAME (required)"},
    {"host", "ADDR", OPT_STRING, 0, 0, OFF(host),
     "address to listen on (default " F8D_DEFAULT_HOST ")"},
    {"port", "N", OPT_UINT, 0, 65535, OFF(port),
     "TCP port (default 8080; 0 picks a free port, printed at startup)"},
    {"threads", "N", OPT_UINT, 1, F8D_MAX_THREADS, OFF(threads),
     "decode/inference worker threads (default: one per usable CPU)"},
    {"max-body-bytes", "N", OPT_U64, 1, UINT64_MAX / 2, OFF(max_body_bytes),
     "largest request body accepted; larger ones get 413 (default 16777216)"},
    {"max-pixels", "N", OPT_U64, 1, UINT64_MAX / 2, OFF(max_pixels),
     "largest image (width*height) decoded; larger ones get 413 (default 40000000)"},
    {"max-connections", "N", OPT_UINT, 1, 65536, OFF(max_connections),
     "open connections at most (default 256)"},
    {"timeout", "SECONDS", OPT_UINT, 1, 86400, OFF(timeout_s),
     "close a connection idle this long (default 30)"},
};

#define NOPTS (sizeof(OPTS) / sizeof(OPTS[0]))

void f8d_options_defaults(struct f8d_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->host = F8D_DEFAULT_HOST;
    opts->port = F8D_DEFAULT_PORT;
    opts->threads = 0;
    opts->max_body_bytes = F8D_DEFAULT_MAX_BODY_BYTES;
    opts->max_pixels = F8D_DEFAULT_MAX_PIXELS;
    opts->max_connections = F8D_DEFAULT_MAX_CONNECTIONS;
    opts->timeout_s = F8D_DEFAULT_TIMEOUT_S;
}

void f8d_options_usage(FILE *out, const char *prog)
{
    fprintf(out, "Usage: %s --models DIR [options]\n\n"
                 "Serves image classification over HTTP:\n"
                 "  POST /predictions/NAME[?top_k=N]   body: a JPEG image\n"
                 "  GET  /v2/health/live, /v2/health/ready, /v2/models/NAME[/ready]\n\n"
                 "Options:\n",
            prog);
    for (size_t i = 0; i < NOPTS; i++) {
        char left[40];
        snprintf(left, sizeof(left), "--%s %s", OPTS[i].name, OPTS[i].arg);
        fprintf(out, "  %-26s %s\n", left, OPTS[i].help);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this text");
    fprintf(out, "\nSIGINT/SIGTERM: stop accepting, answer what was accepted, exit 0.\n");
}

/* Strict unsigned decimal: digits only, no sign, no spaces, within [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int set_value(const struct opt_def *d, const char *value, struct f8d_options *opts,
                     char *err, size_t errlen)
{
    char *base = (char *)opts;
    uint64_t v;

    if (d->kind == OPT_STRING) {
        if (*value == '\0') {
            snprintf(err, errlen, "--%s needs a non-empty %s", d->name, d->arg);
            return -1;
        }
        *(const char **)(void *)(base + d->offset) = value;
        return 0;
    }
    if (parse_u64(value, d->min, d->max, &v) != 0) {
        snprintf(err, errlen, "--%s: '%s' is not an integer in [%" PRIu64 ", %" PRIu64 "]",
                 d->name, value, d->min, d->max);
        return -1;
    }
    if (d->kind == OPT_UINT)
        *(unsigned *)(void *)(base + d->offset) = (unsigned)v;
    else
        *(uint64_t *)(void *)(base + d->offset) = v;
    return 0;
}

int f8d_options_parse(int argc, char **argv, struct f8d_options *opts, char *err,
                      size_t errlen)
{
    f8d_options_defaults(opts);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const struct opt_def *d = NULL;
        for (size_t k = 0; k < NOPTS; k++) {
            if (strlen(OPTS[k].name) == nlen && strncmp(OPTS[k].name, a, nlen) == 0) {
                d = &OPTS[k];
                break;
            }
        }
        if (d == NULL) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[i]);
            return -1;
        }
        const char *value;
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "--%s needs a value (%s)", d->name, d->arg);
            return -1;
        }
        if (set_value(d, value, opts, err, errlen) != 0)
            return -1;
    }
    if (opts->models_dir == NULL) {
        snprintf(err, errlen, "--models DIR is required (see --help)");
        return -1;
    }
    return 0;
}

/* cgroup v2 "cpu.max": "max 100000" or "QUOTA PERIOD". Returns ceil(quota/period) or 0. */
static unsigned cgroup_cpu_limit(void)
{
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f == NULL)
        return 0;
    char quota[32];
    unsigned long long period = 0;
    unsigned limit = 0;
    if (fscanf(f, "%31s %llu", quota, &period) == 2 && strcmp(quota, "max") != 0 && period) {
        unsigned long long q = strtoull(quota, NULL, 10);
        if (q > 0)
            limit = (unsigned)((q + period - 1) / period);
    }
    fclose(f);
    return limit;
}

unsigned f8d_cpu_count(void)
{
    cpu_set_t set;
    unsigned n = 1;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        n = (unsigned)CPU_COUNT(&set);
    unsigned quota = cgroup_cpu_limit();
    if (quota > 0 && quota < n)
        n = quota;
    return n;
}
