// Block layouts of the ggml types (ggml-common.h), shared scalar helpers and the per-ISA tables.
#ifndef EAH_BLOCKS_H
#define EAH_BLOCKS_H

#include "eah_kernels.h"
#include <math.h>
#include <string.h>

typedef uint16_t eah_half;

typedef struct { eah_half d; uint8_t qs[16]; } block_q4_0;                                        // 18 B
typedef struct { eah_half d, m; uint8_t qs[16]; } block_q4_1;                                     // 20 B
typedef struct { eah_half d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;                         // 22 B
typedef struct { eah_half d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;                      // 24 B
typedef struct { eah_half d; int8_t qs[32]; } block_q8_0;                                         // 34 B
typedef struct { uint8_t scales[16]; uint8_t qs[64]; eah_half d, dmin; } block_q2_K;              // 84 B
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; eah_half d; } block_q3_K; // 110 B
typedef struct { eah_half d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;             // 144 B
typedef struct { eah_half d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K; // 176 B
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; eah_half d; } block_q6_K;    // 210 B
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } block_q8_K;                        // 292 B
typedef struct { eah_half d; uint8_t qs[16]; } block_iq4_nl;                                      // 18 B
typedef struct { eah_half d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } block_iq4_xs; // 136 B

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");
_Static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs");

enum {
    EAH_F32 = 0, EAH_F16 = 1, EAH_Q4_0 = 2, EAH_Q4_1 = 3, EAH_Q5_0 = 6, EAH_Q5_1 = 7, EAH_Q8_0 = 8,
    EAH_Q2_K = 10, EAH_Q3_K = 11, EAH_Q4_K = 12, EAH_Q5_K = 13, EAH_Q6_K = 14, EAH_Q8_K = 15,
    EAH_IQ4_NL = 20, EAH_IQ4_XS = 23, EAH_BF16 = 30,
};

/// IQ4_NL / IQ4_XS levels.
static const int8_t eah_iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// IEEE half → float, exact (integer operations only).
static inline float eah_half_to_float(eah_half h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent == 0) {
        float magnitude = (float)mantissa * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

/// float → IEEE half, round to nearest even (finite inputs; used for block scales).
static inline eah_half eah_float_to_half(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t sign = (bits >> 16) & 0x8000, exponent = bits & 0x7f800000u;
    if (exponent >= 0x47800000u) return (eah_half)(sign | 0x7c00);
    if (exponent <= 0x38000000u) {
        if (exponent < 0x33000000u) return (eah_half)sign;
        uint32_t e = exponent >> 23;
        uint32_t significand = (0x00800000u + (bits & 0x007fffffu)) >> (113 - e);
        if ((significand & 0x3fff) != 0x1000 || (bits & 0x7ff) != 0) significand += 0x1000;
        return (eah_half)(sign | (significand >> 13));
    }
    uint32_t halfExponent = (exponent - 0x38000000u) >> 13;
    uint32_t significand = bits & 0x007fffffu;
    if ((significand & 0x3fff) != 0x1000) significand += 0x1000;
    return (eah_half)(sign | ((significand >> 13) + halfExponent));
}

/// Round to nearest, ties to even, for |x| < 2^22 (the same result as the SIMD rounding).
static inline float eah_round_even(float x) {
    const float magic = 12582912.0f;  // 1.5 · 2^23 (no fast-math: the two steps stay apart)
    return (x + magic) - magic;
}

/// Q4_K / Q5_K 6-bit scale and min of sub-block j.
static inline void eah_scale_min_k4(int j, const uint8_t *q, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/// Q3_K signed 6-bit scale of sub-block i (0..15).
static inline int eah_q3_K_scale(const uint8_t *b, int i) {
    int low4 = i < 8 ? (b[i] & 0xF) : (b[i - 8] >> 4);
    int high2 = (b[8 + (i % 4)] >> (2 * (i / 4))) & 3;
    return (low4 | (high2 << 4)) - 32;
}

/// IQ4_XS scale of sub-block ib (0..7), minus 32.
static inline int eah_iq4_xs_scale(const block_iq4_xs *x, int ib) {
    int low = (x->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
    int high = (x->scales_h >> (2 * ib)) & 3;
    return (low | (high << 4)) - 32;
}

// The tables of each ISA (dispatch.c decides which can run).
void eah_fill_portable(eah_kernel_table *table);
#if defined(__x86_64__) || defined(__i386__)
void eah_fill_avx2(eah_kernel_table *table);
void eah_fill_avx512(eah_kernel_table *table);
#endif
#if defined(__aarch64__)
void eah_fill_neon(eah_kernel_table *table);
void eah_fill_neon_dotprod(eah_kernel_table *table);
#endif

#endif
