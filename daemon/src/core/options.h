/*
 * f8d settings: one table of keys with defaults and bounds, so --help, the config file,
 * environment variables, parsing and docs cannot disagree (redis's config table).
 *
 * Every key has three spellings: the config-file key `max_batch_size`, the flag
 * `--max-batch-size`, the environment variable `F8D_MAX_BATCH_SIZE`. Precedence, lowest first:
 * built-in default, config file (--config FILE, or F8D_CONFIG), environment, flags.
 *
 * Config file: one `key = value` per line; `#` starts a comment; blank lines are ignored;
 * values may be quoted with "...". A `[model NAME]` line starts a section whose keys apply to
 * model NAME only: the table marks which keys may (the model settings below). An error names
 * the file and the line.
 */
#ifndef F8D_OPTIONS_H
#define F8D_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define F8D_DEFAULT_HOST "127.0.0.1"
#define F8D_DEFAULT_PORT 8080
#define F8D_DEFAULT_GRPC_PORT 8081
#define F8D_DEFAULT_GRPC_KEEPALIVE_TIME_MS 7200000u
#define F8D_DEFAULT_GRPC_KEEPALIVE_TIMEOUT_MS 20000u
#define F8D_DEFAULT_GRPC_MAX_STREAMS 100u
#define F8D_DEFAULT_MAX_BODY_BYTES (16u * 1024u * 1024u)
#define F8D_DEFAULT_MAX_PIXELS 40000000u
#define F8D_DEFAULT_MAX_CONNECTIONS 256u
#define F8D_DEFAULT_TIMEOUT_S 30u
#define F8D_DEFAULT_HEADER_TIMEOUT_S 10u
#define F8D_DEFAULT_BODY_TIMEOUT_S 20u
#define F8D_DEFAULT_BODY_MIN_RATE 500u
#define F8D_DEFAULT_MAX_BATCH_SIZE 16u
#define F8D_DEFAULT_MAX_QUEUE_DELAY_US 0u
#define F8D_DEFAULT_MAX_QUEUE 512u
#define F8D_DEFAULT_DRAIN_TIMEOUT_MS 10000u
#define F8D_MAX_THREADS 1024u
#define F8D_PATH_MAX 4096
#define F8D_MAX_MODEL_SECTIONS 32

/* What each model has its own value of: the global keys give every model's, a [model NAME]
 * section overrides some for NAME (f8d_options_model resolves them). */
/* The `execution` key's values. */
enum { F8D_EXECUTION_AUTO = 0, F8D_EXECUTION_LATENCY = 1, F8D_EXECUTION_THROUGHPUT = 2 };

struct f8d_model_settings {
    unsigned instances;            /* batches of the model running at once; 0 = every worker */
    unsigned engine_threads;       /* threads inside one f8_run; 0 = 1 */
    unsigned execution;            /* F8D_EXECUTION_*: how a batch uses the workers */
    unsigned max_batch_size;       /* images per f8_run */
    unsigned max_queue_delay_us;   /* how long the oldest queued image may wait for company */
    unsigned max_queue;            /* queued images per model; beyond: 503 + Retry-After */
    uint64_t max_pixels;           /* larger images (width*height, from the header): 422 */
};

/* A `[model NAME]` section of the config file. `set` has bit k for each key OPTS[k] of the
 * table (options.c) the section gives. */
struct f8d_model_section {
    char name[256];
    uint64_t set;
    struct f8d_model_settings settings;
};

struct f8d_options {
    char config[F8D_PATH_MAX];     /* --config FILE ("" = none) */
    char models_dir[F8D_PATH_MAX]; /* models (required) */
    char model_name[256];          /* serve the directory's one model under this name */
    char host[256];                /* host */
    unsigned port;                 /* port; 0 = any free port */
    unsigned grpc_port;            /* gRPC port on the same addresses; 0 = no gRPC */
    unsigned grpc_keepalive_time_ms;    /* pings on idle gRPC connections this often */
    unsigned grpc_keepalive_timeout_ms; /* ...and closes those that do not answer in this */
    unsigned grpc_max_streams;     /* concurrent calls per gRPC connection */
    unsigned threads;              /* worker threads; 0 = one per CPU this process may use */
    struct f8d_model_settings model; /* every model's, unless its [model] section says */
    uint64_t max_body_bytes;       /* larger bodies: 413 */
    unsigned max_connections;
    unsigned timeout_s;            /* idle connection timeout */
    unsigned header_timeout_s;     /* a request head must be complete this long after it began */
    unsigned body_timeout_s;       /* a body may take this long... */
    unsigned body_min_rate;        /* ...plus 1 s per this many bytes received (0: no extension) */
    unsigned drain_delay_ms;       /* SIGTERM: not ready but still accepting this long */
    unsigned drain_timeout_ms;     /* SIGTERM: then close connections still open after this */
    bool access_log;               /* one log line per request */
    char restricted_api[1024];     /* "HEADER:VALUE" the management calls need ("" = none) */
    char user[256];                /* started as root: run as this user once started */
    char tls_cert[F8D_PATH_MAX];   /* PEM certificate chain: HTTPS ("" = plain HTTP) */
    char tls_key[F8D_PATH_MAX];    /* its PEM private key (both or neither) */
    char cors_origin[256];         /* Access-Control-Allow-Origin on every answer ("" = none) */
    /* Filled by f8d_options_check from restricted_api: the header's name ("" = unrestricted)
     * and where its value starts in restricted_api (an offset: the struct is copied). */
    char restricted_header[128];
    unsigned restricted_value_at;
    struct f8d_model_section models[F8D_MAX_MODEL_SECTIONS]; /* [model NAME] sections */
    unsigned n_models;
};

/* Fills `opts` with the defaults. */
void f8d_options_defaults(struct f8d_options *opts);

/* Builds the settings from defaults, the config file, the environment (`envp`, NULL-ended
 * "NAME=value" strings; NULL = none) and argv (argv[0] is the program name). Flags take
 * "--flag value" and "--flag=value". Returns 0, 1 when --help/-h was given, 2 when
 * --default-config was, 3 when --version was (nothing else is checked), or -1 with a message
 * in err
 * ("f8d.conf:12: max_queue: ..."). */
int f8d_options_load(int argc, char **argv, char **envp, struct f8d_options *opts, char *err,
                     size_t errlen);

/* Checks what one key alone cannot (tls_cert and tls_key together, restricted_api's
 * HEADER:VALUE) and fills the fields
 * derived from them; f8d_options_load calls it last. Returns 0 or -1 with a message that never
 * quotes the restricted_api value. */
int f8d_options_check(struct f8d_options *opts, char *err, size_t errlen);

/* The value restricted_api requires ("" when unrestricted); valid after f8d_options_check. */
static inline const char *f8d_options_restricted_value(const struct f8d_options *opts)
{
    return opts->restricted_header[0] ? opts->restricted_api + opts->restricted_value_at : "";
}

/* Same without environment (kept for tests and callers that want flags only). */
int f8d_options_parse(int argc, char **argv, struct f8d_options *opts, char *err,
                      size_t errlen);

/* Reads a config file into opts (on top of what is there). Returns 0 or -1 with
 * "PATH:LINE: message" in err. */
int f8d_options_read_file(const char *path, struct f8d_options *opts, char *err, size_t errlen);

/* Sets one key by its config-file name ("max_queue"). Returns 0 or -1 with a message. */
int f8d_options_set(struct f8d_options *opts, const char *key, const char *value, char *err,
                    size_t errlen);

/* Writes the --help text (every flag, its default and its environment variable). */
void f8d_options_usage(FILE *out, const char *prog);

/* Writes a config file with every key, commented, at its default (config/f8d.conf). */
void f8d_options_write_defaults(FILE *out);

/* Model `name`'s settings: its [model name] section's keys over the global values. */
void f8d_options_model(const struct f8d_options *opts, const char *name,
                       struct f8d_model_settings *out);

#endif /* F8D_OPTIONS_H */
