/*
 * The liveness arena planner. Every value gets a region of one image's part of the arena
 * (the arena holds max_batch such parts, so each image's activations are contiguous and
 * independent of the others'), reusing memory by liveness: a value lives from the op that
 * writes it to the last op that reads it, and a region whose value is dead is handed to the
 * next value that fits (best fit; otherwise the largest free region grows). An op's output
 * never shares a region with its inputs, because it is placed before they are released.
 * Value 0 (the input) is read straight from the caller's images and the output value is
 * written straight into the caller's logits, so neither needs a region.
 *
 * Values that live only between two batched ops ("local") take their regions from a pool of
 * their own: an image-major thread keeps them in the part of its first image for all its
 * images, so only that part's local regions are ever touched (ResNet-50 batch 16 on one
 * thread: peak RSS 93 → 57 MiB, 63 MiB since its last stage runs batched; MobileNet-V2 45 →
 * 16.5 MiB, as `f8 bench` reports VmHWM; docs/ENGINE.md §7).
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define NO_SLOT UINT32_MAX

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

void f8_arena_layout_free(f8_arena_layout *l)
{
    free(l->value_offset);
    free(l->image_bytes);
    free(l->stride);
    free(l->local);
    memset(l, 0, sizeof *l);
}

int f8_arena_plan(const f8_model *model, const f8_op_plan *plans, uint32_t max_batch,
                  f8_arena_layout *l)
{
    const uint32_t nv = model->info.num_values, nops = model->info.num_ops;
    const uint32_t output = model->output_value;
    memset(l, 0, sizeof *l);
    uint32_t *last_use = malloc(nv * sizeof *last_use);
    uint32_t *slot_of = malloc(nv * sizeof *slot_of);
    slot *slots = calloc(nv, sizeof *slots);   /* at most one slot per value */
    slot *pslots = calloc(nv, sizeof *pslots); /* the slots of values that are not local */
    uint32_t *stretch_of = calloc(nv, sizeof *stretch_of); /* of each value's writer */
    size_t *slot_offset = NULL;
    int rc = F8_ENOMEM;
    l->value_offset = calloc(nv, sizeof *l->value_offset);
    l->image_bytes = calloc(nv, sizeof *l->image_bytes);
    l->stride = calloc(nv, sizeof *l->stride);
    l->local = calloc(nv, 1);
    if (!last_use || !slot_of || !slots || !pslots || !stretch_of || !l->value_offset ||
        !l->image_bytes || !l->stride || !l->local)
        goto out;

    for (uint32_t v = 0; v < nv; v++) {
        l->image_bytes[v] = f8_value_elems(&model->values[v]) * f8_dtype_size(model->values[v].dtype);
        last_use[v] = 0;
        slot_of[v] = NO_SLOT;
    }
    /* Each op's values as planned (f8_plan_values): a CONV2D with a fused ADD reads the
     * ADD's other operand and writes the ADD's output, so both are alive while it runs; the
     * fused ADD reads and writes nothing, and the convolution's own output is never
     * written (no region). */
    for (uint32_t i = 0; i < nops; i++) {
        uint32_t in[2], o;
        f8_plan_values(model, plans, i, in, &o);
        if (o != F8_NO_VALUE)
            last_use[o] = i; /* a value nobody reads dies where it is written */
        for (int k = 0; k < 2; k++)
            if (in[k] != F8_NO_VALUE)
                last_use[in[k]] = i;
    }

    /* Local values: written by an op that is not batched and read only by such ops with no
     * batched op in between (the stretch an image-major thread runs image by image). The
     * others (inputs and outputs of batched ops, anything alive across one) are per image.
     * The two kinds get slots from separate pools, so a local value of one image never lands
     * on a per-image value of another. */
    for (uint32_t i = 0, stretch = 0; i < nops; i++) { /* stretch: batched ops before op i */
        const int batched = plans[i].batched;
        uint32_t ins[2], o;
        f8_plan_values(model, plans, i, ins, &o);
        for (int k = 0; k < 2; k++) /* read by a batched op, or written in an earlier stretch */
            if (ins[k] != F8_NO_VALUE && ins[k] != 0 && (batched || stretch_of[ins[k]] != stretch))
                l->local[ins[k]] = 0;
        if (o != F8_NO_VALUE) {
            l->local[o] = !batched && o != output;
            stretch_of[o] = stretch;
        }
        stretch += batched;
    }

    uint32_t num_slots = 0, num_pslots = 0;
    for (uint32_t i = 0; i < nops; i++) {
        uint32_t ins[3];
        f8_plan_values(model, plans, i, ins, &ins[2]);
        const uint32_t v = ins[2];
        if (v != F8_NO_VALUE && v != output) /* at most 2^33 bytes per image: no overflow */
            slot_of[v] = l->local[v] ? take_slot(slots, &num_slots, round64(l->image_bytes[v]))
                                     : take_slot(pslots, &num_pslots, round64(l->image_bytes[v]));
        for (int k = 0; k < 3; k++)
            if (ins[k] != F8_NO_VALUE && ins[k] != 0 && slot_of[ins[k]] != NO_SLOT &&
                last_use[ins[k]] == i)
                (l->local[ins[k]] ? slots : pslots)[slot_of[ins[k]]].busy = 0;
    }

    /* One image's part: the local slots, then the per-image ones. */
    size_t total = 0;
    slot_offset = malloc((num_slots + num_pslots ? num_slots + num_pslots : 1) *
                         sizeof *slot_offset);
    if (!slot_offset)
        goto out;
    for (uint32_t s = 0; s < num_slots + num_pslots; s++) {
        const size_t size = s < num_slots ? slots[s].size : pslots[s - num_slots].size;
        slot_offset[s] = total;
        if (size > SIZE_MAX - total)
            goto out;
        total += size;
    }
    /* The arena is max_batch copies of one image's regions: every image has its own, so
     * images may run through the ops independently (image-major threads). */
    for (uint32_t v = 0; v < nv; v++) {
        const uint32_t s = slot_of[v] == NO_SLOT ? NO_SLOT
                           : l->local[v]        ? slot_of[v]
                                                : num_slots + slot_of[v];
        l->value_offset[v] = s == NO_SLOT ? 0 : slot_offset[s];
        l->stride[v] = s == NO_SLOT ? l->image_bytes[v] : total;
    }
    l->image_arena = total;
    if (total > SIZE_MAX / max_batch)
        goto out;
    l->arena_size = total * max_batch;
    rc = F8_OK;
out:
    free(slot_offset);
    free(last_use);
    free(slot_of);
    free(slots);
    free(pslots);
    free(stretch_of);
    if (rc != F8_OK)
        f8_arena_layout_free(l);
    return rc;
}
