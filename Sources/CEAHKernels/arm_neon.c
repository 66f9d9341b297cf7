// NEON kernels for arm64 (every arm64 CPU has NEON), and Q8_0/Q4_0/Q4_K/Q6_K byte dot products with
// the dotprod extension (Armv8.2+, chosen when HWCAP reports it). Types without a NEON kernel use
// the portable ones.
#include "blocks.h"
#if defined(__aarch64__)
#include <arm_neon.h>

static float dot_f32(int n, const void *vw, const void *vx) {
    const float *w = vw, *x = vx;
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(w + i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, vld1q_f32(w + i + 4), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(w + i + 8), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(w + i + 12), vld1q_f32(x + i + 12));
    }
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) sum += w[i] * x[i];
    return sum;
}

static float dot_f16(int n, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(w + i));
        a0 = vfmaq_f32(a0, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, vcvt_f32_f16(vget_high_f16(h)), vld1q_f32(x + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; i++) sum += eah_half_to_float(w[i]) * x[i];
    return sum;
}

static void f16_to_f32(const uint16_t *x, float *y, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
    for (; i < n; i++) y[i] = eah_half_to_float(x[i]);
}

/// Σ of products of two 16-byte signed vectors, widened (no dotprod).
static inline int32x4_t mul_sum16(int8x16_t a, int8x16_t b) {
    int16x8_t low = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    int16x8_t high = vmull_s8(vget_high_s8(a), vget_high_s8(b));
    return vpaddq_s32(vpaddlq_s16(low), vpaddlq_s16(high));
}

static float dot_q8_0(int n, const void *vw, const void *vx) {
    const block_q8_0 *w = vw, *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        int32x4_t s = vaddq_s32(mul_sum16(vld1q_s8(w[b].qs), vld1q_s8(x[b].qs)), mul_sum16(vld1q_s8(w[b].qs + 16), vld1q_s8(x[b].qs + 16)));
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)vaddvq_s32(s);
    }
    return sum;
}

static float dot_q4_0(int n, const void *vw, const void *vx) {
    const block_q4_0 *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    const uint8x16_t mask = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int b = 0; b < n / 32; b++) {
        uint8x16_t bytes = vld1q_u8(w[b].qs);
        int8x16_t low = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(bytes, mask)), eight);
        int8x16_t high = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4)), eight);
        int32x4_t s = vaddq_s32(mul_sum16(low, vld1q_s8(x[b].qs)), mul_sum16(high, vld1q_s8(x[b].qs + 16)));
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)vaddvq_s32(s);
    }
    return sum;
}

/// Q4_K against Q8_K: the integer sums of each 32-element sub-block with NEON, scaled and added
/// in portable.c's order (so the result is bit-exact to it). `DOT16(acc, a, b)` adds the
/// products of two 16-byte signed vectors to the four lanes of `acc`.
#define EAH_DEFINE_DOT_Q4_K(name, DOT16)                                                          \
    static float name(int n, const void *vw, const void *vx) {                                   \
        const block_q4_K *w = vw;                                                                 \
        const block_q8_K *x = vx;                                                                 \
        const uint8x16_t mask = vdupq_n_u8(0x0F);                                                 \
        float sum = 0;                                                                            \
        for (int b = 0; b < n / 256; b++) {                                                       \
            int s = 0, mins = 0;                                                                  \
            for (int pair = 0; pair < 4; pair++) {                                                \
                uint8x16_t q0 = vld1q_u8(w[b].qs + 32 * pair), q1 = vld1q_u8(w[b].qs + 32 * pair + 16); \
                const int8_t *y = x[b].qs + 64 * pair;                                            \
                int32x4_t low = vdupq_n_s32(0), high = vdupq_n_s32(0);                            \
                low = DOT16(low, vreinterpretq_s8_u8(vandq_u8(q0, mask)), vld1q_s8(y));           \
                low = DOT16(low, vreinterpretq_s8_u8(vandq_u8(q1, mask)), vld1q_s8(y + 16));      \
                high = DOT16(high, vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), vld1q_s8(y + 32));     \
                high = DOT16(high, vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), vld1q_s8(y + 48));     \
                uint8_t sc0, m0, sc1, m1;                                                         \
                eah_scale_min_k4(2 * pair, w[b].scales, &sc0, &m0);                               \
                eah_scale_min_k4(2 * pair + 1, w[b].scales, &sc1, &m1);                           \
                s += sc0 * vaddvq_s32(low) + sc1 * vaddvq_s32(high);                              \
                mins += m0 * (x[b].bsums[4 * pair] + x[b].bsums[4 * pair + 1]) +                  \
                        m1 * (x[b].bsums[4 * pair + 2] + x[b].bsums[4 * pair + 3]);               \
            }                                                                                     \
            sum += x[b].d * (eah_half_to_float(w[b].d) * (float)s - eah_half_to_float(w[b].dmin) * (float)mins); \
        }                                                                                         \
        return sum;                                                                               \
    }

static inline int32x4_t add_mul_sum16(int32x4_t acc, int8x16_t a, int8x16_t b) { return vaddq_s32(acc, mul_sum16(a, b)); }
EAH_DEFINE_DOT_Q4_K(dot_q4_K, add_mul_sum16)

/// Q6_K against Q8_K, by 16-element sub-blocks as in portable.c (bit-exact to it).
#define EAH_DEFINE_DOT_Q6_K(name, DOT16)                                                          \
    static float name(int n, const void *vw, const void *vx) {                                   \
        const block_q6_K *w = vw;                                                                 \
        const block_q8_K *x = vx;                                                                 \
        const uint8x16_t lowMask = vdupq_n_u8(0x0F), highMask = vdupq_n_u8(3);                    \
        const int8x16_t bias = vdupq_n_s8(32);                                                    \
        float sum = 0;                                                                            \
        for (int b = 0; b < n / 256; b++) {                                                       \
            int s = 0;                                                                            \
            for (int sub = 0; sub < 16; sub++) {                                                  \
                int half = sub / 8, first = 16 * (sub % 8);                                       \
                int lowShift = 4 * (first / 64), highShift = 2 * (first / 32);                    \
                uint8x16_t low = vld1q_u8(w[b].ql + 64 * half + first % 64);                      \
                uint8x16_t high = vld1q_u8(w[b].qh + 32 * half + first % 32);                     \
                low = vandq_u8(vshlq_u8(low, vdupq_n_s8((int8_t)-lowShift)), lowMask);            \
                high = vandq_u8(vshlq_u8(high, vdupq_n_s8((int8_t)-highShift)), highMask);        \
                int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(low, vshlq_n_u8(high, 4))), bias); \
                s += w[b].scales[sub] * vaddvq_s32(DOT16(vdupq_n_s32(0), q, vld1q_s8(x[b].qs + 16 * sub))); \
            }                                                                                     \
            sum += x[b].d * eah_half_to_float(w[b].d) * (float)s;                                 \
        }                                                                                         \
        return sum;                                                                               \
    }
EAH_DEFINE_DOT_Q6_K(dot_q6_K, add_mul_sum16)

static void gemm_tile(const float *const a[6], const float *panel, int depth, float *c, long ldc, int start,
                      const float *initial) {
    // Eight columns at a time: 6 × 2 accumulators of 4.
    for (int j0 = 0; j0 < 32; j0 += 8) {
        float32x4_t acc[6][2];
        for (int r = 0; r < 6; r++) {
            for (int v = 0; v < 2; v++) {
                acc[r][v] = start == 0 ? vdupq_n_f32(0) : start == 1 ? vld1q_f32(initial + j0 + 4 * v) : vld1q_f32(c + r * ldc + j0 + 4 * v);
            }
        }
        for (int p = 0; p < depth; p++) {
            float32x4_t b0 = vld1q_f32(panel + 32 * p + j0), b1 = vld1q_f32(panel + 32 * p + j0 + 4);
            for (int r = 0; r < 6; r++) {
                acc[r][0] = vfmaq_n_f32(acc[r][0], b0, a[r][p]);
                acc[r][1] = vfmaq_n_f32(acc[r][1], b1, a[r][p]);
            }
        }
        for (int r = 0; r < 6; r++) {
            vst1q_f32(c + r * ldc + j0, acc[r][0]);
            vst1q_f32(c + r * ldc + j0 + 4, acc[r][1]);
        }
    }
}

#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
static float dot_q8_0_dotprod(int n, const void *vw, const void *vx) {
    const block_q8_0 *w = vw, *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        int32x4_t s = vdotq_s32(vdupq_n_s32(0), vld1q_s8(w[b].qs), vld1q_s8(x[b].qs));
        s = vdotq_s32(s, vld1q_s8(w[b].qs + 16), vld1q_s8(x[b].qs + 16));
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)vaddvq_s32(s);
    }
    return sum;
}

static float dot_q4_0_dotprod(int n, const void *vw, const void *vx) {
    const block_q4_0 *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    const uint8x16_t mask = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int b = 0; b < n / 32; b++) {
        uint8x16_t bytes = vld1q_u8(w[b].qs);
        int8x16_t low = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(bytes, mask)), eight);
        int8x16_t high = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4)), eight);
        int32x4_t s = vdotq_s32(vdupq_n_s32(0), low, vld1q_s8(x[b].qs));
        s = vdotq_s32(s, high, vld1q_s8(x[b].qs + 16));
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)vaddvq_s32(s);
    }
    return sum;
}
EAH_DEFINE_DOT_Q4_K(dot_q4_K_dotprod, vdotq_s32)
EAH_DEFINE_DOT_Q6_K(dot_q6_K_dotprod, vdotq_s32)
#pragma clang attribute pop

void eah_fill_neon(eah_kernel_table *t) {
    eah_fill_portable(t);
    t->name = "neon";
    t->vec_dot[EAH_F32] = dot_f32;
    t->vec_dot[EAH_F16] = dot_f16;
    t->vec_dot[EAH_Q8_0] = dot_q8_0;
    t->vec_dot[EAH_Q4_0] = dot_q4_0;
    t->vec_dot[EAH_Q4_K] = dot_q4_K;
    t->vec_dot[EAH_Q6_K] = dot_q6_K;
    t->f16_to_f32 = f16_to_f32;
    t->gemm_tile = gemm_tile;
}

void eah_fill_neon_dotprod(eah_kernel_table *t) {
    eah_fill_neon(t);
    t->name = "neon-dotprod";
    t->vec_dot[EAH_Q8_0] = dot_q8_0_dotprod;
    t->vec_dot[EAH_Q4_0] = dot_q4_0_dotprod;
    t->vec_dot[EAH_Q4_K] = dot_q4_K_dotprod;
    t->vec_dot[EAH_Q6_K] = dot_q6_K_dotprod;
}
#endif
