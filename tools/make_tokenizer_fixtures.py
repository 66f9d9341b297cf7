#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer/: a small LLaMA-style SentencePiece BPE tokenizer in three
forms (tokenizer.model, tokenizer.json, tokenizer.gguf), a test corpus and the reference
libraries' token ids and decoded texts for it.

Deterministic (fixed seeds, single-threaded training). Run with the pinned venv (make tools-venv):
    .venv/bin/python tools/make_tokenizer_fixtures.py
"""
import json
import os
import random
import sys

import numpy as np
import sentencepiece as spm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tokenizer")
OUT = os.path.normpath(OUT)

WORDS = """the of and to in a is that for it as was with be by on not he i this are or his from at which but
have an they you were her she there been one all we their has would when if so no will more can who out said
image picture photo shows describe what where how many people dog cat car street table window light tree water
sky blue red green white black small large left right top bottom person man woman child holding standing sitting
wearing looking near next behind front building road sign background foreground color colour number text
language model vision token encoder decoder attention layer weight matrix vector question answer assistant user
""".split()

SCRIPTS = {
    "cjk": "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从",
    "kana": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "greek": "αβγδεζηθικλμνξοπρστυφχψω",
    "latin_ext": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœšžß",
    "hangul": "가나다라마바사아자차카타파하한국어",
}
EMOJI = ["😀", "😂", "👍", "🎉", "🚀", "🐍", "❤️", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "👍🏽", "🧑🏿‍🚀", "✨"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "\u0915\u094d\u0937", "z\u0336", "\u1100\u1161\u11a8"]
SPECIALS = ["<s>", "</s>", "<unk>", "<image>", "<pad>", "<sep>", "<0x41>", "<mask>", " <mask> ", "▁", "<s", "s>", "< s >", "<<image>>"]


def sentence(rng, lo=3, hi=14):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    if words and rng.random() < 0.3:
        words[0] = words[0].capitalize()
    text = " ".join(words)
    if rng.random() < 0.2:
        text += rng.choice([".", "?", "!", ",", ":", ";"])
    return text


def script_text(rng, name, n):
    chars = SCRIPTS[name]
    return "".join(rng.choice(chars) for _ in range(n))


def training_corpus(rng):
    lines = []
    for _ in range(6000):
        lines.append(sentence(rng))
    for _ in range(1500):
        name = rng.choice(list(SCRIPTS))
        lines.append(" ".join(script_text(rng, name, rng.randint(1, 6)) for _ in range(rng.randint(1, 6))))
    for _ in range(800):
        lines.append(" ".join(str(rng.randint(0, 10 ** rng.randint(1, 9))) for _ in range(rng.randint(1, 5))) + " " + sentence(rng, 1, 4))
    for _ in range(300):
        lines.append(sentence(rng, 1, 5) + " " + rng.choice(EMOJI))
    return lines


def random_rare_char(rng):
    """A code point unlikely to be in the vocabulary (forces byte fallback)."""
    while True:
        cp = rng.choice([rng.randint(0x0100, 0x07FF), rng.randint(0x0800, 0xFFFF), rng.randint(0x10000, 0x10FFFF),
                         rng.randint(0x1F300, 0x1FAFF), rng.randint(0x20000, 0x2A6DF)])
        if 0xD800 <= cp <= 0xDFFF:
            continue
        return chr(cp)


def test_corpus(rng):
    items = ["", " ", "  ", "\t", "\n", "\r\n", "a", "A", "▁", "▁▁x", "hello", " hello", "hello ", "  hello  world  ",
             "Hello world", "\u0000", "a\u0000b", "\ufeffbom", "\u00a0nbsp\u00a0", "\u3000ideographic space", "\u200bzero width"]
    for _ in range(700):
        items.append(sentence(rng))
    for _ in range(150):  # whitespace runs, tabs, newlines, leading/trailing spaces
        ws = ["", " ", "  ", "   ", "\t", "\n", "\n\n", " \t ", "\r\n", "    "]
        items.append(rng.choice(ws) + sentence(rng, 1, 6).replace(" ", rng.choice([" ", "  ", "\t", "\n", " \n "])) + rng.choice(ws))
    for _ in range(150):  # digits and long numbers
        items.append(rng.choice(["", "in ", "x="]) + str(rng.randint(0, 10 ** rng.randint(1, 30))) + rng.choice(["", " apples", ".5", ",000"]))
    for _ in range(250):  # scripts the vocabulary partly covers
        name = rng.choice(list(SCRIPTS))
        items.append(rng.choice(["", " ", "word "]) + " ".join(script_text(rng, name, rng.randint(1, 8)) for _ in range(rng.randint(1, 4))))
    for _ in range(200):  # characters absent from the vocabulary
        items.append("".join(random_rare_char(rng) if rng.random() < 0.5 else rng.choice("abc xyz") for _ in range(rng.randint(1, 10))))
    for _ in range(150):  # emoji, ZWJ sequences, flags, skin tones
        items.append(sentence(rng, 0, 3) + " " + "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4))) + rng.choice(["", " ", "!"]))
    for _ in range(100):  # combining marks
        items.append(" ".join(rng.choice(COMBINING) + rng.choice(WORDS) for _ in range(rng.randint(1, 4))))
    for _ in range(250):  # text spelling special tokens, with and without surrounding spaces
        parts = []
        for _ in range(rng.randint(1, 5)):
            parts.append(rng.choice([rng.choice(SPECIALS), rng.choice(WORDS), sentence(rng, 1, 3), "\n", " "]))
        items.append(rng.choice(["", " ", "  "]).join(parts))
    items += ["<s>", "</s>", "<unk>", "<image>", "<pad>", "<sep>", "<image>\n", "USER: <image>\nWhat is shown? ASSISTANT:",
              " <image> ", "<image><image>", "<s><s>", "</s> </s>", "<image>describe", "a<image>b", "a <image> b", "a  <image>  b"]
    for _ in range(60):  # mixtures of everything
        pieces = [sentence(rng, 1, 4), script_text(rng, rng.choice(list(SCRIPTS)), 3), rng.choice(EMOJI), random_rare_char(rng),
                  str(rng.randint(0, 99999)), rng.choice(SPECIALS), rng.choice(["\t", "\n", "  "])]
        rng.shuffle(pieces)
        items.append("".join(pieces))
    for n in (1000, 4000, 12000):  # long inputs
        items.append(" ".join(sentence(rng) for _ in range(n // 50)) + " " + "".join(random_rare_char(rng) for _ in range(20)))
    items.append("a" * 3000)
    items.append(" " * 500)
    items.append("1234567890" * 100)
    return items


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20240611)
    work = os.path.join(OUT, "..", "..", "..", ".build-fixtures")
    os.makedirs(work, exist_ok=True)
    corpus_path = os.path.join(work, "train.txt")
    with open(corpus_path, "w", encoding="utf-8") as f:
        for line in training_corpus(rng):
            f.write(line + "\n")
    prefix = os.path.join(work, "spm")
    # LLaMA's trainer_spec, scaled down: BPE, byte fallback, split digits, identity normalization,
    # dummy prefix, extra whitespace kept, whitespace-only pieces allowed, unk/bos/eos = 0/1/2.
    spm.SentencePieceTrainer.train(
        input=corpus_path, model_prefix=prefix, model_type="bpe", vocab_size=1500, byte_fallback=True,
        split_digits=True, add_dummy_prefix=True, remove_extra_whitespaces=False, normalization_rule_name="identity",
        allow_whitespace_only_pieces=True, character_coverage=0.9995, max_sentencepiece_length=16,
        split_by_unicode_script=True, split_by_whitespace=True, split_by_number=True, unk_id=0, bos_id=1, eos_id=2,
        pad_id=-1, user_defined_symbols=["<sep>"], num_threads=1, seed_sentencepiece_size=1000000,
        shuffle_input_sentence=False, input_sentence_size=0, minloglevel=2)
    model_path = os.path.join(OUT, "tokenizer.model")
    with open(prefix + ".model", "rb") as src, open(model_path, "wb") as dst:
        dst.write(src.read())
    sp = spm.SentencePieceProcessor(model_file=model_path)

    make_tokenizer_json(model_path)
    make_gguf(sp, os.path.join(OUT, "tokenizer.gguf"))

    items = test_corpus(random.Random(7))
    assert len(items) >= 2000, len(items)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    meta = Tokenizer.from_file(os.path.join(OUT, "tokenizer-metaspace.json"))
    with open(os.path.join(OUT, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for text in items:
            ids = sp.encode(text)
            hf_ids = tok.encode(text, add_special_tokens=True).ids
            hf_plain = tok.encode(text, add_special_tokens=False).ids
            record = {
                "text": text,
                "spm": ids,
                "spm_decoded": sp.decode(ids),
                "hf": hf_ids,
                "hf_plain": hf_plain if hf_plain != hf_ids[1:] else None,
                "hf_decoded": tok.decode(hf_ids, skip_special_tokens=False),
                "hf_decoded_skip": tok.decode(hf_ids, skip_special_tokens=True),
                "meta": meta.encode(text, add_special_tokens=True).ids,
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    # Decoding of arbitrary id sequences: control ids, unknown, stray and invalid byte pieces.
    drng = random.Random(11)
    n = sp.get_piece_size()
    hf_n = tok.get_vocab_size(with_added_tokens=True)
    with open(os.path.join(OUT, "decode.jsonl"), "w", encoding="utf-8") as f:
        for k in range(300):
            length = drng.randint(0, 12)
            pool = [0, 1, 2] + list(range(3, 259)) + list(range(259, n))
            ids = [drng.choice(pool) if drng.random() < 0.8 else drng.randint(3, 258) for _ in range(length)]
            if k % 5 == 0:
                ids = [drng.randint(3, 258) for _ in range(length)]
            hf_ids = ids + ([hf_n - 1] if k % 7 == 0 else [])
            f.write(json.dumps({"ids": ids, "spm": sp.decode(ids), "hf_ids": hf_ids,
                                "hf": tok.decode(hf_ids, skip_special_tokens=False),
                                "hf_skip": tok.decode(hf_ids, skip_special_tokens=True)}, ensure_ascii=False) + "\n")
    print("wrote", OUT, len(items), "corpus strings;", n, "pieces; hf vocab", hf_n)


def make_tokenizer_json(model_path):
    """Two tokenizer.json files from transformers' slow→fast conversion of tokenizer.model, each
    with llava-hf's added tokens (`<image>` then `<pad>`, special, not normalized, ids after the
    vocabulary) and a `<mask>` with lstrip/rstrip:
    - tokenizer.json: the legacy LLaMA form llava-hf ships (normalizer Prepend "▁" + Replace " "→"▁",
      no pre-tokenizer, unk_token "<unk>");
    - tokenizer-metaspace.json: what transformers 5 writes (Metaspace pre-tokenizer, no normalizer)."""
    import shutil
    from tokenizers import AddedToken, Tokenizer
    from transformers import LlamaTokenizerFast
    work = os.path.join(OUT, "..", "..", "..", ".build-fixtures", "slow")
    os.makedirs(work, exist_ok=True)
    shutil.copy(model_path, os.path.join(work, "tokenizer.model"))
    with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "legacy": True, "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f)
    fast = LlamaTokenizerFast.from_pretrained(work, legacy=True)
    fast.add_tokens([AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    fast.add_special_tokens({"pad_token": AddedToken("<pad>", special=True, normalized=False)})
    fast.add_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True, rstrip=True)], special_tokens=True)
    modern = json.loads(fast.backend_tokenizer.to_str())
    legacy = json.loads(fast.backend_tokenizer.to_str())
    legacy["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    legacy["pre_tokenizer"] = None
    legacy["model"]["unk_token"] = "<unk>"
    for name, doc in (("tokenizer.json", legacy), ("tokenizer-metaspace.json", modern)):
        Tokenizer.from_str(json.dumps(doc)).save(os.path.join(OUT, name), pretty=False)


def make_gguf(sp, path):
    """A GGUF holding only the tokenizer.ggml.* metadata, as convert_hf_to_gguf.py's
    _set_vocab_sentencepiece writes it (token types from the piece types, scores, special ids)."""
    import gguf
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            t = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):
            t = gguf.TokenType.CONTROL
        elif sp.is_unused(i):
            t = gguf.TokenType.UNUSED
        elif sp.is_byte(i):
            t = gguf.TokenType.BYTE
        else:
            t = gguf.TokenType.NORMAL
        types.append(t)
    for i, piece in enumerate(USER_DEFINED):
        types[sp.piece_to_id(piece)] = gguf.TokenType.USER_DEFINED
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("eah tokenizer fixture")
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_add_space_prefix(True)
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


USER_DEFINED = ["<sep>"]

if __name__ == "__main__":
    sys.exit(main())
