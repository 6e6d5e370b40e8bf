/* f8d inference requests: the parts every protocol shares (infer_spec.h). */
#include "infer_spec.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int f8d_output_named(const char *name, uint32_t k, bool binary, struct f8d_output *out)
{
    if (strcmp(name, "logits") == 0)
        *out = (struct f8d_output){F8D_OUT_LOGITS, "logits", k, binary};
    else if (strcmp(name, "probabilities") == 0)
        *out = (struct f8d_output){F8D_OUT_PROBS, "probabilities", k, binary};
    else
        return -1;
    return 0;
}

unsigned f8d_outputs_default(struct f8d_output *out, uint32_t k, bool binary)
{
    if (k != 0) {
        out[0] = (struct f8d_output){F8D_OUT_PROBS, "probabilities", k, binary};
        return 1;
    }
    out[0] = (struct f8d_output){F8D_OUT_LOGITS, "logits", 0, binary};
    out[1] = (struct f8d_output){F8D_OUT_PROBS, "probabilities", 0, binary};
    return 2;
}

size_t f8d_output_class(char *out, size_t n, enum f8d_out_kind kind, double prob,
                        int32_t logit, int fl, uint32_t index, const char *label)
{
    double score = kind == F8D_OUT_LOGITS ? ldexp((double)logit, -fl) : prob;
    int w = snprintf(out, n, "%.6f:%" PRIu32 ":%s", score, index, label ? label : "");
    if (w < 0)
        return 0;
    return (size_t)w < n ? (size_t)w : n - 1;
}
