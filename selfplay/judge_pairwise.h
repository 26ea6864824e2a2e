// judge_pairwise.h: the model as a pairwise judge: which of two answers to one prompt is
// better. Used by strap eval winrate (model vs baseline) and strap eval judge-accuracy
// (chosen vs rejected of labelled pairs), always in both answer orders (winrate.h).
//
// The judge reads the pairwise template (the question, "Assistant A"'s answer, "Assistant
// B"'s answer) in its chat format. Two ways to get its verdict:
//   logprob (default)  the assistant's turn is prefilled with "Verdict: Assistant" and the
//                      verdict is whichever of the next tokens " A" / " B" is more likely;
//                      p_first = p(A) / (p(A) + p(B)). One forward per comparison, no
//                      sampling: deterministic, and meaningful even for a tiny model that
//                      never writes a well-formed verdict. A tie only on exactly equal logits.
//   text               the judge writes its judgement (greedy, or sampled with a seed) and
//                      the last "Verdict: Assistant A|B" or "Verdict: Tie" in it counts
//                      (pairwise_parse_verdict); none is an unparseable verdict.
// A judge prompt longer than the judge's context gives an unparseable verdict (with an
// error string), not a failed run.
#pragma once
#include <stdint.h>

#include "../data/tokenizer.h"
#include "../model/chat_io.h"
#include "../model/generate.h"

// The default pairwise template; {prompt}, {answer_a} and {answer_b} are replaced.
extern const char *const PAIRWISE_DEFAULT_TEMPLATE;

// The judge prompt with `first` as Assistant A and `second` as Assistant B (malloc'd).
// Fails if the template lacks one of the three placeholders.
char *pairwise_build_prompt(const char *tpl, const char *prompt, const char *first, const char *second);
// A pairwise judgement: the answer shown first or second is better, a tie, or no verdict.
typedef enum { VERDICT_NONE = -1, VERDICT_FIRST = 0, VERDICT_SECOND = 1, VERDICT_TIE = 2 } Verdict;

// The last verdict in a judgement: "Verdict: Assistant A" (or "Verdict: A", "[[A]]") ->
// VERDICT_FIRST, B -> VERDICT_SECOND, "Verdict: Tie" ("[[C]]") -> VERDICT_TIE; any case,
// '*' and spaces allowed around the colon. VERDICT_NONE if there is none.
Verdict pairwise_parse_verdict(const char *text);

// LOGPROB and TEXT: pairwise verdicts (pair_judge_run); RUBRIC: each answer scored alone
// with the 5-point rubric by log-prob (pair_judge_rubric), no position to be biased by.
typedef enum { JUDGE_LOGPROB, JUDGE_TEXT, JUDGE_RUBRIC } JudgeMethod;
extern const char *const JUDGE_METHOD_NAMES[]; // "logprob", "text", "rubric", NULL: indexed by JudgeMethod

typedef struct {
    Model model;
    ChatIO io; // the judge's tokenizer, chat format, default system message, stop ids
    JudgeMethod method;
    char *tpl;        // the pairwise template (malloc'd)
    int32_t *prefill; // logprob: "Verdict: Assistant" (n_prefill ids)
    size_t n_prefill;
    int verdict_ids[2]; // logprob: the tokens " A" and " B" that follow the prefill
    int digit_ids[6];   // rubric: the tokens "0".."5"; has_digits = 0 if one is not a single token
    int has_digits;
    int max_new;       // text: tokens per judgement
    float temperature; // text: 0 = greedy
    uint64_t seed;
    const char *progress;        // the label of a progress line for pair_judge_run / _rubric (NULL: quiet)
    Generator gen;               // built for the longest judge prompt of a run
    int gen_batch, gen_capacity; // 0 until built
} PairJudge;

typedef struct {
    Verdict verdict;
    double p_first;  // logprob: p(A) / (p(A) + p(B)); text: NAN
    char *judgement; // text: what the judge wrote (malloc'd, valid UTF-8); NULL otherwise
    int prompt_tokens;
    const char *error; // why the verdict is missing (static string), or NULL
} PairVerdict;

// Loads the judge from dir (config.json, model.safetensors, tokenizer.json). chat_template
// NULL: detected from the model's files; tpl NULL: the default template.
void pair_judge_open(PairJudge *j, const char *dir, Backend *backend, const char *chat_template, JudgeMethod method,
                     const char *tpl, int max_new, float temperature, uint64_t seed);
void pair_judge_close(PairJudge *j);
// Judges n comparisons: (prompt[i], first[i] as A, second[i] as B) -> out[i]; text
// judgements are generated `batch` at a time, comparison i with seed `seed * 1000003 +
// index[i]` (index NULL: i), so a rank judging a share of the comparisons draws what one
// process judging all of them would. Free out[i].judgement with free().
void pair_judge_run(PairJudge *j, const char *const *prompt, const char *const *first, const char *const *second, int n,
                    const int *index, int batch, PairVerdict *out);
// The additive 5-point rubric score of each answer (judge.h's template) by log-prob,
// as strap judge --method logprob computes it: sum_k k p(k) over the digits 0..5 after
// "Score: ". NAN where the prompt does not fit the context; all NAN if !has_digits.
void pair_judge_rubric(PairJudge *j, const char *const *prompt, const char *const *answer, int n, double *score);
