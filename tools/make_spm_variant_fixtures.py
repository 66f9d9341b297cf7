#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-spm-variants/: SentencePiece `.model` files that differ from
the LLaMA-style fixture (Tests/Fixtures/tokenizer/tokenizer.model) in one normalizer or trainer
setting each, and sentencepiece's own ids and decoded texts for them on strings chosen to exercise
those settings (whitespace runs, compatibility characters, user-defined and control spellings,
characters outside the vocabulary).

The variants are made by editing the base model's NormalizerSpec / TrainerSpec / pieces through
sentencepiece's bundled model proto; the nmt_nfkc normalizer (name and precompiled charsmap) is
taken from a tiny model the sentencepiece trainer builds with normalization_rule_name=nmt_nfkc,
and a small custom rule's charsmap likewise from normalization_rule_tsv.

Run with the pinned venv after make_tokenizer_fixtures.py:
    .venv/bin/python tools/make_spm_variant_fixtures.py
"""
import json
import os
import random
import sys
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BASE = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer", "tokenizer.model")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer-spm-variants")

USER_DEFINED = ["<image>", "▁▁", "\n\n", "ab▁c", "<img"]
CONTROL = ["<ctrl>", "[INST]", "<image_end>"]


# A small custom rule (sentencepiece's normalization_rule_tsv: source and target code points):
# one- and multi-character sources, targets with spaces, a source that is a prefix of another.
CUSTOM_RULE = [("FB01", "66 69"), ("FF21", "41"), ("9", "20"), ("3000", "20"), ("61 62", "78 20 79"),
               ("61 62 63", "7A"), ("2460", "28 31 29"), ("E9", "65 301"), ("200B", "")]


def trained_normalizer(work, name, **options):
    """The NormalizerSpec the sentencepiece trainer writes with `options`."""
    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("the cat sat on the mat\nhello world\nabc def ghi\n" * 20)
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(work, name), model_type="bpe",
                                   vocab_size=40, num_threads=1, minloglevel=2, **options)
    model = model_pb2.ModelProto()
    with open(os.path.join(work, name + ".model"), "rb") as f:
        model.ParseFromString(f.read())
    assert model.normalizer_spec.precompiled_charsmap
    return model.normalizer_spec


def variants(base):
    """(name, ModelProto) of each variant."""
    def edited(change):
        model = model_pb2.ModelProto()
        model.CopyFrom(base)
        change(model)
        return model

    def no_dummy(m):
        m.normalizer_spec.add_dummy_prefix = False

    def remove_ws(m):
        m.normalizer_spec.remove_extra_whitespaces = True

    def remove_ws_no_dummy(m):
        remove_ws(m)
        no_dummy(m)

    def no_escape(m):
        m.normalizer_spec.escape_whitespaces = False

    def user_control(m):
        for text in USER_DEFINED:
            m.pieces.add(piece=text, score=0.0, type=model_pb2.ModelProto.SentencePiece.USER_DEFINED)
        for text in CONTROL:
            m.pieces.add(piece=text, score=0.0, type=model_pb2.ModelProto.SentencePiece.CONTROL)

    def no_byte_fallback(m):
        # sentencepiece refuses byte pieces without byte fallback: drop them (later ids shift down).
        m.trainer_spec.byte_fallback = False
        kept = [p for p in m.pieces if p.type != model_pb2.ModelProto.SentencePiece.BYTE]
        del m.pieces[:]
        m.pieces.extend(kept)

    with tempfile.TemporaryDirectory() as work:
        nfkc = trained_normalizer(work, "nfkc", normalization_rule_name="nmt_nfkc")
        rule = os.path.join(work, "rule.tsv")
        with open(rule, "w") as f:
            f.writelines(f"{source}\t{target}\n" for source, target in CUSTOM_RULE)
        custom = trained_normalizer(work, "custom", normalization_rule_tsv=rule)

    def nmt_nfkc_user(m):
        # The trainer's nmt_nfkc defaults (remove_extra_whitespaces on), plus user-defined and control pieces.
        m.normalizer_spec.name = nfkc.name
        m.normalizer_spec.precompiled_charsmap = nfkc.precompiled_charsmap
        m.normalizer_spec.remove_extra_whitespaces = True
        user_control(m)

    def custom_keep_ws(m):
        m.normalizer_spec.name = "user_defined"
        m.normalizer_spec.precompiled_charsmap = custom.precompiled_charsmap
        m.normalizer_spec.remove_extra_whitespaces = False

    def identity_named(m):
        m.normalizer_spec.name = "identity"
        m.normalizer_spec.ClearField("precompiled_charsmap")

    return [
        ("identity", edited(identity_named)),
        ("no-dummy-prefix", edited(no_dummy)),
        ("remove-whitespace", edited(remove_ws)),
        ("remove-whitespace-no-dummy-prefix", edited(remove_ws_no_dummy)),
        ("no-escape-whitespace", edited(no_escape)),
        ("user-control", edited(user_control)),
        ("no-byte-fallback", edited(no_byte_fallback)),
        ("nmt-nfkc-user-control", edited(nmt_nfkc_user)),
        ("custom-rule-keep-whitespace", edited(custom_keep_ws)),
    ]


def strings():
    words = ["the", "cat", "image", "describe", "what", "is", "shown", "left", "tree", "window", "abc", "ab", "c"]
    items = ["", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", " \n ", "hello", " hello", "hello ", "  hello  world  ",
             "a  b   c    d", "▁", "▁▁x", "x▁▁", "ab c", "ab▁c", "ab  c", " ab c ",
             # NFKC and nmt's extra rules: compatibility forms, full-width, ligatures, odd spaces, controls
             "ﬁ ﬂ ﬀ", "Ａ１ ＡＢＣ", "ｶﾞｷﾞ ｱｲｳ", "① ② ⑳", "x² y³", "㍿ ㌔", "½ ¼", "\u3000ideographic\u3000space", "a\u00a0b",
             "a\u2009b\u200ac", "zero\u200bwidth", "\ufeffbom", "tab\there", "a\x00b", "\x01\x02\x7f", "line\u2028sep",
             "e\u0301 a\u0308 n\u0303", "é ä ñ", "abc abd ab", "①②", "ﬁＡ\u3000\t\u200bx", "Å Å", "ǅ ǆ", "ℌ ℍ ℕ", "™ ℃ №", "…", "“quotes” ‘single’", "―dash—",
             # user-defined and control spellings (control pieces are plain text to sentencepiece)
             "<image>", "<image>\nWhat is shown?", "a<image>b", " <image> ", "<img", "<img>", "<ctrl>", "[INST] hi [/INST]",
             "<image_end>", "<s>", "</s>", "<unk>", "<sep>", "x<sep>y", "<0x41>", "ab▁c<image>", "abc ab c",
             # outside the vocabulary: byte fallback or <unk>
             "😀", "👩‍💻 ok", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010fffd", "漢字かな交じり文", "ꙮ", "a😀b 😀 c",
             "def f(x):\n    return x\n", "    indented\n        more", "x  =  1\ny   =   2"]
    rng = random.Random(5)
    pools = [items[:21], items[21:46], items[46:66], items[66:], words]
    while len(items) < 200:
        parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 5))]
        items.append(rng.choice(["", " ", "  ", "\n", "\t"]).join(parts))
    return items


def main():
    base = model_pb2.ModelProto()
    with open(BASE, "rb") as f:
        base.ParseFromString(f.read())
    os.makedirs(OUT, exist_ok=True)
    texts = strings()
    names = []
    records = [{"text": text} for text in texts]
    for name, model in variants(base):
        path = os.path.join(OUT, name + ".model")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        sp = spm.SentencePieceProcessor(model_file=path)
        names.append(name)
        for record in records:
            ids = sp.encode(record["text"])
            record[name] = ids
            record[name + "_decoded"] = sp.decode(ids)
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "variants.json"), "w", encoding="utf-8") as f:
        json.dump({"sentencepiece": spm.__version__, "base": "Tests/Fixtures/tokenizer/tokenizer.model",
                   "variants": names, "user_defined": USER_DEFINED, "control": CONTROL}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT, len(texts), "strings,", len(names), "variants")


if __name__ == "__main__":
    sys.exit(main())
