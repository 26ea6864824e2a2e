// judge_run.h: the judge stage (strap judge): a model scores every answer of a file with
// the additive 5-point rubric (judge.h).
//   method "text"     sample the judgement `samples` times, parse the last "Score: N" of
//                     each, average the parsed ones (unparseable ones are missing, not 0)
//   method "logprob"  one forward to the position after "Score: " in the assistant's turn;
//                     score = sum_k p(k) k with p renormalised over the tokens "0".."5"
// Under mpirun answer i is rank i % world's (dist/dist_records.h); judgement seeds depend on
// the answer's place in the file, so the output is the same on any number of ranks.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *model_dir;     // the judge (with tokenizer.json)
    const char *in, *out;      // answers (prompt, text) -> the same records with score, scores, judgements, judge
    const char *method;        // "text" or "logprob"
    const char *template_path; // a judge prompt with {prompt} and {response} (NULL: the rubric)
    const char *device;
    int samples, max_new, batch; // text: judgements per answer, tokens per judgement, judgements generated together
    float temperature;           // text: sampling temperature
    int seed, threads;
} JudgeOptions;

// Writes o->out and prints a summary line. Returns 0.
void judge_options_default(JudgeOptions *o);
extern const Flag JUDGE_FLAGS[]; // strap judge (selfplay/selfplay_flags.c)
int judge_run(const JudgeOptions *o);
