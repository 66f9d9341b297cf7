#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-vocab-merges/: byte-level BPE tokenizers as many release
repositories ship them (InternVL2.5/3 `InternVLChatModel` folders, older Qwen2 and GPT-2 repos):
`vocab.json` + `merges.txt` + `tokenizer_config.json` (with `added_tokens_decoder`) and no
`tokenizer.json`, and the reference ids and decodes for a set of texts.

- qwen2/: tokenizer_class Qwen2Tokenizer, ChatML special tokens, a non-special added token with
  lstrip/rstrip and a normalized one;
- gpt2/: tokenizer_class GPT2Tokenizer over the same vocabulary and merges.

The vocabulary and merges are the tiny byte-level BPE of make_bytelevel_fixtures.py. The folders
are written by transformers 4.57.1's save_pretrained (the slow/fast pair that wrote the real
releases; tools/requirements-legacy-mmproj.txt, installed with pip --target over this venv), with
tokenizer.json, special_tokens_map.json and added_tokens.json deleted afterwards. Reference ids:
transformers 5.24's AutoTokenizer on each folder (it builds the tokenizer from vocab.json and
merges.txt), checked against 4.57.1's slow (pure Python) and fast (slow→fast converted)
tokenizers on the same folder; the script stops if any of the three disagree.

expected.jsonl: {"text", "<name>": ids, "<name>_decoded", "<name>_decoded_skip"} per text.

Run with the pinned venv: .venv/bin/python tools/make_vocab_merges_fixtures.py
"""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bytelevel_fixtures as bytelevel  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer-vocab-merges")
LEGACY = os.environ.get("EAH_LEGACY_MMPROJ_PY", os.path.expanduser("~/.cache/eah/legacy-mmproj-py"))
CLASSES = {"qwen2": ("Qwen2Tokenizer", "Qwen2TokenizerFast"), "gpt2": ("GPT2Tokenizer", "GPT2TokenizerFast")}
EXTRA = ["a<mask>b  <mask>  c", " [pic] x[pic]y", "<|im_end|><|endoftext|>", "12345 + 0.5 = 12345.5", "x\n\n\n   y\t\t z   "]


def legacy_main(source, out, texts_path, result_path):
    """Runs under transformers 4.57.1: writes the folders and that version's slow and fast ids."""
    import transformers
    from transformers import AddedToken, AutoTokenizer
    assert transformers.__version__ == "4.57.1", transformers.__version__
    texts = json.load(open(texts_path, encoding="utf-8"))
    results = {}
    for name, (slow_class, fast_class) in CLASSES.items():
        fast = getattr(transformers, fast_class)(os.path.join(source, "vocab.json"), os.path.join(source, "merges.txt"))
        if name == "qwen2":
            fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
            fast.add_tokens([AddedToken("<mask>", special=False, normalized=False, lstrip=True, rstrip=True),
                             AddedToken("[pic]", special=False, normalized=True)])
        folder = os.path.join(out, name)
        fast.save_pretrained(folder)
        for extra in ("tokenizer.json", "special_tokens_map.json", "added_tokens.json"):
            if os.path.exists(os.path.join(folder, extra)):
                os.remove(os.path.join(folder, extra))
        config = json.load(open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8"))
        assert config["tokenizer_class"] == slow_class, config["tokenizer_class"]
        slow = AutoTokenizer.from_pretrained(folder, use_fast=False)
        fast = AutoTokenizer.from_pretrained(folder, use_fast=True)
        assert type(slow).__name__ == slow_class and type(fast).__name__ == fast_class
        results[name] = {"slow": [slow(t).input_ids for t in texts], "fast": [fast(t).input_ids for t in texts]}
    json.dump(results, open(result_path, "w"))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--legacy":
        return legacy_main(*sys.argv[2:])
    import transformers
    from transformers import AutoTokenizer
    assert transformers.__version__ == "5.24.0", transformers.__version__
    if not os.path.isdir(os.path.join(LEGACY, "transformers")):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", LEGACY, "-r",
                        os.path.join(ROOT, "tools", "requirements-legacy-mmproj.txt")], check=True)
    trained = json.loads(bytelevel.train(random.Random(20240611)).to_str())
    texts = bytelevel.test_strings() + EXTRA
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        with open(os.path.join(scratch, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(trained["model"]["vocab"], f, ensure_ascii=False)
        with open(os.path.join(scratch, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in trained["model"]["merges"]))
        with open(os.path.join(scratch, "texts.json"), "w", encoding="utf-8") as f:
            json.dump(texts, f)
        result = os.path.join(scratch, "legacy.json")
        env = dict(os.environ, PYTHONPATH=LEGACY)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--legacy", scratch, OUT, os.path.join(scratch, "texts.json"), result],
                       env=env, check=True)
        legacy = json.load(open(result))
    records = [{"text": text} for text in texts]
    for name in CLASSES:
        tokenizer = AutoTokenizer.from_pretrained(os.path.join(OUT, name))
        assert type(tokenizer).__name__ == CLASSES[name][0], type(tokenizer)
        for index, record in enumerate(records):
            ids = tokenizer(record["text"]).input_ids
            for kind in ("slow", "fast"):
                if legacy[name][kind][index] != ids:
                    sys.exit(f"{name}: transformers 4.57.1 {kind} disagrees with 5.24 on {record['text']!r}: "
                             f"{legacy[name][kind][index]} != {ids}")
            record[name] = ids
            record[name + "_decoded"] = tokenizer.decode(ids, skip_special_tokens=False)
            record[name + "_decoded_skip"] = tokenizer.decode(ids, skip_special_tokens=True)
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print("wrote", OUT, len(texts), "texts; transformers 5.24 and 4.57.1 slow and fast agree on every one")


if __name__ == "__main__":
    sys.exit(main())
