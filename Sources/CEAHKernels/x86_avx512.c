// AVX-512 kernels (F/BW/VL with VNNI: Ice Lake, Sapphire Rapids, Zen 4 and later), selected at run
// time by dispatch.c: VNNI byte dot products and 512-bit float kernels.
#include "blocks.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define EAH_AVX512 1
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"))), apply_to = function)
#include "x86_kernels.inc"
#pragma clang attribute pop

void eah_fill_avx512(eah_kernel_table *table) {
    eah_fill_portable(table);
    table->name = "avx512";
    fill_x86(table);
}
#endif
