#!/usr/bin/env python3
"""Writes Tests/Fixtures/internvl/: tiny random InternVL models in the transformers `-hf` layout
(InternVLForConditionalGeneration, model_type internvl) saved with their processors, and
transformers' own pixel values, tile counts, token ids, logits and greedy tokens as references; plus
EAH cases from the PyTorch reference of tools/make_eah_fixtures.py.

Run: /work/main/.venv/bin/python tools/make_internvl_fixtures.py   (transformers 5.24.0, torch CPU,
float32, eager attention). Deterministic: fixed seeds; re-running rewrites identical tensors.

Processor: `InternVLProcessor(GotOcr2ImageProcessorPil, tokenizer, chat_template)` with
crop_to_patches (the processor's default), tiles of 32x32, min_patches 1, max_patches 12, ImageNet
mean/std, image_seq_length 16 (= (32/4)^2 * 0.5^2). InternVLProcessor's constructor also takes a
video processor, which needs torchvision (not pinned); a subclass without it does the same image and
text processing, and `processor_class` is written back as "InternVLProcessor". The tokenizer is a
tiny ByteLevel BPE in Qwen2's style (as tools/make_qwen2vl_fixtures.py builds it) with ChatML and
InternVL's `<img>`, `</img>`, `<IMG_CONTEXT>`, `<video>` tokens named start/end/context image
token. The chat template has the form of the OpenGVLab `-hf` repositories' (ChatML; an image
content renders `<IMG_CONTEXT>\\n`, which the processor expands to `<img>` + 16 per tile + `</img>`).

Models (folder `Tests/Fixtures/internvl/<model>/hf-save/` = what `save_pretrained` writes):
  internvl      InternViT as InternViT-300M: LayerNorm 1e-6, qkv bias, no QK-norm, layer scale,
                GELU; hidden 32, 2 layers, 2 heads, intermediate 64, image 32, patch 4 (8x8 patches
                + class token). Text: Qwen2, hidden 64, 4 heads / 2 kv heads, 2 layers,
                intermediate 96, rms eps 1e-6, theta 1e6, tied embeddings.
  internvl-rms  InternViT as the 6B tower: RMSNorm, QK-norm, no qkv bias; otherwise as above but
                3 text layers and an untied lm_head.

Images (Tests/Fixtures/images/valid): rgb_37x53.png (2 tiles + thumbnail), rgb_1x1.png (1 tile),
rgb_301x97_444.jpg (6x2 tiles + thumbnail: the many-tile case), gray_64x64.png (2x2 + thumbnail).

Per model `expected.safetensors`, per image k (0..3):
  pixel_values_k F32 [tiles, 3, 32, 32] (the processor's), input_ids_k I64 [seq] (the processor's
  ids for the chat template with one image and the question), template_ids_k I64 [seq'] (the same
  rendered text tokenized as is: one `<IMG_CONTEXT>`), logits_k F32 [seq + 5 - 1, vocab] (prompt
  rows, then one per decode step), generated_k I64 [5] (greedy, generate(do_sample=False,
  max_new_tokens=5, min_new_tokens=5, eos_token_id=None)).
`facts.json`: the images, tile counts, token counts, special ids, the rendered prompts.

EAH (`eah.safetensors` and `eah.json`, per model): with the reference attention of
make_eah_fixtures.py ("eah_reference") in the text decoder, for images 0 and 2 (internvl) or 0 and 3
(internvl-rms, see EAH_IMAGES):
  dynamic_k: selection dynamic, layers [0, 1], beta from eah.json, phase all;
  static_k: selection static, heads [1, 2] at layers [0, 1], phase all (what --bake writes);
each with logits_<case>_k, generated_<case>_k, sink_counts_<case>_k I64 [2, heads], chosen_<case>_k.
The image columns are the `<IMG_CONTEXT>` positions (never `<img>` / `</img>`).
"""

import json
import math
import os
import sys

import torch
from PIL import Image, ImageOps
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from transformers import InternVLConfig, InternVLForConditionalGeneration, InternVLProcessor, PreTrainedTokenizerFast
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil
from transformers.processing_utils import ProcessorMixin

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_eah_fixtures as eahref  # noqa: E402  (registers the "eah_reference" attention)

ROOT = os.path.join(HERE, "..", "Tests", "Fixtures", "internvl")
IMAGES = os.path.join(HERE, "..", "Tests", "Fixtures", "images", "valid")
IMAGE_FILES = ["rgb_37x53.png", "rgb_1x1.png", "rgb_301x97_444.jpg", "gray_64x64.png"]
QUESTIONS = ["What is in the picture?", "Describe it.", "Count the dogs, please!", "Is it gray?"]
NEW_TOKENS = 5
VOCAB = 320
TILE = 32
SEQ_PER_TILE = 16
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
torch.set_grad_enabled(False)

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]
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
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens={"start_image_token": "<img>", "end_image_token": "</img>",
                              "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"})
    assert len(fast) <= VOCAB
    return fast


def ids_of(tok):
    return {s: tok.convert_tokens_to_ids(s) for s in SPECIALS}


def widen(model, seed):
    """Random init is tiny (std 0.02) and class token / positions start at zero; widen every tensor so
    logits are not flat and greedy choices are stable. Layer scales stay near 1 so the blocks matter."""
    gen = torch.Generator().manual_seed(seed + 1000)
    for name, p in model.named_parameters():
        if p.dim() >= 2 and "cls_token" not in name and "position_embeddings" not in name:
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
        elif "norm" in name or "lambda" in name:
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen)) if name.endswith("weight") or "lambda" in name \
                else p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def build(kind, special):
    rms = kind == "internvl-rms"
    vision = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=[TILE, TILE],
                  patch_size=[4, 4], attention_bias=not rms, use_qk_norm=rms, norm_type="rms_norm" if rms else "layer_norm",
                  layer_norm_eps=1e-6, hidden_act="gelu", use_mean_pooling=True,
                  architectures=["InternVisionModel"])
    text = dict(model_type="qwen2", vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_attention_heads=4,
                num_key_value_heads=2, num_hidden_layers=3 if rms else 2, rms_norm_eps=1e-6, max_position_embeddings=512,
                hidden_act="silu", rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                tie_word_embeddings=not rms, bos_token_id=None, eos_token_id=special["<|im_end|>"],
                pad_token_id=special["<|endoftext|>"], architectures=["Qwen2ForCausalLM"])
    cfg = InternVLConfig(vision_config=vision, text_config=text, downsample_ratio=0.5, image_token_id=special["<IMG_CONTEXT>"],
                         image_seq_length=SEQ_PER_TILE, tie_word_embeddings=not rms, eos_token_id=special["<|im_end|>"])
    seed = 11 if rms else 10
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(cfg).eval().float()
    widen(model, seed)
    model.config._attn_implementation = "eager"
    return model


class ImageInternVLProcessor(InternVLProcessor):
    """InternVLProcessor without its video processor, which needs torchvision (not in tools/requirements.txt);
    images and text are processed by the same code."""

    def __init__(self, image_processor=None, tokenizer=None, image_seq_length=256, chat_template=None, **kwargs):
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
        self.image_seq_length = image_seq_length
        self.start_image_token = tokenizer.start_image_token
        self.end_image_token = tokenizer.end_image_token
        self.start_image_token_id = tokenizer.start_image_token_id
        self.end_image_token_id = tokenizer.end_image_token_id
        self.image_token = tokenizer.context_image_token
        self.video_token = tokenizer.video_token
        self.image_token_id = tokenizer.context_image_token_id
        import re
        self.multimodal_pattern = re.compile(f"(?P<image>{re.escape(self.image_token)})|(?P<video>{re.escape(self.video_token)})")


def processor_for(tok):
    image_processor = GotOcr2ImageProcessorPil(size={"height": TILE, "width": TILE}, crop_to_patches=True, min_patches=1,
                                               max_patches=12, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    return ImageInternVLProcessor(image_processor=image_processor, tokenizer=tok, image_seq_length=SEQ_PER_TILE,
                                  chat_template=CHAT_TEMPLATE)


def load_image(name):
    return ImageOps.exif_transpose(Image.open(os.path.join(IMAGES, name))).convert("RGB")


def inputs(processor, k):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTIONS[k]}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    batch = processor(text=[text], images=[load_image(IMAGE_FILES[k])], return_tensors="pt")
    return text, batch


def reference(model, batch):
    """Prompt logits (one prefill forward), then generate's decode-step rows; greedy tokens."""
    kw = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=batch["pixel_values"])
    prompt = model(**kw).logits[0]
    out = model.generate(**kw, do_sample=False, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, output_logits=True,
                         return_dict_in_generate=True, eos_token_id=None, pad_token_id=0)
    generated = out.sequences[0, batch["input_ids"].shape[1]:].to(torch.long)
    steps = torch.stack([l[0] for l in out.logits])
    assert torch.allclose(steps[0], prompt[-1], atol=1e-4), "generate's first step differs from the prompt forward"
    assert steps.argmax(-1).tolist() == generated.tolist()
    return torch.cat([prompt, steps[1:]], 0).float().contiguous(), generated


EAH_LAYERS = [0, 1]
MIN_MARGIN = 1e-4
EAH_STATIC = [1, 2]


def beta_candidates(model, batch):
    """Thresholds in the gaps between the column means of a counting run (no broadcast), widest gap first."""
    E = eahref.EAH
    E.configure(layers=EAH_LAYERS, selection="count", beta=1.0)
    reference(model, batch)
    means = sorted(float(x) for l in EAH_LAYERS for x in E.column_means[l].flatten() if not math.isnan(float(x)))
    lo, hi = int(len(means) * 0.3), int(len(means) * 0.98)
    gaps = sorted(((means[i + 1] - means[i], (means[i + 1] + means[i]) / 2) for i in range(lo, hi)), reverse=True)
    return [round(beta, 6) for _, beta in gaps]


def pick_beta(model, batch):
    """The first candidate whose dynamic run keeps every counted column mean at least MIN_MARGIN from beta."""
    E = eahref.EAH
    for beta in beta_candidates(model, batch):
        E.configure(layers=EAH_LAYERS, selection="dynamic", beta=beta, phase="all")
        reference(model, batch)
        if eahref.margin(EAH_LAYERS) > MIN_MARGIN:
            return beta
    raise AssertionError("no beta keeps the dynamic counts away from the column means")


# Images of the EAH cases per model: the 6B-like model's column means on the 13-tile image leave no
# beta 1e-4 away from all of them, so it uses the 2x2-tile image instead.
EAH_IMAGES = {"internvl": (0, 2), "internvl-rms": (0, 3)}


def eah_cases(folder, batch_of, special, images):
    model = InternVLForConditionalGeneration.from_pretrained(
        folder, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}, dtype=torch.float32).eval()
    assert model.config.text_config._attn_implementation == "eah_reference"
    tensors, doc = {}, {"layers": EAH_LAYERS, "static_heads": EAH_STATIC, "new_tokens": NEW_TOKENS, "cases": []}
    context = special["<IMG_CONTEXT>"]
    E = eahref.EAH
    for k in images:
        batch = batch_of[k]
        E.image_positions = [i for i, t in enumerate(batch["input_ids"][0].tolist()) if t == context]
        beta = pick_beta(model, batch)
        for name, sel, phase, heads in (("dynamic", "dynamic", "all", None), ("static", "static", "all", EAH_STATIC)):
            E.configure(layers=EAH_LAYERS, selection=sel, static_heads=heads, beta=beta, phase=phase)
            logits, generated = reference(model, batch)
            counts = [E.counts[l] for l in EAH_LAYERS]
            chosen = [E.chosen[l] for l in EAH_LAYERS]
            margin = eahref.margin(EAH_LAYERS)
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


def main():
    tok = make_tokenizer()
    special = ids_of(tok)
    for kind in ("internvl", "internvl-rms"):
        out = os.path.join(ROOT, kind)
        folder = os.path.join(out, "hf-save")
        os.makedirs(folder, exist_ok=True)
        model = build(kind, special)
        model.save_pretrained(folder)
        processor_for(tok).save_pretrained(folder)
        config_path = os.path.join(folder, "processor_config.json")
        with open(config_path) as f:
            processor_config = json.load(f)
        processor_config["processor_class"] = "InternVLProcessor"
        with open(config_path, "w") as f:
            json.dump(processor_config, f, indent=2, sort_keys=True)
            f.write("\n")
        loaded = InternVLForConditionalGeneration.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
        processor = ImageInternVLProcessor.from_pretrained(folder)
        assert type(processor.image_processor).__name__ == "GotOcr2ImageProcessorPil", type(processor.image_processor)
        tensors, facts, batches = {}, {"images": [], "special_ids": special, "new_tokens": NEW_TOKENS}, {}
        for k, name in enumerate(IMAGE_FILES):
            text, batch = inputs(processor, k)
            batches[k] = batch
            logits, generated = reference(loaded, batch)
            assert not set(generated.tolist()) & {special["<IMG_CONTEXT>"], special["<img>"], special["</img>"]}
            ids = batch["input_ids"][0]
            tiles = batch["pixel_values"].shape[0]
            tensors[f"pixel_values_{k}"] = batch["pixel_values"].float().contiguous()
            tensors[f"input_ids_{k}"] = ids.to(torch.long).contiguous()
            tensors[f"template_ids_{k}"] = torch.tensor(tok(text)["input_ids"], dtype=torch.long)
            tensors[f"logits_{k}"] = logits
            tensors[f"generated_{k}"] = generated
            img = load_image(name)
            n_image = int((ids == special["<IMG_CONTEXT>"]).sum())
            assert n_image == tiles * SEQ_PER_TILE
            facts["images"].append(dict(file=name, width=img.width, height=img.height, tiles=tiles, image_tokens=n_image,
                                        prompt_length=len(ids), question=QUESTIONS[k], prompt=text, generated=generated.tolist()))
            print(f"{kind} {name}: {img.width}x{img.height} tiles {tiles} image tokens {n_image} len {len(ids)} generated {generated.tolist()}")
        save_file(tensors, os.path.join(out, "expected.safetensors"))
        with open(os.path.join(out, "facts.json"), "w") as f:
            json.dump(facts, f, indent=1)
            f.write("\n")
        eah_cases(folder, batches, special, EAH_IMAGES[kind])


if __name__ == "__main__":
    main()
