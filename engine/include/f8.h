/*
 * libf8: the f8serve integer inference engine. This header is its whole contract.
 *
 * Images in (u8 pixels, NHWC), integers out (s32 logits with a fractional length).
 * The engine knows nothing of HTTP, JPEG or event loops. The arithmetic it performs is
 * specified in docs/FORMAT.md; the trainer's simulator follows the same text bit for bit.
 *
 * Ownership and threads:
 *  - An f8_model is immutable once opened and may be shared by any number of threads. Its
 *    weights are packed once, at open, into the layout the SIMD kernels read.
 *  - An f8_runner holds the activation buffers planned for one model and one maximum batch
 *    size, and (with threads > 1) its own thread pool that splits each f8_run; it is used by
 *    one thread at a time. Make one runner per worker thread.
 *  - Every function returns 0 or a negative F8_E* code; f8_strerror() names it. Functions
 *    that can fail for a reason worth explaining also fill a caller-provided message buffer.
 */
#ifndef F8_H
#define F8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define F8_VERSION_MAJOR 0
#define F8_VERSION_MINOR 1
/* Model file versions this libf8 reads: 1, and 2 (1 plus the dense ternary packing,
 * docs/FORMAT.md §2.5). A writer writes the lowest version that holds its file. */
#define F8_FORMAT_VERSION 2
#define F8_FORMAT_VERSION_MIN 1

/* Error codes (negative). */
enum {
    F8_OK = 0,
    F8_EIO = -1,       /* the file could not be opened, read or mapped */
    F8_EFORMAT = -2,   /* the file is not a valid .f8 model (the message says why) */
    F8_ENOMEM = -3,    /* an allocation failed */
    F8_EINVAL = -4,    /* a bad argument (null pointer, batch too large, ...) */
    F8_ERANGE = -5     /* an index out of range */
};

/* Value data types, as in docs/FORMAT.md §1. */
typedef enum { F8_DTYPE_U8 = 1, F8_DTYPE_S8 = 2, F8_DTYPE_S32 = 3 } f8_dtype;

/* Operation types, as in docs/FORMAT.md §2.3. */
typedef enum {
    F8_OP_CONV2D = 1,
    F8_OP_DENSE = 2,
    F8_OP_ADD = 3,
    F8_OP_MAXPOOL = 4,
    F8_OP_AVGPOOL = 5
} f8_op_type;

/* Preprocessing codes, docs/FORMAT.md §4. */
enum { F8_PREPROCESS_DIRECT = 1 };

typedef struct f8_model f8_model;
typedef struct f8_runner f8_runner;

/* What a caller needs to feed the model and read its answer. Pointers stay valid while
 * the model is open. */
typedef struct {
    const char *name;         /* metadata "name" (NUL-terminated copy) */
    uint32_t input_h, input_w, input_c;
    uint32_t preprocess;      /* F8_PREPROCESS_* */
    int input_fl;             /* fractional length of the input pixels (8: pixel/256) */
    uint32_t num_classes;
    int output_fl;            /* fractional length of the s32 logits */
    uint32_t num_ops;
    uint32_t num_values;
    uint64_t file_size;
} f8_model_info;

/* One operation, for `f8 info` and tests. */
typedef struct {
    f8_op_type type;
    int relu;
    uint32_t input0, input1, output; /* value ids; input1 = UINT32_MAX if none */
    uint32_t kernel_h, kernel_w, stride_h, stride_w;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    uint32_t groups;
    uint32_t weight_bits;     /* 8 (s8), 2 (FGQ ternary, docs/FORMAT.md §2.5), 0 (no weights) */
    uint32_t avg_shift;
    uint64_t macs;            /* multiply-accumulates per image */
    uint32_t group_size;      /* ternary ops: weights per alpha (N), else 0 */
    uint32_t packing;         /* ternary ops: 0 2-bit codes + u8 alphas, 1 dense (base-3 codes,
                                 7-bit alphas), docs/FORMAT.md §2.5; else 0 */
} f8_op_desc;

typedef struct {
    uint32_t h, w, c;
    f8_dtype dtype;
    int fl;
    uint32_t bits; /* word length of a u8/s8 value, 2-8 (4: 4-bit activations), or 0 for the
                      dtype's full width (docs/FORMAT.md §2.2) */
} f8_value_desc;

/* Message buffers passed to f8 functions should have at least this many bytes. */
#define F8_ERRMSG_SIZE 256

/* Opens, maps and fully validates a model file. On failure returns F8_EIO or F8_EFORMAT,
 * writes a message (NUL-terminated, at most errlen bytes) saying what is wrong, and sets
 * *out to NULL. */
int f8_model_open(const char *path, f8_model **out, char *err, size_t errlen);

/* Same from a caller's buffer (copied; the caller keeps ownership of `data`). */
int f8_model_open_buffer(const void *data, size_t size, f8_model **out, char *err,
                         size_t errlen);

void f8_model_close(f8_model *model);

const f8_model_info *f8_model_get_info(const f8_model *model);

/* Label of class i (NUL-terminated), or NULL if i is out of range. */
const char *f8_model_label(const f8_model *model, uint32_t i);

/* Metadata entries in file order (NUL-terminated copies). */
uint32_t f8_model_meta_count(const f8_model *model);
int f8_model_meta_get(const f8_model *model, uint32_t i, const char **key, const char **value);
/* Value of a metadata key, or NULL. */
const char *f8_model_meta_find(const f8_model *model, const char *key);

int f8_model_op(const f8_model *model, uint32_t i, f8_op_desc *out);
int f8_model_value(const f8_model *model, uint32_t i, f8_value_desc *out);

/* Kernel paths (instruction sets). Every path computes bit-identical results; they differ
 * only in speed. F8_ISA_AUTO picks the best one the CPU supports (cpuid), unless the
 * environment variable F8_ISA (scalar, avx2, avx512vnni) names another. */
typedef enum {
    F8_ISA_AUTO = 0,
    F8_ISA_SCALAR = 1,     /* the reference kernels: plain C */
    F8_ISA_AVX2 = 2,       /* AVX2 (no VNNI needed) */
    F8_ISA_AVX512VNNI = 3  /* AVX-512 F/BW/VL + VNNI (vpdpbusd) */
} f8_isa;

/* The best path this CPU supports (never F8_ISA_AUTO). Ignores F8_ISA. */
f8_isa f8_isa_best(void);
/* 1 if the CPU (and OS) support the path, else 0. SCALAR is always supported. */
int f8_isa_supported(f8_isa isa);
/* "scalar", "avx2", "avx512vnni" ("auto" for F8_ISA_AUTO), or NULL if unknown. */
const char *f8_isa_name(f8_isa isa);
/* Parses a name of f8_isa_name (case-sensitive); returns 0 and sets *out, or F8_EINVAL. */
int f8_isa_parse(const char *name, f8_isa *out);

typedef struct {
    uint32_t threads; /* worker threads inside one f8_run, the caller's included; 0 = 1 */
    f8_isa isa;       /* F8_ISA_AUTO: cpuid, or the F8_ISA environment variable */
    int lend_arena;   /* 1: the runner allocates no arena; the caller lends one with
                         f8_runner_set_arena before f8_run (one thread can then keep one arena
                         for the runners of many models, used one at a time) */
} f8_runner_options;

/* Plans buffers for batches of up to max_batch images: one thread, F8_ISA_AUTO. */
int f8_runner_create(const f8_model *model, uint32_t max_batch, f8_runner **out);
/* Same with options (NULL = defaults). Fails with F8_EINVAL if the path asked for (or named
 * by F8_ISA) is unknown or unsupported by this CPU, F8_ENOMEM if threads cannot start. */
int f8_runner_create_opts(const f8_model *model, uint32_t max_batch,
                          const f8_runner_options *opts, f8_runner **out);
void f8_runner_destroy(f8_runner *runner);
/* The path and thread count the runner uses. */
f8_isa f8_runner_isa(const f8_runner *runner);
uint32_t f8_runner_threads(const f8_runner *runner);
/* Bytes of activation memory the runner planned (the arena), for reports. */
size_t f8_runner_arena_bytes(const f8_runner *runner);
/* Lends a runner created with lend_arena its arena: at least f8_runner_arena_bytes bytes,
 * 64-byte aligned, owned by the caller, used by nothing else while f8_run runs (several
 * runners may share it when one thread runs them one after another). F8_EINVAL otherwise,
 * or if the runner owns its arena. f8_run on a lending runner with none lent: F8_EINVAL. */
int f8_runner_set_arena(f8_runner *runner, void *arena, size_t size);

/* The kernel the runner chose for op i (its path and the op's shape decide; the kernel table
 * in docs/ENGINE.md lists the rows): *kernel is the kernel function's name, e.g.
 * "f8_conv2d_nhwc_6x64c4_avx512vnni" or "f8_add_scalar"; *tile (if tile is not NULL) the
 * name of the register tile a GEMM on the AVX-512 path runs for its full 6x64 tiles (which
 * depends on its epilogue), else NULL. An ADD that runs in the epilogue of the convolution
 * before it (docs/ENGINE.md §5) reads "(fused into the CONV2D before it)", tile NULL.
 * Strings are static. F8_ERANGE if i >= num_ops. */
int f8_runner_op_kernel(const f8_runner *runner, uint32_t i, const char **kernel,
                        const char **tile);

/* Splitting one image over threads pays only when it takes at least this long on one thread:
 * below it, handing the work out and the barriers between layers cost about what the other
 * CPUs save. f8d's `execution = auto` runs a lone request on every worker's CPU from here on. */
#define F8_SPLIT_MIN_IMAGE_NS 1000000u

/* Runs `batch` images (each input_h*input_w*input_c u8, NHWC, images back to back) and writes
 * batch*num_classes s32 logits (image-major). Allocates nothing. */
int f8_run(f8_runner *runner, const uint8_t *images, uint32_t batch, int32_t *logits);

/* Times one image (f8_run of batch 1) through the runner: the faster of two runs, the first
 * paying for cold caches. Compared with F8_SPLIT_MIN_IMAGE_NS by f8d's warm-up and by
 * `f8 info --plan`. F8_OK and *ns, or f8_run's error. */
int f8_runner_time_image(f8_runner *runner, const uint8_t *image, int32_t *logits,
                         uint64_t *ns);

/* f8_run that also adds each op's time in nanoseconds to op_ns[0 .. num_ops-1]: with one
 * thread its CPU time, with more the wall time the calling thread sees (it waits for the
 * others). For profiling; allocates nothing. */
int f8_run_profiled(f8_runner *runner, const uint8_t *images, uint32_t batch, int32_t *logits,
                    uint64_t *op_ns);

/* Bilinear resize of an 8-bit image, exactly as docs/FORMAT.md §4 specifies. */
int f8_image_resize(const uint8_t *src, uint32_t src_h, uint32_t src_w, uint32_t channels,
                    uint8_t *dst, uint32_t dst_h, uint32_t dst_w);

/* Indices of the k largest logits, best first; ties go to the lower index. k is capped at n.
 * Returns the number written. */
uint32_t f8_top_k(const int32_t *logits, uint32_t n, uint32_t k, uint32_t *indices);

/* Softmax of n logits of fractional length fl (logit i is logits[i] / 2^fl) into probs[n],
 * in double precision, subtracting the largest logit first so that no exp() overflows; the
 * probabilities sum to 1 (up to rounding). For reports only: the engine's answer is the
 * integer logits. n = 0 writes nothing. */
void f8_softmax(const int32_t *logits, uint32_t n, int fl, double *probs);

const char *f8_strerror(int err);
const char *f8_op_type_name(f8_op_type type);
const char *f8_dtype_name(f8_dtype dtype);

#ifdef __cplusplus
}
#endif

#endif /* F8_H */
