// AVX2 + FMA + F16C kernels (Haswell and later), selected at run time by dispatch.c.
#include "blocks.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define EAH_AVX512 0
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "x86_kernels.inc"
#pragma clang attribute pop

void eah_fill_avx2(eah_kernel_table *table) {
    eah_fill_portable(table);
    table->name = "avx2";
    fill_x86(table);
}
#endif
