#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-added/: tokenizer.json files with added tokens in every flag
combination (special, normalized, lstrip, rstrip, single_word: 32), in the shapes of two real
vision-language vocabularies, and the tokenizers library's ids and decodes for them:

- internvl.json: the Qwen2 byte-level BPE fixture (tokenizer-bytelevel/qwen2.json) with InternVL's
  image tokens (<img>, </img>, <IMG_CONTEXT>, <quad>, </quad>, <ref>, </ref>, <box>, </box>:
  special, not normalized, as InternVL2.5 ships them) and the 32 flag combinations;
- smolvlm.json: the GPT-2 byte-level fixture (tokenizer-bytelevel/gpt2.json) with SmolVLM's
  (<fake_token_around_image>, <image>, <end_of_utterance>, <global-img>, <row_R_col_C>) and the
  32 combinations;
- spm.json: the SentencePiece-style fixture (tokenizer/tokenizer.json: Prepend ▁ and Replace
  " " → ▁ normalizers, so `normalized` changes what matches) with the 32 combinations.

Tokens are added with tokenizers' add_tokens / add_special_tokens and the file saved by the
library; the script checks the saved flags are the intended ones. expected.jsonl: one record per
file and string (the image prompts and each token of the file in several contexts), with ids with
and without special tokens and decodes with and without skipping special tokens.

Run with the pinned venv after make_tokenizer_fixtures.py and make_bytelevel_fixtures.py:
    .venv/bin/python tools/make_added_token_fixtures.py
"""
import itertools
import json
import os
import random
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "tokenizer-added")

INTERNVL = ["<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>"]
SMOLVLM_SPECIAL = ["<fake_token_around_image>", "<image>", "<end_of_utterance>"]
SMOLVLM_PLAIN = ["<global-img>"] + [f"<row_{r}_col_{c}>" for r in range(1, 4) for c in range(1, 4)]
FLAGS = ("special", "normalized", "lstrip", "rstrip", "single_word")


def combination_tokens(prefix):
    """(content, flags) for the 32 flag combinations: word-like contents (so single_word matters)
    and one with a space inside (so normalization of the content matters)."""
    tokens = []
    for bits in itertools.product([False, True], repeat=5):
        flags = dict(zip(FLAGS, bits))
        index = sum(bit << k for k, bit in enumerate(bits))
        content = f"<{prefix} {index}>" if (index // 2) % 3 == 0 else f"{prefix}{index}x"
        tokens.append((content, flags))
    return tokens


def build(base_path, shaped):
    """The base tokenizer with `shaped` ((content, flags) in order) added, and the flags saved."""
    tok = Tokenizer.from_file(base_path)
    for content, flags in shaped:
        token = AddedToken(content, single_word=flags["single_word"], lstrip=flags["lstrip"], rstrip=flags["rstrip"],
                           normalized=flags["normalized"], special=flags["special"])
        if flags["special"]:
            tok.add_special_tokens([token])
        else:
            tok.add_tokens([token])
    saved = {t["content"]: t for t in json.loads(tok.to_str())["added_tokens"]}
    for content, flags in shaped:
        for flag in FLAGS:
            assert saved[content][flag] == flags[flag], (content, flag, saved[content])
    return tok


def strings(shaped):
    contexts = ["{t}", " {t} ", "x{t}y", "x  {t}\ty", "a{t}{t}b", "word {t}word", "\n{t}\n", "é{t}_"]
    items = []
    rng = random.Random(3)
    for content, _ in shaped:
        for context in contexts:
            items.append(context.replace("{t}", content))
        items.append(content[:-1])  # a prefix of the token: plain text
    for _ in range(30):
        parts = [rng.choice(shaped)[0] for _ in range(rng.randint(2, 4))]
        items.append(rng.choice(["", " ", "  ", "x", "\n"]).join(parts) + rng.choice(["", " ", "!"]))
    return items


def prompts():
    return [
        "<img><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT></img>\nWhat is in the image?",
        "<|im_start|>user\n<img><IMG_CONTEXT></img>\nPlease describe <ref>the dog</ref><box>[[10, 20, 30, 40]]</box><|im_end|>\n",
        "<quad>(1,2),(3,4)</quad> <quad> </quad>", "<img>", " <img> ", "x<IMG_CONTEXT>y", "<IMG_CONTEXT",
        "<fake_token_around_image><row_1_col_1><image><image><fake_token_around_image><row_1_col_2><image>"
        "<fake_token_around_image>\n<fake_token_around_image><global-img><image><fake_token_around_image>",
        "User:<fake_token_around_image><global-img><image><fake_token_around_image>Describe.<end_of_utterance>\nAssistant:",
        "<row_1_col_1>\n<row_3_col_3> <global-img>x<global-img>", "<row_1_col_4>", "a<image>b", " <end_of_utterance> ",
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    special = {"special": True, "normalized": False, "lstrip": False, "rstrip": False, "single_word": False}
    plain = {"special": False, "normalized": False, "lstrip": False, "rstrip": False, "single_word": False}
    files = {
        "internvl": (os.path.join(FIXTURES, "tokenizer-bytelevel", "qwen2.json"),
                     [(t, special) for t in INTERNVL] + combination_tokens("iv")),
        "smolvlm": (os.path.join(FIXTURES, "tokenizer-bytelevel", "gpt2.json"),
                    [(t, special) for t in SMOLVLM_SPECIAL] + [(t, plain) for t in SMOLVLM_PLAIN]
                    + combination_tokens("sv")),
        "spm": (os.path.join(FIXTURES, "tokenizer", "tokenizer.json"), combination_tokens("sp")),
    }
    count = 0
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for name, (base_path, shaped) in files.items():
            build(base_path, shaped).save(os.path.join(OUT, name + ".json"), pretty=False)
            tok = Tokenizer.from_file(os.path.join(OUT, name + ".json"))
            texts = list(dict.fromkeys(prompts() + strings(shaped)))
            for text in texts:
                ids = tok.encode(text, add_special_tokens=True).ids
                f.write(json.dumps({"file": name, "text": text, "ids": ids,
                                    "plain": tok.encode(text, add_special_tokens=False).ids,
                                    "decoded": tok.decode(ids, skip_special_tokens=False),
                                    "decoded_skip": tok.decode(ids, skip_special_tokens=True)}, ensure_ascii=False) + "\n")
                count += 1
    with open(os.path.join(OUT, "sources.json"), "w") as f:
        json.dump({"tokenizers": tokenizers.__version__,
                   "bases": {name: os.path.relpath(path, ROOT) for name, (path, _) in files.items()}}, f, indent=1)
        f.write("\n")
    print("wrote", OUT, count, "records")


if __name__ == "__main__":
    sys.exit(main())
