// eval_flags.c: the flags of strap eval ppl, pairs, winrate, judge-accuracy and constraints,
// over their options (base/flags.h).
#include <stddef.h>

#include "compare.h"
#include "constraint_eval.h"
#include "dpo_eval.h"
#include "logits_run.h"
#include "ppl_run.h"

#define S PplOptions
const Flag PPL_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "checkpoint directory (required)"),
    FLAG(S, data, FLAG_STRING, "--data", "PATH", "directory of .tok.zst shards or a quoted glob"),
    FLAG(S, tokens_file, FLAG_STRING, "--tokens-file", "F", "whitespace-separated token ids, scored as given"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences per batch (--data)"),
    FLAG(S, seq, FLAG_INT, "--seq", "T", "tokens per sequence (--data; default min(max_seq, 512))"),
    FLAG(S, max_batches, FLAG_INT, "--max-batches", "N", "stop after N batches (0: the whole data)"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print one JSON object {loss, ppl, tokens}"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "also write the JSON to F"),
    FLAG(S, markdown, FLAG_STRING, "--markdown", "F", "also write a Markdown table to F"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S LogitsOptions
const Flag LOGITS_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "checkpoint directory (required)"),
    FLAG(S, tokens_file, FLAG_STRING, "--tokens-file", "F", "whitespace-separated token ids (required)"),
    FLAG(S, top, FLAG_INT, "--top", "K", "how many of the largest logits to print"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S DpoEvalOptions
const Flag EVAL_PAIRS_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "the model to evaluate (with tokenizer.json) (required)"),
    FLAG(S, ref_dir, FLAG_STRING, "--ref", "DIR", "the reference it is measured against (required)"),
    FLAG(S, pairs, FLAG_STRING, "--pairs", "F", ".jsonl(.zst) records with prompt, chosen, rejected (required)"),
    FLAG(S, beta, FLAG_FLOAT, "--beta", "B", "reward scale, as in training"),
    FLAG(S, max_len, FLAG_INT, "--max-len", "T", "tokens per sequence"),
    FLAG(S, batch, FLAG_INT, "--batch", "N", "pairs per forward"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME", "chatml, llama3 or plain"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print one JSON object"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "also write the JSON to F"),
    FLAG(S, markdown, FLAG_STRING, "--markdown", "F", "also write a Markdown table to F"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S WinrateOptions
const Flag WINRATE_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "the model under test (required)"),
    FLAG(S, baseline_dir, FLAG_STRING, "--baseline", "DIR", "the model it is compared with (required)"),
    FLAG(S, judge_dir, FLAG_STRING, "--judge", "DIR", "the judge model (required)"),
    FLAG(S, prompts, FLAG_STRING, "--prompts", "F", ".jsonl(.zst) of prompts: prompt, optional id, system (required)"),
    FLAG_ALIAS(S, limit, FLAG_INT, "--limit", "-n", "N", "the first N prompts only (0: all)"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "answer tokens at most"),
    FLAG(S, temperature, FLAG_FLOAT, "--temperature", "T", "answers: 0 = greedy, else seeded sampling"),
    FLAG(S, top_p, FLAG_FLOAT, "--top-p", "P", "answers: nucleus sampling mass (1: off)"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed (answer i of both models: the same stream)"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences generated together"),
    FLAG_CHOICES(S, method, "--judge-method", JUDGE_METHOD_NAMES,
                 "logprob (p of ' A' vs ' B' after 'Verdict: Assistant'), text, or rubric (each answer's 5-point "
                 "rubric score, no position bias)"),
    FLAG(S, judge_max_new, FLAG_INT, "--judge-max-new", "N", "text: tokens per judgement"),
    FLAG(S, judge_temperature, FLAG_FLOAT, "--judge-temperature", "T", "text: 0 = greedy judgements"),
    FLAG(S, template_path, FLAG_STRING, "--template", "FILE",
         "pairwise judge prompt with {prompt}, {answer_a}, {answer_b}"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "the report as JSON (default: printed)"),
    FLAG(S, markdown, FLAG_STRING, "--markdown", "F", "the report as a Markdown table"),
    FLAG(S, records, FLAG_STRING, "--records", "F", "per-prompt answers and verdicts, .jsonl(.zst)"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from each model's files)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S JudgeAccuracyOptions
const Flag JUDGE_ACCURACY_FLAGS[] = {
    FLAG(S, judge_dir, FLAG_STRING, "--judge", "DIR", "the judge model (required)"),
    FLAG(S, labelled, FLAG_STRING, "--labelled", "F", ".jsonl(.zst) with prompt, chosen, rejected (required)"),
    FLAG_ALIAS(S, limit, FLAG_INT, "--limit", "-n", "N", "the first N pairs only (0: all)"),
    FLAG_CHOICES(S, method, "--judge-method", JUDGE_METHOD_NAMES, "logprob or text"),
    FLAG(S, judge_max_new, FLAG_INT, "--judge-max-new", "N", "text: tokens per judgement"),
    FLAG(S, judge_temperature, FLAG_FLOAT, "--judge-temperature", "T", "text: 0 = greedy judgements"),
    FLAG(S, template_path, FLAG_STRING, "--template", "FILE",
         "pairwise judge prompt with {prompt}, {answer_a}, {answer_b}"),
    FLAG(S, rubric, FLAG_OFF, "--no-rubric", NULL, "skip the 5-point rubric scores"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "text: random seed"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "text: judgements generated together"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "the report as JSON (default: printed)"),
    FLAG(S, markdown, FLAG_STRING, "--markdown", "F", "the report as a Markdown table"),
    FLAG(S, records, FLAG_STRING, "--records", "F", "per-pair verdicts, .jsonl(.zst)"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the judge's files)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S ConstraintEvalOptions
const Flag CONSTRAINT_EVAL_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "the model under test (required)"),
    FLAG(S, baseline_dir, FLAG_STRING, "--baseline", "DIR", "the model it is compared with (McNemar test)"),
    FLAG(S, baseline_answers, FLAG_STRING, "--baseline-answers", "F",
         "the baseline's answers from an earlier run's --records on the same prompts (not generated again)"),
    FLAG(S, prompts, FLAG_STRING, "--prompts", "F",
         ".jsonl(.zst) of held-out prompts with constraints (strap verify --prompts-from) (required)"),
    FLAG_ALIAS(S, limit, FLAG_INT, "--limit", "-n", "N", "the first N prompts only (0: all)"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "answer tokens at most"),
    FLAG(S, temperature, FLAG_FLOAT, "--temperature", "T", "0 = greedy (default), else seeded sampling"),
    FLAG(S, no_repeat_ngram, FLAG_INT, "--no-repeat-ngram", "N", "generation guard for both models (0: off)"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed (sampling only)"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences generated together"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "the report as JSON (default: printed)"),
    FLAG(S, markdown, FLAG_STRING, "--markdown", "F", "the report as Markdown tables"),
    FLAG(S, records, FLAG_STRING, "--records", "F", "per-prompt answers and checks, .jsonl(.zst)"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from each model's files)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S
