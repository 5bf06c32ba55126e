#ifndef TOKENSCOPE_CKERNELS_H
#define TOKENSCOPE_CKERNELS_H
/* Elementwise kernels that need exp/erf: the only engine code written in C.
 *
 * Why C: the portable Swift build targets baseline x86-64 (SSE2, 4 floats per instruction) and
 * Swift has no per-function target attributes, so softmax and GELU ran at 2-3 ns per element and
 * took a quarter of a DeiT-Tiny forward pass. Here each kernel is compiled for AVX-512, AVX2+FMA
 * and baseline (clang `target_clones`), and the loader picks the best one for the CPU at start-up.
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

/* Row-wise softmax in place over `rows` rows of length n (subtracting the row max first). */
void ts_softmax_rows(float *x, size_t rows, size_t n);

/* out[i] = exp(inp[i]) with the same polynomial (for tests). */
void ts_exp(float *out, const float *inp, size_t n);

/* Name of the clone the loader chose for this CPU: "avx512f", "avx2" or "default". */
const char *ts_kernels_isa(void);
#endif
