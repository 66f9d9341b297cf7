// CEAHKernels: the ISA-specific microkernels behind EAHCore's weight types and matrix products.
//
// Every kernel exists in a portable C version and, where it pays, in variants for AVX2+FMA+F16C,
// AVX-512 (F/BW/VL, with VNNI) and NEON (with dotprod). The variants are compiled with per-function
// target attributes, so one binary runs on any x86-64 or arm64 CPU; `eah_kernels_active` picks the
// best table the CPU supports once (CPUID / HWCAP). `EAH_ISA` in the environment can force a
// weaker one ("portable", "avx2", ...).
#ifndef EAH_KERNELS_H
#define EAH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel tables are indexed by ggml type id (F32 = 0, F16 = 1, Q4_0 = 2, ..., BF16 = 30).
#define EAH_TYPE_SLOTS 43

/// `Σ w[i] · x[i]` over `n` elements: `w` is a weight row in its stored type, `x` the activation
/// row in the type's partner format (F32 for F32/F16/BF16, Q8_0 for 32-element types, Q8_K for
/// 256-element types). `n` is a multiple of the block size.
typedef float (*eah_vec_dot_fn)(int n, const void *w, const void *x);

/// `out[a] = Σ w[i] · x_a[i]` for four activation rows `x_a = x + a·stride` (bytes): one weight
/// row against four activation rows at once, decoding the weights once (prefill).
typedef void (*eah_vec_dot4_fn)(int n, const void *w, const void *x, size_t stride, float out[4]);

/// Quantizes `n` floats (a multiple of the block size) to Q8_0 or Q8_K blocks.
typedef void (*eah_quantize_fn)(const float *x, void *y, int n);

/// Converts `n` 16-bit floats (F16 or BF16) to F32.
typedef void (*eah_widen_fn)(const uint16_t *x, float *y, int n);

/// The F32 GEMM tile: c[r, j] (+)= Σ_p a[r][p] · panel[p·32 + j] for r < 6, j < 32, p < depth.
/// `a[r]` points at row r of A (callers repeat the last row for short tiles). `start`: 0 zeroes
/// the accumulators, 1 starts every row from `initial` (32 floats), 2 from c's contents.
typedef void (*eah_gemm_tile_fn)(const float *const a[6], const float *panel, int depth,
                                 float *c, long ldc, int start, const float *initial);

/// A panel product for prefill: packs weight rows `w_r = w + r·wstride` (bytes), r < `rows` ≤ 16,
/// into `scratch` (`eah_panel_scratch_bytes`) and writes `out[a·ldo + r] = Σ w_r[i] · x_a[i]` for
/// every activation row `x_a = x + a·xstride`, a < `count`, in the format the table's
/// `panel_quantize` of the type writes (`eah_panel_activation_bytes`). `n` is a multiple of the
/// block size.
typedef void (*eah_panel_fn)(int n, const void *w, size_t wstride, int rows, const void *x, size_t xstride, int count,
                             float *out, size_t ldo, void *scratch);

/// Packs weight rows into one micro-panel of the F32 GEMM tile: `panel[p·32 + j]` = element p of
/// row j (`w + j·wstride` bytes, in the slot's type: F32, F16 or BF16) widened to F32, for
/// p < `depth`, j < `rows` ≤ 32, and 0 for rows ≤ j < 32. Widening is exact, so every variant
/// writes the same bits. `prefetch` ≠ 0: each row's `depth` elements starting `prefetch` bytes
/// after its packed ones (what the caller packs next) are prefetched while packing (a hint: variants may
/// ignore it, and it never faults).
typedef void (*eah_gemm_pack_fn)(const void *w, size_t wstride, int rows, int depth, float *panel, long prefetch);

typedef struct eah_kernel_table {
    /// "portable", "avx2", "avx512", "neon", "neon-dotprod".
    const char *name;
    /// Products of a weight row with an activation row; NULL where a type has no kernel.
    eah_vec_dot_fn vec_dot[EAH_TYPE_SLOTS];
    /// Four-row versions where a variant has them (NULL: call vec_dot four times).
    eah_vec_dot4_fn vec_dot4[EAH_TYPE_SLOTS];
    eah_quantize_fn quantize_q8_0;
    eah_quantize_fn quantize_q8_K;
    eah_widen_fn f16_to_f32;
    eah_widen_fn bf16_to_f32;
    eah_gemm_tile_fn gemm_tile;
    /// Panel products where a variant has them (NULL: use vec_dot / vec_dot4), and the
    /// quantizers that write one activation row in each panel's format.
    eah_panel_fn panel[EAH_TYPE_SLOTS];
    eah_quantize_fn panel_quantize[EAH_TYPE_SLOTS];
    /// One weight row against one activation row in the panel format (decode), where a variant
    /// has it (NULL: vec_dot with the partner format).
    eah_vec_dot_fn panel_dot[EAH_TYPE_SLOTS];
    /// GEMM micro-panel packers for F32, F16 and BF16 weights (NULL for other types).
    eah_gemm_pack_fn gemm_pack[EAH_TYPE_SLOTS];
    /// An 8-row version of `gemm_tile` (a[8], the same panel and `start`) where a variant has
    /// the registers for it (AVX-512); NULL elsewhere.
    void (*gemm_tile8)(const float *const a[8], const float *panel, int depth, float *c, long ldc, int start,
                       const float *initial);
    /// `x[i] = x[i] / (1 + e^(−alpha·x[i]))` in place for i < n: SiLU with alpha 1, CLIP's
    /// quick GELU with 1.702 (alpha·x rounded to float first, as float32 code computes it).
    void (*sigmoid_gate)(float *x, int n, float alpha);
    /// `x[i] = e^(x[i] − shift)` in place for i < n; returns their sum (a softmax's
    /// numerators and denominator). −∞ gives 0.
    float (*exp_shifted)(float *x, int n, float shift);
} eah_kernel_table;

/// Bytes of one activation row of `n` elements in the panel format: n int8 quants, then per
/// 32 elements a float scale, an int32 and two floats (16 bytes).
static inline size_t eah_panel_activation_bytes(int n) { return (size_t)n + (size_t)n / 32 * 16; }

/// Bytes of the scratch a panel product of `n`-element rows packs 16 weight rows into.
static inline size_t eah_panel_scratch_bytes(int n) { return (size_t)n / 32 * 768; }

/// The product kernel of ggml type `type` in `table`, or NULL.
static inline eah_vec_dot_fn eah_vec_dot_for(const eah_kernel_table *table, int type) {
    return type >= 0 && type < EAH_TYPE_SLOTS ? table->vec_dot[type] : (eah_vec_dot_fn)0;
}

/// The four-row product kernel of ggml type `type` in `table`, or NULL.
static inline eah_vec_dot4_fn eah_vec_dot4_for(const eah_kernel_table *table, int type) {
    return type >= 0 && type < EAH_TYPE_SLOTS ? table->vec_dot4[type] : (eah_vec_dot4_fn)0;
}

/// The GEMM micro-panel packer of ggml type `type` in `table`, or NULL.
static inline eah_gemm_pack_fn eah_gemm_pack_for(const eah_kernel_table *table, int type) {
    return type >= 0 && type < EAH_TYPE_SLOTS ? table->gemm_pack[type] : (eah_gemm_pack_fn)0;
}

/// The table chosen for this CPU (decided on the first call).
const eah_kernel_table *eah_kernels_active(void);

/// Every table compiled into this binary that this CPU can run, best last; `count` receives the
/// number. Tests compare each with the portable one (index 0).
const eah_kernel_table *const *eah_kernels_runnable(int *count);

#ifdef __cplusplus
}
#endif

#endif
