// judge.h: LLM-as-a-judge pieces: the additive 5-point rubric of the Self-Rewarding
// Language Models paper (arXiv 2401.10020) as the default judge prompt, and the parser of
// the judge's "Score: N" verdict.
#pragma once

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
