// cmd_synth.c: strap synth: the flags of selfplay/synth_run.h.
#include <string.h>

#include "../data/jsonl.h"
#include "../selfplay/synth_run.h"
#include "args.h"
#include "commands.h"

int cmd_synth(int argc, char **argv) {
    const char *model_dir = NULL, *out_path = NULL, *mode = "self-instruct", *catalog_dir = NULL;
    const char *seed_path = NULL, *existing = NULL, *avoid = NULL, *report_path = NULL, *rejects_path = NULL,
               *id_prefix = "synth";
    const char *template_name = NULL, *device = "auto";
    int count = 0, n_examples = 3, batch = 8, max_new = 160, seed = 0, min_words = 4, max_words = 150;
    int no_blacklist = 0, keep_truncated = 0, max_attempts = 0, n_ideas = 8, iteration = -1, threads = 0;
    int n_constraints = 0, constraint_draws = 1;
    const char *constraints_path = NULL;
    float threshold = 0.7f;
    SampleOptions sample;
    sample_options_default(&sample);
    sample.temperature = 0.7f, sample.top_p = 0.95f;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "the model that writes the prompts (required)", NULL},
        {"--out", FLAG_STRING, &out_path, "F", "prompts to write (.jsonl or .jsonl.zst) (required)", NULL},
        {"--count", FLAG_INT, &count, "N", "prompts to accept (required)", NULL},
        {"--mode", FLAG_STRING, &mode, "M", "self-instruct (role x task x attributes + examples) or brainstorm", NULL},
        {"--catalog", FLAG_STRING, &catalog_dir, "DIR", "roles.txt, tasks.txt, attributes.json (default: data/synth)",
         NULL},
        {"--seed-prompts", FLAG_STRING, &seed_path, "F", "human-written examples (default: CATALOG/seed_prompts.jsonl)",
         NULL},
        {"--existing", FLAG_STRING, &existing, "F[,F]",
         "earlier prompt files: few-shot examples and dedup against them", NULL},
        {"--avoid", FLAG_STRING, &avoid, "F[,F]",
         "prompt files to dedup against, never shown as examples (held-out prompts)", NULL},
        {"--examples", FLAG_INT, &n_examples, "K", "few-shot examples per instruction (self-instruct)", NULL},
        {"--ideas", FLAG_INT, &n_ideas, "K", "tasks asked for per brainstorm list", NULL},
        {"--batch", FLAG_INT, &batch, "B", "instructions generated together", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "new tokens per generation at most", NULL},
        {"--temperature", FLAG_FLOAT, &sample.temperature, "T", "sampling temperature", NULL},
        {"--top-p", FLAG_FLOAT, &sample.top_p, "P", "nucleus sampling mass", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed (draws and sampling)", NULL},
        {"--min-words", FLAG_INT, &min_words, "N", "drop prompts with fewer words", NULL},
        {"--max-words", FLAG_INT, &max_words, "N", "drop prompts with more words", NULL},
        {"--dedup-threshold", FLAG_FLOAT, &threshold, "J", "near-duplicate MinHash Jaccard threshold", NULL},
        {"--no-blacklist", FLAG_BOOL, &no_blacklist, NULL, "keep prompts that mention images, audio, links...", NULL},
        {"--keep-truncated", FLAG_BOOL, &keep_truncated, NULL,
         "keep requests cut off at --max-new (tiny test models never stop)", NULL},
        {"--max-attempts", FLAG_INT, &max_attempts, "N", "generations at most (default 4 x count + 16)", NULL},
        {"--id-prefix", FLAG_STRING, &id_prefix, "P", "ids are P-00000, P-00001, ...", NULL},
        {"--iteration", FLAG_INT, &iteration, "K", "self-rewarding iteration recorded with each prompt", NULL},
        {"--constraints", FLAG_INT, &n_constraints, "K",
         "attach 1..K verifiable constraints (strap verify) to every prompt (0: none; at most 3)", NULL},
        {"--constraint-draws", FLAG_INT, &constraint_draws, "D",
         "with --constraints: D records per accepted prompt, each with its own constraints", NULL},
        {"--constraints-catalog", FLAG_STRING, &constraints_path, "F",
         "the constraint families (default: CATALOG/constraints.json)", NULL},
        {"--report", FLAG_STRING, &report_path, "F", "counts per filter as JSON", NULL},
        {"--rejects", FLAG_STRING, &rejects_path, "F", "the dropped generations, each with its reason (.jsonl(.zst))",
         NULL},
        {"--chat-template", FLAG_STRING, &template_name, "NAME",
         "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap synth --model DIR --out F.jsonl.zst --count N [options]",
                   "The model writes prompts for itself. self-instruct: each instruction combines a role, a task "
                   "type and attributes drawn from the catalogue with few-shot examples (seed prompts and prompts "
                   "accepted so far). brainstorm: the model lists task ideas for a role as a JSON list, then writes "
                   "a prompt for each idea. Prompts that are too short or long, blacklisted, refusals or meta-text, "
                   "or (near-)duplicates of earlier ones are dropped. Records: id, prompt, role, task, attributes, "
                   "mode, examples, model, iteration, seed.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    args_require(&cmd, "--out", out_path != NULL);
    args_require(&cmd, "--count", count > 0);
    if (strcmp(mode, "brainstorm") != 0 && strcmp(mode, "self-instruct") != 0)
        args_error(&cmd, "--mode must be self-instruct or brainstorm");
    if (batch < 1 || max_new < 1 || n_examples < 0 || n_ideas < 1)
        args_error(&cmd, "--batch, --max-new, --ideas must be positive");
    if (threshold <= 0 || threshold > 1) args_error(&cmd, "--dedup-threshold must be in (0, 1]");
    if (n_constraints < 0 || n_constraints > 3) args_error(&cmd, "--constraints must be 0..3");
    if (constraint_draws < 1 || constraint_draws > 100) args_error(&cmd, "--constraint-draws must be 1..100");

    if (rejects_path && !jsonl_is_jsonl_path(rejects_path))
        args_error(&cmd, "--rejects %s: name it .jsonl or .jsonl.zst", rejects_path);
    SynthOptions o = {
        .model_dir = model_dir,
        .out = out_path,
        .count = count,
        .mode = mode,
        .catalog_dir = catalog_dir,
        .seed_prompts = seed_path,
        .existing = existing,
        .avoid = avoid,
        .examples = n_examples,
        .ideas = n_ideas,
        .batch = batch,
        .max_new = max_new,
        .sample = sample,
        .seed = seed,
        .min_words = min_words,
        .max_words = max_words,
        .dedup_threshold = threshold,
        .no_blacklist = no_blacklist,
        .keep_truncated = keep_truncated,
        .max_attempts = max_attempts,
        .id_prefix = id_prefix,
        .iteration = iteration,
        .constraints = n_constraints,
        .constraint_draws = constraint_draws,
        .constraints_catalog = constraints_path,
        .report = report_path,
        .rejects = rejects_path,
        .chat_template = template_name,
        .device = device,
        .threads = threads,
    };
    return synth_run(&o);
}
