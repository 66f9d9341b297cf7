"""numpy (OpenBLAS) float32 matmul throughput for the shapes of `eah-bench matmul`.

Prints one JSON line (schema 1) per shape: C = A @ B.T with A m x k, B n x k, best of several
runs, in GFLOP/s (2*m*n*k per product). Used by tools/bench.sh as the machine's practical peak.
"""
import json
import time

import numpy as np

M, K, NS = 128, 2048, (2048, 5632)


def best(fn, runs):
    fn()
    fastest = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def main():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (M, K)).astype(np.float32)
    for n in NS:
        b = rng.uniform(-1, 1, (n, K)).astype(np.float32)
        out = np.empty((M, n), dtype=np.float32)
        seconds = best(lambda: np.matmul(a, b.T, out=out), runs=10)
        print(json.dumps({
            "schema": 1, "benchmark": "numpy-matmul-f32", "m": M, "n": n, "k": K,
            "numpy": np.__version__, "seconds": round(seconds, 6),
            "gflops": round(2.0 * M * n * K / seconds / 1e9, 2),
        }), flush=True)


if __name__ == "__main__":
    main()
