// Portable kernels: plain C for every type, the reference the ISA variants are tested against.
// Integer sums per block are exact; floats accumulate block by block.
#include "blocks.h"

// MARK: - Activation quantization (round to nearest even, shared by every variant)

static void quantize_q8_0(const float *x, void *vy, int n) {
    block_q8_0 *y = vy;
    for (int b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = v[j] < 0 ? -v[j] : v[j]; amax = a > amax ? a : amax; }
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = eah_float_to_half(d);
        for (int j = 0; j < 32; j++) y[b].qs[j] = (int8_t)eah_round_even(v[j] * id);
    }
}

static void quantize_q8_K(const float *x, void *vy, int n) {
    block_q8_K *y = vy;
    for (int b = 0; b < n / 256; b++) {
        const float *v = x + 256 * b;
        float amax = 0;
        for (int j = 0; j < 256; j++) { float a = v[j] < 0 ? -v[j] : v[j]; amax = a > amax ? a : amax; }
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = d;
        for (int j = 0; j < 256; j++) y[b].qs[j] = (int8_t)eah_round_even(v[j] * id);
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[b].qs[16 * s + j];
            y[b].bsums[s] = (int16_t)sum;
        }
    }
}

// MARK: - Plain floats against F32 activations

static float dot_f32(int n, const void *vw, const void *vx) {
    const float *w = vw, *x = vx;
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) for (int l = 0; l < 8; l++) acc[l] += w[i + l] * x[i + l];
    float sum = 0;
    for (; i < n; i++) sum += w[i] * x[i];
    for (int l = 0; l < 8; l++) sum += acc[l];
    return sum;
}

static void f16_to_f32(const uint16_t *x, float *y, int n) {
    for (int i = 0; i < n; i++) y[i] = eah_half_to_float(x[i]);
}

static void bf16_to_f32(const uint16_t *x, float *y, int n) {
    for (int i = 0; i < n; i++) { uint32_t bits = (uint32_t)x[i] << 16; memcpy(y + i, &bits, 4); }
}

static float dot_f16(int n, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    float sum = 0;
    for (int i = 0; i < n; i++) sum += eah_half_to_float(w[i]) * x[i];
    return sum;
}

static float dot_bf16(int n, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    float sum = 0;
    for (int i = 0; i < n; i++) { uint32_t bits = (uint32_t)w[i] << 16; float f; memcpy(&f, &bits, 4); sum += f * x[i]; }
    return sum;
}

// MARK: - 32-element blocks against Q8_0

static float dot_q8_0(int n, const void *vw, const void *vx) {
    const block_q8_0 *w = vw, *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += w[b].qs[j] * x[b].qs[j];
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)s;
    }
    return sum;
}

static float dot_q4_0(int n, const void *vw, const void *vx) {
    const block_q4_0 *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += ((w[b].qs[j] & 0xF) - 8) * x[b].qs[j];
            s += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + 16];
        }
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)s;
    }
    return sum;
}

static float dot_q4_1(int n, const void *vw, const void *vx) {
    const block_q4_1 *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        int s = 0, sx = 0;
        for (int j = 0; j < 16; j++) {
            s += (w[b].qs[j] & 0xF) * x[b].qs[j] + (w[b].qs[j] >> 4) * x[b].qs[j + 16];
            sx += x[b].qs[j] + x[b].qs[j + 16];
        }
        float dx = eah_half_to_float(x[b].d);
        sum += eah_half_to_float(w[b].d) * dx * (float)s + eah_half_to_float(w[b].m) * dx * (float)sx;
    }
    return sum;
}

static float dot_q5_0(int n, const void *vw, const void *vx) {
    const block_q5_0 *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        uint32_t h;
        memcpy(&h, w[b].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (w[b].qs[j] & 0xF) | (((h >> j) & 1) << 4);
            int hi = (w[b].qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4);
            s += (lo - 16) * x[b].qs[j] + (hi - 16) * x[b].qs[j + 16];
        }
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)s;
    }
    return sum;
}

static float dot_q5_1(int n, const void *vw, const void *vx) {
    const block_q5_1 *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        uint32_t h;
        memcpy(&h, w[b].qh, 4);
        int s = 0, sx = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (w[b].qs[j] & 0xF) | (((h >> j) & 1) << 4);
            int hi = (w[b].qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4);
            s += lo * x[b].qs[j] + hi * x[b].qs[j + 16];
            sx += x[b].qs[j] + x[b].qs[j + 16];
        }
        float dx = eah_half_to_float(x[b].d);
        sum += eah_half_to_float(w[b].d) * dx * (float)s + eah_half_to_float(w[b].m) * dx * (float)sx;
    }
    return sum;
}

static float dot_iq4_nl(int n, const void *vw, const void *vx) {
    const block_iq4_nl *w = vw;
    const block_q8_0 *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 32; b++) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += eah_iq4_levels[w[b].qs[j] & 0xF] * x[b].qs[j] + eah_iq4_levels[w[b].qs[j] >> 4] * x[b].qs[j + 16];
        }
        sum += eah_half_to_float(w[b].d) * eah_half_to_float(x[b].d) * (float)s;
    }
    return sum;
}

// MARK: - 256-element super-blocks against Q8_K

static float dot_q8_K(int n, const void *vw, const void *vx) {
    const block_q8_K *w = vw, *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0;
        for (int j = 0; j < 256; j++) s += w[b].qs[j] * x[b].qs[j];
        sum += w[b].d * x[b].d * (float)s;
    }
    return sum;
}

static float dot_q2_K(int n, const void *vw, const void *vx) {
    const block_q2_K *w = vw;
    const block_q8_K *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0, mins = 0;
        for (int half = 0; half < 2; half++) {
            for (int shift = 0; shift < 4; shift++) {
                for (int group = 0; group < 2; group++) {
                    int sub = 8 * half + 2 * shift + group;
                    const uint8_t *q = w[b].qs + 32 * half + 16 * group;
                    const int8_t *y = x[b].qs + 16 * sub;
                    int t = 0;
                    for (int l = 0; l < 16; l++) t += ((q[l] >> (2 * shift)) & 3) * y[l];
                    s += (w[b].scales[sub] & 0xF) * t;
                    mins += (w[b].scales[sub] >> 4) * x[b].bsums[sub];
                }
            }
        }
        sum += x[b].d * (eah_half_to_float(w[b].d) * (float)s - eah_half_to_float(w[b].dmin) * (float)mins);
    }
    return sum;
}

static float dot_q3_K(int n, const void *vw, const void *vx) {
    const block_q3_K *w = vw;
    const block_q8_K *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0;
        for (int sub = 0; sub < 16; sub++) {
            int half = sub / 8, shift = (sub % 8) / 2, offset = 16 * (sub % 2), bit = 4 * half + shift;
            const uint8_t *q = w[b].qs + 32 * half + offset, *h = w[b].hmask + offset;
            const int8_t *y = x[b].qs + 16 * sub;
            int t = 0;
            for (int l = 0; l < 16; l++) t += (((q[l] >> (2 * shift)) & 3) - (((h[l] >> bit) & 1) ? 0 : 4)) * y[l];
            s += eah_q3_K_scale(w[b].scales, sub) * t;
        }
        sum += x[b].d * eah_half_to_float(w[b].d) * (float)s;
    }
    return sum;
}

static float dot_q4_K(int n, const void *vw, const void *vx) {
    const block_q4_K *w = vw;
    const block_q8_K *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0, mins = 0;
        for (int sub = 0; sub < 8; sub++) {
            uint8_t sc, m;
            eah_scale_min_k4(sub, w[b].scales, &sc, &m);
            const uint8_t *q = w[b].qs + 32 * (sub / 2);
            const int8_t *y = x[b].qs + 32 * sub;
            int shift = 4 * (sub % 2), t = 0;
            for (int l = 0; l < 32; l++) t += ((q[l] >> shift) & 0xF) * y[l];
            s += sc * t;
            mins += m * (x[b].bsums[2 * sub] + x[b].bsums[2 * sub + 1]);
        }
        sum += x[b].d * (eah_half_to_float(w[b].d) * (float)s - eah_half_to_float(w[b].dmin) * (float)mins);
    }
    return sum;
}

static float dot_q5_K(int n, const void *vw, const void *vx) {
    const block_q5_K *w = vw;
    const block_q8_K *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0, mins = 0;
        for (int sub = 0; sub < 8; sub++) {
            uint8_t sc, m;
            eah_scale_min_k4(sub, w[b].scales, &sc, &m);
            const uint8_t *q = w[b].qs + 32 * (sub / 2);
            const int8_t *y = x[b].qs + 32 * sub;
            int shift = 4 * (sub % 2), t = 0;
            for (int l = 0; l < 32; l++) t += (((q[l] >> shift) & 0xF) | (((w[b].qh[l] >> sub) & 1) << 4)) * y[l];
            s += sc * t;
            mins += m * (x[b].bsums[2 * sub] + x[b].bsums[2 * sub + 1]);
        }
        sum += x[b].d * (eah_half_to_float(w[b].d) * (float)s - eah_half_to_float(w[b].dmin) * (float)mins);
    }
    return sum;
}

static float dot_q6_K(int n, const void *vw, const void *vx) {
    const block_q6_K *w = vw;
    const block_q8_K *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0;
        for (int sub = 0; sub < 16; sub++) {
            int half = sub / 8, first = 16 * (sub % 8);
            int lowShift = 4 * (first / 64), highShift = 2 * (first / 32);
            const uint8_t *low = w[b].ql + 64 * half + first % 64, *high = w[b].qh + 32 * half + first % 32;
            const int8_t *y = x[b].qs + 16 * sub;
            int t = 0;
            for (int l = 0; l < 16; l++) t += ((((low[l] >> lowShift) & 0xF) | (((high[l] >> highShift) & 3) << 4)) - 32) * y[l];
            s += w[b].scales[sub] * t;
        }
        sum += x[b].d * eah_half_to_float(w[b].d) * (float)s;
    }
    return sum;
}

static float dot_iq4_xs(int n, const void *vw, const void *vx) {
    const block_iq4_xs *w = vw;
    const block_q8_K *x = vx;
    float sum = 0;
    for (int b = 0; b < n / 256; b++) {
        int s = 0;
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *q = w[b].qs + 16 * ib;
            const int8_t *y = x[b].qs + 32 * ib;
            int t = 0;
            for (int j = 0; j < 16; j++) t += eah_iq4_levels[q[j] & 0xF] * y[j] + eah_iq4_levels[q[j] >> 4] * y[j + 16];
            s += eah_iq4_xs_scale(&w[b], ib) * t;
        }
        sum += x[b].d * eah_half_to_float(w[b].d) * (float)s;
    }
    return sum;
}

// MARK: - F32 GEMM tile (plain loops; the compiler vectorizes them for the baseline ISA)

static void gemm_tile(const float *const a[6], const float *panel, int depth, float *c, long ldc, int start,
                      const float *initial) {
    float acc[6][32];
    for (int r = 0; r < 6; r++) {
        for (int j = 0; j < 32; j++) acc[r][j] = start == 0 ? 0 : start == 1 ? initial[j] : c[r * ldc + j];
    }
    for (int p = 0; p < depth; p++) {
        const float *b = panel + 32 * p;
        for (int r = 0; r < 6; r++) {
            float x = a[r][p];
            for (int j = 0; j < 32; j++) acc[r][j] += x * b[j];
        }
    }
    for (int r = 0; r < 6; r++) for (int j = 0; j < 32; j++) c[r * ldc + j] = acc[r][j];
}

// MARK: - GEMM micro-panel packing (the reference layout the variants must reproduce bit for bit)

static inline void gemm_pack(int type, const void *w, size_t wstride, int rows, int depth, float *panel) {
    for (int j = 0; j < 32; j++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)j * wstride;
        for (int p = 0; p < depth; p++) {
            float value = 0;
            if (j < rows) {
                if (type == EAH_F32) {
                    memcpy(&value, row + 4 * (size_t)p, 4);
                } else {
                    uint16_t bits;
                    memcpy(&bits, row + 2 * (size_t)p, 2);
                    if (type == EAH_F16) {
                        value = eah_half_to_float(bits);
                    } else {
                        uint32_t wide = (uint32_t)bits << 16;
                        memcpy(&value, &wide, 4);
                    }
                }
            }
            panel[32 * p + j] = value;
        }
    }
}

static void gemm_pack_f32(const void *w, size_t wstride, int rows, int depth, float *panel, long prefetch) {
    (void)prefetch;
    gemm_pack(EAH_F32, w, wstride, rows, depth, panel);
}

static void gemm_pack_f16(const void *w, size_t wstride, int rows, int depth, float *panel, long prefetch) {
    (void)prefetch;
    gemm_pack(EAH_F16, w, wstride, rows, depth, panel);
}

static void gemm_pack_bf16(const void *w, size_t wstride, int rows, int depth, float *panel, long prefetch) {
    (void)prefetch;
    gemm_pack(EAH_BF16, w, wstride, rows, depth, panel);
}

static void sigmoid_gate(float *x, int n, float alpha) {
    for (int i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-(alpha * x[i])));
}

static float exp_shifted(float *x, int n, float shift) {
    float sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - shift);
        sum += x[i];
    }
    return sum;
}

void eah_fill_portable(eah_kernel_table *t) {
    memset(t, 0, sizeof *t);
    t->name = "portable";
    t->sigmoid_gate = sigmoid_gate;
    t->exp_shifted = exp_shifted;
    t->vec_dot[EAH_F32] = dot_f32;
    t->vec_dot[EAH_F16] = dot_f16;
    t->vec_dot[EAH_BF16] = dot_bf16;
    t->vec_dot[EAH_Q4_0] = dot_q4_0;
    t->vec_dot[EAH_Q4_1] = dot_q4_1;
    t->vec_dot[EAH_Q5_0] = dot_q5_0;
    t->vec_dot[EAH_Q5_1] = dot_q5_1;
    t->vec_dot[EAH_Q8_0] = dot_q8_0;
    t->vec_dot[EAH_IQ4_NL] = dot_iq4_nl;
    t->vec_dot[EAH_Q2_K] = dot_q2_K;
    t->vec_dot[EAH_Q3_K] = dot_q3_K;
    t->vec_dot[EAH_Q4_K] = dot_q4_K;
    t->vec_dot[EAH_Q5_K] = dot_q5_K;
    t->vec_dot[EAH_Q6_K] = dot_q6_K;
    t->vec_dot[EAH_Q8_K] = dot_q8_K;
    t->vec_dot[EAH_IQ4_XS] = dot_iq4_xs;
    t->quantize_q8_0 = quantize_q8_0;
    t->quantize_q8_K = quantize_q8_K;
    t->f16_to_f32 = f16_to_f32;
    t->bf16_to_f32 = bf16_to_f32;
    t->gemm_tile = gemm_tile;
    t->gemm_pack[EAH_F32] = gemm_pack_f32;
    t->gemm_pack[EAH_F16] = gemm_pack_f16;
    t->gemm_pack[EAH_BF16] = gemm_pack_bf16;
}
