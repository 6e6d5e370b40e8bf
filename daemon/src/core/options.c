/* f8d settings: the key table, config file, environment, flags, --help, CPU count. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum opt_kind { OPT_STRING, OPT_UINT, OPT_U64, OPT_BOOL, OPT_CHOICE };

struct opt_def {
    const char *key;  /* config-file spelling; the flag and env names derive from it */
    const char *arg;  /* placeholder in --help */
    enum opt_kind kind;
    uint64_t min, max;
    size_t offset, size; /* size: bytes of a string field */
    const char *help;
    bool per_model;   /* may be set in a [model NAME] section: offset is in f8d_model_settings */
};

/* OPT_CHOICE: `arg` lists the words ("auto|latency|throughput"); the field is an unsigned,
 * the index of the word. The word number i of arg into out; -1 past the last. */
static int choice_word(const char *arg, unsigned i, char *out, size_t n)
{
    const char *w = arg;
    for (; i > 0; i--) {
        w = strchr(w, '|');
        if (w == NULL)
            return -1;
        w++;
    }
    size_t len = strcspn(w, "|");
    snprintf(out, n, "%.*s", (int)len, w);
    return 0;
}

#define OFF(field) offsetof(struct f8d_options, field), sizeof(((struct f8d_options *)0)->field)
/* A key every model has its own value of: in opts->model, and in each [model NAME] section. */
#define MODEL(field) offsetof(struct f8d_model_settings, field), \
    sizeof(((struct f8d_model_settings *)0)->field)
#define PER_MODEL true
#define GLOBAL false

static const struct opt_def OPTS[] = {
    {"models", "DIR", OPT_STRING, 0, 0, OFF(models_dir),
     "serve every DIR/NAME.f8 as model NAME (required)", GLOBAL},
    {"model_name", "NAME", OPT_STRING, 0, 0, OFF(model_name),
     "serve the one model in `models` as NAME whatever its file is called (KServe: the "
     "InferenceService's name, which its router puts in /v2/models/NAME); empty = file names",
     GLOBAL},
    {"host", "ADDR[,ADDR...]", OPT_STRING, 0, 0, OFF(host),
     "addresses to listen on, IPv4 or IPv6, separated by commas (at most 8), on `port` unless "
     "one names its own (ADDR:PORT, [IPv6]:PORT); \"0.0.0.0, ::\" for every interface", GLOBAL},
    {"port", "N", OPT_UINT, 0, 65535, OFF(port),
     "TCP port of the addresses without their own; 0 picks a free one (logged)", GLOBAL},
    {"grpc_port", "N", OPT_UINT, 0, 65535, OFF(grpc_port),
     "TCP port of the gRPC service (KServe v2 GRPCInferenceService and grpc.health.v1) on "
     "every `host` address; 0 = no gRPC", GLOBAL},
    {"grpc_keepalive_time_ms", "MS", OPT_UINT, 1000, 86400000, OFF(grpc_keepalive_time_ms),
     "ping a gRPC connection that has been idle this long", GLOBAL},
    {"grpc_keepalive_timeout_ms", "MS", OPT_UINT, 100, 3600000,
     OFF(grpc_keepalive_timeout_ms),
     "close a gRPC connection whose keepalive ping is not answered in this time", GLOBAL},
    {"grpc_max_streams", "N", OPT_UINT, 1, 65536, OFF(grpc_max_streams),
     "concurrent calls per gRPC connection at most (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); "
     "messages are limited by max_body_bytes", GLOBAL},
    {"threads", "N", OPT_UINT, 0, F8D_MAX_THREADS, OFF(threads),
     "inference workers (each decodes and runs batches, with one arena for every model); "
     "0 = one per usable CPU (affinity, cgroup quota)", GLOBAL},
    {"instances", "N", OPT_UINT, 0, 256, MODEL(instances),
     "batches of one model that may run at once on the workers; 0 = as many as there are "
     "workers", PER_MODEL},
    {"engine_threads", "N", OPT_UINT, 0, 256, MODEL(engine_threads),
     "threads inside one engine run (the worker's included); 0 = 1. With few instances, "
     "lowers latency at low load", PER_MODEL},
    {"execution", "auto|latency|throughput", OPT_CHOICE, 0, 2, MODEL(execution),
     "how a batch uses the workers: latency = every batch on all of them (one batch at a "
     "time); throughput = each batch on one (batches side by side); auto = a lone request "
     "on all of them when the others are idle and nothing else waits, else one each",
     PER_MODEL},
    {"max_batch_size", "N", OPT_UINT, 1, 1024, MODEL(max_batch_size),
     "images per engine run at most", PER_MODEL},
    {"max_queue_delay_us", "US", OPT_UINT, 0, 10000000, MODEL(max_queue_delay_us),
     "a batch leaves when full or when its oldest image has waited this long (and a worker "
     "is free)", PER_MODEL},
    {"max_queue", "N", OPT_UINT, 1, 1000000, MODEL(max_queue),
     "images queued per model at most; beyond it requests get 503 + Retry-After", PER_MODEL},
    {"max_body_bytes", "N", OPT_U64, 1, UINT64_MAX / 2, OFF(max_body_bytes),
     "largest request body (and gRPC message); larger ones get 413 before the body is read "
     "(gRPC: RESOURCE_EXHAUSTED)", GLOBAL},
    {"max_pixels", "N", OPT_U64, 1, UINT64_MAX / 2, MODEL(max_pixels),
     "largest image (width*height, read from the JPEG header); larger ones get 422",
     PER_MODEL},
    {"max_connections", "N", OPT_UINT, 1, 65536, OFF(max_connections),
     "open connections at most", GLOBAL},
    {"timeout", "SECONDS", OPT_UINT, 1, 86400, OFF(timeout_s),
     "close a connection idle this long", GLOBAL},
    {"header_timeout", "SECONDS", OPT_UINT, 1, 86400, OFF(header_timeout_s),
     "close a connection whose request head (request line and headers) is not complete this "
     "long after it began (slow clients; nginx's client_header_timeout), or a gRPC "
     "connection whose handshake (TLS, HTTP/2 preface) is not done", GLOBAL},
    {"body_timeout", "SECONDS", OPT_UINT, 1, 86400, OFF(body_timeout_s),
     "time a request body may take, plus a second for every body_min_rate bytes received "
     "(Apache's mod_reqtimeout body=)", GLOBAL},
    {"body_min_rate", "BYTES", OPT_UINT, 0, 1u << 30, OFF(body_min_rate),
     "each this many body bytes received extend body_timeout by a second, so a body sent at "
     "this rate (bytes/s) or faster never times out (mod_reqtimeout MinRate); 0 = the whole "
     "body must arrive within body_timeout", GLOBAL},
    {"drain_delay_ms", "MS", OPT_UINT, 0, 600000, OFF(drain_delay_ms),
     "on SIGTERM: report not-ready but keep accepting this long, then stop accepting", GLOBAL},
    {"drain_timeout_ms", "MS", OPT_UINT, 100, 3600000, OFF(drain_timeout_ms),
     "on SIGTERM: close connections still open this long after accepting stopped", GLOBAL},
    {"access_log", "on|off", OPT_BOOL, 0, 1, OFF(access_log),
     "one log line per request (id, method, path, status, latency)", GLOBAL},
    {"restricted_api", "HEADER:VALUE", OPT_STRING, 0, 0, OFF(restricted_api),
     "calls that change the server (POST /v2/repository/reload) must carry header HEADER "
     "with this VALUE, or get 403 (Triton's --http-restricted-api); empty = anyone may",
     GLOBAL},
    {"tls_cert", "FILE", OPT_STRING, 0, 0, OFF(tls_cert),
     "serve HTTPS (TLS 1.2, 1.3) with the PEM certificate chain in FILE, the server's "
     "certificate first; needs tls_key; both are read again on SIGHUP; empty = plain HTTP",
     GLOBAL},
    {"tls_key", "FILE", OPT_STRING, 0, 0, OFF(tls_key),
     "the PEM private key of tls_cert (not encrypted; readable by `user` for reloads)", GLOBAL},
    {"cors_origin", "ORIGIN", OPT_STRING, 0, 0, OFF(cors_origin),
     "let web pages from ORIGIN (https://app.example, or * for any) call the HTTP API: "
     "Access-Control-Allow-Origin on every answer, OPTIONS preflights answered; empty = "
     "same-origin only (the demo page at / needs nothing)", GLOBAL},
    {"user", "NAME", OPT_STRING, 0, 0, OFF(user),
     "started as root: once the ports are bound and the models read, run as user NAME (its "
     "primary group, no supplementary groups); the models directory must be readable by it "
     "for reloads. Ignored when not started as root; empty = stay root (with a warning)",
     GLOBAL},
};

#define NOPTS (sizeof(OPTS) / sizeof(OPTS[0]))

void f8d_options_defaults(struct f8d_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    snprintf(opts->host, sizeof(opts->host), "%s", F8D_DEFAULT_HOST);
    opts->port = F8D_DEFAULT_PORT;
    opts->grpc_port = F8D_DEFAULT_GRPC_PORT;
    opts->grpc_keepalive_time_ms = F8D_DEFAULT_GRPC_KEEPALIVE_TIME_MS;
    opts->grpc_keepalive_timeout_ms = F8D_DEFAULT_GRPC_KEEPALIVE_TIMEOUT_MS;
    opts->grpc_max_streams = F8D_DEFAULT_GRPC_MAX_STREAMS;
    opts->model.max_batch_size = F8D_DEFAULT_MAX_BATCH_SIZE;
    opts->model.max_queue_delay_us = F8D_DEFAULT_MAX_QUEUE_DELAY_US;
    opts->model.max_queue = F8D_DEFAULT_MAX_QUEUE;
    opts->model.max_pixels = F8D_DEFAULT_MAX_PIXELS;
    opts->max_body_bytes = F8D_DEFAULT_MAX_BODY_BYTES;
    opts->max_connections = F8D_DEFAULT_MAX_CONNECTIONS;
    opts->timeout_s = F8D_DEFAULT_TIMEOUT_S;
    opts->header_timeout_s = F8D_DEFAULT_HEADER_TIMEOUT_S;
    opts->body_timeout_s = F8D_DEFAULT_BODY_TIMEOUT_S;
    opts->body_min_rate = F8D_DEFAULT_BODY_MIN_RATE;
    opts->drain_timeout_ms = F8D_DEFAULT_DRAIN_TIMEOUT_MS;
    opts->access_log = true;
}

/* "max_batch_size" -> "max-batch-size" / "F8D_MAX_BATCH_SIZE". */
static void flag_name(const char *key, char *out, size_t n)
{
    size_t i = 0;
    for (; key[i] && i + 1 < n; i++)
        out[i] = key[i] == '_' ? '-' : key[i];
    out[i] = '\0';
}

static void env_name(const char *key, char *out, size_t n)
{
    int w = snprintf(out, n, "F8D_");
    for (size_t i = 0; key[i] && (size_t)w + 1 < n; i++)
        out[w++] = (char)toupper((unsigned char)key[i]);
    out[w] = '\0';
}

/* Where key d's value lives: in the options, or in the model settings for a per-model key
 * (the global value's, or a [model] section's when `sec` is given). */
static void *field_of(const struct opt_def *d, struct f8d_options *o,
                      struct f8d_model_settings *sec)
{
    char *base = d->per_model ? (char *)(sec ? sec : &o->model) : (char *)o;
    return base + d->offset;
}

static void format_value(const struct opt_def *d, const struct f8d_options *o, char *out,
                         size_t n)
{
    const void *f = field_of(d, (struct f8d_options *)o, NULL);
    switch (d->kind) {
    case OPT_STRING: snprintf(out, n, "%s", (const char *)f); break;
    case OPT_UINT: snprintf(out, n, "%u", *(const unsigned *)f); break;
    case OPT_U64: snprintf(out, n, "%" PRIu64, *(const uint64_t *)f); break;
    case OPT_BOOL: snprintf(out, n, "%s", *(const bool *)f ? "on" : "off"); break;
    case OPT_CHOICE: choice_word(d->arg, *(const unsigned *)f, out, n); break;
    }
}

void f8d_options_usage(FILE *out, const char *prog)
{
    struct f8d_options def;
    f8d_options_defaults(&def);
    fprintf(out, "Usage: %s --models DIR [options]\n\n"
                 "Serves image classification over HTTP (see docs/API.md):\n"
                 "  POST /predictions/NAME[?top_k=N]     body: a JPEG image\n"
                 "  POST /v2/models/NAME/infer           KServe v2 / Open Inference Protocol\n"
                 "  GET  /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME[/ready]\n"
                 "  GET  /metrics                        Prometheus text format\n"
                 "  POST /v2/repository/reload           reload the models (as SIGHUP)\n"
                 "and over gRPC on grpc_port: inference.GRPCInferenceService (KServe v2) and\n"
                 "grpc.health.v1.Health.\n\n"
                 "Options (config-file key = the flag with '_' for '-'; environment "
                 "variable F8D_KEY):\n",
            prog);
    fprintf(out, "  %-28s %s\n", "--config FILE",
            "read settings from FILE first (environment: F8D_CONFIG)");
    for (size_t i = 0; i < NOPTS; i++) {
        char flag[64], left[96], dflt[64];
        flag_name(OPTS[i].key, flag, sizeof(flag));
        snprintf(left, sizeof(left), "--%s %s", flag, OPTS[i].arg);
        format_value(&OPTS[i], &def, dflt, sizeof(dflt));
        fprintf(out, "  %-28s %s%s%s%s%s\n", left, OPTS[i].help, dflt[0] ? " (default " : "",
                dflt, dflt[0] ? ")" : "", OPTS[i].per_model ? " [per model]" : "");
    }
    fprintf(out, "  %-28s %s\n", "--default-config",
            "print a config file with every key at its default (config/f8d.conf) and exit");
    fprintf(out, "  %-28s %s\n", "--version", "print the version and the libraries' and exit");
    fprintf(out, "  %-28s %s\n", "-h, --help", "show this text");
    fprintf(out, "\nIn the config file, a [model NAME] section sets the keys marked [per model] "
                 "for\nmodel NAME only; the others take the global values.\n");
    fprintf(out, "\nSignals: SIGHUP reloads the models (in-flight requests finish on the old "
                 "ones);\nSIGINT/SIGTERM stop accepting, answer what was accepted, exit 0.\n");
}

void f8d_options_write_defaults(FILE *out)
{
    struct f8d_options def;
    f8d_options_defaults(&def);
    fputs("# f8d configuration: every key, at its default (made by `f8d --default-config`). Read\n"
          "# with `f8d --config FILE` (or F8D_CONFIG=FILE); environment variables F8D_<KEY>\n"
          "# (F8D_MAX_BATCH_SIZE=32) override the file, and flags (--max-batch-size 32) override\n"
          "# both. `key = value`, one per line; `#` starts a comment; values may be \"quoted\". An\n"
          "# error names the file and the line. [model NAME] sections (at the end) set the keys\n"
          "# marked \"may be set per model\" for one model. The systemd unit reads\n"
          "# /etc/f8d/f8d.conf (installed from this file by `make install`).\n\n",
          out);
    for (size_t i = 0; i < NOPTS; i++) {
        char dflt[64];
        format_value(&OPTS[i], &def, dflt, sizeof(dflt));
        fprintf(out, "# %s%s\n%s%s = %s\n\n", OPTS[i].help,
                OPTS[i].per_model ? " (may be set per model)" : "", dflt[0] ? "" : "# ",
                OPTS[i].key, dflt);
    }
    fprintf(out, "# A [model NAME] section gives model NAME its own value of any key above that "
                 "may be set\n# per model; the others keep the global value. For example:\n"
                 "#\n# [model resnet50]\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char dflt[64];
        format_value(&OPTS[i], &def, dflt, sizeof(dflt));
        if (OPTS[i].per_model)
            fprintf(out, "# %s = %s\n", OPTS[i].key, dflt);
    }
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

/* Sets d from value, in `sec` (a [model] section's settings) or else the options; `name` is
 * how the error names the setting ("--port", "port"). */
static int set_value(const struct opt_def *d, const char *name, const char *value,
                     struct f8d_options *opts, struct f8d_model_settings *sec, char *err,
                     size_t errlen)
{
    void *f = field_of(d, opts, sec);
    uint64_t v;

    switch (d->kind) {
    case OPT_STRING:
        if (*value == '\0') {
            snprintf(err, errlen, "%s needs a non-empty %s", name, d->arg);
            return -1;
        }
        if (strlen(value) >= d->size) {
            snprintf(err, errlen, "%s: value is longer than %zu bytes", name, d->size - 1);
            return -1;
        }
        memcpy(f, value, strlen(value) + 1);
        return 0;
    case OPT_BOOL:
        if (!strcasecmp(value, "on") || !strcasecmp(value, "yes") || !strcasecmp(value, "true") ||
            !strcmp(value, "1")) {
            *(bool *)f = true;
            return 0;
        }
        if (!strcasecmp(value, "off") || !strcasecmp(value, "no") ||
            !strcasecmp(value, "false") || !strcmp(value, "0")) {
            *(bool *)f = false;
            return 0;
        }
        snprintf(err, errlen, "%s: '%.64s' is not on or off", name, value);
        return -1;
    case OPT_CHOICE: {
        char word[64];
        for (unsigned i = 0; choice_word(d->arg, i, word, sizeof(word)) == 0; i++) {
            if (strcmp(value, word) == 0) {
                *(unsigned *)f = i;
                return 0;
            }
        }
    }
        snprintf(err, errlen, "%s: '%.64s' is not one of %s", name, value, d->arg);
        return -1;
    case OPT_UINT:
    case OPT_U64:
        break;
    }
    if (parse_u64(value, d->min, d->max, &v) != 0) {
        snprintf(err, errlen, "%s: '%.64s' is not an integer in [%" PRIu64 ", %" PRIu64 "]",
                 name, value, d->min, d->max);
        return -1;
    }
    if (d->kind == OPT_UINT)
        *(unsigned *)f = (unsigned)v;
    else
        *(uint64_t *)f = v;
    return 0;
}

static const struct opt_def *find_key(const char *key, size_t len)
{
    for (size_t k = 0; k < NOPTS; k++) {
        if (strlen(OPTS[k].key) == len && strncmp(OPTS[k].key, key, len) == 0)
            return &OPTS[k];
    }
    return NULL;
}

int f8d_options_set(struct f8d_options *opts, const char *key, const char *value, char *err,
                    size_t errlen)
{
    const struct opt_def *d = find_key(key, strlen(key));
    if (d == NULL) {
        snprintf(err, errlen, "unknown key '%.64s'", key);
        return -1;
    }
    return set_value(d, key, value, opts, NULL, err, errlen);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* "instances, engine_threads, ...": the keys a [model] section may set. */
static void per_model_keys(char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < NOPTS && used < n; k++) {
        if (OPTS[k].per_model)
            used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "",
                                     OPTS[k].key);
    }
}

/* "[model NAME]": starts a section. */
static int section_line(char *s, struct f8d_options *opts, int *section, char *err,
                        size_t errlen)
{
    size_t n = strlen(s);
    if (s[n - 1] != ']') {
        snprintf(err, errlen, "expected '[model NAME]', got '%.64s'", s);
        return -1;
    }
    s[n - 1] = '\0';
    char *inner = trim(s + 1);
    if (strncmp(inner, "model", 5) != 0 || (inner[5] != ' ' && inner[5] != '\t')) {
        snprintf(err, errlen, "unknown section '[%.64s]' (sections: [model NAME])", inner);
        return -1;
    }
    char *name = trim(inner + 5);
    if (*name == '\0' || strlen(name) >= sizeof(opts->models[0].name) ||
        strchr(name, '/') != NULL || strpbrk(name, " \t") != NULL) {
        snprintf(err, errlen, "bad model name in '[model %.64s]'", name);
        return -1;
    }
    for (unsigned i = 0; i < opts->n_models; i++) {
        if (strcmp(opts->models[i].name, name) == 0) {
            snprintf(err, errlen, "[model %s] appears twice", name);
            return -1;
        }
    }
    if (opts->n_models == F8D_MAX_MODEL_SECTIONS) {
        snprintf(err, errlen, "more than %d [model] sections", F8D_MAX_MODEL_SECTIONS);
        return -1;
    }
    struct f8d_model_section *sec = &opts->models[opts->n_models];
    memset(sec, 0, sizeof(*sec));
    memcpy(sec->name, name, strlen(name) + 1);
    *section = (int)opts->n_models++;
    return 0;
}

/* One line of the config file; 0, or -1 with a message (without the file:line prefix).
 * *section is the [model] section the line is in, -1 before any. */
static int config_line(char *line, struct f8d_options *opts, int *section, char *err,
                       size_t errlen)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    if (*s == '[')
        return section_line(s, opts, section, err, errlen);
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected 'key = value', got '%.64s'", s);
        return -1;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    if (*value == '"') {
        char *close = strchr(value + 1, '"');
        if (close == NULL) {
            snprintf(err, errlen, "%s: missing closing quote", key);
            return -1;
        }
        *close = '\0';
        char *rest = trim(close + 1);
        if (*rest != '\0' && *rest != '#') {
            snprintf(err, errlen, "%s: unexpected text after the quoted value", key);
            return -1;
        }
        value++;
    } else {
        char *hash = strstr(value, " #");
        if (hash == NULL)
            hash = strstr(value, "\t#");
        if (hash != NULL)
            *hash = '\0';
        value = trim(value);
    }
    if (*key == '\0') {
        snprintf(err, errlen, "missing key before '='");
        return -1;
    }
    if (*section < 0)
        return f8d_options_set(opts, key, value, err, errlen);
    struct f8d_model_section *sec = &opts->models[*section];
    const struct opt_def *d = find_key(key, strlen(key));
    if (d == NULL) {
        snprintf(err, errlen, "unknown key '%.64s'", key);
        return -1;
    }
    if (!d->per_model) {
        char keys[512];
        per_model_keys(keys, sizeof(keys));
        snprintf(err, errlen, "%.64s cannot be set per model (in [model %.64s]: %.200s)", key,
                 sec->name, keys);
        return -1;
    }
    if (set_value(d, key, value, opts, &sec->settings, err, errlen) != 0)
        return -1;
    sec->set |= UINT64_C(1) << (d - OPTS);
    return 0;
}

void f8d_options_model(const struct f8d_options *opts, const char *name,
                       struct f8d_model_settings *out)
{
    *out = opts->model;
    for (unsigned i = 0; i < opts->n_models; i++) {
        const struct f8d_model_section *sec = &opts->models[i];
        if (strcmp(sec->name, name) != 0)
            continue;
        for (size_t k = 0; k < NOPTS; k++) {
            if (sec->set & (UINT64_C(1) << k))
                memcpy((char *)out + OPTS[k].offset, (const char *)&sec->settings + OPTS[k].offset,
                       OPTS[k].size);
        }
    }
}

int f8d_options_read_file(const char *path, struct f8d_options *opts, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[8192];
    char msg[512];
    unsigned lineno = 0;
    int rc = 0, section = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            snprintf(err, errlen, "%s:%u: line too long", path, lineno);
            rc = -1;
            break;
        }
        if (config_line(line, opts, &section, msg, sizeof(msg)) != 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

/* The value of --config in argv (either spelling), or NULL. Sets *bad on "--config" with no
 * value. */
static const char *config_flag(int argc, char **argv, int *bad)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                *bad = 1;
                return NULL;
            }
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
    }
    return path;
}

static int parse_flags(int argc, char **argv, struct f8d_options *opts, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen == 6 && strncmp(a, "config", 6) == 0) {
            if (eq == NULL)
                i++; /* read already */
            continue;
        }
        char key[64];
        if (nlen >= sizeof(key)) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[i]);
            return -1;
        }
        for (size_t k = 0; k < nlen; k++)
            key[k] = a[k] == '-' ? '_' : (a[k] == '_' ? '\1' : a[k]); /* no '_' in flags */
        key[nlen] = '\0';
        const struct opt_def *d = find_key(key, nlen);
        if (d == NULL) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[i]);
            return -1;
        }
        char flag[72];
        snprintf(flag, sizeof(flag), "--%.*s", (int)nlen, a);
        const char *value;
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "%s needs a value (%s)", flag, d->arg);
            return -1;
        }
        if (set_value(d, flag, value, opts, NULL, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* RFC 9110 token characters (a header name). */
static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A model name goes into URLs and metric labels: letters, digits, '.', '_', '-'. */
static int check_model_name(const char *name, char *err, size_t errlen)
{
    for (const char *c = name; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') {
            snprintf(err, errlen, "model_name: '%s' may hold only letters, digits, '.', '_' "
                     "and '-'", name);
            return -1;
        }
    }
    return 0;
}

int f8d_options_check(struct f8d_options *opts, char *err, size_t errlen)
{
    if (check_model_name(opts->model_name, err, errlen) != 0)
        return -1;
    opts->restricted_header[0] = '\0';
    opts->restricted_value_at = 0;
    if ((opts->tls_cert[0] == '\0') != (opts->tls_key[0] == '\0')) {
        snprintf(err, errlen, "tls_cert and tls_key go together: set both or neither");
        return -1;
    }
    if (opts->restricted_api[0] == '\0')
        return 0;
    /* Never quote the value in a message: it is a secret. */
    const char *spec = opts->restricted_api;
    const char *colon = strchr(spec, ':');
    if (colon == NULL) {
        snprintf(err, errlen, "restricted_api: expected HEADER:VALUE (no ':' found)");
        return -1;
    }
    const char *h = spec, *h_end = colon;
    while (h < h_end && (*h == ' ' || *h == '\t'))
        h++;
    while (h_end > h && (h_end[-1] == ' ' || h_end[-1] == '\t'))
        h_end--;
    size_t hlen = (size_t)(h_end - h);
    if (hlen == 0 || hlen >= sizeof(opts->restricted_header)) {
        snprintf(err, errlen, "restricted_api: the header name before ':' must be 1 to %zu "
                              "characters", sizeof(opts->restricted_header) - 1);
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        if (!is_tchar(h[i])) {
            snprintf(err, errlen, "restricted_api: '%.*s' is not a header name", (int)hlen, h);
            return -1;
        }
    }
    /* HTTP drops the spaces around a header value: so does the comparison. */
    char *v = (char *)colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vlen = strlen(v);
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        v[--vlen] = '\0';
    if (vlen == 0) {
        snprintf(err, errlen, "restricted_api: header %.*s needs a non-empty value after ':'",
                 (int)hlen, h);
        return -1;
    }
    for (size_t i = 0; i < vlen; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            snprintf(err, errlen, "restricted_api: the value has a control character");
            return -1;
        }
    }
    memcpy(opts->restricted_header, h, hlen);
    opts->restricted_header[hlen] = '\0';
    opts->restricted_value_at = (unsigned)(v - opts->restricted_api);
    return 0;
}

int f8d_options_load(int argc, char **argv, char **envp, struct f8d_options *opts, char *err,
                     size_t errlen)
{
    f8d_options_defaults(opts);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
        if (strcmp(argv[i], "--default-config") == 0)
            return 2;
        if (strcmp(argv[i], "--version") == 0)
            return 3;
    }
    int bad = 0;
    const char *config = config_flag(argc, argv, &bad);
    if (bad) {
        snprintf(err, errlen, "--config needs a value (FILE)");
        return -1;
    }
    if (config == NULL)
        config = env_get(envp, "F8D_CONFIG");
    if (config != NULL && *config != '\0') {
        snprintf(opts->config, sizeof(opts->config), "%s", config);
        if (f8d_options_read_file(config, opts, err, errlen) != 0)
            return -1;
    }
    for (size_t k = 0; k < NOPTS; k++) {
        char name[80], msg[400];
        env_name(OPTS[k].key, name, sizeof(name));
        const char *v = env_get(envp, name);
        if (v != NULL && set_value(&OPTS[k], name, v, opts, NULL, msg, sizeof(msg)) != 0) {
            snprintf(err, errlen, "environment: %s", msg);
            return -1;
        }
    }
    if (parse_flags(argc, argv, opts, err, errlen) != 0)
        return -1;
    if (opts->models_dir[0] == '\0') {
        snprintf(err, errlen, "--models DIR is required (or models = DIR in the config file, "
                              "or F8D_MODELS; see --help)");
        return -1;
    }
    return f8d_options_check(opts, err, errlen);
}

int f8d_options_parse(int argc, char **argv, struct f8d_options *opts, char *err,
                      size_t errlen)
{
    return f8d_options_load(argc, argv, NULL, opts, err, errlen);
}
