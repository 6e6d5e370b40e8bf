/*
 * The runner: activation buffers for one model and one maximum batch, and the op loop.
 *
 * Planning (f8_runner_create) gives every value a region of one arena, reusing memory by
 * liveness: a value lives from the op that writes it to the last op that reads it, and a
 * region whose value is dead is handed to the next value that fits (best fit; otherwise the
 * largest free region grows). An op's output never shares a region with its inputs, because
 * it is placed before they are released. Value 0 (the input) is read straight from the
 * caller's images and the output value is written straight into the caller's logits, so
 * neither needs a region.
 *
 * f8_run allocates nothing: it points each value at its region and calls the kernels, one
 * image at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "f8_internal.h"

#define NO_SLOT UINT32_MAX

struct f8_runner {
    const f8_model *model;
    uint32_t max_batch;
    uint8_t *arena;
    size_t arena_size;
    size_t *value_offset;    /* [num_values], offset of the value's region in the arena */
    size_t *image_bytes;     /* [num_values], bytes of one image of the value */
    const uint8_t **value_ptr; /* [num_values], filled by f8_run */
};

typedef struct {
    size_t size;
    int busy;
} slot;

static size_t round64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Picks a free slot for `need` bytes: the smallest free one that fits, or else the largest
 * free one (grown), or else a new one. */
static uint32_t take_slot(slot *slots, uint32_t *num_slots, size_t need)
{
    uint32_t fit = NO_SLOT, largest = NO_SLOT;
    for (uint32_t s = 0; s < *num_slots; s++) {
        if (slots[s].busy)
            continue;
        if (slots[s].size >= need && (fit == NO_SLOT || slots[s].size < slots[fit].size))
            fit = s;
        if (largest == NO_SLOT || slots[s].size > slots[largest].size)
            largest = s;
    }
    uint32_t s = fit != NO_SLOT ? fit : largest;
    if (s == NO_SLOT)
        s = (*num_slots)++;
    if (slots[s].size < need)
        slots[s].size = need;
    slots[s].busy = 1;
    return s;
}

int f8_runner_create(const f8_model *model, uint32_t max_batch, f8_runner **out)
{
    if (out)
        *out = NULL;
    if (!model || !out || max_batch == 0)
        return F8_EINVAL;

    const uint32_t nv = model->info.num_values, nops = model->info.num_ops;
    const uint32_t output = model->output_value;
    f8_runner *r = calloc(1, sizeof *r);
    uint32_t *last_use = malloc(nv * sizeof *last_use);
    uint32_t *slot_of = malloc(nv * sizeof *slot_of);
    slot *slots = calloc(nv, sizeof *slots); /* at most one slot per value */
    size_t *slot_offset = NULL;
    int rc = F8_ENOMEM;
    if (!r || !last_use || !slot_of || !slots)
        goto out;
    r->model = model;
    r->max_batch = max_batch;
    r->value_offset = calloc(nv, sizeof *r->value_offset);
    r->image_bytes = calloc(nv, sizeof *r->image_bytes);
    r->value_ptr = calloc(nv, sizeof *r->value_ptr);
    if (!r->value_offset || !r->image_bytes || !r->value_ptr)
        goto out;

    for (uint32_t v = 0; v < nv; v++) {
        r->image_bytes[v] = f8_value_elems(&model->values[v]) * f8_dtype_size(model->values[v].dtype);
        last_use[v] = 0;
        slot_of[v] = NO_SLOT;
    }
    for (uint32_t i = 0; i < nops; i++) {
        const f8_op_desc *d = &model->ops[i].desc;
        last_use[d->output] = i; /* a value nobody reads dies where it is written */
        last_use[d->input0] = i;
        if (d->type == F8_OP_ADD)
            last_use[d->input1] = i;
    }

    uint32_t num_slots = 0;
    for (uint32_t i = 0; i < nops; i++) {
        const f8_op_desc *d = &model->ops[i].desc;
        const uint32_t v = d->output;
        if (v != output) {
            /* Bytes for max_batch images; the values are at most 2^33 bytes per image, so
             * only a huge max_batch can overflow. */
            if (r->image_bytes[v] > (SIZE_MAX - 63) / max_batch) {
                rc = F8_ENOMEM;
                goto out;
            }
            slot_of[v] = take_slot(slots, &num_slots, round64(r->image_bytes[v] * max_batch));
        }
        const uint32_t ins[3] = {d->input0, d->type == F8_OP_ADD ? d->input1 : 0, v};
        for (int k = 0; k < 3; k++)
            if (ins[k] != 0 && slot_of[ins[k]] != NO_SLOT && last_use[ins[k]] == i)
                slots[slot_of[ins[k]]].busy = 0;
    }

    size_t total = 0;
    slot_offset = malloc((num_slots ? num_slots : 1) * sizeof *slot_offset);
    if (!slot_offset)
        goto out;
    for (uint32_t s = 0; s < num_slots; s++) {
        slot_offset[s] = total;
        if (slots[s].size > SIZE_MAX - total) {
            rc = F8_ENOMEM;
            goto out;
        }
        total += slots[s].size;
    }
    for (uint32_t v = 0; v < nv; v++)
        r->value_offset[v] = slot_of[v] == NO_SLOT ? 0 : slot_offset[slot_of[v]];
    r->arena_size = total;
    if (total && posix_memalign((void **)&r->arena, 64, total) != 0) {
        r->arena = NULL;
        goto out;
    }
    rc = F8_OK;
out:
    free(slot_offset);
    free(last_use);
    free(slot_of);
    free(slots);
    if (rc != F8_OK) {
        f8_runner_destroy(r);
        return rc;
    }
    *out = r;
    return F8_OK;
}

void f8_runner_destroy(f8_runner *runner)
{
    if (!runner)
        return;
    free(runner->arena);
    free(runner->value_offset);
    free(runner->image_bytes);
    free(runner->value_ptr);
    free(runner);
}

int f8_run(f8_runner *runner, const uint8_t *images, uint32_t batch, int32_t *logits)
{
    if (!runner || batch > runner->max_batch)
        return F8_EINVAL;
    if (batch == 0)
        return F8_OK;
    if (!images || !logits)
        return F8_EINVAL;

    const f8_model *m = runner->model;
    const uint32_t nv = m->info.num_values;
    for (uint32_t v = 0; v < nv; v++)
        runner->value_ptr[v] = runner->arena + runner->value_offset[v];
    runner->value_ptr[0] = images;
    runner->value_ptr[m->output_value] = (const uint8_t *)logits;

    for (uint32_t i = 0; i < m->info.num_ops; i++) {
        const f8_op_impl *op = &m->ops[i];
        const f8_op_desc *d = &op->desc;
        const size_t in0_bytes = runner->image_bytes[d->input0];
        const size_t out_bytes = runner->image_bytes[d->output];
        const uint8_t *in0 = runner->value_ptr[d->input0];
        /* Output regions are never const: value 0 cannot be an op's output. */
        uint8_t *out = (uint8_t *)(uintptr_t)runner->value_ptr[d->output];
        for (uint32_t b = 0; b < batch; b++) {
            const void *x = in0 + b * in0_bytes;
            void *y = out + b * out_bytes;
            switch (d->type) {
            case F8_OP_CONV2D: f8_conv2d_scalar(&op->args, x, y); break;
            case F8_OP_DENSE: f8_dense_scalar(&op->args, x, y); break;
            case F8_OP_ADD:
                f8_add_scalar(&op->args, x,
                              runner->value_ptr[d->input1] + b * runner->image_bytes[d->input1], y);
                break;
            case F8_OP_MAXPOOL: f8_maxpool_scalar(&op->args, x, y); break;
            case F8_OP_AVGPOOL: f8_avgpool_scalar(&op->args, x, y); break;
            }
        }
    }
    return F8_OK;
}
