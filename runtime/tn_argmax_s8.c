/* tinynas runtime: argmax over int8 logits (first index wins on ties). */
#include "tn_internal.h"

int32_t tn_argmax_s8(const int8_t *x, int32_t n)
{
    if (!x || n <= 0) return -1;
    int32_t best = 0;
    for (int32_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}
