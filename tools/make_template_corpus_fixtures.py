#!/usr/bin/env python3
"""Writes Tests/Fixtures/templates/corpus/: real chat templates from the Hugging Face Hub and
what transformers renders from them, for eah's template-engine corpus test.

The templates are llama.cpp's `models/templates/*.jinja` (each copied from the Hub repository its
file name spells), taken from the llama-cpp-python 0.3.36 source distribution on PyPI, which
vendors llama.cpp, llama-cpp-python's own chat formats (its multimodal chat handlers' Jinja,
LLaVA 1.5/1.6 and Qwen2.5-VL among them) from the same sdist, and the three templates the pinned
transformers package itself ships (SmolVLM, Llama 4, Qwen2-Audio). The sdist is fetched with pip (pinned version, no dependencies, no binary)
into EAH_LLAMA_CPP_CACHE (default ~/.cache/eah), the folder tools/llama-cpp.sh extracts it to;
an already extracted copy there is reused. SOURCES.json records the sdist and, for every
template copied, where in the sdist it comes from and its SHA-256.

Each template is rendered for every conversation below, with and without the generation prompt,
by transformers 5.24's `render_jinja_template` (jinja2 3.1.6, sandboxed, trim_blocks,
lstrip_blocks, loopcontrols, its tojson, raise_exception, strftime_now, the generation block).
`strftime_now` reads a fixed clock (FIXED_NOW) so that the expected text does not depend on the
day it was made; the Swift test passes the same instant. A render that fails records the
exception's class and message instead.

command.json holds what `eah-convert template` must print for the e2e tiny llava-hf model
(Tests/Fixtures/e2e/tiny-llava-hf, made by make_e2e_fixtures.py): the text LlavaProcessor's
apply_chat_template renders and the ids its tokenizer gives that text without special tokens
(what apply_chat_template(tokenize=True) returns), with the model's template and with a corpus
template whose bos_token the context overrides; and for a GGUF carrying a corpus template, the
text with the GGUF's special tokens and sentencepiece's ids.

Deterministic. Run with the pinned venv after make_e2e_fixtures.py:
    .venv/bin/python tools/make_template_corpus_fixtures.py
"""
import ast
import datetime as datetime_module
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import jinja2
import transformers
import transformers.utils.chat_template_utils as chat_template_utils
from transformers.utils.chat_template_utils import render_jinja_template

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "templates", "corpus")
VERSION = "0.3.36"
SDIST = f"llama_cpp_python-{VERSION}.tar.gz"
INNER = "vendor/llama.cpp/models/templates"
HANDLERS = "llama_cpp/llama_chat_format.py"
CACHE = os.environ.get("EAH_LLAMA_CPP_CACHE", os.path.expanduser("~/.cache/eah"))

# 2026-03-14 15:09:26, a Saturday, as the naive local time datetime.now() returns.
FIXED_NOW = datetime_module.datetime(2026, 3, 14, 15, 9, 26)
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}


def text(t):
    return [{"type": "text", "text": t}]


# name -> (messages, extra keyword arguments)
CONVERSATIONS = {
    "plain": ([{"role": "user", "content": "Hello"}], {}),
    "system_user": ([
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2 + 2?"},
    ], {}),
    "multi_turn": ([
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road?"},
        {"role": "user", "content": "Why?"},
    ], {}),
    "parts": ([
        {"role": "system", "content": text("Describe images briefly.")},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is in this image?"}]},
        {"role": "assistant", "content": text("A cat on a mat.")},
        {"role": "user", "content": text("And its colour?")},
    ], {}),
    "unicode_whitespace": ([
        {"role": "user", "content": "  Décris l'image 🐱 — 日本語で説明して\n\n\ttab, \"quotes\" and {{ braces }}  \n"},
        {"role": "assistant", "content": " Une photo\r\nd'un chat. "},
        {"role": "user", "content": "{% raw %} \\n is not a newline; ' and \" are quotes"},
    ], {}),
    "tools": ([
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temperature\": 22}"},
        {"role": "assistant", "content": "It is 22 °C in Paris."},
        {"role": "user", "content": "Thanks!"},
    ], {"tools": [WEATHER_TOOL]}),
    "image_url": ([
        {"role": "system", "content": "Describe images."},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                                     {"type": "text", "text": "What is this?"}]},
    ], {}),
    "documents": ([{"role": "user", "content": "What does the report say?"}], {"documents": [
        {"title": "Report", "text": "Sales rose by 5%."}, {"title": "Notes", "text": "Ship on Monday."},
    ]}),
    "thinking_off": ([
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Capital of France?"},
    ], {"enable_thinking": False}),
    "reasoning": ([
        {"role": "user", "content": "Is 17 prime?"},
        {"role": "assistant", "reasoning_content": "17 has no divisor between 2 and 4.", "content": "Yes, 17 is prime."},
        {"role": "user", "content": "And 21?"},
    ], {}),
}


class FixedClock(datetime_module.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


def sdist_root():
    """The extracted sdist (its templates folder and llama_chat_format.py), fetching it if needed."""
    root = os.path.join(CACHE, f"llama-cpp-python-{VERSION}")
    if os.path.exists(os.path.join(root, ".extracted")):
        return root, "extracted by tools/llama-cpp.sh"
    download = tempfile.mkdtemp(prefix="eah-sdist-")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", download,
                    f"llama-cpp-python=={VERSION}"], check=True)
    archive = os.path.join(download, SDIST)
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    target = os.path.join(download, "sdist")
    with tarfile.open(archive) as tar:
        prefix = f"llama_cpp_python-{VERSION}/"
        members = [m for m in tar.getmembers() if m.isfile() and (m.name.startswith(prefix + INNER + "/") or m.name == prefix + HANDLERS)]
        for member in members:
            member.name = member.name[len(prefix):]
        tar.extractall(target, members=members, filter="data")
    return target, f"sha256 {digest}"


def handler_templates(root):
    """llama-cpp-python's own Jinja chat formats: each multimodal chat handler's CHAT_FORMAT
    (LLaVA 1.5/1.6, Qwen2.5-VL, MiniCPM-V 2.6, Moondream, nanoLLaVA, Obsidian, Llama-3 vision
    alpha) and the module's *_CHAT_TEMPLATE constants, read from the source without importing it."""
    tree = ast.parse(open(os.path.join(root, HANDLERS), encoding="utf-8").read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.endswith("_CHAT_TEMPLATE"):
            found[node.targets[0].id] = ast.literal_eval(node.value)
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(getattr(t, "id", None) == "CHAT_FORMAT" for t in statement.targets):
                    found[node.name + ".CHAT_FORMAT"] = ast.literal_eval(statement.value)
    return found


def transformers_templates():
    """The chat templates transformers 5.24 itself ships: SmolVLM's processor default, Llama 4's
    processor template and Qwen2-Audio's default (Qwen2-VL's ChatML with media counters)."""
    from transformers.models.llama4 import processing_llama4
    from transformers.models.qwen2_audio.processing_qwen2_audio import Qwen2AudioProcessor
    from transformers.models.smolvlm import processing_smolvlm

    where = f"transformers=={transformers.__version__}: transformers/models/"
    return {
        "transformers-smolvlm.jinja": (where + "smolvlm/processing_smolvlm.py: DEFAULT_CHAT_TEMPLATE", processing_smolvlm.DEFAULT_CHAT_TEMPLATE),
        "transformers-llama4.jinja": (where + "llama4/processing_llama4.py: chat_template", processing_llama4.chat_template),
        "transformers-qwen2_audio.jinja": (where + "qwen2_audio/processing_qwen2_audio.py: Qwen2AudioProcessor.default_chat_template",
                                           Qwen2AudioProcessor.default_chat_template.fget(None)),
    }


def render(template, messages, extra, generation):
    rendered, _ = render_jinja_template(
        conversations=[messages], chat_template=template, add_generation_prompt=generation, **SPECIAL, **extra
    )
    return rendered[0]


def command_cases():
    """`eah-convert template` on the e2e model: its own template, and a corpus one via --template."""
    from transformers import AutoProcessor, AutoTokenizer

    folder = os.path.join(ROOT, "Tests", "Fixtures", "e2e", "tiny-llava-hf")
    processor = AutoProcessor.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    own = {"messages": [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this? Décris 🐱"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
        {"role": "user", "content": [{"type": "text", "text": "Colour?"}]},
    ], "add_generation_prompt": True}
    own_text = processor.apply_chat_template(own["messages"], add_generation_prompt=True, tokenize=False)
    template_name = "mistralai-Mistral-Nemo-Instruct-2407.jinja"
    overridden = {"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"},
                               {"role": "user", "content": "Bye"}], "bos_token": "<BOS>"}
    special = {k: getattr(tokenizer, k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
    template = open(os.path.join(OUT, template_name), encoding="utf-8").read()
    over_text = render_jinja_template(
        conversations=[overridden["messages"]], chat_template=template, add_generation_prompt=False, **{**special, "bos_token": "<BOS>"})[0][0]
    # A GGUF carrying a chat template: the test adds tokenizer.chat_template to the
    # tokenizer-only tokenizer/tokenizer.gguf (made from tokenizer.model by
    # make_tokenizer_fixtures.py). A GGUF tokenizes as llama.cpp does (special tokens spelled in
    # the text are parsed), so llama.cpp's tokenizer gives the reference ids, without the BOS it
    # adds (the command's ids are the rendered text's own, as apply_chat_template's).
    import sentencepiece
    import llama_reference
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(ROOT, "Tests", "Fixtures", "tokenizer", "tokenizer.model"))
    gguf_special = {"bos_token": sp.id_to_piece(sp.bos_id()), "eos_token": sp.id_to_piece(sp.eos_id()), "unk_token": sp.id_to_piece(sp.unk_id())}
    gguf_messages, _ = CONVERSATIONS["multi_turn"]
    gguf_text = render_jinja_template(conversations=[gguf_messages], chat_template=template, add_generation_prompt=True, **gguf_special)[0][0]
    gguf_ids = llama_reference.tokenize(os.path.join(ROOT, "Tests", "Fixtures", "tokenizer", "tokenizer.gguf"), [gguf_text])[0][0]
    if gguf_ids[:1] == [sp.bos_id()]:
        gguf_ids = gguf_ids[1:]
    return [
        {"model": "tokenizer/tokenizer.gguf", "gguf_chat_template": "templates/corpus/" + template_name,
         "context": {"messages": gguf_messages, "add_generation_prompt": True}, "text": gguf_text, "ids": gguf_ids},
        {"model": "e2e/tiny-llava-hf", "template": None, "context": own, "text": own_text,
         "ids": tokenizer(own_text, add_special_tokens=False)["input_ids"]},
        {"model": "e2e/tiny-llava-hf", "template": "templates/corpus/" + template_name, "context": overridden, "text": over_text,
         "ids": tokenizer(over_text, add_special_tokens=False)["input_ids"]},
    ]


def main():
    chat_template_utils.datetime = FixedClock
    root, origin = sdist_root()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    templates = {}  # file name -> (where in the sdist, bytes)
    for path in sorted(glob.glob(os.path.join(root, INNER, "*.jinja"))):
        templates[os.path.basename(path)] = (INNER + "/" + os.path.basename(path), open(path, "rb").read())
    for symbol, text in sorted(handler_templates(root).items()):
        templates["llama-cpp-python-" + symbol.replace(".CHAT_FORMAT", "") + ".jinja"] = (HANDLERS + ": " + symbol, text.encode("utf-8"))
    for name, (where, text) in transformers_templates().items():
        templates[name] = (where, text.encode("utf-8"))
    sources = {}
    cases = []
    for name, (where, data) in templates.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        sources[name] = {"from": where, "sha256": hashlib.sha256(data).hexdigest()}
        template = data.decode("utf-8")
        for conversation, (messages, extra) in CONVERSATIONS.items():
            for generation in (False, True):
                case = {"template": name, "conversation": conversation, "add_generation_prompt": generation}
                try:
                    case["output"] = render(template, messages, extra, generation)
                except Exception as error:  # noqa: BLE001 - every failure is an expected error
                    case["error"] = {"type": type(error).__name__, "message": str(error)}
                cases.append(case)
    with open(os.path.join(OUT, "SOURCES.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({
            "package": f"llama-cpp-python=={VERSION}", "sdist": SDIST, "sdist_origin": origin,
            "note": (f"files from {INNER} are Hub repositories' chat templates as llama.cpp copied them (the file name spells "
                     f"the repository); llama-cpp-python-*.jinja are llama-cpp-python's own chat formats from {HANDLERS}; "
                     "transformers-*.jinja are the templates the pinned transformers package ships"),
            "files": sources,
        }, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "renders.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({
            "jinja2": jinja2.__version__, "transformers": transformers.__version__, "now": FIXED_NOW.isoformat(),
            "special_tokens": SPECIAL,
            "conversations": {name: {"messages": m, "kwargs": k} for name, (m, k) in CONVERSATIONS.items()},
            "cases": cases,
        }, f, ensure_ascii=False, indent=0)
        f.write("\n")
    with open(os.path.join(OUT, "command.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"cases": command_cases()}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    failures = sum(1 for c in cases if "error" in c)
    print(f"{len(sources)} templates, {len(cases)} cases, {failures} expected errors", file=sys.stderr)


if __name__ == "__main__":
    main()
