#!/usr/bin/env python3
"""Writes Tests/Fixtures/gemma3/: a tiny random Gemma 3 (Gemma3ForConditionalGeneration) saved with
its processor, and transformers' own pixel values, token ids, logits and greedy tokens as
references; plus dynamic EAH from the PyTorch reference of tools/make_eah_fixtures.py.

Run: /work/main/.venv/bin/python tools/make_gemma3_fixtures.py   (transformers 5.24.0, torch CPU,
float32, eager attention). Deterministic: fixed seeds; re-running rewrites identical tensors.

Processor: `Gemma3Processor(Gemma3ImageProcessorPil, tokenizer, chat_template, image_seq_length=16)`:
squash-resize to 32x32 (bilinear), mean/std 0.5, no pan-and-scan. The tokenizer is a tiny ByteLevel
BPE (Qwen2's split regex) trained here with Gemma 3's special tokens (<bos>, <eos>, <pad>,
<start_of_turn>, <end_of_turn>, <start_of_image>, <end_of_image>, <image_soft_token>), so the
vocabulary stays small; the chat template renders a user turn as Gemma 3's does
(`<bos><start_of_turn>user\n<start_of_image>question<end_of_turn>\n<start_of_turn>model\n`).

Model (`Tests/Fixtures/gemma3/hf-save/` = what `save_pretrained` writes):
  Vision: SigLIP, image 32, patch 4 (8x8 patches), hidden 32, 2 heads, 2 layers, intermediate 48,
  gelu_pytorch_tanh, LayerNorm 1e-6; mm_tokens_per_image 16 (avg-pool 2x2).
  Text: Gemma 3, vocab 320, hidden 64, intermediate 96, 4 heads / 2 kv heads, head_dim 24
  (not hidden/heads), 3 layers [sliding, sliding, full], sliding_window 6 (shorter than the image
  run and the prompt), query_pre_attn_scalar 20, local rope theta 10000, global theta 1e6 with
  linear scaling x8, attn_logit_softcapping 4 and final_logit_softcapping 8 (which transformers 5.24's
  Gemma3ForConditionalGeneration never applies: its attention does not pass the first on, and only
  Gemma3ForCausalLM applies the second; set here to check that we ignore them too), tied embeddings.

Images (Tests/Fixtures/images/valid): rgb_37x53.png, rgb_301x97_444.jpg, gray_64x64.png.

`expected.safetensors`, per image k: pixel_values_k F32 [1, 3, 32, 32], input_ids_k I64 [seq]
(the processor's, image run expanded), template_ids_k I64 (the rendered template tokenized as is,
one <start_of_image> per image), token_type_ids_k I64 [seq], logits_k F32 [seq + 5 - 1, vocab]
(prompt rows, then one per decode step), generated_k I64 [5] (greedy, eos_token_id=None).
`facts.json`: images, lengths, special ids, prompts.

EAH (`eah.safetensors`, `eah.json`): with the reference attention ("eah_reference") in the text
decoder, for image 0: dynamic, layers [0, 1], beta from eah.json, phase all: logits_dynamic_0,
generated_dynamic_0, sink_counts_dynamic_0 [2, heads], chosen_dynamic_0; static, heads [1, 2] at layers
[0, 1], phase all (what --bake writes): logits_static_0, generated_static_0.
"""

import json
import math
import os
import sys

import torch
from PIL import Image, ImageOps
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3Processor, PreTrainedTokenizerFast
from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_eah_fixtures as eahref  # noqa: E402  (registers the "eah_reference" attention)

ROOT = os.path.join(HERE, "..", "Tests", "Fixtures", "gemma3")
IMAGES = os.path.join(HERE, "..", "Tests", "Fixtures", "images", "valid")
IMAGE_FILES = ["rgb_37x53.png", "rgb_301x97_444.jpg", "gray_64x64.png"]
QUESTIONS = ["What is in the picture?", "Count the dogs, please!", "Is it gray?"]
NEW_TOKENS = 5
VOCAB = 320
IMAGE_TOKENS = 16
torch.set_grad_enabled(False)

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n"
    "{% if message['content'] is string %}{{ message['content'] | trim }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<start_of_image>{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

SPECIALS = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
            "<image_soft_token>"]
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    corpus = ["user model", "What is in the picture? Describe it.",
              "Count the dogs, please! Is it gray? The cat sat on the mat.", "\n\n\n"] * 4
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(SPECIALS), special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
        extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"})
    assert len(fast) <= VOCAB
    return fast


def ids_of(tok):
    return {s: tok.convert_tokens_to_ids(s) for s in SPECIALS}


def widen(model, seed):
    """Random init is tiny (std 0.02) and Gemma's (1+w) norms start at 0; widen the weights so logits
    are not flat and greedy choices are stable."""
    gen = torch.Generator().manual_seed(seed + 1000)
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            fan_in = p.shape[-1] if "mm_input_projection" not in name else p.shape[0]
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
        elif "norm" in name and name.endswith("weight") and "vision_tower" not in name:
            p.copy_(0.2 * torch.randn(p.shape, generator=gen))  # Gemma RMSNorm: scale is 1 + w
        elif "norm" in name and name.endswith("weight"):
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))  # SigLIP LayerNorm
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def build(special):
    text = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=2, head_dim=24, rms_norm_eps=1e-6, max_position_embeddings=512,
                hidden_activation="gelu_pytorch_tanh", sliding_window=6,
                layer_types=["sliding_attention", "sliding_attention", "full_attention"], query_pre_attn_scalar=20,
                rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                 "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}},
                attn_logit_softcapping=4.0, final_logit_softcapping=8.0, tie_word_embeddings=True,
                bos_token_id=special["<bos>"], eos_token_id=special["<eos>"], pad_token_id=special["<pad>"])
    vision = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=2, image_size=32, patch_size=4, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    cfg = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=IMAGE_TOKENS,
                       boi_token_index=special["<start_of_image>"], eoi_token_index=special["<end_of_image>"],
                       image_token_index=special["<image_soft_token>"], tie_word_embeddings=True,
                       bos_token_id=special["<bos>"], eos_token_id=special["<eos>"], pad_token_id=special["<pad>"])
    seed = 7
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(cfg).eval().float()
    widen(model, seed)
    model.config._attn_implementation = "eager"
    return model


def processor_for(tok):
    image_processor = Gemma3ImageProcessorPil(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3,
                                              do_pan_and_scan=False)
    return Gemma3Processor(image_processor=image_processor, tokenizer=tok, chat_template=CHAT_TEMPLATE,
                           image_seq_length=IMAGE_TOKENS)


def load_image(name):
    return ImageOps.exif_transpose(Image.open(os.path.join(IMAGES, name))).convert("RGB")


def inputs(processor, k):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[k]}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    batch = processor(text=[text], images=[load_image(IMAGE_FILES[k])], return_tensors="pt")
    return text, batch


def reference(model, batch):
    """Prompt logits (one prefill forward), then generate's decode-step rows; greedy tokens."""
    kw = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=batch["pixel_values"],
              token_type_ids=batch["token_type_ids"])
    prompt = model(**kw).logits[0]
    out = model.generate(**kw, do_sample=False, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, output_logits=True,
                         return_dict_in_generate=True, eos_token_id=None, pad_token_id=0)
    generated = out.sequences[0, batch["input_ids"].shape[1]:].to(torch.long)
    steps = torch.stack([l[0] for l in out.logits])
    assert torch.allclose(steps[0], prompt[-1], atol=1e-4), "generate's first step differs from the prompt forward"
    assert steps.argmax(-1).tolist() == generated.tolist()
    return torch.cat([prompt, steps[1:]], 0).float().contiguous(), generated


EAH_LAYERS = [0, 1]
EAH_STATIC = [1, 2]
MIN_MARGIN = 1e-4


def beta_candidates(model, batch):
    E = eahref.EAH
    E.configure(layers=EAH_LAYERS, selection="count", beta=1.0)
    reference(model, batch)
    means = sorted(float(x) for l in EAH_LAYERS for x in E.column_means[l].flatten() if not math.isnan(float(x)))
    lo, hi = int(len(means) * 0.3), int(len(means) * 0.98)
    gaps = sorted(((means[i + 1] - means[i], (means[i + 1] + means[i]) / 2) for i in range(lo, hi)), reverse=True)
    return [round(beta, 6) for _, beta in gaps]


def eah_cases(folder, batch, image_id):
    model = Gemma3ForConditionalGeneration.from_pretrained(
        folder, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}, dtype=torch.float32).eval()
    assert model.config.text_config._attn_implementation == "eah_reference"
    E = eahref.EAH
    E.image_positions = [i for i, t in enumerate(batch["input_ids"][0].tolist()) if t == image_id]
    for beta in beta_candidates(model, batch):
        E.configure(layers=EAH_LAYERS, selection="dynamic", beta=beta, phase="all")
        logits, generated = reference(model, batch)
        if eahref.margin(EAH_LAYERS) > MIN_MARGIN:
            break
    else:
        raise AssertionError("no beta keeps the dynamic counts away from the column means")
    counts = [E.counts[l] for l in EAH_LAYERS]
    chosen = [E.chosen[l] for l in EAH_LAYERS]
    assert any(h >= 0 for h in chosen), "EAH chose no head: the case would not test the broadcast"
    tensors = {"logits_dynamic_0": logits, "generated_dynamic_0": generated,
               "sink_counts_dynamic_0": torch.tensor(counts, dtype=torch.long), "chosen_dynamic_0": torch.tensor(chosen, dtype=torch.long)}
    doc = {"layers": EAH_LAYERS, "new_tokens": NEW_TOKENS, "cases": [dict(
        name="dynamic_0", image=0, selection="dynamic", phase="all", beta=beta, image_tokens=len(E.image_positions),
        sink_counts=counts, chosen_heads=chosen, beta_margin=eahref.margin(EAH_LAYERS), generated=generated.tolist())]}
    print(f"  eah dynamic_0: beta {beta} counts {counts} chosen {chosen} generated {generated.tolist()}")
    E.configure(layers=EAH_LAYERS, selection="static", static_heads=EAH_STATIC, beta=beta, phase="all")
    logits, generated = reference(model, batch)
    tensors.update({"logits_static_0": logits, "generated_static_0": generated})
    doc["static_heads"] = EAH_STATIC
    doc["cases"].append(dict(name="static_0", image=0, selection="static", phase="all", beta=beta, static_heads=EAH_STATIC,
                             generated=generated.tolist()))
    print(f"  eah static_0: heads {EAH_STATIC} generated {generated.tolist()}")
    E.configure()
    save_file(tensors, os.path.join(ROOT, "eah.safetensors"))
    with open(os.path.join(ROOT, "eah.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main():
    tok = make_tokenizer()
    special = ids_of(tok)
    folder = os.path.join(ROOT, "hf-save")
    os.makedirs(folder, exist_ok=True)
    model = build(special)
    processor_for(tok).save_pretrained(folder)
    model.save_pretrained(folder)
    loaded = Gemma3ForConditionalGeneration.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
    processor = Gemma3Processor.from_pretrained(folder)
    assert type(processor.image_processor).__name__ == "Gemma3ImageProcessorPil", type(processor.image_processor)
    image_id = special["<image_soft_token>"]
    tensors, facts, batches = {}, {"images": [], "special_ids": special, "new_tokens": NEW_TOKENS}, []
    for k, name in enumerate(IMAGE_FILES):
        text, batch = inputs(processor, k)
        batches.append(batch)
        logits, generated = reference(loaded, batch)
        ids = batch["input_ids"][0]
        assert len(ids) > loaded.config.text_config.sliding_window * 3
        tensors[f"pixel_values_{k}"] = batch["pixel_values"].float().contiguous()
        tensors[f"input_ids_{k}"] = ids.to(torch.long).contiguous()
        tensors[f"template_ids_{k}"] = torch.tensor(tok(text)["input_ids"], dtype=torch.long)
        tensors[f"token_type_ids_{k}"] = batch["token_type_ids"][0].to(torch.long).contiguous()
        tensors[f"logits_{k}"] = logits
        tensors[f"generated_{k}"] = generated
        img = load_image(name)
        facts["images"].append(dict(file=name, width=img.width, height=img.height, image_tokens=int((ids == image_id).sum()),
                                    prompt_length=len(ids), question=QUESTIONS[k], prompt=text, generated=generated.tolist()))
        print(f"gemma3 {name}: len {len(ids)} generated {generated.tolist()}")
    save_file(tensors, os.path.join(ROOT, "expected.safetensors"))
    with open(os.path.join(ROOT, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    eah_cases(folder, batches[0], image_id)


if __name__ == "__main__":
    main()
