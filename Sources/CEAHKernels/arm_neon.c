// NEON kernels for arm64 (every arm64 CPU has NEON), and Q8_0/Q4_0 byte dot products with the
// dotprod extension (Armv8.2+, chosen when HWCAP reports it). Types without a NEON kernel use
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
#pragma clang attribute pop

void eah_fill_neon(eah_kernel_table *t) {
    eah_fill_portable(t);
    t->name = "neon";
    t->vec_dot[EAH_F32] = dot_f32;
    t->vec_dot[EAH_F16] = dot_f16;
    t->vec_dot[EAH_Q8_0] = dot_q8_0;
    t->vec_dot[EAH_Q4_0] = dot_q4_0;
    t->f16_to_f32 = f16_to_f32;
    t->gemm_tile = gemm_tile;
}

void eah_fill_neon_dotprod(eah_kernel_table *t) {
    eah_fill_neon(t);
    t->name = "neon-dotprod";
    t->vec_dot[EAH_Q8_0] = dot_q8_0_dotprod;
    t->vec_dot[EAH_Q4_0] = dot_q4_0_dotprod;
}
#endif
