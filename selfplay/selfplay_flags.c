// selfplay_flags.c: the flags of strap synth, gen, judge, verify and pairs, over their
// options (base/flags.h): the command line parses into them (cli/) and the loop writes its
// stages' command lines from them (loop/loop.c).
#include <stddef.h>

#include "answer_file.h"
#include "judge_run.h"
#include "pairs.h"
#include "synth_run.h"
#include "verify_run.h"

#define S SynthOptions
const Flag SYNTH_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "the model that writes the prompts (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "prompts to write (.jsonl or .jsonl.zst) (required)"),
    FLAG(S, count, FLAG_INT, "--count", "N", "prompts to accept (required)"),
    FLAG(S, mode, FLAG_STRING, "--mode", "M", "self-instruct (role x task x attributes + examples) or brainstorm"),
    FLAG(S, catalog_dir, FLAG_STRING, "--catalog", "DIR",
         "roles.txt, tasks.txt, attributes.json (default: data/synth)"),
    FLAG(S, seed_prompts, FLAG_STRING, "--seed-prompts", "F",
         "human-written examples (default: CATALOG/seed_prompts.jsonl)"),
    FLAG(S, existing, FLAG_STRING, "--existing", "F[,F]",
         "earlier prompt files: few-shot examples and dedup against them"),
    FLAG(S, avoid, FLAG_STRING, "--avoid", "F[,F]",
         "prompt files to dedup against, never shown as examples (held-out prompts)"),
    FLAG(S, examples, FLAG_INT, "--examples", "K", "few-shot examples per instruction (self-instruct)"),
    FLAG(S, ideas, FLAG_INT, "--ideas", "K", "tasks asked for per brainstorm list"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "instructions generated together"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "new tokens per generation at most"),
    FLAG(S, sample.temperature, FLAG_FLOAT, "--temperature", "T", "sampling temperature"),
    FLAG(S, sample.top_p, FLAG_FLOAT, "--top-p", "P", "nucleus sampling mass"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed (draws and sampling)"),
    FLAG(S, min_words, FLAG_INT, "--min-words", "N", "drop prompts with fewer words"),
    FLAG(S, max_words, FLAG_INT, "--max-words", "N", "drop prompts with more words"),
    FLAG(S, dedup_threshold, FLAG_FLOAT, "--dedup-threshold", "J", "near-duplicate MinHash Jaccard threshold"),
    FLAG(S, no_blacklist, FLAG_BOOL, "--no-blacklist", NULL, "keep prompts that mention images, audio, links..."),
    FLAG(S, keep_truncated, FLAG_BOOL, "--keep-truncated", NULL,
         "keep requests cut off at --max-new (tiny test models never stop)"),
    FLAG(S, max_attempts, FLAG_INT, "--max-attempts", "N", "generations at most (default 4 x count + 16)"),
    FLAG(S, id_prefix, FLAG_STRING, "--id-prefix", "P", "ids are P-00000, P-00001, ..."),
    FLAG(S, iteration, FLAG_INT, "--iteration", "K", "self-rewarding iteration recorded with each prompt"),
    FLAG(S, constraints, FLAG_INT, "--constraints", "K",
         "attach 1..K verifiable constraints (strap verify) to every prompt (0: none; at most 3)"),
    FLAG(S, constraint_draws, FLAG_INT, "--constraint-draws", "D",
         "with --constraints: D records per accepted prompt, each with its own constraints"),
    FLAG(S, constraints_catalog, FLAG_STRING, "--constraints-catalog", "F",
         "the constraint families (default: CATALOG/constraints.json)"),
    FLAG(S, report, FLAG_STRING, "--report", "F", "counts per filter as JSON"),
    FLAG(S, rejects, FLAG_STRING, "--rejects", "F", "the dropped generations, each with its reason (.jsonl(.zst))"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the model's files)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S AnswerFileOptions
const Flag GEN_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "checkpoint directory (with tokenizer.json) (required)"),
    FLAG(S, in, FLAG_STRING, "--prompts", "F", "a .jsonl(.zst) of prompts (field --field, optional id, system)"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "with --prompts: the .jsonl(.zst) of answers to write"),
    FLAG(S, field, FLAG_STRING, "--field", "NAME", "with --prompts: the field holding the prompt"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "with --prompts: sequences generated together"),
    FLAG(S, system, FLAG_STRING, "--system", "S", "a system message"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the model's files)"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "new tokens at most"),
    FLAG(S, sample.temperature, FLAG_FLOAT, "--temperature", "T", "0 = greedy"),
    FLAG(S, sample.top_k, FLAG_INT, "--top-k", "K", "keep the K most likely tokens (0: off)"),
    FLAG(S, sample.top_p, FLAG_FLOAT, "--top-p", "P", "nucleus sampling mass (1: off)"),
    FLAG(S, sample.min_p, FLAG_FLOAT, "--min-p", "P", "drop tokens below P x the top probability (0: off)"),
    FLAG(S, sample.repetition_penalty, FLAG_FLOAT, "--repetition-penalty", "R",
         "penalise tokens already present (1: off)"),
    FLAG(S, sample.no_repeat_ngram, FLAG_INT, "--no-repeat-ngram", "N",
         "never repeat an N-gram of the answer's tokens (0: off)"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed"),
    FLAG(S, samples, FLAG_INT, "-n", "K", "answers to sample (per prompt with --prompts)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S JudgeOptions
const Flag JUDGE_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "the judge (with tokenizer.json) (required)"),
    FLAG(S, in, FLAG_STRING, "--in", "F", "answers .jsonl(.zst): prompt, text (strap gen --prompts output) (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "the same records with score, scores, judgements, judge (required)"),
    FLAG(S, method, FLAG_STRING, "--method", "M", "text or logprob"),
    FLAG(S, samples, FLAG_INT, "--samples", "K", "text: judgements sampled per answer"),
    FLAG(S, template_path, FLAG_STRING, "--template", "FILE",
         "a judge prompt with {prompt} and {response} (default: the 5-point rubric)"),
    FLAG(S, temperature, FLAG_FLOAT, "--temperature", "T", "text: sampling temperature"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "text: tokens per judgement"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "text: judgements generated together"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S VerifyOptions
const Flag VERIFY_FLAGS[] = {
    FLAG(S, in, FLAG_STRING, "--in", "F",
         "answers .jsonl(.zst) whose records carry \"constraints\" (strap gen output)"),
    FLAG(S, out, FLAG_STRING, "--out", "F", "the checked records, or the prompts made (required)"),
    FLAG(S, text_field, FLAG_STRING, "--text-field", "NAME", "the answer's field (default text)"),
    FLAG(S, report, FLAG_STRING, "--report", "F", "prompt- and instruction-level accuracy, per family, as JSON"),
    FLAG(S, repair, FLAG_BOOL, "--repair", NULL,
         "edit a failing answer whose failed constraints say exactly what to do (case, commas, cut to n sentences, "
         "phrase or request first, phrase last, title, quotes, JSON, two answers) and keep it when all then pass; "
         "the record gets original_text and repaired (the kinds edited)"),
    FLAG(S, prompts_from, FLAG_STRING, "--prompts-from", "F",
         "make prompts: requests .jsonl(.zst) with \"prompt\" (and \"id\")"),
    FLAG(S, constraints, FLAG_INT, "--constraints", "K", "with --prompts-from: 1..K constraints per prompt (K <= 3)"),
    FLAG(S, count, FLAG_INT, "--count", "N",
         "with --prompts-from: prompts to make, cycling the requests (0: one each)"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "with --prompts-from: the draws' seed"),
    FLAG(S, catalog, FLAG_STRING, "--catalog", "F", "the constraint families (default data/synth/constraints.json)"),
    FLAG(S, families, FLAG_STRING, "--families", "A,B", "with --prompts-from: draw only these families"),
    {0},
};
#undef S

#define S PairsOptions
const Flag PAIRS_FLAGS[] = {
    FLAG(S, in, FLAG_STRING, "--in", "F", "judged answers .jsonl(.zst): prompt_id, prompt, text, score (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "F",
         "pairs .jsonl(.zst): prompt_id, prompt, chosen, rejected, scores (required)"),
    FLAG(S, min_margin, FLAG_FLOAT, "--min-margin", "M", "drop pairs whose scores differ by less than M"),
    FLAG(S, score_field, FLAG_STRING, "--score-field", "NAME",
         "the field holding the judge's score (number, or null if missing)"),
    FLAG_CHOICES(S, reward, "--reward", REWARD_NAMES,
                 "judge (the judge's score), verify (constraints passed: strap verify's verify_score) or mix (verify, "
                 "then the judge's score)"),
    FLAG(S, report, FLAG_STRING, "--report", "F", "write the counts as JSON too"),
    {0},
};
#undef S
