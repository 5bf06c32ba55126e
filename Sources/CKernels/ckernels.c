#include "ckernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define TS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TS_CLONES
#endif

static inline float ts_expf(float x) {
    float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer in the low bits */
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t ti; memcpy(&ti, &t, 4);
    int32_t bits = (int32_t)((uint32_t)(ti - 0x4B400000 + 127) << 23);
    float scale; memcpy(&scale, &bits, 4);
    float res = y * scale;
    return x < -87.3f ? 0.0f : res;
}

static inline float ts_erff(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * ts_expf(-ax * ax);
    return x < 0 ? -y : y;
}

TS_CLONES
void ts_gelu_forward(float *restrict out, const float *restrict inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + ts_erff(x * 0.70710678118654752f));
    }
}

TS_CLONES
void ts_gelu_backward_inplace(float *restrict grad, const float *restrict inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + ts_erff(x * 0.70710678118654752f));
        float pdf = ts_expf(-0.5f * x * x) * 0.39894228040143268f;
        grad[i] *= cdf + x * pdf;
    }
}

TS_CLONES
void ts_exp(float *restrict out, const float *restrict inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ts_expf(inp[i]);
}

TS_CLONES
void ts_softmax_rows(float *x, size_t rows, size_t n) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        float m = row[0];
        for (size_t j = 1; j < n; j++) m = row[j] > m ? row[j] : m;
        float s = 0.0f;
        for (size_t j = 0; j < n; j++) {
            float e = ts_expf(row[j] - m);
            row[j] = e;
            s += e;
        }
        float inv = 1.0f / s;
        for (size_t j = 0; j < n; j++) row[j] *= inv;
    }
}

const char *ts_kernels_isa(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    return "default";
}
