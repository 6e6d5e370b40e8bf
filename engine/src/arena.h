/*
 * libf8 internal: the activation arena's layout for one model, one maximum batch and the
 * ops' plans (which ops run batched), computed once by f8_arena_plan (arena.c).
 */
#ifndef F8_ARENA_H
#define F8_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

typedef struct {
    size_t *value_offset; /* [num_values], offset of the value's region in image 0's part */
    size_t *image_bytes;  /* [num_values], bytes of one image of the value */
    size_t *stride;       /* [num_values], bytes from one image of the value to the next */
    uint8_t *local;       /* [num_values], 1: written and read only between two batched ops,
                             so an image-major thread keeps it in its first image's part for
                             all its images (the same cache lines, image after image) */
    size_t image_arena;   /* bytes of one image's part of the arena */
    size_t arena_size;    /* image_arena · max_batch */
} f8_arena_layout;

/* Lays out the values of `model` whose ops are planned in plans[num_ops] for batches of up to
 * max_batch. F8_OK, or F8_ENOMEM (allocation, or sizes past SIZE_MAX). On failure the layout
 * is freed. */
int f8_arena_plan(const f8_model *model, const f8_op_plan *plans, uint32_t max_batch,
                  f8_arena_layout *out);
void f8_arena_layout_free(f8_arena_layout *l);

#endif /* F8_ARENA_H */
