// kernel-check: compares every kernel table the CPU can run (eah_kernels_runnable) with the
// portable one in the same binary, entry point by entry point, and checks which table the
// dispatcher chose. Built for aarch64 and run under qemu-aarch64 by tools/test-neon.sh
// (`make test-neon`), so the NEON and NEON+dotprod kernels are tested on an x86-64 machine.
//
//   kernel-check [--expect-active NAME] [--expect-runnable a,b,c] [--dispatch-only]
//
// Integer paths (activation quantization, half/bfloat widening, products of quantized types,
// whose per-block sums are exact) must be bit-exact. Float paths (F32/F16/BF16 products and the
// F32 GEMM tile) accumulate in another order: |variant − portable| ≤ 16·√n·2⁻²⁴·Σ|w·x| (n terms).
// Bit-exact quantized products hold because the NEON kernels scale and add the block sums in the
// portable order. The x86 ones do not (vector accumulators across blocks, FMA), so natively this
// reports them; `swift test` holds those to 1e-5·Σ|w·x| instead.
#include "blocks.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static int failures, cases;

#define FAIL(...) do { failures++; if (failures <= 40) { fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); } } while (0)

// MARK: - Random inputs

static uint64_t rngState = 0x9E3779B97F4A7C15ull;

static uint64_t next64(void) {  // SplitMix64
    uint64_t z = (rngState += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// Uniform in [lo, hi).
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next64() >> 40) * 0x1p-24f; }

static void random_bytes(uint8_t *p, size_t n, int extreme) {
    static const uint8_t edges[4] = {0x00, 0xFF, 0x80, 0x7F};
    for (size_t i = 0; i < n; i++) p[i] = extreme ? edges[next64() & 3] : (uint8_t)next64();
}

/// A finite half scale: random magnitude in [2⁻¹², 2⁻²) (or the largest ones when `extreme`).
static eah_half random_scale(int extreme) {
    float v = extreme ? 60000.0f / 65536.0f * 64.0f : ldexpf(uniform(1, 2), -2 - (int)(next64() % 11));
    return eah_float_to_half(next64() & 1 ? -v : v);
}

// MARK: - The weight types the tables may hold

typedef struct {
    int slot;
    const char *name;
    int block;        // elements per block
    size_t bytes;     // bytes per block
    int partner;      // activation format: EAH_F32, EAH_Q8_0 or EAH_Q8_K
    int isFloat;      // float accumulation (tolerance) rather than exact integer block sums
} weight_type;

static const weight_type types[] = {
    {EAH_F32, "F32", 1, 4, EAH_F32, 1},
    {EAH_F16, "F16", 1, 2, EAH_F32, 1},
    {EAH_BF16, "BF16", 1, 2, EAH_F32, 1},
    {EAH_Q4_0, "Q4_0", 32, sizeof(block_q4_0), EAH_Q8_0, 0},
    {EAH_Q4_1, "Q4_1", 32, sizeof(block_q4_1), EAH_Q8_0, 0},
    {EAH_Q5_0, "Q5_0", 32, sizeof(block_q5_0), EAH_Q8_0, 0},
    {EAH_Q5_1, "Q5_1", 32, sizeof(block_q5_1), EAH_Q8_0, 0},
    {EAH_Q8_0, "Q8_0", 32, sizeof(block_q8_0), EAH_Q8_0, 0},
    {EAH_IQ4_NL, "IQ4_NL", 32, sizeof(block_iq4_nl), EAH_Q8_0, 0},
    {EAH_Q2_K, "Q2_K", 256, sizeof(block_q2_K), EAH_Q8_K, 0},
    {EAH_Q3_K, "Q3_K", 256, sizeof(block_q3_K), EAH_Q8_K, 0},
    {EAH_Q4_K, "Q4_K", 256, sizeof(block_q4_K), EAH_Q8_K, 0},
    {EAH_Q5_K, "Q5_K", 256, sizeof(block_q5_K), EAH_Q8_K, 0},
    {EAH_Q6_K, "Q6_K", 256, sizeof(block_q6_K), EAH_Q8_K, 0},
    {EAH_Q8_K, "Q8_K", 256, sizeof(block_q8_K), EAH_Q8_K, 0},
    {EAH_IQ4_XS, "IQ4_XS", 256, sizeof(block_iq4_xs), EAH_Q8_K, 0},
};
#define TYPE_COUNT (int)(sizeof types / sizeof types[0])

static const weight_type *type_for_slot(int slot) {
    for (int i = 0; i < TYPE_COUNT; i++) if (types[i].slot == slot) return &types[i];
    return NULL;
}

/// Random weight rows of `type` (`count` blocks), with finite scales.
static void random_weights(const weight_type *t, uint8_t *w, int count, int extreme) {
    if (t->slot == EAH_F32) {
        float *f = (float *)w;
        for (int i = 0; i < count; i++) f[i] = extreme ? (next64() & 1 ? -1.0f : 1.0f) : uniform(-1, 1);
        return;
    }
    if (t->slot == EAH_F16 || t->slot == EAH_BF16) {
        uint16_t *h = (uint16_t *)w;
        for (int i = 0; i < count; i++) {
            float v = extreme ? (next64() & 1 ? -1.0f : 1.0f) : uniform(-1, 1);
            uint32_t bits;
            memcpy(&bits, &v, 4);
            h[i] = t->slot == EAH_F16 ? eah_float_to_half(v) : (uint16_t)(bits >> 16);
        }
        return;
    }
    random_bytes(w, (size_t)count * t->bytes, extreme);
    for (int b = 0; b < count; b++) {
        uint8_t *p = w + (size_t)b * t->bytes;
        eah_half d = random_scale(extreme), m = random_scale(extreme);
        switch (t->slot) {
        case EAH_Q4_0: ((block_q4_0 *)p)->d = d; break;
        case EAH_Q4_1: ((block_q4_1 *)p)->d = d; ((block_q4_1 *)p)->m = m; break;
        case EAH_Q5_0: ((block_q5_0 *)p)->d = d; break;
        case EAH_Q5_1: ((block_q5_1 *)p)->d = d; ((block_q5_1 *)p)->m = m; break;
        case EAH_Q8_0: ((block_q8_0 *)p)->d = d; break;
        case EAH_IQ4_NL: ((block_iq4_nl *)p)->d = d; break;
        case EAH_Q2_K: ((block_q2_K *)p)->d = d; ((block_q2_K *)p)->dmin = m; break;
        case EAH_Q3_K: ((block_q3_K *)p)->d = d; break;
        case EAH_Q4_K: ((block_q4_K *)p)->d = d; ((block_q4_K *)p)->dmin = m; break;
        case EAH_Q5_K: ((block_q5_K *)p)->d = d; ((block_q5_K *)p)->dmin = m; break;
        case EAH_Q6_K: ((block_q6_K *)p)->d = d; break;
        case EAH_Q8_K: ((block_q8_K *)p)->d = eah_half_to_float(d); break;
        case EAH_IQ4_XS: ((block_iq4_xs *)p)->d = d; break;
        }
    }
}

/// Activation rows in the partner format: random floats quantized by the portable kernel, or
/// (extreme) quantized blocks with every value ±127.
static void random_activations(const eah_kernel_table *portable, const weight_type *t, int k, int m,
                               uint8_t *x, size_t rowBytes, int extreme) {
    float *f = malloc(sizeof(float) * (size_t)k);
    for (int r = 0; r < m; r++) {
        uint8_t *row = x + (size_t)r * rowBytes;
        for (int i = 0; i < k; i++) f[i] = extreme ? (next64() & 1 ? -3.0f : 3.0f) : uniform(-1, 1) * (1 + (float)(i % 7));
        if (t->partner == EAH_F32) memcpy(row, f, sizeof(float) * (size_t)k);
        else if (t->partner == EAH_Q8_0) portable->quantize_q8_0(f, row, k);
        else portable->quantize_q8_K(f, row, k);
    }
    free(f);
}

/// Σ|w_i·x_i| of a float-type row product, for the tolerance.
static double magnitude(const weight_type *t, int k, const uint8_t *w, const float *x) {
    double s = 0;
    for (int i = 0; i < k; i++) {
        float wi;
        if (t->slot == EAH_F32) memcpy(&wi, w + 4 * i, 4);
        else {
            uint16_t h;
            memcpy(&h, w + 2 * i, 2);
            if (t->slot == EAH_F16) wi = eah_half_to_float(h);
            else { uint32_t bits = (uint32_t)h << 16; memcpy(&wi, &bits, 4); }
        }
        s += fabs((double)wi * (double)x[i]);
    }
    return s;
}

static double float_tolerance(int terms, double sumAbs) {
    return 16.0 * sqrt((double)terms) * 0x1p-24 * sumAbs + 1e-30;
}

static int same_float(float a, float b) { return memcmp(&a, &b, 4) == 0; }

// MARK: - Products: every (type, k, m) as an m × rows matrix product, row by row and four rows at a time

static int own_kernels(const eah_kernel_table *t, const eah_kernel_table *portable, int *fourRow) {
    int own = 0;
    *fourRow = 0;
    for (int s = 0; s < EAH_TYPE_SLOTS; s++) {
        if (t->vec_dot[s] && t->vec_dot[s] != portable->vec_dot[s]) own++;
        if (t->vec_dot4[s]) (*fourRow)++;
    }
    return own;
}

static void check_products(const eah_kernel_table *t, const eah_kernel_table *portable, const weight_type *wt) {
    static const int ms[] = {1, 2, 5, 97};
    static const int floatKs[] = {1, 3, 7, 8, 15, 17, 33, 100, 257, 1000, 4099};
    static const int q32Ks[] = {32, 96, 224, 288, 4128};      // 288, 4128: not multiples of 256
    static const int q256Ks[] = {256, 768, 2816};
    const int *ks = wt->block == 1 ? floatKs : wt->block == 32 ? q32Ks : q256Ks;
    int kCount = wt->block == 1 ? 11 : wt->block == 32 ? 5 : 3;
    const int rows = 13;  // weight rows: not a multiple of 4 (the four-row kernels) or 6 (the GEMM tile)
    eah_vec_dot_fn dot = t->vec_dot[wt->slot], reference = portable->vec_dot[wt->slot];
    eah_vec_dot4_fn dot4 = t->vec_dot4[wt->slot];
    for (int ki = 0; ki < kCount; ki++) {
        int k = ks[ki], blocks = k / wt->block;
        size_t wRowBytes = (size_t)blocks * wt->bytes;
        size_t xRowBytes = wt->partner == EAH_F32 ? sizeof(float) * (size_t)k
                         : wt->partner == EAH_Q8_0 ? sizeof(block_q8_0) * (size_t)(k / 32)
                                                   : sizeof(block_q8_K) * (size_t)(k / 256);
        for (int mi = 0; mi < 4; mi++) {
            for (int extreme = 0; extreme < 2; extreme++) {
                int m = ms[mi];
                if (extreme && m > 5) continue;
                // One byte of offset: weight rows and activations need not be aligned.
                uint8_t *wBase = malloc(wRowBytes * rows + 1), *xBase = malloc(xRowBytes * (size_t)m + 4);
                uint8_t *w = wBase + 1, *x = xBase + (wt->partner == EAH_F32 ? 4 : 1);
                random_weights(wt, w, blocks * rows, extreme);
                random_activations(portable, wt, k, m, x, xRowBytes, extreme);
                for (int i = 0; i < m; i++) {
                    const uint8_t *xRow = x + (size_t)i * xRowBytes;
                    float xf[4099 + 1];
                    if (wt->isFloat) memcpy(xf, xRow, sizeof(float) * (size_t)k);
                    for (int r = 0; r < rows; r++) {
                        const uint8_t *wRow = w + (size_t)r * wRowBytes;
                        float got = dot(k, wRow, xRow), want = reference(k, wRow, xRow);
                        float got4 = want;
                        if (dot4 && i % 4 == 0 && i + 4 <= m) {
                            float out[4];
                            dot4(k, wRow, xRow, xRowBytes, out);
                            got4 = out[0];
                            for (int a = 1; a < 4; a++) {
                                float single = reference(k, wRow, xRow + a * xRowBytes);
                                double tol = wt->isFloat ? float_tolerance(k, magnitude(wt, k, wRow, (const float *)(xRow + a * xRowBytes))) : 0;
                                if (wt->isFloat ? !(fabs((double)out[a] - single) <= tol) : !same_float(out[a], single))
                                    FAIL("%s vec_dot4 %s k=%d m=%d row %d act %d: %.9g, portable %.9g", t->name, wt->name, k, m, r, i + a, out[a], single);
                            }
                        }
                        cases++;
                        if (wt->isFloat) {
                            double tol = float_tolerance(k, magnitude(wt, k, wRow, xf));
                            if (!(fabs((double)got - want) <= tol) || !(fabs((double)got4 - want) <= tol))
                                FAIL("%s vec_dot %s k=%d m=%d row %d act %d: %.9g (four-row %.9g), portable %.9g, tolerance %.3g",
                                     t->name, wt->name, k, m, r, i, got, got4, want, tol);
                        } else if (!same_float(got, want) || !same_float(got4, want) || !isfinite(got)) {
                            FAIL("%s vec_dot %s k=%d m=%d%s row %d act %d: %.9g (four-row %.9g), portable %.9g (bit-exact expected)",
                                 t->name, wt->name, k, m, extreme ? " extreme" : "", r, i, got, got4, want);
                        }
                    }
                }
                free(wBase);
                free(xBase);
            }
        }
    }
}

// MARK: - Activation quantization and half/bfloat widening (bit-exact)

static void check_quantize(const eah_kernel_table *t, const eah_kernel_table *portable) {
    static const int lengths[] = {256, 512, 2816, 4096};
    for (int format = 0; format < 2; format++) {
        eah_quantize_fn q = format ? t->quantize_q8_K : t->quantize_q8_0, p = format ? portable->quantize_q8_K : portable->quantize_q8_0;
        size_t blockBytes = format ? sizeof(block_q8_K) : sizeof(block_q8_0);
        int block = format ? 256 : 32;
        for (int li = 0; li < 4; li++) {
            for (int kind = 0; kind < 4; kind++) {
                int n = lengths[li];
                float *x = malloc(sizeof(float) * (size_t)n);
                for (int i = 0; i < n; i++) {
                    switch (kind) {
                    case 0: x[i] = uniform(-1, 1) * ldexpf(1, (int)(next64() % 9) - 4); break;
                    case 1: x[i] = (float)((int)(next64() % 255) - 127) + 0.5f; break;   // ties after scaling by 1
                    case 2: x[i] = 0; break;                                              // d = 0
                    default: x[i] = ldexpf(uniform(-1, 1), -20); break;                   // subnormal half scales
                    }
                }
                if (kind == 1) for (int b = 0; b < n / block; b++) x[b * block + 3] = 127.0f;  // amax 127: d = 1
                uint8_t *a = malloc(blockBytes * (size_t)(n / block)), *b = malloc(blockBytes * (size_t)(n / block));
                memset(a, 0xAB, blockBytes * (size_t)(n / block));
                memset(b, 0xAB, blockBytes * (size_t)(n / block));
                q(x, a, n);
                p(x, b, n);
                cases++;
                if (memcmp(a, b, blockBytes * (size_t)(n / block)) != 0)
                    FAIL("%s quantize_%s n=%d input kind %d differs from portable", t->name, format ? "q8_K" : "q8_0", n, kind);
                free(x); free(a); free(b);
            }
        }
    }
    // Every 16-bit pattern, through lengths that leave every tail size, from unaligned addresses.
    for (int format = 0; format < 2; format++) {
        eah_widen_fn f = format ? t->bf16_to_f32 : t->f16_to_f32, p = format ? portable->bf16_to_f32 : portable->f16_to_f32;
        uint16_t *h = malloc(2 * 65536 + 2);
        float *a = malloc(4 * 65536 + 4), *b = malloc(4 * 65536 + 4);
        for (int i = 0; i < 65536; i++) h[i + 1] = (uint16_t)i;
        for (int start = 0, len = 1; start < 65536; start += len, len = len % 37 + 1) {
            int n = start + len > 65536 ? 65536 - start : len;
            f(h + 1 + start, a + 1 + start, n);
            p(h + 1 + start, b + 1 + start, n);
        }
        for (int i = 0; i < 65536; i++) {
            cases++;
            // NaNs may come back quieted by the hardware conversion: any NaN matches any NaN.
            if (!same_float(a[1 + i], b[1 + i]) && !(isnan(a[1 + i]) && isnan(b[1 + i])))
                FAIL("%s %s 0x%04x: %.9g, portable %.9g", t->name, format ? "bf16_to_f32" : "f16_to_f32", i, a[1 + i], b[1 + i]);
        }
        free(h); free(a); free(b);
    }
}

// MARK: - GEMM: C (M × N) = A (M × K) · B (K × N) through 8 × 32 (where the table has them) or 6 × 32
// tiles, as EAHCore's GEMMKernel drives them

static void gemm(const eah_kernel_table *t, int M, int N, int K, const float *A, const float *panels, float *C, long ldc,
                 const float *bias, int kc) {
    float scratch[8 * 32];
    const int mr = t->gemm_tile8 ? 8 : 6;
    int panelsCount = (N + 31) / 32;
    for (int p0 = 0; p0 < K; p0 += kc) {
        int depth = K - p0 < kc ? K - p0 : kc;
        for (int jp = 0; jp < panelsCount; jp++) {
            const float *panel = panels + (size_t)jp * 32 * K + (size_t)32 * p0;
            int width = N - 32 * jp < 32 ? N - 32 * jp : 32;
            for (int r0 = 0; r0 < M; r0 += mr) {
                int height = M - r0 < mr ? M - r0 : mr;
                const float *rows[8];
                for (int r = 0; r < mr; r++) rows[r] = A + (size_t)(r0 + (r < height ? r : height - 1)) * K + p0;
                int start = p0 > 0 ? 2 : bias ? 1 : 0;
                float *cTile = C + (size_t)r0 * ldc + 32 * jp;
                if (height == mr && width == 32) {
                    if (mr == 8) t->gemm_tile8(rows, panel, depth, cTile, ldc, start, bias ? bias + 32 * jp : NULL);
                    else t->gemm_tile(rows, panel, depth, cTile, ldc, start, bias ? bias + 32 * jp : NULL);
                } else {
                    if (start == 2) for (int r = 0; r < height; r++) for (int j = 0; j < width; j++) scratch[r * 32 + j] = cTile[r * ldc + j];
                    float paddedBias[32] = {0};
                    if (bias) for (int j = 0; j < width; j++) paddedBias[j] = bias[32 * jp + j];
                    if (mr == 8) t->gemm_tile8(rows, panel, depth, scratch, 32, start, paddedBias);
                    else t->gemm_tile(rows, panel, depth, scratch, 32, start, paddedBias);
                    for (int r = 0; r < height; r++) for (int j = 0; j < width; j++) cTile[r * ldc + j] = scratch[r * 32 + j];
                }
            }
        }
    }
}

static void check_gemm(const eah_kernel_table *t, const eah_kernel_table *portable) {
    static const int Ms[] = {1, 2, 5, 97}, Ns[] = {32, 45, 97}, Ks[] = {1, 7, 64, 300};
    for (int mi = 0; mi < 4; mi++) for (int ni = 0; ni < 3; ni++) for (int ki = 0; ki < 4; ki++) for (int withBias = 0; withBias < 2; withBias++) {
        int M = Ms[mi], N = Ns[ni], K = Ks[ki], panelsCount = (N + 31) / 32;
        long ldc = N + 3;
        float *A = malloc(sizeof(float) * (size_t)M * K), *panels = calloc((size_t)panelsCount * 32 * K, sizeof(float));
        float *B = malloc(sizeof(float) * (size_t)K * N), bias[128] = {0};
        for (int i = 0; i < M * K; i++) A[i] = uniform(-1, 1);
        for (int i = 0; i < K * N; i++) B[i] = uniform(-1, 1);
        for (int j = 0; j < N; j++) bias[j] = withBias ? uniform(-4, 4) : 0;
        for (int p = 0; p < K; p++) for (int j = 0; j < N; j++) panels[(size_t)(j / 32) * 32 * K + (size_t)32 * p + j % 32] = B[(size_t)p * N + j];
        float *got = malloc(sizeof(float) * (size_t)M * ldc), *want = malloc(sizeof(float) * (size_t)M * ldc);
        for (long i = 0; i < M * ldc; i++) got[i] = want[i] = -7.0f;  // the 3 columns past N stay -7
        int kc = K > 64 ? 128 : K > 4 ? 4 : K;  // several depth blocks: start modes 0/1 then 2
        gemm(t, M, N, K, A, panels, got, ldc, withBias ? bias : NULL, kc);
        gemm(portable, M, N, K, A, panels, want, ldc, withBias ? bias : NULL, kc);
        for (int r = 0; r < M; r++) for (long j = 0; j < ldc; j++) {
            cases++;
            float g = got[r * ldc + j], w = want[r * ldc + j];
            if (j >= N) {
                if (g != -7.0f) FAIL("%s gemm M=%d N=%d K=%d: wrote C[%d][%ld] past the matrix", t->name, M, N, K, r, j);
                continue;
            }
            double sumAbs = fabs(bias[j]);
            for (int p = 0; p < K; p++) sumAbs += fabs((double)A[(size_t)r * K + p] * B[(size_t)p * N + j]);
            double tol = float_tolerance(K + 1, sumAbs);
            if (!(fabs((double)g - w) <= tol))
                FAIL("%s gemm M=%d N=%d K=%d bias %d: C[%d][%ld] %.9g, portable %.9g, tolerance %.3g", t->name, M, N, K, withBias, r, j, g, w, tol);
        }
        free(A); free(panels); free(B); free(got); free(want);
    }
}

// MARK: - Exponentials: within 3 ulp of the portable (libm) ones, −∞ to 0, NaN kept

static int close_ulps(float a, float b, float ulps) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (a == b) return 1;
    float scale = fabsf(b) < 0x1p-126f ? 0x1p-149f : fabsf(b) * 0x1p-23f;
    return fabsf(a - b) <= ulps * scale || (fabsf(a) < 1e-35f && fabsf(b) < 1e-35f);
}

static void check_exponentials(const eah_kernel_table *t, const eah_kernel_table *portable) {
    enum { N = 1031 };
    float x[N], a[N], b[N];
    for (int i = 0; i < N; i++) x[i] = uniform(-95, 95);
    x[0] = -INFINITY; x[1] = NAN; x[2] = 0; x[3] = 88.7f; x[4] = -104; x[5] = INFINITY;
    for (int len = 1; len <= N; len = len * 3 + 1) {
        memcpy(a, x, sizeof x); memcpy(b, x, sizeof x);
        float sa = t->exp_shifted(a, len, 1.5f), sb = portable->exp_shifted(b, len, 1.5f);
        for (int i = 0; i < len; i++) {
            cases++;
            if (!close_ulps(a[i], b[i], 3)) FAIL("%s exp_shifted(%.9g − 1.5): %.9g, portable %.9g", t->name, x[i], a[i], b[i]);
        }
        cases++;
        if (!(isnan(sa) && isnan(sb)) && !(fabsf(sa - sb) <= 1e-5f * fabsf(sb))) FAIL("%s exp_shifted sum of %d: %.9g, portable %.9g", t->name, len, sa, sb);
        for (int g = 0; g < 2; g++) {
            float alpha = g ? 1.702f : 1.0f;
            memcpy(a, x, sizeof x); memcpy(b, x, sizeof x);
            t->sigmoid_gate(a, len, alpha);
            portable->sigmoid_gate(b, len, alpha);
            for (int i = 0; i < len; i++) {
                cases++;
                if (!close_ulps(a[i], b[i], 4)) FAIL("%s sigmoid_gate(%.9g, %g): %.9g, portable %.9g", t->name, x[i], alpha, a[i], b[i]);
            }
        }
    }
}

// MARK: - Dispatch

static int list_contains(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static void check_dispatch(const eah_kernel_table *const *tables, int count, const char *expectActive, const char *expectRunnable) {
    const eah_kernel_table *active = eah_kernels_active();
    char names[256] = "";
    for (int i = 0; i < count; i++) {
        if (i) strcat(names, ",");
        strncat(names, tables[i]->name, sizeof names - strlen(names) - 1);
    }
    printf("runnable tables: %s; active: %s", names, active->name);
    if (strcmp(tables[0]->name, "portable") != 0) FAIL("the first runnable table is %s, not portable", tables[0]->name);
    const char *forced = getenv("EAH_ISA");
    const eah_kernel_table *best = tables[count - 1], *expected = best;
    if (forced) for (int i = 0; i < count; i++) if (strcmp(tables[i]->name, forced) == 0) expected = tables[i];
    if (active != expected) FAIL("active table %s, expected %s (EAH_ISA=%s)", active->name, expected->name, forced ? forced : "unset");
#if defined(__aarch64__) && defined(__linux__)
    unsigned long hwcap = getauxval(AT_HWCAP);
    int dotprod = (hwcap & HWCAP_ASIMDDP) != 0;
    printf("; HWCAP 0x%lx (asimddp %d)", hwcap, dotprod);
    const char *wantBest = dotprod ? "neon-dotprod" : "neon";
    if (strcmp(best->name, wantBest) != 0) FAIL("HWCAP asimddp=%d, but the best runnable table is %s, not %s", dotprod, best->name, wantBest);
    if (count != 2 + dotprod) FAIL("expected %d runnable tables on this CPU, found %d (%s)", 2 + dotprod, count, names);
#endif
    printf("\n");
    if (expectActive && strcmp(active->name, expectActive) != 0) FAIL("active table %s, expected %s", active->name, expectActive);
    if (expectRunnable) {
        for (int i = 0; i < count; i++) if (!list_contains(expectRunnable, tables[i]->name)) FAIL("unexpected runnable table %s", tables[i]->name);
        for (const char *p = expectRunnable; *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            int found = 0;
            for (int i = 0; i < count; i++) if (strlen(tables[i]->name) == len && strncmp(tables[i]->name, p, len) == 0) found = 1;
            if (!found) FAIL("expected runnable table %.*s is missing (runnable: %s)", (int)len, p, names);
            p += len + (comma ? 1 : 0);
        }
    }
}

int main(int argc, char **argv) {
    const char *expectActive = NULL, *expectRunnable = NULL;
    int dispatchOnly = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);  // keep results and failures (stderr) in order
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-active") == 0 && i + 1 < argc) expectActive = argv[++i];
        else if (strcmp(argv[i], "--expect-runnable") == 0 && i + 1 < argc) expectRunnable = argv[++i];
        else if (strcmp(argv[i], "--dispatch-only") == 0) dispatchOnly = 1;
        else {
            fprintf(stderr, "usage: kernel-check [--expect-active NAME] [--expect-runnable a,b,c] [--dispatch-only]\n");
            return 2;
        }
    }
    int count;
    const eah_kernel_table *const *tables = eah_kernels_runnable(&count);
    check_dispatch(tables, count, expectActive, expectRunnable);
    const eah_kernel_table *portable = tables[0];
    // Every slot a table fills must be a type this harness knows how to feed.
    for (int i = 0; i < count; i++) for (int s = 0; s < EAH_TYPE_SLOTS; s++) {
        if ((tables[i]->vec_dot[s] || tables[i]->vec_dot4[s]) && !type_for_slot(s))
            FAIL("table %s has a kernel for type slot %d, unknown to kernel-check: add it to `types`", tables[i]->name, s);
        if (tables[i]->vec_dot4[s] && !portable->vec_dot[s]) FAIL("table %s: four-row kernel for slot %d without a portable reference", tables[i]->name, s);
    }
    if (!dispatchOnly) {
        for (int i = 0; i < count; i++) {
            const eah_kernel_table *t = tables[i];
            int before = cases, fourRow, own = own_kernels(t, portable, &fourRow);
            if (t != portable) check_quantize(t, portable);
            for (int ti = 0; ti < TYPE_COUNT; ti++) {
                const weight_type *wt = &types[ti];
                if (!portable->vec_dot[wt->slot]) continue;
                if (!t->vec_dot[wt->slot]) { FAIL("%s has no kernel for %s, which portable has", t->name, wt->name); continue; }
                // The portable table against itself only checks its four-row kernels (if any).
                if (t != portable || t->vec_dot4[wt->slot]) check_products(t, portable, wt);
            }
            if (t != portable) check_gemm(t, portable);
            if (t != portable) check_exponentials(t, portable);
            if (t == portable && cases == before) continue;  // the reference, with nothing of its own to check
            printf("%s: %d own product kernels, %d four-row kernels, %d cases compared with portable\n", t->name, own, fourRow, cases - before);
        }
    }
    if (failures) {
        fprintf(stderr, "kernel-check: %d of %d cases failed\n", failures, cases);
        return 1;
    }
    if (dispatchOnly) printf("kernel-check: dispatch as expected\n");
    else printf("kernel-check: all %d cases match\n", cases);
    return 0;
}
