#!/usr/bin/env python3
"""Writes Tests/Fixtures/qwen2vl/: tiny random Qwen2-VL and Qwen2.5-VL models saved with their
processors, and transformers' own pixel values, grids, token ids, M-RoPE position ids, logits and
greedy tokens as references; plus EAH cases from the PyTorch reference of tools/make_eah_fixtures.py.

Run: /work/main/.venv/bin/python tools/make_qwen2vl_fixtures.py   (transformers 5.24.0, torch CPU,
float32, eager attention). Deterministic: fixed seeds; re-running rewrites identical tensors.

Processor: `Qwen2VLProcessor(Qwen2VLImageProcessorPil, tokenizer, chat_template)`; 5.24 has the Pil
class for Qwen2-VL (Qwen2.5-VL uses the same image processor). Qwen2VLProcessor's constructor also
builds a video processor, which needs torchvision (not pinned); a subclass without it does the same
image and text processing, and `processor_class` is written back as "Qwen2VLProcessor". The tokenizer is a tiny ByteLevel BPE
in Qwen2's style (NFC, Qwen2's split regex, byte-level alphabet, ChatML and vision special tokens)
trained here on a few sentences, so the vocabulary (and the models' embeddings) stay small. The chat
template is the one Qwen2-VL-*-Instruct ship (default system prompt "You are a helpful assistant.").

Models (folder `Tests/Fixtures/qwen2vl/<model>/`, `hf-save/` = what `save_pretrained` writes):
  qwen2vl   Qwen2VLForConditionalGeneration. Vision: patch 4, temporal patch 2, merge 2, embed 32,
            2 heads (head dim 16: 4 row + 4 column frequencies), depth 3 (llama.cpp's converter maps
            merger.mlp.{bid} by block index, so depth must exceed 2), mlp_ratio 2, quick_gelu,
            LayerNorm 1e-6. Text: Qwen2, hidden 64, 4 heads / 2 kv heads, head dim 16, 2 layers,
            intermediate 96, rms eps 1e-6, theta 10000, mrope_section [2, 3, 3], tied embeddings.
            Processor: min_pixels 256, max_pixels 2304 (smart_resize factor 8).
            Also `hf-inmemory/`: the transformers 5 in-memory names (`model.language_model.*`,
            `model.visual.*`, `lm_head.*`) in one model.safetensors with the same config.
  qwen25vl  Qwen2_5_VLForConditionalGeneration. Vision: patch 4, merge 2, hidden 32, 2 heads, depth 3,
            intermediate 48, silu (SwiGLU with biases), RMSNorm, window_size 16 (2x2 merged tokens
            per window), fullatt_block_indexes [1], out hidden 64. Text as qwen2vl but 3 layers,
            mrope_section [2, 2, 4], untied lm_head, theta 1e6.

  qwen25vl/gguf/  the same converter's text-f32.gguf and mmproj-f32.gguf (projector qwen2.5vl_merger,
            n_wa_pattern 2, no window size: llama.cpp assumes 112 px), and expected-window112.safetensors:
            transformers' logits and greedy tokens with the tower's window_size set to 112.
  qwen2vl/gguf/  text-f32.gguf (arch qwen2vl) and mmproj-f32.gguf (projector qwen2vl_merger: q/k/v
            split, the Conv3d as two halves v.patch_embd.weight / .weight.1) written by llama.cpp's
            convert_hf_to_gguf.py (the llama-cpp-python 0.3.36 sdist tools/llama-cpp.sh unpacks), with
            `--outtype f32` and `--mmproj`; its BPE pre-tokenizer check is told "qwen2" (the tiny
            tokenizer uses Qwen2's split regex but its vocabulary hashes differently). Same weights, so
            expected.safetensors holds for it given the same ids and pixel values.

Images (Tests/Fixtures/images/valid): rgb_37x53.png (within the limits), rgb_1x1.png (below
min_pixels), rgb_301x97_444.jpg and gray_64x64.png (above max_pixels).

Per model `expected.safetensors`, per image k (0..3):
  pixel_values_k F32 [patches, 3*2*4*4] (the processor's, flattened in the model's order),
  grid_k I64 [3] (t, h, w), input_ids_k I64 [seq] (the processor's ids for the chat template with
  one image and the question, `<|image_pad|>` expanded), template_ids_k I64 [seq'] (the same text
  tokenized with one `<|image_pad|>`), position_ids_k I64 [3, seq] (get_rope_index),
  logits_k F32 [seq + 5 - 1, vocab] (prompt rows, then one per decode step), generated_k I64 [5]
  (greedy, generate(do_sample=False, max_new_tokens=5, min_new_tokens=5, eos_token_id=None)).
`facts.json`: the images, token counts, special ids, the rendered prompts, rope deltas.

EAH (`eah.safetensors` and `eah.json`, per model): with the reference attention of
make_eah_fixtures.py ("eah_reference") in the text decoder, for images 0 and 2:
  dynamic_k: selection dynamic, layers [0, 1], beta from eah.json, phase all;
  static_k: selection static, heads [1, 2] at layers [0, 1], phase all (what --bake writes);
each with logits_<case>_k, generated_<case>_k, sink_counts_<case>_k I64 [2, heads], chosen_<case>_k.
"""

import json
import math
import os
import sys

import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from transformers import (PreTrainedTokenizerFast, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLConfig,
                          Qwen2VLForConditionalGeneration, Qwen2VLProcessor)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.processing_utils import ProcessorMixin

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_eah_fixtures as eahref  # noqa: E402  (registers the "eah_reference" attention)

ROOT = os.path.join(HERE, "..", "Tests", "Fixtures", "qwen2vl")
IMAGES = os.path.join(HERE, "..", "Tests", "Fixtures", "images", "valid")
IMAGE_FILES = ["rgb_37x53.png", "rgb_1x1.png", "rgb_301x97_444.jpg", "gray_64x64.png"]
QUESTIONS = ["What is in the picture?", "Describe it.", "Count the dogs, please!", "Is it gray?"]
NEW_TOKENS = 5
VOCAB = 320
torch.set_grad_enabled(False)

CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
            "<|video_pad|>"]
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    corpus = ["You are a helpful assistant.", "system user assistant", "What is in the picture? Describe it.",
              "Count the dogs, please! Is it gray? The cat sat on the mat."] * 4
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(SPECIALS), special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    assert len(fast) <= VOCAB
    return fast


def ids_of(tok):
    return {s: tok.convert_tokens_to_ids(s) for s in SPECIALS}


def widen(model, seed):
    """Random init is tiny (std 0.02); widen it so logits are not flat and greedy choices are stable."""
    gen = torch.Generator().manual_seed(seed + 1000)
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
        elif "norm" in name or "ln_q" in name:
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen)) if name.endswith("weight") else p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def build(kind, special):
    common_text = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2,
                       rms_norm_eps=1e-6, max_position_embeddings=512, hidden_act="silu",
                       bos_token_id=None, eos_token_id=special["<|im_end|>"], pad_token_id=special["<|endoftext|>"])
    ids = dict(image_token_id=special["<|image_pad|>"], video_token_id=special["<|video_pad|>"],
               vision_start_token_id=special["<|vision_start|>"], vision_end_token_id=special["<|vision_end|>"])
    if kind == "qwen2vl":
        text = dict(common_text, num_hidden_layers=2, tie_word_embeddings=True,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]})
        vision = dict(depth=3, embed_dim=32, num_heads=2, mlp_ratio=2, hidden_size=64, patch_size=4, spatial_merge_size=2,
                      temporal_patch_size=2, hidden_act="quick_gelu", in_channels=3)
        cfg = Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
        seed = 5
        torch.manual_seed(seed)
        model = Qwen2VLForConditionalGeneration(cfg)
    else:
        text = dict(common_text, num_hidden_layers=3, tie_word_embeddings=False,
                    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 2, 4]})
        vision = dict(depth=3, hidden_size=32, intermediate_size=48, num_heads=2, out_hidden_size=64, patch_size=4,
                      spatial_merge_size=2, temporal_patch_size=2, hidden_act="silu", window_size=16,
                      fullatt_block_indexes=[1], in_channels=3)
        cfg = Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=False, **ids)
        seed = 6
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(cfg)
    model = model.eval().float()
    widen(model, seed)
    model.config._attn_implementation = "eager"
    return model


class ImageQwen2VLProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without its video processor, which needs torchvision (not in tools/requirements.txt);
    images are processed by the same code."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = "<|image_pad|>"
        self.video_token = "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


def processor_for(tok):
    image_processor = Qwen2VLImageProcessorPil(min_pixels=256, max_pixels=2304, patch_size=4, merge_size=2,
                                               temporal_patch_size=2)
    return ImageQwen2VLProcessor(image_processor=image_processor, tokenizer=tok, chat_template=CHAT_TEMPLATE)


def load_image(name):
    from PIL import ImageOps
    return ImageOps.exif_transpose(Image.open(os.path.join(IMAGES, name))).convert("RGB")


def inputs(processor, k):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[k]}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    batch = processor(text=[text], images=[load_image(IMAGE_FILES[k])], return_tensors="pt")
    return text, batch


def reference(model, batch):
    """Prompt logits (one prefill forward), then generate's decode-step rows; greedy tokens."""
    kw = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=batch["pixel_values"],
              image_grid_thw=batch["image_grid_thw"], mm_token_type_ids=batch["mm_token_type_ids"])
    model.model.rope_deltas = None
    prompt = model(**kw).logits[0]
    model.model.rope_deltas = None
    out = model.generate(**kw, do_sample=False, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, output_logits=True,
                         return_dict_in_generate=True, eos_token_id=None, pad_token_id=0)
    generated = out.sequences[0, batch["input_ids"].shape[1]:].to(torch.long)
    steps = torch.stack([l[0] for l in out.logits])
    assert torch.allclose(steps[0], prompt[-1], atol=1e-4), "generate's first step differs from the prompt forward"
    assert steps.argmax(-1).tolist() == generated.tolist()
    return torch.cat([prompt, steps[1:]], 0).float().contiguous(), generated


def inmemory_state(model):
    return {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight" or not model.config.tie_word_embeddings}


EAH_LAYERS = [0, 1]
MIN_MARGIN = 1e-4
EAH_STATIC = [1, 2]


def eah_cases(folder, cls, batch_of, special):
    """Dynamic and static EAH on two images with the PyTorch reference attention."""
    model = cls.from_pretrained(folder, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"},
                                dtype=torch.float32).eval()
    assert model.config.text_config._attn_implementation == "eah_reference"
    tensors, doc = {}, {"layers": EAH_LAYERS, "static_heads": EAH_STATIC, "new_tokens": NEW_TOKENS, "cases": []}
    image_id = special["<|image_pad|>"]
    # beta: a value the column means of this model sit well away from (chosen from the first image's means).
    E = eahref.EAH
    for k in (0, 2):
        batch = batch_of[k]
        E.image_positions = [i for i, t in enumerate(batch["input_ids"][0].tolist()) if t == image_id]
        beta = pick_beta(model, batch)
        for name, sel, phase, heads in (("dynamic", "dynamic", "all", None), ("static", "static", "all", EAH_STATIC)):
            E.configure(layers=EAH_LAYERS, selection=sel, static_heads=heads, beta=beta, phase=phase)
            logits, generated = reference(model, batch)
            counts = [E.counts[l] for l in EAH_LAYERS]
            chosen = [E.chosen[l] for l in EAH_LAYERS]
            margin = eahref.margin(EAH_LAYERS)
            # Static heads broadcast whatever the counts say; only a dynamic choice hangs on them.
            assert sel != "dynamic" or margin > MIN_MARGIN, f"beta {beta} too close to a column mean ({margin})"
            tag = f"{name}_{k}"
            tensors[f"logits_{tag}"] = logits
            tensors[f"generated_{tag}"] = generated
            tensors[f"sink_counts_{tag}"] = torch.tensor(counts, dtype=torch.long)
            tensors[f"chosen_{tag}"] = torch.tensor(chosen, dtype=torch.long)
            doc["cases"].append(dict(name=tag, image=k, selection=sel, phase=phase, beta=beta, static_heads=heads,
                                     image_tokens=len(E.image_positions), sink_counts=counts, chosen_heads=chosen,
                                     beta_margin=margin, generated=generated.tolist()))
            print(f"  eah {tag}: counts {counts} chosen {chosen} margin {margin:.4f} generated {generated.tolist()}")
    E.configure()
    save_file(tensors, os.path.join(os.path.dirname(folder), "eah.safetensors"))
    with open(os.path.join(os.path.dirname(folder), "eah.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def beta_candidates(model, batch):
    """Thresholds in the gaps between the column means of a counting run (no broadcast), widest gap
    first, from the upper half of the means (so some heads count some sinks)."""
    E = eahref.EAH
    E.configure(layers=EAH_LAYERS, selection="count", beta=1.0)
    reference(model, batch)
    means = sorted(float(x) for l in EAH_LAYERS for x in E.column_means[l].flatten() if not math.isnan(float(x)))
    lo, hi = int(len(means) * 0.3), int(len(means) * 0.98)
    gaps = sorted(((means[i + 1] - means[i], (means[i + 1] + means[i]) / 2) for i in range(lo, hi)), reverse=True)
    return [round(beta, 6) for _, beta in gaps]


def pick_beta(model, batch):
    """The first candidate whose dynamic run (where layer 1 sees layer 0's broadcast) keeps every
    counted column mean at least MIN_MARGIN from beta. MIN_MARGIN is 1e-4 here (make_eah_fixtures.py
    asks 1e-3): these prompts are longer, so the means are smaller and closer; float noise is ~1e-7."""
    E = eahref.EAH
    for beta in beta_candidates(model, batch):
        E.configure(layers=EAH_LAYERS, selection="dynamic", beta=beta, phase="all")
        reference(model, batch)
        if eahref.margin(EAH_LAYERS) > MIN_MARGIN:
            return beta
    raise AssertionError("no beta keeps the dynamic counts away from the column means")


GGUF_WRAPPER = """
import os, sys
root = sys.argv[1]
sys.path.insert(0, root)
sys.path.insert(0, os.path.join(root, "gguf-py"))
import convert_hf_to_gguf as conv
from conversion import base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
conv.main()
"""


def write_gguf(folder, out):
    """llama.cpp's converter on the saved folder: the text model and the mmproj, F32."""
    import subprocess
    import tempfile
    cache = os.environ.get("EAH_LLAMA_CPP_CACHE", os.path.expanduser("~/.cache/eah"))
    root = os.path.join(cache, "llama-cpp-python-0.3.36", "vendor", "llama.cpp")
    assert os.path.exists(os.path.join(root, "convert_hf_to_gguf.py")), f"no llama.cpp converter under {root} (run tools/llama-cpp.sh)"
    os.makedirs(out, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(GGUF_WRAPPER)
    try:
        for name, extra in (("text-f32.gguf", []), ("mmproj-f32.gguf", ["--mmproj"])):
            subprocess.run([sys.executable, f.name, root, folder, "--outfile", os.path.join(out, name), "--outtype", "f32"] + extra,
                           check=True, capture_output=True)
    finally:
        os.unlink(f.name)


def gguf_window_case(folder, out, cls, batches):
    """Qwen2.5-VL through llama.cpp's files: convert_hf_to_gguf writes the mmproj
    (qwen2.5vl_merger) with n_wa_pattern but no window size, and llama.cpp's clip.cpp then uses
    112-pixel windows. The expected logits are transformers' with the tower's window_size set to
    112, as llama.cpp runs it (gguf/expected-window112.safetensors)."""
    write_gguf(folder, os.path.join(out, "gguf"))
    model = cls.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
    model.model.visual.window_size = 112
    tensors = {}
    for k, batch in batches.items():
        logits, generated = reference(model, batch)
        tensors[f"logits_{k}"] = logits
        tensors[f"generated_{k}"] = generated
    save_file(tensors, os.path.join(out, "gguf", "expected-window112.safetensors"))


def main():
    tok = make_tokenizer()
    special = ids_of(tok)
    for kind, cls in (("qwen2vl", Qwen2VLForConditionalGeneration), ("qwen25vl", Qwen2_5_VLForConditionalGeneration)):
        out = os.path.join(ROOT, kind)
        folder = os.path.join(out, "hf-save")
        os.makedirs(folder, exist_ok=True)
        model = build(kind, special)
        processor = processor_for(tok)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        # The folder is a Qwen2VLProcessor's (same image processor, tokenizer and template); only
        # the torchvision-free subclass above wrote it.
        config_path = os.path.join(folder, "processor_config.json")
        with open(config_path) as f:
            processor_config = json.load(f)
        processor_config["processor_class"] = "Qwen2VLProcessor"
        with open(config_path, "w") as f:
            json.dump(processor_config, f, indent=2, sort_keys=True)
            f.write("\n")
        loaded = cls.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
        if kind == "qwen2vl":
            write_gguf(folder, os.path.join(out, "gguf"))
            mem = os.path.join(out, "hf-inmemory")
            os.makedirs(mem, exist_ok=True)
            save_file(inmemory_state(loaded), os.path.join(mem, "model.safetensors"), metadata={"format": "pt"})
            for name in os.listdir(folder):
                if name != "model.safetensors":
                    with open(os.path.join(folder, name), "rb") as src, open(os.path.join(mem, name), "wb") as dst:
                        dst.write(src.read())
        processor = ImageQwen2VLProcessor.from_pretrained(folder)
        assert type(processor.image_processor).__name__ == "Qwen2VLImageProcessorPil", type(processor.image_processor)
        tensors, facts, batches = {}, {"images": [], "special_ids": special, "new_tokens": NEW_TOKENS}, {}
        for k, name in enumerate(IMAGE_FILES):
            text, batch = inputs(processor, k)
            batches[k] = batch
            logits, generated = reference(loaded, batch)
            assert not set(generated.tolist()) & {special["<|image_pad|>"], special["<|video_pad|>"]}
            loaded.model.rope_deltas = None
            position_ids, deltas = loaded.model.get_rope_index(batch["input_ids"], batch["mm_token_type_ids"],
                                                                image_grid_thw=batch["image_grid_thw"])
            template_ids = tok(text)["input_ids"]
            ids = batch["input_ids"][0]
            tensors[f"pixel_values_{k}"] = batch["pixel_values"].float().contiguous()
            tensors[f"grid_{k}"] = batch["image_grid_thw"][0].to(torch.long)
            tensors[f"input_ids_{k}"] = ids.to(torch.long).contiguous()
            tensors[f"template_ids_{k}"] = torch.tensor(template_ids, dtype=torch.long)
            tensors[f"position_ids_{k}"] = position_ids[:, 0].to(torch.long).contiguous()
            tensors[f"logits_{k}"] = logits
            tensors[f"generated_{k}"] = generated
            img = load_image(name)
            n_image = int((ids == special["<|image_pad|>"]).sum())
            facts["images"].append(dict(file=name, width=img.width, height=img.height,
                                        grid=batch["image_grid_thw"][0].tolist(), image_tokens=n_image,
                                        prompt_length=len(ids), rope_delta=int(deltas[0, 0]), question=QUESTIONS[k],
                                        prompt=text, generated=generated.tolist()))
            print(f"{kind} {name}: {img.width}x{img.height} grid {batch['image_grid_thw'][0].tolist()} image tokens {n_image}"
                  f" len {len(ids)} delta {int(deltas[0, 0])} generated {generated.tolist()}")
        save_file(tensors, os.path.join(out, "expected.safetensors"))
        if kind == "qwen25vl":
            gguf_window_case(folder, out, cls, batches)
        with open(os.path.join(out, "facts.json"), "w") as f:
            json.dump(facts, f, indent=1)
            f.write("\n")
        eah_cases(folder, cls, batches, special)


if __name__ == "__main__":
    main()
