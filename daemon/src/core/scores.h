/*
 * f8d scores: the engine's s32 logits (fractional length output_fl) to the k best classes
 * with their softmax probabilities, computed in double.
 */
#ifndef F8D_SCORES_H
#define F8D_SCORES_H

#include <stdint.h>

/* Softmax of all n logits, logit_i * 2^-fl, into probs[0..n). */
void f8d_softmax(const int32_t *logits, uint32_t n, int fl, double *probs);

/* Writes the k best classes (best first, ties to the lower index: f8_top_k) into indices and
 * their softmax probabilities into scores. k is capped at n. Returns the number written. */
uint32_t f8d_scores_top_k(const int32_t *logits, uint32_t n, int fl, uint32_t k,
                          uint32_t *indices, double *scores);

#endif /* F8D_SCORES_H */
