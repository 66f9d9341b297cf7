#!/usr/bin/env python3
"""Writes Tests/Fixtures/gemma3-gguf/: Gemma 3 as llama.cpp's converter writes it, with transformers'
logits as the reference.

The tiny model is tools/make_gemma3_fixtures.py's (same dims; see there) with what a GGUF can express:
6 text layers in llama.cpp's default sliding pattern (5 sliding, 1 global; the converter writes no
pattern key and llama.cpp assumes 6), query_pre_attn_scalar = head_dim (llama.cpp scales queries by
1/sqrt(head_dim), except for the 27B), the input projection rounded to F16 (the converter forces that
tensor to F16, so the reference holds the same values), and two changes llama.cpp's converter needs: Gemma's SentencePiece tokenizer (`tokenizer.model`, so the converter
writes the `llama` vocabulary as it does for released Gemma 3, instead of the gpt2 one it falls back to)
and no soft-capping fields (the converter asserts attn_logit_softcapping is null, as in every released
Gemma 3; final_logit_softcapping, which Gemma3ForConditionalGeneration never applies, is null too).

SentencePiece: BPE (as Gemma's), trained here on a small corpus, no dummy prefix, identity normalization,
pad 0 / eos 1 / bos 2 / unk 3 (Gemma's ids), and Gemma 3's turn/image tokens and "\\n" runs as
user-defined pieces; `tokenizer_config.json` marks the turn/image tokens special (as Gemma 3's does), so
the converter types them CONTROL. config.json's vocab_size (320) exceeds the pieces: the converter pads
the vocabulary with [PADn] tokens.

Files:
  hf/             Gemma3ForConditionalGeneration saved by transformers 5.24 (the tower renamed to the hub's
                  `vision_tower.vision_model.*`, which llama.cpp's tensor map expects) with the processor settings
                  (Gemma3ImageProcessorPil: 32x32, mean/std 0.5, image_seq_length 16), tokenizer.model,
                  tokenizer_config.json (with the chat template of make_gemma3_fixtures.py).
  text-hf/        the same text decoder as Gemma3ForCausalLM (model_type gemma3_text), same tokenizer, and
                  transformers' GemmaTokenizer saved beside it (tokenizer.json, as Gemma 3's repositories ship).
  text-f32.gguf   convert_hf_to_gguf.py hf --outtype f32 (arch gemma3, RMSNorm weights stored as w+1).
  mmproj-f32.gguf convert_hf_to_gguf.py hf --outtype f32 --mmproj (projector gemma3; the input
                  projection forced to F16 by the converter, the patch embedding to F32).
  expected.safetensors, per image k in 0..1: pixel_values_k, input_ids_k (the rendered chat template
                  with <start_of_image> expanded as Gemma3Processor does, tokenized by sentencepiece with
                  the special/user-defined tokens split out first; checked against llama.cpp's
                  llama-tokenize when built), token_type_ids_k, logits_k [seq + 5 - 1, vocab] (eager,
                  prompt rows then decode rows) and generated_k [5] (greedy, no eos);
                  text_ids, text_logits, text_generated: Gemma3ForCausalLM (text-hf) on the text-only
                  prompt (the template rendered without an image; the ids equal transformers'
                  apply_chat_template(tokenize=True): one BOS).
  facts.json      images, questions, prompts, special ids, converter version.
  converter-types.json  the converter's text and --mmproj outputs of hf/ with --outtype f16 and q8_0, described as
                  tools/make_llamacpp_export_fixtures.py describes them (every metadata entry; every tensor's name,
                  dimensions, type and SHA-256), for the type rules (the GGUF files themselves are not committed).

Converter: convert_hf_to_gguf.py of the llama.cpp that llama-cpp-python 0.3.36's sdist vendors
(tools/llama-cpp.sh unpacks it under ~/.cache/eah), run with its own gguf-py.

Run: /work/main/.venv/bin/python tools/make_gemma3_gguf_fixtures.py   (deterministic)
"""

import json
import os
import shutil
import subprocess
import sys

import torch
from PIL import Image, ImageOps
from safetensors.torch import save_file
import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_gemma3_fixtures as base  # noqa: E402

from transformers import Gemma3ForCausalLM, Gemma3ForConditionalGeneration  # noqa: E402
from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil  # noqa: E402

ROOT = os.path.join(HERE, "..", "Tests", "Fixtures", "gemma3-gguf")
CACHE = os.environ.get("EAH_LLAMA_CPP_CACHE", os.path.expanduser("~/.cache/eah"))
LLAMA = os.path.join(CACHE, "llama-cpp-python-0.3.36", "vendor", "llama.cpp")
TOKENIZE = os.path.join(CACHE, "llama-cpp-python-0.3.36", "build", "bin", "llama-tokenize")
IMAGES = 2
TURN_TOKENS = ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>"]
NEWLINES = ["\n", "\n\n"]
CORPUS = ["user model", "What is in the picture? Describe it.", "Count the dogs, please! Is it gray?",
          "The cat sat on the mat. A dog ran in the park with a ball.", "Tell me a story about the sea."]
QUESTIONS = ["What is in the picture?", "Count the dogs, please!"]
TEXT_QUESTION = "Tell me a story about the cat."
torch.set_grad_enabled(False)


def train_tokenizer(folder):
    import io
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 8), model_writer=model, model_type="bpe", vocab_size=120,
        character_coverage=1.0, add_dummy_prefix=False, normalization_rule_name="identity", remove_extra_whitespaces=False,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        user_defined_symbols=TURN_TOKENS + NEWLINES, byte_fallback=False, minloglevel=2)
    with open(os.path.join(folder, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def tokenizer_config(sp):
    decoder = {str(sp.PieceToId(t)): dict(content=t, lstrip=False, normalized=False, rstrip=False, single_word=False, special=True)
               for t in ["<pad>", "<eos>", "<bos>", "<unk>"] + TURN_TOKENS}
    return dict(add_bos_token=True, add_eos_token=False, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>",
                added_tokens_decoder=decoder, chat_template=base.CHAT_TEMPLATE, tokenizer_class="GemmaTokenizer",
                boi_token="<start_of_image>", eoi_token="<end_of_image>", image_token="<image_soft_token>", spaces_between_special_tokens=False)


def encode(sp, text):
    """The rendered text's ids: special and user-defined tokens split out first, the rest by sentencepiece."""
    specials = sorted(["<bos>", "<eos>", "<pad>"] + TURN_TOKENS + NEWLINES, key=len, reverse=True)
    ids, rest = [], text
    while rest:
        hits = [(rest.find(s), -len(s), s) for s in specials if rest.find(s) >= 0]
        if not hits:
            ids += sp.EncodeAsIds(rest)
            break
        at, _, s = min(hits)
        if at:
            ids += sp.EncodeAsIds(rest[:at])
        ids.append(sp.PieceToId(s))
        rest = rest[at + len(s):]
    assert sp.unk_id() not in ids, f"unknown piece in {text!r}"
    return ids


def llama_tokenize(gguf, text):
    if not os.path.exists(TOKENIZE):
        return None
    out = subprocess.run([TOKENIZE, "-m", gguf, "-p", text, "--ids", "--no-bos", "--log-disable"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_model(special):
    """make_gemma3_fixtures.py's model with what a GGUF can say: 6 layers in llama.cpp's default
    sliding pattern (5 sliding, then 1 global: the converter writes no pattern key),
    query_pre_attn_scalar = head_dim (llama.cpp scales by 1/sqrt(head_dim) except for the 27B),
    no soft-capping."""
    from transformers import Gemma3Config
    text = dict(vocab_size=base.VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=6, num_attention_heads=4,
                num_key_value_heads=2, head_dim=24, rms_norm_eps=1e-6, max_position_embeddings=512,
                hidden_activation="gelu_pytorch_tanh", sliding_window=6,
                layer_types=["sliding_attention"] * 5 + ["full_attention"], query_pre_attn_scalar=24,
                rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                 "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}},
                attn_logit_softcapping=None, final_logit_softcapping=None, tie_word_embeddings=True,
                bos_token_id=special["<bos>"], eos_token_id=special["<eos>"], pad_token_id=special["<pad>"])
    vision = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=2, image_size=32, patch_size=4, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    cfg = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=base.IMAGE_TOKENS,
                       boi_token_index=special["<start_of_image>"], eoi_token_index=special["<end_of_image>"],
                       image_token_index=special["<image_soft_token>"], tie_word_embeddings=True,
                       bos_token_id=special["<bos>"], eos_token_id=special["<eos>"], pad_token_id=special["<pad>"])
    torch.manual_seed(11)
    model = Gemma3ForConditionalGeneration(cfg).eval().float()
    base.widen(model, 11)
    # llama.cpp's converter stores the input projection as F16: the reference holds the same values.
    projection = model.model.multi_modal_projector.mm_input_projection_weight
    projection.copy_(projection.half().float())
    return model


def hub_names(path):
    """transformers 5.24 saves the tower as `vision_tower.*`; the hub's Gemma 3 (and llama.cpp's
    tensor map) use `vision_tower.vision_model.*`, which transformers loads as well."""
    from safetensors.torch import load_file
    tensors = load_file(path)
    renamed = {("vision_tower.vision_model." + k[len("vision_tower."):] if k.startswith("vision_tower.") and
                not k.startswith("vision_tower.vision_model.") else k): v for k, v in tensors.items()}
    save_file(renamed, path, metadata={"format": "pt"})


def convert(folder, out, mmproj):
    args = [sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py"), folder, "--outfile", out, "--outtype", "f32"] + (["--mmproj"] if mmproj else [])
    env = dict(os.environ, PYTHONPATH=os.path.join(LLAMA, "gguf-py"))
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr[-4000:]}")


def describe_types():
    """converter-types.json: the converter's f16 and q8_0 outputs of hf/, described."""
    import tempfile
    import make_llamacpp_export_fixtures as described
    document = {"converter": "convert_hf_to_gguf.py (llama.cpp vendored by llama-cpp-python 0.3.36) --outtype f16|q8_0 [--mmproj]",
                "outputs": {}}
    with tempfile.TemporaryDirectory() as out:
        for dtype in ("f16", "q8_0"):
            for kind, mmproj in (("text", False), ("mmproj", True)):
                path = os.path.join(out, f"{kind}-{dtype}.gguf")
                args = [sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py"), os.path.join(ROOT, "hf"), "--outfile", path,
                        "--outtype", dtype] + (["--mmproj"] if mmproj else [])
                subprocess.run(args, env=dict(os.environ, PYTHONPATH=os.path.join(LLAMA, "gguf-py")), check=True, capture_output=True)
                document["outputs"][f"{kind}-{dtype}"] = described.describe(path)
    with open(os.path.join(ROOT, "converter-types.json"), "w") as f:
        f.write(described.serialize(document))


def main():
    assert os.path.exists(os.path.join(LLAMA, "convert_hf_to_gguf.py")), f"no llama.cpp converter under {LLAMA} (run tools/llama-cpp.sh)"
    shutil.rmtree(ROOT, ignore_errors=True)
    hf, text_hf = os.path.join(ROOT, "hf"), os.path.join(ROOT, "text-hf")
    os.makedirs(hf)
    os.makedirs(text_hf)
    sp = train_tokenizer(hf)
    shutil.copy(os.path.join(hf, "tokenizer.model"), text_hf)
    special = {s: sp.PieceToId(s) for s in ["<pad>", "<eos>", "<bos>"] + TURN_TOKENS}
    model = build_model(special)
    model.save_pretrained(hf)
    hub_names(os.path.join(hf, "model.safetensors"))
    images = Gemma3ImageProcessorPil(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3, do_pan_and_scan=False)
    processor_config = {"image_processor": {**images.to_dict(), "image_processor_type": "Gemma3ImageProcessor"},
                        "image_seq_length": base.IMAGE_TOKENS, "processor_class": "Gemma3Processor"}
    for folder in (hf, text_hf):
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(tokenizer_config(sp), f, indent=1)
    with open(os.path.join(hf, "processor_config.json"), "w") as f:
        json.dump(processor_config, f, indent=1, default=str)

    # The same decoder as Gemma3ForCausalLM.
    text_model = Gemma3ForCausalLM(model.config.text_config).eval()
    text_model.model.load_state_dict(model.model.language_model.state_dict())
    text_model.lm_head.weight = text_model.model.embed_tokens.weight
    text_model.save_pretrained(text_hf)
    # transformers' GemmaTokenizer of the folder, saved as Gemma 3's repositories ship it
    # (tokenizer.json beside tokenizer.model): it reads <bos> and the turn tokens as special.
    from transformers import AutoTokenizer
    AutoTokenizer.from_pretrained(text_hf).save_pretrained(text_hf)
    # save_pretrained records the absolute path of the tokenizer.model it read as "vocab_file", which
    # made the fixture depend on the checkout's location; loading finds tokenizer.model in the folder.
    saved_config = os.path.join(text_hf, "tokenizer_config.json")
    with open(saved_config, encoding="utf-8") as f:
        saved = json.load(f)
    saved.pop("vocab_file", None)
    with open(saved_config, "w", encoding="utf-8") as f:
        f.write(json.dumps(saved, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    text_gguf, mmproj_gguf = os.path.join(ROOT, "text-f32.gguf"), os.path.join(ROOT, "mmproj-f32.gguf")
    convert(hf, text_gguf, False)
    convert(hf, mmproj_gguf, True)

    loaded = Gemma3ForConditionalGeneration.from_pretrained(hf, attn_implementation="eager", dtype=torch.float32).eval()
    soft, boi, eoi = special["<image_soft_token>"], special["<start_of_image>"], special["<end_of_image>"]
    expansion = "\n\n<start_of_image>" + "<image_soft_token>" * base.IMAGE_TOKENS + "<end_of_image>\n\n"
    import jinja2
    template = jinja2.Environment().from_string(base.CHAT_TEMPLATE)
    tensors, facts = {}, {"special_ids": special, "new_tokens": base.NEW_TOKENS, "images": [],
                          "converter": "convert_hf_to_gguf.py (llama.cpp vendored by llama-cpp-python 0.3.36) --outtype f32 [--mmproj]"}
    for k in range(IMAGES):
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[k]}]}]
        prompt = template.render(messages=messages, add_generation_prompt=True, bos_token="<bos>")
        ids = encode(sp, prompt.replace("<start_of_image>", expansion))
        checked = llama_tokenize(text_gguf, prompt.replace("<start_of_image>", expansion))
        assert checked is None or checked == ids, f"llama-tokenize disagrees: {checked} vs {ids}"
        image = ImageOps.exif_transpose(Image.open(os.path.join(base.IMAGES, base.IMAGE_FILES[k]))).convert("RGB")
        pixels = images(images=[image], return_tensors="pt")["pixel_values"].float()
        input_ids = torch.tensor([ids])
        types = (input_ids == soft).long()
        batch = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=pixels, token_type_ids=types)
        logits, generated = base.reference(loaded, batch)
        tensors.update({f"pixel_values_{k}": pixels.contiguous(), f"input_ids_{k}": input_ids[0], f"token_type_ids_{k}": types[0],
                        f"logits_{k}": logits, f"generated_{k}": generated})
        facts["images"].append(dict(file=base.IMAGE_FILES[k], question=QUESTIONS[k], prompt=prompt, prompt_length=len(ids),
                                    generated=generated.tolist()))
        print(f"gemma3 gguf image {k}: {len(ids)} tokens, generated {generated.tolist()}")

    causal = Gemma3ForCausalLM.from_pretrained(text_hf, attn_implementation="eager", dtype=torch.float32).eval()
    prompt = template.render(messages=[{"role": "user", "content": TEXT_QUESTION}], add_generation_prompt=True, bos_token="<bos>")
    ids = encode(sp, prompt)
    from transformers import AutoTokenizer
    templated = AutoTokenizer.from_pretrained(text_hf).apply_chat_template(
        [{"role": "user", "content": TEXT_QUESTION}], add_generation_prompt=True, tokenize=True)["input_ids"]
    assert templated == ids, f"transformers' apply_chat_template disagrees: {templated} vs {ids}"
    checked = llama_tokenize(text_gguf, prompt)
    assert checked is None or checked == ids, f"llama-tokenize disagrees: {checked} vs {ids}"
    input_ids = torch.tensor([ids])
    prompt_logits = causal(input_ids=input_ids).logits[0]
    out = causal.generate(input_ids=input_ids, do_sample=False, max_new_tokens=base.NEW_TOKENS, min_new_tokens=base.NEW_TOKENS,
                          output_logits=True, return_dict_in_generate=True, eos_token_id=None, pad_token_id=0)
    generated = out.sequences[0, len(ids):]
    steps = torch.stack([l[0] for l in out.logits])
    assert torch.allclose(steps[0], prompt_logits[-1], atol=1e-4)
    tensors.update({"text_ids": input_ids[0], "text_logits": torch.cat([prompt_logits, steps[1:]], 0).float().contiguous(),
                    "text_generated": generated.to(torch.long)})
    facts["text"] = dict(question=TEXT_QUESTION, prompt=prompt, prompt_length=len(ids), generated=generated.tolist())
    print(f"gemma3 text: {len(ids)} tokens, generated {generated.tolist()}")
    save_file(tensors, os.path.join(ROOT, "expected.safetensors"))
    with open(os.path.join(ROOT, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    describe_types()


if __name__ == "__main__":
    main()
