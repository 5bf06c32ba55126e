#ifndef TOKENSCOPE_CKERNELS_H
#define TOKENSCOPE_CKERNELS_H
/* The engine's element-wise and row-wise kernels (the only engine code written in C).
 *
 * Why C: the portable Swift build targets baseline x86-64 (SSE2, 4 floats per instruction) and
 * Swift has no per-function target attributes, so softmax and GELU ran at 2-3 ns per element and
 * took a quarter of a DeiT-Tiny forward pass. Here each kernel is compiled for AVX-512, AVX2+FMA
 * and baseline (clang `target_clones`), and the loader picks the best one for the CPU at start-up;
 * the softmax, whose portable loops the vectorizer handled poorly, also has an AVX-512 version
 * written with intrinsics (0.65 against 1.2 ns an element), chosen by CPUID on first call.
 * The maths is the same everywhere: Cephes' expf polynomial and Abramowitz & Stegun 7.1.26 for erf
 * (|error| <= 1.5e-7), both vectorizable: no libm calls, rounding by the 1.5 * 2^23 "magic number" add.
 * Tests check them against Double exp/erf (Tests/EngineTests/OpGradientTests.swift). */
#include <stddef.h>

/* out[i] = 0.5 x (1 + erf(x / sqrt 2)), x = inp[i], i < n. */
void ts_gelu_forward(float *out, const float *inp, size_t n);

/* grad[i] *= GELU'(x), x = inp[i]: turns d gelu into d inp in place.
 * GELU'(x) = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi).
 * (In place through one pointer: with separate in/out pointers that may alias, the compiler's
 * run-time overlap check sends equal pointers down the scalar loop, 25x slower.) */
void ts_gelu_backward_inplace(float *grad, const float *inp, size_t n);

/* Row-wise softmax in place over `rows` rows of length n (subtracting the row max first). With `bias`
 * [n] (may be NULL), bias[j] is added to every row's entry j first (ToMe's proportional attention). */
void ts_softmax_rows(float *x, size_t rows, size_t n, const float *bias);

/* dx = a * (da - rowsum(da * a)) over rows of length n (dx must not alias da or a). With `key_sums`
 * [n] (may be NULL), key_sums[j] += sum over rows of da * a at column j (the gradient-weighted
 * attention score terms). */
void ts_softmax_backward_rows(float *dx, const float *da, const float *a, size_t rows, size_t n, float *key_sums);

/* LayerNorm over rows of length d: out = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps)
 * (biased variance); mean and rstd [rows] are kept for the backward pass. */
void ts_layernorm_rows(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, size_t rows, size_t d, float eps);

/* dinp += rstd * (g - mean(g) - n * mean(g * n)), g = dout * weight, n = (x - mean) * rstd. */
void ts_layernorm_backward_rows(float *dinp, const float *dout, const float *inp, const float *mean,
                                const float *rstd, const float *weight, size_t rows, size_t d);

/* out[r, j] = residual[r, j] + bias[j] over rows of length n; either may be NULL (then 0). What a
 * Linear's output starts as before its GEMM accumulates onto it: one pass instead of a copy and an add. */
void ts_rows_set_bias(float *out, const float *residual, const float *bias, size_t rows, size_t n);

/* pre[r, j] += bias[j], then out[r, j] = GELU(pre[r, j]): fc1's bias and activation in one pass (pre,
 * the activation's input, is kept for the backward pass). */
void ts_bias_gelu_rows(float *pre, float *out, const float *bias, size_t rows, size_t n);

/* out[i] = exp(inp[i]) with the same polynomial (for tests). */
void ts_exp(float *out, const float *inp, size_t n);

/* Name of the clone the loader chose for this CPU: "avx512f", "avx2" or "default". */
const char *ts_kernels_isa(void);
#endif
