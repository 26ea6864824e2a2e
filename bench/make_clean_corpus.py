#!/usr/bin/env python3
"""A repeatable corpus for benchmarking `strap data clean`: N records (default 50 000)
built from the demo stories, half with one word changed (near duplicates), 30% with a
second story appended. usage: python3 bench/make_clean_corpus.py OUT.jsonl [N]"""
import json
import os
import random
import sys


def main():
    out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    random.seed(0)
    here = os.path.dirname(os.path.abspath(__file__))
    paras = open(os.path.join(here, "..", "data", "demo", "stories.txt")).read().split("\n\n")
    with open(out, "w") as f:
        for i in range(n):
            words = random.choice(paras).split()
            if random.random() < 0.5:
                words[random.randrange(len(words))] = random.choice(["blue", "red", "happy", "Tom"])
            if random.random() < 0.3:
                words = words + random.choice(paras).split()
            f.write(json.dumps({"id": i, "text": " ".join(words)}) + "\n")


if __name__ == "__main__":
    main()
