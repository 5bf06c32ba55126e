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

/* Blocks of 16 floats: one AVX-512 vector, two AVX2 vectors. Every row loop below runs whole blocks and
 * then the tail as one more block padded in a local buffer, so no element takes a scalar exp and the
 * compiler sees only fixed-length inner loops (rows of 197 tokens end in a tail of 5). */
#define TS_BLOCK 16

TS_CLONES
void ts_softmax_rows(float *x, size_t rows, size_t n, const float *restrict bias) {
#pragma clang fp reassociate(on)
    if (n == 0) return;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        if (bias) for (size_t j = 0; j < n; j++) row[j] += bias[j];
        size_t full = n / TS_BLOCK * TS_BLOCK, rest = n - full;
        float mv[TS_BLOCK];
        for (int k = 0; k < TS_BLOCK; k++) mv[k] = -__builtin_inff();
        for (size_t j = 0; j < full; j += TS_BLOCK)
            for (int k = 0; k < TS_BLOCK; k++) mv[k] = row[j + k] > mv[k] ? row[j + k] : mv[k];
        for (size_t k = 0; k < rest; k++) mv[k] = row[full + k] > mv[k] ? row[full + k] : mv[k];
        float m = mv[0];
        for (int k = 1; k < TS_BLOCK; k++) m = mv[k] > m ? mv[k] : m;
        float sv[TS_BLOCK] = {0};
        for (size_t j = 0; j < full; j += TS_BLOCK)
            for (int k = 0; k < TS_BLOCK; k++) {
                float e = ts_expf(row[j + k] - m);
                row[j + k] = e;
                sv[k] += e;
            }
        if (rest) {
            float t[TS_BLOCK];
            for (int k = 0; k < TS_BLOCK; k++) t[k] = (size_t)k < rest ? row[full + k] - m : -100.0f;
            for (int k = 0; k < TS_BLOCK; k++) t[k] = ts_expf(t[k]);
            for (size_t k = 0; k < rest; k++) { row[full + k] = t[k]; sv[k] += t[k]; }
        }
        float s = 0.0f;
        for (int k = 0; k < TS_BLOCK; k++) s += sv[k];
        float inv = 1.0f / s;
        for (size_t j = 0; j < n; j++) row[j] *= inv;
    }
}

TS_CLONES
void ts_softmax_backward_rows(float *restrict dx, const float *restrict da, const float *restrict a,
                              size_t rows, size_t n, float *restrict key_sums) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        const float *g = da + r * n, *p = a + r * n;
        float *o = dx + r * n;
        float s = 0.0f;
        for (size_t j = 0; j < n; j++) s += g[j] * p[j];
        if (key_sums) for (size_t j = 0; j < n; j++) key_sums[j] += g[j] * p[j];
        for (size_t j = 0; j < n; j++) o[j] = p[j] * (g[j] - s);
    }
}

TS_CLONES
void ts_layernorm_rows(float *restrict out, float *restrict mean, float *restrict rstd, const float *restrict inp,
                       const float *restrict weight, const float *restrict bias, size_t rows, size_t d, float eps) {
#pragma clang fp reassociate(on)
    float inv_d = 1.0f / (float)d;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * d;
        float s = 0.0f;
        for (size_t i = 0; i < d; i++) s += x[i];
        float m = s * inv_d;
        float v = 0.0f;
        for (size_t i = 0; i < d; i++) { float c = x[i] - m; v += c * c; }
        float rs = 1.0f / __builtin_sqrtf(v * inv_d + eps);
        float *o = out + r * d;
        for (size_t i = 0; i < d; i++) o[i] = (x[i] - m) * rs * weight[i] + bias[i];
        mean[r] = m;
        rstd[r] = rs;
    }
}

TS_CLONES
void ts_layernorm_backward_rows(float *restrict dinp, const float *restrict dout, const float *restrict inp,
                                const float *restrict mean, const float *restrict rstd, const float *restrict weight,
                                size_t rows, size_t d) {
#pragma clang fp reassociate(on)
    float inv_d = 1.0f / (float)d;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * d, *g = dout + r * d;
        float *dx = dinp + r * d;
        float m = mean[r], rs = rstd[r];
        float sum_g = 0.0f, sum_gn = 0.0f;
        for (size_t i = 0; i < d; i++) {
            float gi = g[i] * weight[i];
            sum_g += gi;
            sum_gn += gi * (x[i] - m) * rs;
        }
        float mean_g = sum_g * inv_d, mean_gn = sum_gn * inv_d;
        for (size_t i = 0; i < d; i++) {
            float nrm = (x[i] - m) * rs;
            dx[i] += rs * (g[i] * weight[i] - mean_g - nrm * mean_gn);
        }
    }
}

TS_CLONES
void ts_rows_set_bias(float *restrict out, const float *restrict residual, const float *restrict bias,
                      size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * n;
        if (residual) {
            const float *x = residual + r * n;
            if (bias) for (size_t j = 0; j < n; j++) o[j] = x[j] + bias[j];
            else for (size_t j = 0; j < n; j++) o[j] = x[j];
        } else if (bias) {
            for (size_t j = 0; j < n; j++) o[j] = bias[j];
        } else {
            for (size_t j = 0; j < n; j++) o[j] = 0.0f;
        }
    }
}

TS_CLONES
void ts_bias_gelu_rows(float *restrict pre, float *restrict out, const float *restrict bias, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        float *p = pre + r * n, *o = out + r * n;
        for (size_t j = 0; j < n; j++) {
            float x = p[j] + bias[j];
            p[j] = x;
            o[j] = 0.5f * x * (1.0f + ts_erff(x * 0.70710678118654752f));
        }
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
