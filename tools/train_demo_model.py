#!/usr/bin/env python3
"""Train a tiny LLaVA (CLIP-ViT + 2-layer GELU projector + LLaMA) on the demo world.

Everything is seeded (data: tools/demo_world.py split seeds; model/optimiser:
--seed). CPU only; torch.set_num_threads(2).

    python tools/train_demo_model.py --out models/demo-llava --steps 1200
    python tools/train_demo_model.py --out models/demo-llava --verify-only

Outputs (models/demo-llava/): config.json, model.safetensors, generation_config.json,
tokenizer.model, tokenizer.json, tokenizer_config.json, chat_template.jinja,
processor_config.json, preprocessor_config.json, training_log.jsonl, metrics.json.
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_world as W  # noqa: E402

from transformers import (CLIPVisionConfig, LlamaConfig, LlamaTokenizer,  # noqa: E402
                          LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor)
from transformers.models.clip import CLIPImageProcessorPil  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(REPO, "Tests/Fixtures/templates/llava_15_hf.jinja")
DATA = os.path.join(REPO, "data/demo")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
S = W.IMAGE_SIZE
PATCH = 8
N_IMG_TOK = (S // PATCH) ** 2  # 49: default strategy drops CLS, +1 additional -1 dropped


def chat_prompt(text):
    return f"USER: <image>\n{text} ASSISTANT:"


# ---------------------------------------------------------------- tokenizer
def build_tokenizer(vocab_size, n_corpus, seed):
    import sentencepiece as spm
    rng = random.Random(seed)
    lines = []
    for i, sc, cap in W.make_split("train", n_corpus):
        lines.append(cap)
        q, a = W.qa_pair(sc, rng)
        lines.append(f"USER: <image>\n{q} ASSISTANT: {a}")
        lines.append(f"USER: <image>\n{W.PROMPT_CAPTION} ASSISTANT: {cap}")
    tmp = tempfile.mkdtemp()
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w") as f:
        f.write("\n".join(lines) + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=os.path.join(tmp, "tokenizer"), model_type="bpe",
        vocab_size=vocab_size, byte_fallback=True, add_dummy_prefix=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, character_coverage=1.0,
        split_digits=True, remove_extra_whitespaces=False, normalization_rule_name="identity",
        num_threads=1, seed_sentencepiece_size=100000, minloglevel=2)
    d = os.path.join(tmp, "tok")
    os.makedirs(d)
    shutil.copy(os.path.join(tmp, "tokenizer.model"), os.path.join(d, "tokenizer.model"))
    tok = LlamaTokenizer.from_pretrained(d, legacy=False, add_bos_token=True, add_eos_token=False)
    tok.add_tokens(["<image>"], special_tokens=True)
    tok.add_special_tokens({"pad_token": "<pad>"})
    return tok, os.path.join(d, "tokenizer.model")


def build_processor(tok):
    ip = CLIPImageProcessorPil(
        do_resize=True, size={"shortest_edge": S}, resample=3, do_center_crop=True,
        crop_size={"height": S, "width": S}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=CLIP_MEAN, image_std=CLIP_STD, do_convert_rgb=True)
    with open(TEMPLATE) as f:
        tpl = f.read()
    return LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=PATCH,
                          vision_feature_select_strategy="default", chat_template=tpl,
                          num_additional_image_tokens=1, image_token="<image>")


def build_model(tok, args):
    img_id = tok.convert_tokens_to_ids("<image>")
    vc = CLIPVisionConfig(hidden_size=args.vision_hidden, intermediate_size=4 * args.vision_hidden,
                          num_hidden_layers=args.vision_layers, num_attention_heads=4,
                          image_size=S, patch_size=PATCH, hidden_act="quick_gelu",
                          projection_dim=args.vision_hidden, layer_norm_eps=1e-5)
    tc = LlamaConfig(vocab_size=len(tok), hidden_size=args.text_hidden,
                     intermediate_size=3 * args.text_hidden, num_hidden_layers=args.text_layers,
                     num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
                     rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
                     bos_token_id=1, eos_token_id=2, pad_token_id=tok.pad_token_id,
                     tie_word_embeddings=False)
    cfg = LlavaConfig(vision_config=vc, text_config=tc, image_token_index=img_id,
                      projector_hidden_act="gelu", vision_feature_layer=-2,
                      vision_feature_select_strategy="default", image_seq_length=N_IMG_TOK,
                      multimodal_projector_bias=True, tie_word_embeddings=False)
    return LlavaForConditionalGeneration(cfg)


# ---------------------------------------------------------------- data
class Encoder:
    """Tokenises chat samples exactly like LlavaProcessor (image token expanded to N_IMG_TOK)."""

    def __init__(self, tok):
        self.tok = tok
        self.img_id = tok.convert_tokens_to_ids("<image>")
        self.cache = {}

    def prompt_ids(self, text):
        if text not in self.cache:
            ids = self.tok(chat_prompt(text)).input_ids
            assert ids[0] == 1 and ids.count(self.img_id) == 1, ids
            k = ids.index(self.img_id)
            self.cache[text] = ids[:k] + [self.img_id] * N_IMG_TOK + ids[k + 1:]
        return self.cache[text]

    def sample(self, prompt, answer):
        full = self.tok(chat_prompt(prompt) + " " + answer).input_ids
        p = self.tok(chat_prompt(prompt)).input_ids
        assert full[:len(p)] == p, (prompt, answer)
        ans = full[len(p):] + [self.tok.eos_token_id]
        pid = self.prompt_ids(prompt)
        return pid + ans, [-100] * len(pid) + ans


def preprocess(ip, images):
    return ip(images=images, return_tensors="pt")["pixel_values"]


def collate(batch, pad_id):
    L = max(len(x[0]) for x in batch)
    ids = torch.full((len(batch), L), pad_id, dtype=torch.long)
    lab = torch.full((len(batch), L), -100, dtype=torch.long)
    att = torch.zeros((len(batch), L), dtype=torch.long)
    for i, (a, b) in enumerate(batch):
        ids[i, :len(a)] = torch.tensor(a)
        lab[i, :len(b)] = torch.tensor(b)
        att[i, :len(a)] = 1
    return ids, lab, att


# ---------------------------------------------------------------- eval
SYN2CANON = {}
for canon, syns in W.SYNONYMS.items():
    for s in syns:
        SYN2CANON[s] = canon
_WORD_RE = re.compile(r"[a-z]+(?: sign| signs)?")


def mentioned_shapes(caption):
    words = re.findall(r"[a-z]+", caption.lower())
    out = []
    i = 0
    while i < len(words):
        two = " ".join(words[i:i + 2])
        if two in SYN2CANON:
            out.append(SYN2CANON[two]); i += 2; continue
        if words[i] in SYN2CANON:
            out.append(SYN2CANON[words[i]])
        i += 1
    return out


def mentioned_pairs(caption):
    words = re.findall(r"[a-z]+", caption.lower())
    return {(words[i - 1], SYN2CANON[w]) for i, w in enumerate(words)
            if w in SYN2CANON and i > 0 and words[i - 1] in W.COLOURS}


def caption_metrics(preds, gts):
    """preds: list[str]; gts: list[list[obj]]. CHAIR-style object metrics on shape words."""
    tp = fp = fn = 0
    exact = 0
    chair_s = 0
    n_mention = n_hall = 0
    ptp = pfp = pfn = 0
    count_ok = 0
    for cap, objs in zip(preds, gts):
        gt = {o["shape"] for o in objs}
        men_list = mentioned_shapes(cap)
        men = set(men_list)
        tp += len(men & gt); fp += len(men - gt); fn += len(gt - men)
        exact += men == gt
        hall = [m for m in men_list if m not in gt]
        n_mention += len(men_list); n_hall += len(hall)
        chair_s += bool(hall)
        count_ok += len(men_list) == len(objs)
        gp = {(o["colour"], o["shape"]) for o in objs}
        mp = mentioned_pairs(cap)
        ptp += len(mp & gp); pfp += len(mp - gp); pfn += len(gp - mp)
    n = len(preds)
    return {"n": n,
            "object_precision": tp / max(1, tp + fp), "object_recall": tp / max(1, tp + fn),
            "exact_object_set_accuracy": exact / n, "object_count_accuracy": count_ok / n,
            "CHAIR_i": n_hall / max(1, n_mention), "CHAIR_s": chair_s / n,
            "colour_shape_precision": ptp / max(1, ptp + pfp),
            "colour_shape_recall": ptp / max(1, ptp + pfn)}


@torch.no_grad()
def greedy_captions(model, enc, pix, bs=50, max_new=64):
    model.eval()
    ids = torch.tensor([enc.prompt_ids(W.PROMPT_CAPTION)])
    outs = []
    for i in range(0, len(pix), bs):
        p = pix[i:i + bs]
        inp = ids.repeat(len(p), 1)
        g = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), pixel_values=p,
                           max_new_tokens=max_new, do_sample=False, num_beams=1,
                           eos_token_id=2, pad_token_id=enc.tok.pad_token_id)
        for row in g[:, inp.shape[1]:]:
            outs.append(enc.tok.decode(row, skip_special_tokens=True).strip())
    model.train()
    return outs


@torch.no_grad()
def pope_eval(model, enc, pix_by_image, pope):
    """Greedy 1-step answer for each POPE question (grouped by identical prompt)."""
    model.eval()
    yes_ids = set(enc.tok("yes", add_special_tokens=False).input_ids[:1])
    groups = {}
    for k, q in enumerate(pope):
        groups.setdefault(q["question"], []).append(k)
    pred = [None] * len(pope)
    for qtext, ks in groups.items():
        ids = torch.tensor([enc.prompt_ids(qtext)])
        for j in range(0, len(ks), 64):
            kk = ks[j:j + 64]
            p = torch.stack([pix_by_image[pope[k]["image"]] for k in kk])
            inp = ids.repeat(len(kk), 1)
            logits = model(input_ids=inp, pixel_values=p, attention_mask=torch.ones_like(inp)).logits[:, -1]
            top = logits.argmax(-1).tolist()
            for k, t in zip(kk, top):
                pred[k] = "yes" if t in yes_ids else "no"
    model.train()
    lab = [q["label"] for q in pope]
    tp = sum(p == "yes" and l == "yes" for p, l in zip(pred, lab))
    fp = sum(p == "yes" and l == "no" for p, l in zip(pred, lab))
    fn = sum(p == "no" and l == "yes" for p, l in zip(pred, lab))
    acc = sum(p == l for p, l in zip(pred, lab)) / len(lab)
    prec = tp / max(1, tp + fp); rec = tp / max(1, tp + fn)
    return {"pope_accuracy": acc, "pope_precision": prec, "pope_recall": rec,
            "pope_f1": 2 * prec * rec / max(1e-9, prec + rec),
            "pope_yes_ratio": sum(p == "yes" for p in pred) / len(pred), "pope_n": len(pred)}


def load_eval(ip):
    rows = [json.loads(l) for l in open(os.path.join(DATA, "eval/captions.jsonl"))]
    images = [Image.open(os.path.join(DATA, r["image"])).convert("RGB") for r in rows]
    pix = preprocess(ip, images)
    pope = [json.loads(l) for l in open(os.path.join(DATA, "eval/pope.jsonl"))]
    return rows, pix, pope


# ---------------------------------------------------------------- main
def train(args):
    torch.manual_seed(args.seed); random.seed(args.seed); np.random.seed(args.seed)
    t_start = time.time()
    tok, spm_path = build_tokenizer(args.vocab, args.n_train, args.seed)
    proc = build_processor(tok)
    enc = Encoder(tok)
    print(f"tokenizer: {len(tok)} tokens, <image>={enc.img_id}, pad={tok.pad_token_id}", flush=True)

    # sanity: our encoding == LlavaProcessor on the chat template output
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": W.PROMPT_CAPTION}]}]
    rendered = proc.apply_chat_template(msgs, add_generation_prompt=True)
    assert rendered == chat_prompt(W.PROMPT_CAPTION), repr(rendered)
    img0 = W.render(next(W.make_split("eval", 1))[1])
    pp = proc(images=img0, text=rendered, return_tensors="pt")
    assert pp["input_ids"][0].tolist() == enc.prompt_ids(W.PROMPT_CAPTION), "processor mismatch"
    mine = (torch.tensor(np.asarray(img0), dtype=torch.float32).permute(2, 0, 1) / 255
            - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]
    assert torch.allclose(pp["pixel_values"][0], mine, atol=1e-5), "pixel preprocessing mismatch"

    # training scenes (rendered in memory, never written)
    scenes = [sc for _, sc, _ in W.make_split("train", args.n_train)]
    pix_train = torch.cat([preprocess(proc.image_processor, [W.render(sc) for sc in scenes[i:i + 500]])
                           for i in range(0, len(scenes), 500)])
    rows, pix_eval, pope = load_eval(proc.image_processor)
    pix_by_image = {r["image"]: pix_eval[i] for i, r in enumerate(rows)}
    print(f"data ready: {len(scenes)} train scenes, {len(rows)} eval, {time.time() - t_start:.0f}s", flush=True)

    model = build_model(tok, args)
    if args.init_from:  # continue from an exported folder (same deterministic tokenizer)
        prev = LlavaForConditionalGeneration.from_pretrained(args.init_from)
        assert prev.config.text_config.vocab_size == len(tok)
        model.load_state_dict(prev.state_dict())
        print(f"initialised from {args.init_from}", flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"model params: {nparams}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": nodecay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    os.makedirs(args.out, exist_ok=True)
    log_f = open(os.path.join(args.out, "training_log.jsonl"), "w")
    drng = random.Random(args.seed + 1)
    order = []
    model.train()
    t_train = time.time()
    run_loss = 0.0
    for step in range(args.steps):
        if len(order) < args.batch:
            perm = list(range(len(scenes))); drng.shuffle(perm); order += perm
        idx, order = order[:args.batch], order[args.batch:]
        batch = []
        for i in idx:
            if drng.random() < args.qa_frac:
                q, a = W.qa_pair(scenes[i], drng)
                batch.append(enc.sample(q, a))
            else:
                batch.append(enc.sample(W.PROMPT_CAPTION, W.caption(scenes[i], drng)))
        ids, lab, att = collate(batch, tok.pad_token_id)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        out = model(input_ids=ids, pixel_values=pix_train[idx], attention_mask=att, labels=lab)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run_loss += out.loss.item()
        if (step + 1) % args.log_every == 0:
            rec = {"step": step + 1, "loss": round(run_loss / args.log_every, 4), "lr": round(lr_at(step), 6),
                   "grad_norm": round(float(gn), 3), "elapsed_s": round(time.time() - t_train, 1)}
            run_loss = 0.0
            if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
                n = 50 if step + 1 < args.steps else len(rows)
                caps = greedy_captions(model, enc, pix_eval[:n])
                m = caption_metrics(caps, [r["objects"] for r in rows[:n]])
                rec.update({f"eval_{k}": round(v, 4) for k, v in m.items()})
                rec.update({k: round(v, 4) for k, v in pope_eval(model, enc, pix_by_image, pope).items()})
                rec["sample"] = caps[0]
                rec["elapsed_s"] = round(time.time() - t_train, 1)
            print(json.dumps(rec), flush=True)
            log_f.write(json.dumps(rec) + "\n"); log_f.flush()
            if args.max_minutes and time.time() - t_train > args.max_minutes * 60:
                print("time budget reached, stopping early", flush=True)
                break
    train_s = time.time() - t_train

    # final full eval
    caps = greedy_captions(model, enc, pix_eval)
    metrics = caption_metrics(caps, [r["objects"] for r in rows])
    metrics.update(pope_eval(model, enc, pix_by_image, pope))
    metrics.update({"train_steps": step + 1, "train_wall_s": round(train_s, 1),
                    "total_wall_s": round(time.time() - t_start, 1), "params": nparams})
    print("FINAL", json.dumps(metrics), flush=True)

    # export
    model.generation_config.bos_token_id = 1
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.do_sample = False
    model.generation_config.max_new_tokens = 64
    model.save_pretrained(args.out, safe_serialization=True)
    proc.save_pretrained(args.out)
    proc.image_processor.save_pretrained(args.out)  # preprocessor_config.json
    shutil.copy(spm_path, os.path.join(args.out, "tokenizer.model"))
    patch_tokenizer_config(args.out)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    with open(os.path.join(args.out, "eval_captions.jsonl"), "w") as f:
        for r, c in zip(rows, caps):
            f.write(json.dumps({"image": r["image"], "pred": c, "gt": r["caption"]}) + "\n")
    log_f.close()


def patch_tokenizer_config(out):
    """Make BOS/EOS behaviour explicit for non-transformers readers (idempotent)."""
    p = os.path.join(out, "tokenizer_config.json")
    with open(p) as f:
        cfg = json.load(f)
    cfg.update({"add_bos_token": True, "add_eos_token": False, "legacy": False})
    with open(p, "w") as f:
        json.dump(cfg, f, indent=2)


def verify(args):
    """Reload the export with stock transformers classes and caption 10 held-out images."""
    from transformers import AutoProcessor
    patch_tokenizer_config(args.out)
    torch.set_num_threads(2)
    proc = AutoProcessor.from_pretrained(args.out)
    model = LlavaForConditionalGeneration.from_pretrained(args.out).eval()
    rows = [json.loads(l) for l in open(os.path.join(DATA, "eval/captions.jsonl"))][:10]
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": W.PROMPT_CAPTION}]}]
    prompt = proc.apply_chat_template(msgs, add_generation_prompt=True)
    print("prompt:", repr(prompt))
    preds = []
    for r in rows:
        img = Image.open(os.path.join(DATA, r["image"]))
        inp = proc(images=img, text=prompt, return_tensors="pt")
        with torch.no_grad():
            g = model.generate(**inp, max_new_tokens=64, do_sample=False)
        cap = proc.decode(g[0, inp["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        preds.append(cap)
        print(f"{r['image']}\n  pred: {cap}\n  gt:   {r['caption']}")
    print(json.dumps(caption_metrics(preds, [r["objects"] for r in rows])))
    q = "Is there a star in the image? Answer yes or no."
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
    p = proc.apply_chat_template(msgs, add_generation_prompt=True)
    for r in rows[:4]:
        inp = proc(images=Image.open(os.path.join(DATA, r["image"])), text=p, return_tensors="pt")
        g = model.generate(**inp, max_new_tokens=3, do_sample=False)
        has = any(o["shape"] == "star" for o in r["objects"])
        print(f"{r['image']} star? pred={proc.decode(g[0, inp['input_ids'].shape[1]:], skip_special_tokens=True).strip()!r} truth={'yes' if has else 'no'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "models/demo-llava"))
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--qa-frac", type=float, default=0.3)
    ap.add_argument("--n-train", type=int, default=8000)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--vision-hidden", type=int, default=96)
    ap.add_argument("--vision-layers", type=int, default=4)
    ap.add_argument("--text-hidden", type=int, default=128)
    ap.add_argument("--text-layers", type=int, default=4)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--max-minutes", type=float, default=0, help="safety stop (0 = off)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-from", default="", help="exported folder to continue training from")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verify-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.verify_only:
        verify(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
