#!/usr/bin/env python3
"""Trains small byte-level BPE tokenizers with Hugging Face `tokenizers` and records how
that library encodes a set of test strings, for tests/test_tokenizer.c.

Three pre-tokenizer styles, as in real models:
  gpt2    ByteLevel(use_regex=True)                      (GPT-2)
  llama3  Sequence[Split(Llama 3 regex, isolated), ByteLevel(use_regex=False)]   (Llama 3)
  smollm  Sequence[Digits(individual_digits=True), ByteLevel(use_regex=True)]     (SmolLM2)
Each gets special tokens <|endoftext|>, <|im_start|>, <|im_end|>. A fourth, "strap", is
trained by `./strap tok train` (build strap first) on strap_corpus.txt, written here too.

Writes tests/ref/fixtures/tok/<style>.tokenizer.json and tests/ref/fixtures/tok/cases.json
({"texts": [...], "<style>": [[ids], ...]}).
usage: python3 tests/ref/make_tokenizer_fixtures.py    (pip install tokenizers)
"""
import json
import os

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "tok")
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

EXTRA = [
    "Привет, как дела? Москва — столица России. Ёжик в тумане.",
    "日本語のテキストです。東京は大きい都市です。中文也可以。한국어 문장입니다.",
    "Emoji: 😀🎉👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵 hearts ❤️💙",
    "Numbers 1234567890 3.14159 2026-11-24 +1 (555) 010-9999 1e-5 0x1F",
    "def f(x):\n    return x * 2  # double\n\tif x > 10:\n\t\tprint(f\"big {x}\")\n",
    "   leading spaces and trailing   \n\n\nnew\r\nlines\r\n\ttabs\t\there",
    "It's we'll they've I'd you're SHOUTING Don'T",
]

TESTS = [
    "Hello world! This is a test.",
    "Tom found a red ball at the park. 3 plus 3 is 6.",
    "Привет, мир! Ёлка и ёж.",
    "東京タワーと富士山。你好，世界！",
    "Emoji 😀😀 🎉👍🏽 👨‍👩‍👧 🇫🇷",
    "Digits: 1 12 123 1234 12345 3.14159 007",
    "    indented\n\n\n  blank lines\r\n\ttab\t\tend   ",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # 5\n",
    "It's THEY'RE we'll I'M don't",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more <|im_end|>",
    "",
    " ",
    "a",
    "\n",
    "x" * 300,
    "mixed Ölçü naïve café résumé façade",
    "🙂" * 5 + "   " + "1" * 10,
]


def build(style):
    tok = Tokenizer(models.BPE())
    if style == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    elif style == "llama3":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = open(os.path.join(HERE, "..", "..", "data", "demo", "stories.txt")).read()[:60000].split("\n\n")
    tok.train_from_iterator(corpus + EXTRA * 20, trainer)
    return tok


def strap_trained():
    """A tokenizer trained by `strap tok train` on a corpus kept next to it (so
    tests/test_tokenizer.c can retrain and compare bytes)."""
    import subprocess
    corpus = os.path.join(OUT, "strap_corpus.txt")
    stories = open(os.path.join(HERE, "..", "..", "data", "demo", "stories.txt")).read()[:30000]
    with open(corpus, "w") as f:
        f.write(stories + "\n".join(EXTRA) + "\n")
    strap = os.path.join(HERE, "..", "..", "strap")
    subprocess.run([strap, "tok", "train", "--input", corpus, "--vocab", "600", "--pattern", "llama3",
                    "--special", ",".join(SPECIAL), "--out", os.path.join(OUT, "strap.tokenizer.json")], check=True)
    return Tokenizer.from_file(os.path.join(OUT, "strap.tokenizer.json"))


def main():
    import tokenizers
    os.makedirs(OUT, exist_ok=True)
    cases = {"tokenizers_version": tokenizers.__version__, "texts": TESTS}
    for style in ["gpt2", "llama3", "smollm", "strap"]:
        tok = strap_trained() if style == "strap" else build(style)
        if style != "strap":
            tok.save(os.path.join(OUT, f"{style}.tokenizer.json"))
        cases[style] = [tok.encode(t, add_special_tokens=False).ids for t in TESTS]
        for t, ids in zip(TESTS, cases[style]):
            assert tok.decode(ids, skip_special_tokens=False) == t, (style, t)
        print(style, "vocab", tok.get_vocab_size())
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
