/*
 * libf8 internal: validating the op table of a .f8 model (docs/FORMAT.md §2.3, §3, §6), one
 * validator per op type (op_validate.c), and the few helpers it shares with loader.c, which
 * runs it over the op table.
 */
#ifndef F8_OP_VALIDATE_H
#define F8_OP_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "f8_internal.h"

#define F8_OP_ENTRY_SIZE 128u  /* bytes per op table entry */
#define F8_NO_VALUE 0xFFFFFFFFu /* "no value": input1 of a one-input op; an unwritten value */
#define F8_MIN_FL (-32)         /* fractional lengths lie in [F8_MIN_FL, F8_MAX_FL] */
#define F8_MAX_FL 32
#define F8_TERNARY_BITS 2u      /* weight_bits of an FGQ ternary op (docs/FORMAT.md §2.5) */
#define F8_DENSE_VERSION 2u     /* the first format version with the dense packing (§2.5) */

/* Where the op table is and what its ops may refer to, from the checked file header. */
typedef struct {
    uint64_t ops_offset;     /* the op table, inside the header region */
    uint64_t payload_offset; /* tensors lie in [payload_offset, file_size) */
    uint64_t file_size;
    uint32_t num_values;
    uint32_t version;        /* the file's format version (packing 1 needs 2) */
} f8_op_table;

/* Validates op i of m->data (m->values already parsed) and fills m->ops[i]'s desc and args:
 * the common part (type, flags, reserved bytes, value ids), then the validator of its type.
 * writer[num_values]: for each value the op that writes it, or F8_NO_VALUE; op i reads only
 * written values and marks its output. F8_OK, or F8_EFORMAT with a message naming the op,
 * "op 3 (CONV2D): ...". */
int f8_op_validate(f8_model *m, const f8_op_table *t, uint32_t i, uint32_t *writer, char *err,
                   size_t errlen);

/* ---- file reading helpers, shared by loader.c and op_validate.c ------------------------ */

/* Little-endian reads from the file's bytes. */
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* [off, off+len) inside [lo, hi), without overflow. */
static inline int in_range(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
    return off >= lo && off <= hi && len <= hi - off;
}

#endif /* F8_OP_VALIDATE_H */
