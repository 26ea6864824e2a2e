#!/usr/bin/env python3
"""Writes data/demo/stories.txt: short, simple, made-up stories for the CPU demo.

The text is generated from the word lists below (nothing is copied from anywhere), so it
is small, free of licence questions, and regular enough that a tiny model learns it in a
minute or two. Paragraphs are separated by blank lines (one document each).
Usage: python3 data/demo/make_stories.py [N_STORIES]  (default 1200; deterministic)
"""
import random
import sys

NAMES = ["Mia", "Tom", "Lena", "Sam", "Ava", "Ben", "Nora", "Leo", "Ivy", "Max", "Zoe",
         "Finn", "Ruby", "Owen", "Lily", "Jack"]
ROLES = ["a driver", "a nurse", "a teacher", "a baker", "a farmer", "a painter", "a doctor",
         "a pilot", "a cook", "a gardener", "a sailor", "a student"]
PLACES = ["the park", "the market", "the old library", "the beach", "the small farm",
          "the busy station", "the quiet garden", "the school", "the harbor", "the forest"]
THINGS = ["a red ball", "a blue kite", "a little dog", "a warm loaf of bread", "a box of paints",
          "a map", "a shiny key", "a basket of apples", "a lost cat", "a paper boat"]
FEELINGS = ["happy", "surprised", "tired", "curious", "proud", "worried", "calm", "excited"]
WEATHER = ["It was a sunny morning.", "Rain fell softly all day.", "The wind was cold.",
           "The sky was clear and blue.", "Snow covered the roofs.", "It was a warm evening."]
ENDINGS = [
    "In the end, {n} smiled and went home.",
    "That night, {n} told the story to a friend.",
    "{n} learned that small things can matter a lot.",
    "From that day on, {n} always carried {t}.",
    "{n} said thank you, and everyone laughed.",
]


def story(rng):
    n, m = rng.sample(NAMES, 2)
    role, place, thing, feel = rng.choice(ROLES), rng.choice(PLACES), rng.choice(THINGS), rng.choice(FEELINGS)
    k = rng.randint(2, 9)
    lines = [
        rng.choice(WEATHER),
        f"{n} was {role} who lived near {place}.",
        f"One day, {n} found {thing} at {place}.",
        f"{n} felt {feel} and asked {m} for help.",
        f"{m} said, \"Let us look for the owner together.\"",
        f"They walked for {k} minutes and counted {k * 2} birds on the way.",
        f"{k} plus {k} is {k + k}, so {m} wrote {k + k} in a small book.",
        rng.choice(ENDINGS).format(n=n, t=thing),
    ]
    return " ".join(lines)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    rng = random.Random(1234)
    with open("data/demo/stories.txt", "w") as f:
        f.write("\n\n".join(story(rng) for _ in range(count)) + "\n")


if __name__ == "__main__":
    main()
