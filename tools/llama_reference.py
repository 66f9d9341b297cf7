"""llama.cpp's tokenizer as the reference for GGUF vocabularies, for the fixture scripts.

Builds llama.cpp with tools/llama-cpp.sh, compiles tools/llama_tokenize_batch.cpp against it
once (beside the llama.cpp binaries), and tokenizes many texts in one process with the calls and
defaults of llama-tokenize (BOS as the vocabulary asks, special tokens parsed).
"""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def batch_binary():
    folder = subprocess.run([os.path.join(HERE, "llama-cpp.sh"), "llama-tokenize"], check=True, capture_output=True,
                            text=True).stdout.strip()
    source = os.path.join(HERE, "llama_tokenize_batch.cpp")
    binary = os.path.join(folder, "llama-tokenize-batch")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        llama = os.path.normpath(os.path.join(folder, "..", "..", "vendor", "llama.cpp"))
        subprocess.run(["g++", "-O1", "-std=c++17", source, "-I" + os.path.join(llama, "include"),
                        "-I" + os.path.join(llama, "ggml", "include"), "-L" + folder, "-lllama", "-lggml", "-lggml-base",
                        "-Wl,-rpath," + folder, "-o", binary], check=True)
    return binary


def tokenize(model, texts):
    """[(ids, pieces as bytes)] for each text."""
    payload = b"".join(str(len(t.encode("utf-8"))).encode() + b"\n" + t.encode("utf-8") for t in texts)
    out = subprocess.run([batch_binary(), model], input=payload, check=True, capture_output=True).stdout.decode()
    lines = out.split("\n")
    results = []
    for index in range(len(texts)):
        ids_line, pieces_line = lines[2 * index], lines[2 * index + 1]
        ids = [int(x) for x in ids_line.split()]
        pieces = [b"" if p == "-" else bytes.fromhex(p) for p in pieces_line.split()] if ids else []
        assert len(pieces) == len(ids), (texts[index], ids_line, pieces_line)
        results.append((ids, pieces))
    return results
