#!/usr/bin/env python3
"""Tokenization throughput of the reference libraries for `make bench` (tools/bench.sh).

Usage: bench_tokenizers.py VOCAB_DIR TEXT_PATH
Writes TEXT_PATH (a 10 MB mixed text: prose, code with indentation, several scripts, emoji,
deterministic) when it is missing, then prints one JSON line (schema 1) per vocabulary with the
`tokenizers` library's MB/s encoding its lines as one batch (encode_batch, every core; best of
3), and sentencepiece's for the Mistral model (encode of the list of lines, every core). Lines,
not one 10 MB string: both libraries merge a whole string at once, which takes minutes. eah-bench tokenize reads the same text and these lines, so the ratios come from
the same run.
"""
import json
import os
import random
import sys
import time

SIZE = 10 * 1000 * 1000
PIECES = [
    "The quick brown fox jumps over the lazy dog. ", "What is shown in this image? Describe it in detail.\n",
    "It's a cat; it isn't a dog, and they're both asleep. ", "Prices rose 3.5% to $1,234.56 in Q3 2024.\n",
    "def f(x):\n    if x > 0:\n        return x * 2\n    return -x\n\n", "int main(void) {\n\tprintf(\"%d\\n\", 42);\n}\n",
    "{\n  \"key\": [1, 2, 3],\n  \"nested\": {\"a\": null}\n}\n", "x  =  1\ny   =   2\n",
    "Привет, как дела? Всё хорошо. ", "Καλημέρα κόσμε. ", "مرحبا بالعالم. ", "नमस्ते दुनिया। ",
    "你好，世界！今天天气很好。", "こんにちは、世界。", "안녕하세요 세계. ", "😀 👍🏽 👩‍💻 🇫🇷 ", "Ünïcödé ñ ß æ ø å. ",
]


def write_text(path):
    rng = random.Random(2024)
    parts, size = [], 0
    while size < SIZE:
        piece = rng.choice(PIECES)
        parts.append(piece)
        size += len(piece.encode("utf-8"))
    text = "".join(parts).encode("utf-8")[:SIZE].decode("utf-8", "ignore")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".partial", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".partial", path)


def best(fn, runs=3, budget=20.0):
    """The fastest of up to `runs` calls, fewer when they take longer than `budget` seconds."""
    fastest, spent = float("inf"), 0.0
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        fastest, spent = min(fastest, seconds), spent + seconds
        if spent > budget:
            break
    return fastest


def main():
    folder, text_path = sys.argv[1], sys.argv[2]
    if not os.path.exists(text_path):
        write_text(text_path)
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    megabytes = len(text.encode("utf-8")) / 1e6
    lines = text.splitlines(keepends=True)
    from tokenizers import Tokenizer
    import tokenizers
    for name, file in (("gemma-3", "gemma-3.json"), ("mistral-v3", "mistral-v3.json")):
        path = os.path.join(folder, file)
        if not os.path.exists(path):
            print(f"bench_tokenizers: {path} missing (tools/fetch_real_tokenizers.py with transformers writes it)", file=sys.stderr)
            continue
        tok = Tokenizer.from_file(path)
        count = 0

        def encode():
            nonlocal count
            count = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
        seconds = best(encode)
        print(json.dumps({"schema": 1, "benchmark": "tokenize-reference", "library": "tokenizers " + tokenizers.__version__,
                          "vocabulary": name, "megabytes": round(megabytes, 3), "lines": len(lines), "tokens": count,
                          "seconds": round(seconds, 4), "mb_per_s": round(megabytes / seconds, 3)}), flush=True)
    try:
        import sentencepiece as spm
    except ImportError:
        return
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "mistral-v3.model"))
    count = 0

    def encode_spm():
        nonlocal count
        count = sum(len(ids) for ids in sp.encode(lines, num_threads=os.cpu_count()))
    seconds = best(encode_spm)
    print(json.dumps({"schema": 1, "benchmark": "tokenize-reference", "library": "sentencepiece " + spm.__version__,
                      "vocabulary": "mistral-v3.model", "megabytes": round(megabytes, 3), "tokens": count,
                      "seconds": round(seconds, 4), "mb_per_s": round(megabytes / seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
