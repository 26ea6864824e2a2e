// text_loops.h: answers that loop: a generation that never ended and keeps repeating
// itself (what greedy decoding of a small model does). Used to reject such answers as
// preference pairs' better answer and counted by the evaluations.
#pragma once

// Share of the word n-grams of `text` that repeat an earlier n-gram of it (0: none repeats;
// words are maximal runs of non-space bytes); 0 for texts of fewer than n words.
double text_repeated_ngram_share(const char *text, int n);

// An answer that loops: it never ended (finish is not "eos" or "stop": cut off at the token
// limit or the context) and at least 25% of its word 4-grams repeat earlier ones. Such
// answers are never chosen as a preference pair's better answer, whatever their scores.
int answer_loops(const char *text, const char *finish);
