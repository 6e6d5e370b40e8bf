/*
 * Loading and validating a .f8 model (docs/FORMAT.md §2, §3, §6).
 *
 * The file is mmap'ed read-only (or copied to a 64-aligned heap buffer) and checked
 * completely before anything else looks at it: every offset and size is compared against the
 * file with overflow-free 64-bit arithmetic, so no later code, kernels included, can read
 * outside the bytes, whatever the file says. Every failure is F8_EFORMAT with a message that
 * names the op or field.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "f8_internal.h"
#include "op_validate.h"

#define HEADER_SIZE 128u
#define VALUE_ENTRY_SIZE 16u

static const char MAGIC[8] = {'F', '8', 'M', 'O', 'D', 'E', 'L', '\0'};

typedef struct {
    uint32_t version, flags;
    uint64_t file_size, payload_offset;
    uint32_t input_h, input_w, input_c, preprocess, num_classes;
    uint32_t num_values, num_ops, num_meta;
    uint64_t values_offset, ops_offset, meta_offset;
    uint32_t output_value;
} f8_header;

/* Where the metadata entries are, found by the first pass over them. */
typedef struct {
    uint64_t key_off, value_off;
    uint32_t key_len, value_len;
} meta_span;

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return F8_EFORMAT;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), and no NUL. */
static int valid_utf8_no_nul(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const uint8_t c = s[i];
        size_t len;
        uint32_t cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* ---- header ----------------------------------------------------------------------------- */

static int parse_header(const uint8_t *d, size_t size, f8_header *h, char *err, size_t errlen)
{
    if (size < sizeof MAGIC || memcmp(d, MAGIC, sizeof MAGIC) != 0)
        return fail(err, errlen, "bad magic: the file does not start with \"F8MODEL\\0\", "
                                 "it is not an .f8 model");
    if (size < HEADER_SIZE)
        return fail(err, errlen, "file is %zu bytes, smaller than the %u-byte header (truncated)",
                    size, HEADER_SIZE);

    h->version = rd32(d + 8);
    h->flags = rd32(d + 20);
    h->file_size = rd64(d + 24);
    h->payload_offset = rd64(d + 32);
    h->input_h = rd32(d + 40);
    h->input_w = rd32(d + 44);
    h->input_c = rd32(d + 48);
    h->preprocess = rd32(d + 52);
    h->num_classes = rd32(d + 56);
    h->num_values = rd32(d + 60);
    h->num_ops = rd32(d + 64);
    h->num_meta = rd32(d + 68);
    h->values_offset = rd64(d + 72);
    h->ops_offset = rd64(d + 80);
    h->meta_offset = rd64(d + 88);
    h->output_value = rd32(d + 96);

    if (h->version < F8_FORMAT_VERSION_MIN || h->version > F8_FORMAT_VERSION)
        return fail(err, errlen, "unsupported format version %" PRIu32 " (this engine reads "
                    "versions %d to %d)", h->version, F8_FORMAT_VERSION_MIN, F8_FORMAT_VERSION);
    if (h->file_size != size)
        return fail(err, errlen,
                    "header field file_size is %" PRIu64 " but the file has %zu bytes "
                    "(truncated or padded file)", h->file_size, size);
    if (h->payload_offset < HEADER_SIZE || h->payload_offset > size || h->payload_offset % 64)
        return fail(err, errlen,
                    "header field payload_offset %" PRIu64 " is invalid: it must be a multiple "
                    "of 64 in [%u, file_size %zu]", h->payload_offset, HEADER_SIZE, size);

    /* header_crc32 covers [0, payload_offset) with its own four bytes taken as zero. */
    static const uint8_t zero4[4] = {0, 0, 0, 0};
    uint32_t crc = f8_crc32(0, d, 12);
    crc = f8_crc32(crc, zero4, 4);
    crc = f8_crc32(crc, d + 16, (size_t)h->payload_offset - 16);
    if (crc != rd32(d + 12))
        return fail(err, errlen, "header CRC mismatch: header_crc32 is 0x%08" PRIx32
                    ", the header region's CRC-32 is 0x%08" PRIx32 " (corrupt file)",
                    rd32(d + 12), crc);
    crc = f8_crc32(0, d + h->payload_offset, size - (size_t)h->payload_offset);
    if (crc != rd32(d + 16))
        return fail(err, errlen, "payload CRC mismatch: payload_crc32 is 0x%08" PRIx32
                    ", the payload's CRC-32 is 0x%08" PRIx32 " (corrupt file)",
                    rd32(d + 16), crc);

    if (h->flags != 0)
        return fail(err, errlen, "header field flags is 0x%" PRIx32 ", must be 0", h->flags);
    if (!all_zero(d + 100, 28))
        return fail(err, errlen, "header reserved bytes [100, 128) must be zero");
    if (h->input_h == 0 || h->input_w == 0)
        return fail(err, errlen, "header input size %" PRIu32 "x%" PRIu32 " is empty",
                    h->input_h, h->input_w);
    if (h->input_c != 1 && h->input_c != 3)
        return fail(err, errlen, "header field input_c is %" PRIu32 ", must be 1 (grayscale) or 3 (RGB)",
                    h->input_c);
    if (h->preprocess != F8_PREPROCESS_DIRECT)
        return fail(err, errlen, "header field preprocess is %" PRIu32 ", unknown (only 1, direct, "
                    "is defined)", h->preprocess);
    if (h->num_classes == 0)
        return fail(err, errlen, "header field num_classes is 0");
    if (h->num_values < 2)
        return fail(err, errlen, "header field num_values is %" PRIu32 ", must be at least 2",
                    h->num_values);
    if (h->num_ops < 1)
        return fail(err, errlen, "header field num_ops is 0, must be at least 1");

    const uint64_t region = h->payload_offset;
    const uint64_t values_len = (uint64_t)h->num_values * VALUE_ENTRY_SIZE;
    const uint64_t ops_len = (uint64_t)h->num_ops * F8_OP_ENTRY_SIZE;
    if (h->values_offset % 8 || !in_range(h->values_offset, values_len, HEADER_SIZE, region))
        return fail(err, errlen, "value table (values_offset %" PRIu64 ", %" PRIu32 " entries) is "
                    "misaligned or outside the header region [%u, payload_offset %" PRIu64 ")",
                    h->values_offset, h->num_values, HEADER_SIZE, region);
    if (h->ops_offset % 8 || !in_range(h->ops_offset, ops_len, HEADER_SIZE, region))
        return fail(err, errlen, "op table (ops_offset %" PRIu64 ", %" PRIu32 " entries) is "
                    "misaligned or outside the header region [%u, payload_offset %" PRIu64 ")",
                    h->ops_offset, h->num_ops, HEADER_SIZE, region);
    if (h->values_offset < h->ops_offset + ops_len && h->ops_offset < h->values_offset + values_len)
        return fail(err, errlen, "value table and op table overlap");
    if (h->meta_offset % 4 || !in_range(h->meta_offset, 0, HEADER_SIZE, region))
        return fail(err, errlen, "metadata (meta_offset %" PRIu64 ") is misaligned or outside "
                    "the header region [%u, payload_offset %" PRIu64 ")", h->meta_offset,
                    HEADER_SIZE, region);
    return F8_OK;
}

/* ---- values ----------------------------------------------------------------------------- */

static int parse_values(f8_model *m, const f8_header *h, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < h->num_values; i++) {
        const uint8_t *p = m->data + h->values_offset + (uint64_t)i * VALUE_ENTRY_SIZE;
        f8_value_desc *v = &m->values[i];
        v->h = rd32(p);
        v->w = rd32(p + 4);
        v->c = rd32(p + 8);
        const uint8_t dtype = p[12];
        v->fl = (int8_t)p[13];
        if (v->h == 0 || v->w == 0 || v->c == 0)
            return fail(err, errlen, "value %" PRIu32 ": empty shape %" PRIu32 "x%" PRIu32 "x%" PRIu32,
                        i, v->h, v->w, v->c);
        const uint64_t hw = (uint64_t)v->h * v->w;
        if (hw > F8_MAX_VALUE_ELEMS || hw * v->c > F8_MAX_VALUE_ELEMS)
            return fail(err, errlen, "value %" PRIu32 ": shape %" PRIu32 "x%" PRIu32 "x%" PRIu32
                        " has more than 2^31 elements", i, v->h, v->w, v->c);
        if (dtype < F8_DTYPE_U8 || dtype > F8_DTYPE_S32)
            return fail(err, errlen, "value %" PRIu32 ": unknown dtype %u (1 u8, 2 s8, 3 s32)", i,
                        dtype);
        v->dtype = (f8_dtype)dtype;
        if (v->fl < F8_MIN_FL || v->fl > F8_MAX_FL)
            return fail(err, errlen, "value %" PRIu32 ": fl %d outside [-32, 32]", i, v->fl);
        v->bits = p[14];
        if (v->bits && (v->dtype == F8_DTYPE_S32 || v->bits < 2 || v->bits > 8))
            return fail(err, errlen, "value %" PRIu32 ": bits %" PRIu32 " not allowed (0, or 2-8 "
                        "for u8/s8 values)", i, v->bits);
        if (p[15])
            return fail(err, errlen, "value %" PRIu32 ": reserved byte 15 must be zero", i);
    }

    const f8_value_desc *in = &m->values[0];
    if (in->h != h->input_h || in->w != h->input_w || in->c != h->input_c ||
        in->dtype != F8_DTYPE_U8 || in->bits != 0)
        return fail(err, errlen, "value 0 (the input) is %" PRIu32 "x%" PRIu32 "x%" PRIu32 " %s, "
                    "expected %" PRIu32 "x%" PRIu32 "x%" PRIu32 " u8 (input_h x input_w x input_c)",
                    in->h, in->w, in->c, f8_dtype_name(in->dtype), h->input_h, h->input_w,
                    h->input_c);
    if (h->output_value >= h->num_values)
        return fail(err, errlen, "header field output_value %" PRIu32 ": value id out of range "
                    "(num_values %" PRIu32 ")", h->output_value, h->num_values);
    const f8_value_desc *out = &m->values[h->output_value];
    if (out->h != 1 || out->w != 1 || out->c != h->num_classes || out->dtype != F8_DTYPE_S32)
        return fail(err, errlen, "output value %" PRIu32 " is %" PRIu32 "x%" PRIu32 "x%" PRIu32
                    " %s, expected 1x1x%" PRIu32 " s32 (num_classes logits)", h->output_value,
                    out->h, out->w, out->c, f8_dtype_name(out->dtype), h->num_classes);
    return F8_OK;
}

/* ---- metadata --------------------------------------------------------------------------- */

static int parse_meta(f8_model *m, const f8_header *h, char *err, size_t errlen)
{
    const uint64_t region = h->payload_offset;
    const uint32_t n = h->num_meta;
    uint64_t pos = h->meta_offset;

    /* Each entry takes at least 8 bytes: bound the count before allocating for it. */
    if ((uint64_t)n * 8 > region - pos)
        return fail(err, errlen, "num_meta %" PRIu32 ": the metadata cannot fit in the header region",
                    n);
    meta_span *spans = calloc(n ? n : 1, sizeof *spans);
    if (!spans)
        return F8_ENOMEM;

    int rc = F8_OK;
    uint64_t string_bytes = 0;
    int32_t labels_entry = -1, name_entry = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!in_range(pos, 8, h->meta_offset, region)) {
            rc = fail(err, errlen, "metadata entry %" PRIu32 ": runs past the header region", i);
            goto out;
        }
        const uint32_t klen = rd32(m->data + pos), vlen = rd32(m->data + pos + 4);
        const uint64_t end = pos + 8 + (uint64_t)klen + vlen; /* < 2^63: no overflow */
        const uint64_t padded = (end + 3) & ~(uint64_t)3;
        if (padded > region) {
            rc = fail(err, errlen, "metadata entry %" PRIu32 ": key/value lengths %" PRIu32 "/%" PRIu32
                      " run past the header region", i, klen, vlen);
            goto out;
        }
        spans[i] = (meta_span){pos + 8, pos + 8 + klen, klen, vlen};
        if (!valid_utf8_no_nul(m->data + spans[i].key_off, klen) ||
            !valid_utf8_no_nul(m->data + spans[i].value_off, vlen)) {
            rc = fail(err, errlen, "metadata entry %" PRIu32 ": key or value is not UTF-8 without NUL",
                      i);
            goto out;
        }
        const char *key = (const char *)m->data + spans[i].key_off;
        if (klen == 6 && memcmp(key, "labels", 6) == 0 && labels_entry < 0)
            labels_entry = (int32_t)i;
        if (klen == 4 && memcmp(key, "name", 4) == 0 && name_entry < 0)
            name_entry = (int32_t)i;
        string_bytes += (uint64_t)klen + vlen + 2;
        pos = padded;
    }
    /* The metadata must not overlap the two tables. */
    const uint64_t values_end = h->values_offset + (uint64_t)h->num_values * VALUE_ENTRY_SIZE;
    const uint64_t ops_end = h->ops_offset + (uint64_t)h->num_ops * F8_OP_ENTRY_SIZE;
    if (pos > h->meta_offset && ((h->meta_offset < values_end && h->values_offset < pos) ||
                                 (h->meta_offset < ops_end && h->ops_offset < pos))) {
        rc = fail(err, errlen, "metadata [%" PRIu64 ", %" PRIu64 ") overlaps the value or op table",
                  h->meta_offset, pos);
        goto out;
    }
    if (name_entry < 0) {
        rc = fail(err, errlen, "required metadata \"name\" is missing");
        goto out;
    }
    if (labels_entry < 0) {
        rc = fail(err, errlen, "required metadata \"labels\" is missing");
        goto out;
    }
    const meta_span *ls = &spans[labels_entry];
    uint64_t count = 1;
    for (uint32_t k = 0; k < ls->value_len; k++)
        count += m->data[ls->value_off + k] == '\n';
    if (count != h->num_classes) {
        rc = fail(err, errlen, "metadata \"labels\" holds %" PRIu64 " labels, expected num_classes = %"
                  PRIu32, count, h->num_classes);
        goto out;
    }

    /* Second pass: NUL-terminated copies, then the labels split on '\n'. */
    m->num_meta = n;
    m->strings = malloc((size_t)string_bytes + ls->value_len + 1);
    m->meta_keys = calloc(n ? n : 1, sizeof *m->meta_keys);
    m->meta_values = calloc(n ? n : 1, sizeof *m->meta_values);
    m->labels = calloc(h->num_classes, sizeof *m->labels);
    if (!m->strings || !m->meta_keys || !m->meta_values || !m->labels) {
        rc = F8_ENOMEM;
        goto out;
    }
    char *s = m->strings;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(s, m->data + spans[i].key_off, spans[i].key_len);
        s[spans[i].key_len] = '\0';
        m->meta_keys[i] = s;
        s += spans[i].key_len + 1;
        memcpy(s, m->data + spans[i].value_off, spans[i].value_len);
        s[spans[i].value_len] = '\0';
        m->meta_values[i] = s;
        s += spans[i].value_len + 1;
    }
    m->info.name = m->meta_values[name_entry];
    memcpy(s, m->data + ls->value_off, ls->value_len);
    s[ls->value_len] = '\0';
    uint32_t label = 0;
    m->labels[label++] = s;
    for (uint32_t k = 0; k < ls->value_len; k++) {
        if (s[k] == '\n') {
            s[k] = '\0';
            m->labels[label++] = s + k + 1;
        }
    }
out:
    free(spans);
    return rc;
}

/* ---- ops -------------------------------------------------------------------------------- */

/* Every op by its type's validator (op_validate.c), then every value but the input written. */
static int parse_ops(f8_model *m, const f8_header *h, char *err, size_t errlen)
{
    const f8_op_table t = {h->ops_offset, h->payload_offset, h->file_size, h->num_values,
                           h->version};
    uint32_t *writer = malloc((size_t)h->num_values * sizeof *writer);
    if (!writer)
        return F8_ENOMEM;
    for (uint32_t v = 0; v < h->num_values; v++)
        writer[v] = F8_NO_VALUE;
    int rc = F8_OK;
    for (uint32_t i = 0; i < h->num_ops && rc == F8_OK; i++)
        rc = f8_op_validate(m, &t, i, writer, err, errlen);
    for (uint32_t v = 1; v < h->num_values && rc == F8_OK; v++)
        if (writer[v] == F8_NO_VALUE)
            rc = fail(err, errlen, "value %" PRIu32 " is never written by any op%s", v,
                      v == h->output_value ? " (it is the output value)" : "");
    free(writer);
    return rc;
}

/* ---- open / close ----------------------------------------------------------------------- */

static int model_init(f8_model *m, char *err, size_t errlen)
{
    f8_header h = {0}; /* all set by parse_header; zeroed for gcc -Wmaybe-uninitialized */
    int rc = parse_header(m->data, m->size, &h, err, errlen);
    if (rc)
        return rc;
    m->info.input_h = h.input_h;
    m->info.input_w = h.input_w;
    m->info.input_c = h.input_c;
    m->info.preprocess = h.preprocess;
    m->info.num_classes = h.num_classes;
    m->info.num_ops = h.num_ops;
    m->info.num_values = h.num_values;
    m->info.file_size = h.file_size;
    m->output_value = h.output_value;

    /* Table sizes are bounded by the file size (checked in parse_header). */
    m->values = calloc(h.num_values, sizeof *m->values);
    m->ops = calloc(h.num_ops, sizeof *m->ops);
    if (!m->values || !m->ops)
        return F8_ENOMEM;
    if ((rc = parse_values(m, &h, err, errlen)) || (rc = parse_meta(m, &h, err, errlen)) ||
        (rc = parse_ops(m, &h, err, errlen)))
        return rc;
    m->info.input_fl = m->values[0].fl;
    m->info.output_fl = m->values[h.output_value].fl;
    size_t zero = 64;
    for (uint32_t i = 0; i < h.num_ops; i++) {
        if ((rc = f8_pack_op(&m->ops[i].args, m->ops[i].desc.type, &m->ops[i].pk)))
            return rc;
        if (m->ops[i].pk.seg4 + (size_t)64 > zero)
            zero = m->ops[i].pk.seg4 + (size_t)64;
    }
    m->zero = calloc(1, zero);
    return m->zero ? F8_OK : F8_ENOMEM;
}

static void model_free(f8_model *m)
{
    if (!m)
        return;
    if (m->data) {
        if (m->mapped)
            munmap((void *)m->data, m->size);
        else
            free((void *)m->data);
    }
    free(m->values);
    if (m->ops)
        for (uint32_t i = 0; i < m->info.num_ops; i++)
            f8_pack_free(&m->ops[i].pk);
    free(m->ops);
    free(m->zero);
    free(m->meta_keys);
    free(m->meta_values);
    free(m->labels);
    free(m->strings);
    free(m);
}

static int finish_open(f8_model *m, f8_model **out, char *err, size_t errlen)
{
    int rc = model_init(m, err, errlen);
    if (rc) {
        if (rc == F8_ENOMEM && err && errlen)
            snprintf(err, errlen, "out of memory while loading the model");
        model_free(m);
        return rc;
    }
    if (err && errlen)
        err[0] = '\0';
    *out = m;
    return F8_OK;
}

int f8_model_open(const char *path, f8_model **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!path || !out) {
        if (err && errlen)
            snprintf(err, errlen, "f8_model_open: null argument");
        return F8_EINVAL;
    }
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return F8_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "cannot stat %s: %s", path, strerror(e));
        close(fd);
        return F8_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read %s: not a regular file", path);
        close(fd);
        return F8_EIO;
    }
    if (st.st_size < (off_t)HEADER_SIZE) {
        /* Too small to be a model (and an empty file cannot be mapped): read what is there so
         * that the message says whether it even starts like one. */
        uint8_t small[HEADER_SIZE];
        const ssize_t n = read(fd, small, sizeof small);
        close(fd);
        if (n < 0) {
            if (err && errlen)
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            return F8_EIO;
        }
        return f8_model_open_buffer(small, (size_t)n, out, err, errlen);
    }
    if ((unsigned long long)st.st_size > SIZE_MAX) {
        close(fd);
        return fail(err, errlen, "%s is too large", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    close(fd);
    if (p == MAP_FAILED) {
        if (err && errlen)
            snprintf(err, errlen, "cannot map %s: %s", path, strerror(map_errno));
        return F8_EIO;
    }
    f8_model *m = calloc(1, sizeof *m);
    if (!m) {
        munmap(p, (size_t)st.st_size);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return F8_ENOMEM;
    }
    m->data = p;
    m->size = (size_t)st.st_size;
    m->mapped = 1;
    int rc = finish_open(m, out, err, errlen);
    /* Validation read every page and the kernels now use the weights packed at open, so the
     * file's pages would only double the model's resident memory: drop them. They are clean
     * pages of a read-only private mapping, read back from the file (page cache) if anything
     * touches them again (the scalar path, bias and FL arrays). */
    if (rc == F8_OK)
        madvise(p, (size_t)st.st_size, MADV_DONTNEED);
    return rc;
}

int f8_model_open_buffer(const void *data, size_t size, f8_model **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!out || (!data && size)) {
        if (err && errlen)
            snprintf(err, errlen, "f8_model_open_buffer: null argument");
        return F8_EINVAL;
    }
    f8_model *m = calloc(1, sizeof *m);
    void *copy = NULL;
    /* 64-aligned so that tensors, 64-aligned in the file, are 64-aligned in memory. */
    if (!m || posix_memalign(&copy, 64, size ? size : 1) != 0) {
        free(m);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return F8_ENOMEM;
    }
    if (size)
        memcpy(copy, data, size);
    m->data = copy;
    m->size = size;
    return finish_open(m, out, err, errlen);
}

void f8_model_close(f8_model *model)
{
    model_free(model);
}

/* ---- accessors -------------------------------------------------------------------------- */

const f8_model_info *f8_model_get_info(const f8_model *model)
{
    return model ? &model->info : NULL;
}

const char *f8_model_label(const f8_model *model, uint32_t i)
{
    return model && i < model->info.num_classes ? model->labels[i] : NULL;
}

uint32_t f8_model_meta_count(const f8_model *model)
{
    return model ? model->num_meta : 0;
}

int f8_model_meta_get(const f8_model *model, uint32_t i, const char **key, const char **value)
{
    if (!model)
        return F8_EINVAL;
    if (i >= model->num_meta)
        return F8_ERANGE;
    if (key)
        *key = model->meta_keys[i];
    if (value)
        *value = model->meta_values[i];
    return F8_OK;
}

const char *f8_model_meta_find(const f8_model *model, const char *key)
{
    if (!model || !key)
        return NULL;
    for (uint32_t i = 0; i < model->num_meta; i++)
        if (strcmp(model->meta_keys[i], key) == 0)
            return model->meta_values[i];
    return NULL;
}

int f8_model_op(const f8_model *model, uint32_t i, f8_op_desc *out)
{
    if (!model || !out)
        return F8_EINVAL;
    if (i >= model->info.num_ops)
        return F8_ERANGE;
    *out = model->ops[i].desc;
    return F8_OK;
}

int f8_model_value(const f8_model *model, uint32_t i, f8_value_desc *out)
{
    if (!model || !out)
        return F8_EINVAL;
    if (i >= model->info.num_values)
        return F8_ERANGE;
    *out = model->values[i];
    return F8_OK;
}
