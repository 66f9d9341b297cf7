#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer/gguf-llama-cpp.jsonl: llama.cpp's ids for the corpus of
tools/make_tokenizer_fixtures.py on tokenizer.gguf (its SentencePiece vocabulary in GGUF form).
llama.cpp is the reference for GGUF vocabularies; it differs from sentencepiece on text that
spells control or user-defined pieces (it cuts them out first, and with add_space_prefix puts a
▁ before the text that follows them).

Each record: the corpus text and llama.cpp's ids (tools/llama_reference.py: BOS as the
vocabulary asks, special tokens parsed, as llama-tokenize does by default). Run after make_tokenizer_fixtures.py, with the pinned
venv: .venv/bin/python tools/make_gguf_tokenizer_fixtures.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_reference  # noqa: E402

FOLDER = os.path.normpath(os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizer"))


def main():
    gguf_path = os.path.join(FOLDER, "tokenizer.gguf")
    with open(os.path.join(FOLDER, "corpus.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    with open(os.path.join(FOLDER, "gguf-llama-cpp.jsonl"), "w", encoding="utf-8") as f:
        for text, (ids, _) in zip(texts, llama_reference.tokenize(gguf_path, texts)):
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    print("wrote", os.path.join(FOLDER, "gguf-llama-cpp.jsonl"), len(texts), "strings")


if __name__ == "__main__":
    sys.exit(main())
