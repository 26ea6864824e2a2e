// judge.h: LLM-as-a-judge pieces: the additive 5-point rubric of the Self-Rewarding
// Language Models paper (arXiv 2401.10020) as the default judge prompt, and the parser of
// the judge's "Score: N" verdict.
#pragma once
#include "../data/tokenizer.h"

// The default template; "{prompt}" and "{response}" are replaced by the user's question and
// the answer under judgement.
extern const char *const JUDGE_DEFAULT_TEMPLATE;

// The judge prompt for one (prompt, response) with `tpl` (NULL: the default). malloc'd.
// Fails if the template lacks {prompt} or {response}.
char *judge_build_prompt(const char *tpl, const char *prompt, const char *response);

// The score of a judgement: the last "Score: N" (any case; "Score - 4", "score: 4/5",
// "**Score:** 3" and "Score: 4 points" count), N an integer 0..5. Returns -1 when there is
// none or N is out of range: an unparseable judgement is missing, never 0.
int judge_parse_score(const char *text);

// ---- the rubric score by log-prob (strap judge --method logprob, eval winrate --judge-method
// rubric): one forward to the position after "Score: " in the judge's turn ----

// The ids of the tokens "0".."5"; returns the first digit that is not a single token, or -1
// when every one is.
int rubric_digit_ids(Tokenizer *t, int ids[6]);
// sum_k k p(k), p the softmax of the digits' logits at that position (renormalised over
// 0..5); probs (may be NULL) gets p.
double rubric_score(const float *logits, const int ids[6], double probs[6]);
