#!/usr/bin/env python3
"""Writes Tests/Fixtures/templates/: real-world LLaVA-family chat templates, what transformers
5.24 renders from them (jinja2 3.1.6 in transformers' sandboxed environment: trim_blocks,
lstrip_blocks, raise_exception, tojson, the generation block), LLaVA's own vicuna_v1 prompts,
and small model folders for the template-source precedence tests.

Deterministic. Run with the pinned venv:
    /work/venv/bin/python tools/make_template_fixtures.py
"""
import json
import os
import shutil

import jinja2
import transformers
from transformers.utils.chat_template_utils import render_jinja_template

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "templates"))

# llava-hf/llava-1.5-7b-hf's chat_template (chat_template.json / the processor's template).
LLAVA_15_HF = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
    "{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

# In the style of llava-hf/llava-v1.6-mistral-7b-hf ([INST] turns, raise_exception on other roles).
LLAVA_NEXT_MISTRAL = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ '<<SYS>>\n' + message['content'][0]['text'] + '\n<</SYS>>\n\n' }}"
    "{% elif message['role'] == 'user' %}{{ '[INST] ' }}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{# Render all text next #}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{{' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'][0]['text'] + '</s> '}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

# In the style of llava-hf/llava-interleave-qwen-0.5b-hf (ChatML), written over several lines
# with whitespace control, as many Hub templates are.
LLAVA_INTERLEAVE = """{%- for message in messages %}
{{- '<|im_start|>' + message['role'] + '\\n' }}
{%- if message['content'] is string %}
{{- message['content'] }}
{%- else %}
    {%- for content in message['content'] | selectattr('type', 'equalto', 'image') %}
<image>
    {% endfor %}
    {%- for content in message['content'] | selectattr('type', 'equalto', 'text') %}
        {{- content['text'] }}
    {%- endfor %}
{%- endif %}
{{- '<|im_end|>\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# A vicuna-style template relying on trim_blocks/lstrip_blocks (no '-'), a default system
# message, slicing and loop.first.
VICUNA_SYSTEM = """{% set default_system = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions." %}
{% if messages[0]['role'] == 'system' %}
    {% set system = messages[0]['content'] | selectattr('type', 'equalto', 'text') | map(attribute='text') | join(' ') %}
    {% set loop_messages = messages[1:] %}
{% else %}
    {% set system = default_system %}
    {% set loop_messages = messages %}
{% endif %}
{# One turn per message; the image placeholder comes first. #}
{% for message in loop_messages %}
    {% if loop.first %}{{ system }} {% endif %}
    {% if message['role'] == 'user' %}
USER: {% for item in message['content'] %}{% if item['type'] == 'image' %}<image>
{% elif item.type == 'text' %}{{ item.text }}{% endif %}{% endfor %} {# space before the assistant turn #}
    {% elif message['role'] == 'assistant' %}
ASSISTANT: {{ message['content'][0]['text'] }}</s>
    {% endif %}
{% endfor %}
{% if add_generation_prompt %}ASSISTANT:{% endif %}
"""

# Exercises namespace(), tests, filters, loop variables, conditional expressions, range(),
# tojson and raise_exception for a role it does not know.
STRICT_ROLES = """{{- bos_token -}}
{%- set ns = namespace(images=0) -%}
{%- for message in messages -%}
  {%- if message.role not in ['system', 'user', 'assistant'] -%}
    {{- raise_exception('Unknown role: ' ~ message.role) -}}
  {%- endif -%}
  {%- if message.content is string -%}
    {%- set text = message.content -%}
    {%- set count = 0 -%}
  {%- else -%}
    {%- set count = message.content | selectattr('type', 'equalto', 'image') | list | length -%}
    {%- set ns.images = ns.images + count -%}
    {%- set text = message.content | rejectattr('type', 'equalto', 'image') | map(attribute='text') | join('\\n') -%}
  {%- endif -%}
  {{- '<|' ~ message.role | upper ~ '|>' ~ loop.index ~ '/' ~ loop.length ~ (' (last)' if loop.last else '') ~ '\\n' -}}
  {%- for _ in range(count) -%}<image>{%- endfor -%}
  {{- text | trim -}}
  {{- eos_token if message.role == 'assistant' else '\\n' -}}
{%- endfor -%}
{%- if add_generation_prompt is defined and add_generation_prompt -%}
  {{- '<|ASSISTANT|> images=' ~ ns.images ~ ' roles=' ~ (messages | map(attribute='role') | list | tojson) ~ ' ' ~ messages[-1].content[-1].text.split() | length ~ ' words, starts ' ~ messages[-1].content[-1].text.strip().startswith('What') ~ '\\n' -}}
{%- endif -%}
"""

TEMPLATES = {
    "llava_15_hf": LLAVA_15_HF,
    "llava_next_mistral": LLAVA_NEXT_MISTRAL,
    "llava_interleave": LLAVA_INTERLEAVE,
    "vicuna_system": VICUNA_SYSTEM,
    "strict_roles": STRICT_ROLES,
}

PROMPTS = [
    "What is shown in this image?",
    "Décris l'image 🐱 — 日本語で説明して",
    "Line one\nLine two\n\n  indented line\n",
    "Keep {{ braces }}, {% tags %} and {# comments #} literally: {'a': [1, 2]}",
    "She said \"hi\" \\ it's fine\t(tab)  ",
    "",
]
SYSTEMS = [None, "You are a careful assistant. Answer in one sentence."]
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}

VICUNA_V1_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)


def vicuna_v1_prompt(prompt, system=None):
    """LLaVA's conv_vicuna_v1.get_prompt() for one user turn with the image first.

    Re-implemented from haotian-liu/LLaVA llava/conversation.py: conv_vicuna_v1 has roles
    ("USER", "ASSISTANT"), sep_style SeparatorStyle.TWO, sep " ", sep2 "</s>". run_llava.py
    builds the user message as DEFAULT_IMAGE_TOKEN + "\\n" + prompt, appends it, then appends
    (ASSISTANT, None). SeparatorStyle.TWO renders:
        ret = system + seps[0]
        for i, (role, message): ret += role + ": " + message + seps[i % 2] if message else role + ":"
    """
    seps = [" ", "</s>"]
    messages = [("USER", "<image>\n" + prompt), ("ASSISTANT", None)]
    ret = (VICUNA_V1_SYSTEM if system is None else system) + seps[0]
    for i, (role, message) in enumerate(messages):
        if message:
            ret += role + ": " + message + seps[i % 2]
        else:
            ret += role + ":"
    return ret


def vicuna_v1_conversation(turns, system=None):
    """conv_vicuna_v1.get_prompt() (SeparatorStyle.TWO, as above) for several turns: `turns` is
    a list of (role, message), message None for the opened assistant turn."""
    seps = [" ", "</s>"]
    ret = (VICUNA_V1_SYSTEM if system is None else system) + seps[0]
    for i, (role, message) in enumerate(turns):
        ret += role + ": " + message + seps[i % 2] if message else role + ":"
    return ret


# Chat messages for eah's vicuna_v1 built-in, and the LLaVA turns they stand for: image parts
# become "<image>\n" before the text, as LLaVA's run_llava puts DEFAULT_IMAGE_TOKEN.
VICUNA_CONVERSATIONS = [
    {"messages": [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat on a mat."}]},
        {"role": "user", "content": "What colour is it?"},
    ], "turns": [("USER", "<image>\nWhat is this?"), ("ASSISTANT", "A cat on a mat."), ("USER", "What colour is it?")], "system": None},
    {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe it."}]},
    ], "turns": [("USER", "<image>\nDescribe it.")], "system": "Be brief."},
]


def messages_for(prompt, system):
    messages = []
    if system is not None:
        messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
    messages.append({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]})
    return messages


def render(template, messages, add_generation_prompt=True):
    rendered, _ = render_jinja_template(
        conversations=[messages], chat_template=template, add_generation_prompt=add_generation_prompt, **SPECIAL
    )
    return rendered[0]


def extra_conversations():
    """Multi-turn and string-content conversations, to exercise more of each template."""
    return [
        [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A cat on a mat."}]},
            {"role": "user", "content": [{"type": "text", "text": "What colour is it?"}]},
        ],
        [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "Compare the two."}]}],
    ]


# Small templates for the engine's corners: whitespace control, literals, operators, filters,
# tests, methods, loops and scoping. Rendered in transformers' environment with VARIABLES.
EDGE_CASES = [
    "  {% if true %}\n    yes\n  {% endif %}\n  after",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "x {{- ' y ' -}} z\n{{ 'w' }}\n",
    "{# comment #}\n  {# indented comment #}\nline\n{#- strip -#}   tail",
    "{% for i in [1, 2, 3] %}\n  {{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}\n{% endfor %}",
    "{% for i in [] %}x{% else %}empty{% endfor %}|{% for k, v in {'a': 1, 'b': [2, 'c']}.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for c in 'héllo' if c != 'l' %}{{ c }}{% if loop.last %}!{% endif %}{% endfor %}",
    "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}",
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 'ab' * 3 }}",
    "{{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 'x' in 'xyz' }} {{ 2 not in [1, 3] }} {{ 'k' in {'k': 1} }} {{ not 0 }} {{ 0 or 'z' }} {{ 1 and 2 }}",
    "{{ none }} {{ true }} {{ [1, 'a', none, true] }} {{ {'a': 'b', 'c': 1.5} }} {{ 3.0 }} {{ 'it\\'s' }} {{ \"tab\\there\" }}",
    "{{ undefined_var }}|{{ undefined_var is defined }}|{{ undefined_var | default('dflt') }}|{{ '' | default('e', true) }}|{{ undefined_var | length }}|{{ x.missing }}|{{ x['missing'] is defined }}",
    "{{ ' Mixed Case ' | upper }}|{{ 'ABC' | lower }}|{{ '  pad \\n ' | trim }}|{{ 'hello world' | capitalize }}|{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}|{{ [1, 2] | join(', ') }}|{{ 'abc' | list }}|{{ 'abc' | reverse }}|{{ 'a-b-a' | replace('a', 'x') }}",
    "{{ items | selectattr('type', 'equalto', 'image') | list | length }} {{ items | rejectattr('type', 'equalto', 'image') | map(attribute='text') | join('+') }} {{ items | map(attribute='text', default='-') | list }} {{ items | selectattr('text') | list | length }} {{ [1, 2, 3, 4] | select('even') | list }} {{ ['a', 'B'] | map('upper') | list }} {{ items | map(attribute='type') | join }}",
    "{{ {'b': [1, 'é\"\\n'], 'a': none, 'c': true, 'd': 1.5} | tojson }}|{{ [1, {'x': []}] | tojson(indent=2) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}",
    "{{ '  a b  c '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'xxhixx'.strip('x') }} {{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}| {{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'hello wORLD'.title() }} {{ 'a'.upper() + 'B'.lower() }} {{ {'k': 'v'}.get('k') }} {{ {'k': 'v'}.get('z', 'dz') }} {{ {'k': 'v'}.keys() | list }}",
    "{{ 'yes' if 1 > 2 else 'no' }} {{ 'shown' if true }}|{{ 'hidden' if false }}| {{ [1, 2, 3][1:] }} {{ 'abcdef'[::2] }} {{ [1, 2, 3][-1] }} {{ 'abc'[0] }} {{ messages[0].content[1].text }}",
    "{{ 5 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ {} is mapping }} {{ [] is iterable }} {{ 'x' is not string }} {{ 1 is integer }} {{ 1.0 is float }} {{ 'abc' is lower }} {{ 3 is gt 2 }} {{ 2 is in [1, 2] }}",
    "{% set block %}  inner {{ 1 + 1 }}\n{% endset %}[{{ block }}]{% generation %}gen{{ '!' }}{% endgeneration %}",
    "{%+ if true %}  kept{% endif %}\n    {%+ if true %}indent kept{% endif %}\n\t{% if true %}tab stripped{% endif %}",
    "a\r\nb\rc\n",
    "{{ 'a' ~ 1 ~ none ~ undefined_var }} {{ 'x' + 'y' }} {{ [1] + [2] }} {{ - 3 }} {{ 1e3 }} {{ 1_000 }} {{ 0.5e-2 }}",
    "{{ messages | length }}{% for m in messages %}{{ m.role }}:{% for c in m.content %}{{ c.type }}{{ ',' if not loop.last }}{% endfor %}{% endfor %}",
    # Macros: defaults evaluated per call, keyword arguments, varargs/kwargs, recursion, caller.
    "{% macro greet(name, punct='!', times=1) %}{{ ('Hi ' ~ name ~ punct) * times }}{% endmacro %}{{ greet('a') }}|{{ greet('b', times=2) }}|{{ greet(punct='?', name='c') }}",
    "{% macro show(a) %}{{ a }}:{{ varargs | length }}:{{ kwargs | dictsort }}{% endmacro %}{{ show(1, 2, 3, z=4, y=5) }}",
    "{% macro walk(node, depth=0) %}{{ ' ' * depth }}{{ node.name }}\n{% for child in node.get('children', []) %}{{ walk(child, depth + 1) }}{% endfor %}{% endmacro %}{{ walk({'name': 'root', 'children': [{'name': 'x', 'children': [{'name': 'y'}]}, {'name': 'z'}]}) }}",
    "{% macro box(title) %}[{{ title }}: {{ caller() }}]{% endmacro %}{% call box('t') %}inner {{ 1 + 1 }}{% endcall %}{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}<{{ x }}>{% endcall %}",
    "{% set outer = 'seen' %}{% macro peek() %}{{ outer }}{% endmacro %}{{ peek() }}{% macro uses(x) %}{% set x = x ~ '!' %}{{ x }}{% endmacro %}{{ uses('v') }}",
    "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter trim %}  padded  {% endfilter %}|{% filter indent(2, true) %}a\nb{% endfilter %}",
    # Filters added for the Hub corpus.
    "{{ {'b': 1, 'A': 2, 'c': 0} | dictsort }} {{ {'b': 1, 'A': 2} | dictsort(true) }} {{ {'b': 1, 'a': 2, 'c': 0} | dictsort(by='value', reverse=true) }}",
    "{{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ items | sort(attribute='type') | map(attribute='type') | list }}",
    "{{ ['a', 'A', 'b', 'a'] | unique | list }} {{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ ['b', 'A'] | min }} {{ [1, 2, 3] | sum }} {{ [{'n': 1}, {'n': 2}] | sum(attribute='n') }}",
    "{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, first=true) }}|{{ 'a\n\nb' | indent('> ', blank=true) }}|{{ 'hello wORLD-x' | title }}|{{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.1 | round(0, 'ceil') }}",
    "{{ '{} and {}'.format('a', 1) }} {{ '{1}{0}'.format('x', 'y') }} {{ '{name}={{v}}'.format(name='k') }}",
    "{{ 'a<b' | safe + '<i>' }}|{{ '<i>' + ('a&b' | safe) }}|{{ ('x' | safe) ~ '<y>' }}|{{ ('q' | safe) | length }}",
    "{{ none | selectattr('type') | list }} {{ none | map(attribute='x') | list }} {{ (items | selectattr('type', 'equalto', 'zzz')) is iterable }} {{ 'yes' if items | selectattr('type', 'equalto', 'zzz') else 'no' }}",
    "{% if false %}{{ x | no_such_filter }}{{ x is no_such_test }}{% endif %}{{ 'fine' if true else x | no_such_filter }}",
    "{% set d = {1: 'a', 2.5: 'b', none: 'c', (1, 2): 'd', true: 'e'} %}{{ d }}|{{ d[1] }}{{ d[(1, 2)] }}{{ d.get(2.5) }}|{{ {1: 2, 'x': none, false: 0} | tojson }}|{{ d | length }} {{ 1 in d }} {{ d.keys() | list }}",
    "{{ (1,) }} {{ () }} {{ (1, 2) + (3,) }} {{ {'a': 1}.items() | list }} {{ true + 1 }} {{ true == 1 }} {{ 'ab' * true }} {{ [1, 2][true] }}",
    "{{ ''.__class__ }}|{{ x.__dict__ }}|{{ items.__len__ }}|{{ x.present.__class__ }}",
    "{{ 'banana'.find('an') }} {{ 'banana'.rfind('an') }} {{ 'banana'.find('x') }} {{ 'banana'.count('a') }} {{ 'aaa'.count('aa') }} {{ 'ab'.count('') }} {{ ''.find('') }} {{ 'aaa'.rfind('aa') }} {{ 'ab'.rfind('') }} {{ 'a'.count('abc') }}",
    "{{ '123'.isdigit() }} {{ '12a'.isdigit() }} {{ ''.isdigit() }} {{ 'abé'.isalpha() }} {{ 'a1'.isalnum() }} {{ ' \t\n'.isspace() }} {{ 'AB1'.isupper() }} {{ 'ab1'.islower() }} {{ '12'.islower() }}",
    "{{ '<a href=\"x\">&\\'' | e }}|{{ ('<b>' | safe) | escape }}|{{ ('<b>' | safe) | forceescape }}|{{ ('<i>' | e) + '<u>' }}|{{ none | e }}|{{ 3 | escape }}",
    "{% set a = 'outer' %}{% with a = 'inner', b = a %}{{ a }}/{{ b }}{% set c = 1 %}{% endwith %}|{{ a }}|{{ c is defined }}",
    "{% for i in range(5) %}{{ loop.cycle('a', 'b', 'c') }}{% if loop.changed(i // 2) %}[{{ i // 2 }}]{% endif %}{% for j in [1, 1] %}{{ loop.changed(j) }}{% endfor %}{% endfor %}",
    "{{ 9500000000000000.0 }} {{ 1e15 }} {{ 1e16 }} {{ 123456789.123 }} {{ 1e-4 }} {{ 0.00001 }} {{ 0.1 + 0.2 }} {{ 2.0 ** 60 }} {{ -0.0 }} {{ [1.5, 2e20] }} {{ {'f': 1e-7} | tojson }}",
    "{% raw %}{{ not rendered }} {% if %}{% endraw %}|\n  {% raw -%}  \n  keep {{ x }}\n  {%- endraw %}\nafter\n    {% raw %}\nline\n    {% endraw %}\nend{%+ raw %} a {%+ endraw %}",
    "{% set g = items | map(attribute='type') %}{{ g | list }}|{{ g | list }}|{% set h = items | selectattr('text') %}{{ (h | first).text }}{{ h | map(attribute='text') | list }}|{% set k = [1, 2, 3] | select %}{{ 2 in k }}{{ k | list }}|{{ 'x' in ([1] | select) }}|{% set e = [] | select %}{{ e | first is undefined }}",
    "{{ '<think>x'.removeprefix('<think>') }}|{{ 'x</think>'.removesuffix('</think>') }}|{{ 'abc'.removesuffix('') }}|{{ 'a\nb\r\nc\n'.splitlines() }}",
]
EDGE_VARIABLES = {
    "items": [{"type": "image"}, {"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
    "x": {"present": 1},
    "messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}],
}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_json(path, value):
    write(path, json.dumps(value, ensure_ascii=False, indent=1) + "\n")


def main():
    # corpus/ belongs to make_template_corpus_fixtures.py.
    if os.path.isdir(OUT):
        for entry in os.listdir(OUT):
            if entry != "corpus":
                path = os.path.join(OUT, entry)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    cases = []
    for name, template in TEMPLATES.items():
        write(os.path.join(OUT, name + ".jinja"), template)
        conversations = [messages_for(p, s) for s in SYSTEMS for p in PROMPTS] + extra_conversations()
        for messages in conversations:
            for generation in (True, False):
                case = {"template": name, "messages": messages, "add_generation_prompt": generation}
                try:
                    case["output"] = render(template, messages, generation)
                except jinja2.exceptions.TemplateError as error:
                    case["error"] = str(error)
                cases.append(case)
    # raise_exception for a role the templates do not accept.
    bad = [{"role": "tool", "content": [{"type": "text", "text": "42"}]}]
    for name in ("llava_next_mistral", "strict_roles"):
        case = {"template": name, "messages": bad, "add_generation_prompt": True}
        try:
            case["output"] = render(TEMPLATES[name], bad)
        except jinja2.exceptions.TemplateError as error:
            case["error"] = str(error)
        cases.append(case)
    write_json(os.path.join(OUT, "renders.json"), {
        "jinja2": jinja2.__version__, "transformers": transformers.__version__, "special_tokens": SPECIAL, "cases": cases,
    })

    from transformers.utils.chat_template_utils import _compile_jinja_template
    edges = [{"template": t, "output": _compile_jinja_template(t).render(**EDGE_VARIABLES)} for t in EDGE_CASES]
    write_json(os.path.join(OUT, "edge_cases.json"), {"variables": EDGE_VARIABLES, "cases": edges})

    vicuna = [{"prompt": p, "system": s, "output": vicuna_v1_prompt(p, s)} for s in SYSTEMS for p in PROMPTS]
    conversations = []
    for item in VICUNA_CONVERSATIONS:
        for generation in (True, False):
            turns = item["turns"] + ([("ASSISTANT", None)] if generation else [])
            conversations.append({"messages": item["messages"], "add_generation_prompt": generation,
                                  "output": vicuna_v1_conversation(turns, item["system"])})
    write_json(os.path.join(OUT, "vicuna_v1.json"), {"source": "LLaVA conversation.py conv_vicuna_v1 (SeparatorStyle.TWO)", "cases": vicuna,
                                                     "conversations": conversations})

    # Model folders for the source-precedence tests; "expected" names the template each resolves to.
    models = os.path.join(OUT, "models")
    tag = lambda text: "{{ '" + text + ":' }}" + LLAVA_15_HF  # distinguishable templates
    folders = {
        "tokenizer_config": {
            "tokenizer_config.json": {"bos_token": "<s>", "eos_token": "</s>", "chat_template": tag("tokenizer_config")},
        },
        "tokenizer_config_list": {
            "tokenizer_config.json": {"chat_template": [
                {"name": "tool_use", "template": tag("tool_use")},
                {"name": "default", "template": tag("tokenizer_config_default")},
            ]},
        },
        "chat_template_json": {
            "tokenizer_config.json": {"chat_template": tag("tokenizer_config")},
            "chat_template.json": {"chat_template": tag("chat_template_json")},
        },
        "chat_template_jinja": {
            "tokenizer_config.json": {"chat_template": tag("tokenizer_config")},
            "chat_template.jinja": tag("chat_template_jinja"),
        },
        # transformers 5.24's ProcessorMixin reads chat_template.jinja only when there is no
        # legacy chat_template.json (checked with AutoProcessor on a saved LlavaProcessor).
        "json_and_jinja": {
            "chat_template.json": {"chat_template": tag("chat_template_json")},
            "chat_template.jinja": tag("chat_template_jinja"),
        },
        "processor_config": {
            "processor_config.json": {"processor_class": "LlavaProcessor", "chat_template": tag("processor_config")},
            "chat_template.jinja": tag("chat_template_jinja"),
        },
        "original_llava": {
            "config.json": {"_name_or_path": "liuhaotian/llava-v1.5-7b", "architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava_llama"},
        },
        "llava_hf_without_template": {
            "config.json": {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava"},
        },
        "no_template": {"config.json": {"model_type": "llama"}},
        "bad_entry": {"tokenizer_config.json": {"chat_template": 42}},
        "bad_syntax": {"chat_template.jinja": "{% for message in messages %}{{ message['role'] }"},
    }
    for folder, files in folders.items():
        for file, content in files.items():
            path = os.path.join(models, folder, file)
            if isinstance(content, str):
                write(path, content)
            else:
                write_json(path, content)
    prompt = "What is shown in this image?"
    expected = {}
    for folder, files in folders.items():
        for file in ("processor_config.json", "chat_template.json", "chat_template.jinja", "tokenizer_config.json"):
            if file not in files:
                continue
            content = files[file]
            if isinstance(content, dict):
                content = content.get("chat_template")
                if isinstance(content, list):
                    content = next(t["template"] for t in content if t["name"] == "default")
            if isinstance(content, str):
                try:
                    expected[folder] = {"source": file, "output": render(content, messages_for(prompt, None))}
                except jinja2.exceptions.TemplateError as error:
                    expected[folder] = {"source": file, "error": str(error)}
                break
    expected["original_llava"] = {"source": "vicuna_v1", "output": vicuna_v1_prompt(prompt)}
    expected["llava_hf_without_template"] = {"source": "llava_hf", "output": render(LLAVA_15_HF, messages_for(prompt, None))}
    write_json(os.path.join(OUT, "models.json"), {"prompt": prompt, "folders": expected})


if __name__ == "__main__":
    main()
