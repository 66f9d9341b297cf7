// Chooses the kernel table once from what the CPU reports (CPUID and XGETBV on x86, HWCAP on
// arm64 Linux, sysctl on arm64 macOS). EAH_ISA=portable|avx2|avx512|neon|neon-dotprod forces a table the CPU can run.
#include "blocks.h"
#include <stdlib.h>
#include <pthread.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void x86_features(int *avx2, int *avx512) {
    unsigned int a, b, c, d;
    *avx2 = *avx512 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return;
    unsigned long long xcr0 = xgetbv0();
    int ymmState = (xcr0 & 0x6) == 0x6, zmmState = (xcr0 & 0xe6) == 0xe6;
    if (!ymmState || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    *avx2 = ((b >> 5) & 1) && fma && f16c;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    *avx512 = *avx2 && zmmState && f && dq && bw && vl && vnni;
}
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#if defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#if defined(__aarch64__)
/// Whether the CPU has the Armv8.2 dot-product instructions: HWCAP on Linux, the
/// `hw.optional.arm.FEAT_DotProd` sysctl on macOS (every Apple M-series chip has them).
static int arm_has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, NULL, 0) == 0 && value != 0;
#else
    return 0;
#endif
}
#endif

static eah_kernel_table tables[3];
static const eah_kernel_table *runnable[3];
static int runnableCount;
static const eah_kernel_table *active;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void) {
    eah_fill_portable(&tables[0]);
    runnable[runnableCount++] = &tables[0];
#if defined(__x86_64__) || defined(__i386__)
    int avx2, avx512;
    x86_features(&avx2, &avx512);
    if (avx2) { eah_fill_avx2(&tables[runnableCount]); runnable[runnableCount] = &tables[runnableCount]; runnableCount++; }
    if (avx512) { eah_fill_avx512(&tables[runnableCount]); runnable[runnableCount] = &tables[runnableCount]; runnableCount++; }
#elif defined(__aarch64__)
    eah_fill_neon(&tables[runnableCount]); runnable[runnableCount] = &tables[runnableCount]; runnableCount++;
    if (arm_has_dotprod()) {
        eah_fill_neon_dotprod(&tables[runnableCount]); runnable[runnableCount] = &tables[runnableCount]; runnableCount++;
    }
#endif
    active = runnable[runnableCount - 1];
    const char *forced = getenv("EAH_ISA");
    if (forced) {
        for (int i = 0; i < runnableCount; i++) {
            if (strcmp(forced, runnable[i]->name) == 0) active = runnable[i];
        }
    }
}

const eah_kernel_table *eah_kernels_active(void) {
    pthread_once(&once, choose);
    return active;
}

const eah_kernel_table *const *eah_kernels_runnable(int *count) {
    pthread_once(&once, choose);
    *count = runnableCount;
    return runnable;
}
