// cmd_synth.c: strap synth: the flags of selfplay/synth_run.h.
#include <string.h>

#include "../data/jsonl.h"
#include "../selfplay/synth_run.h"
#include "args.h"
#include "commands.h"

int cmd_synth(int argc, char **argv) {
    SynthOptions o;
    synth_options_default(&o);
    Command cmd = {"strap synth --model DIR --out F.jsonl.zst --count N [options]",
                   "The model writes prompts for itself. self-instruct: each instruction combines a role, a task "
                   "type and attributes drawn from the catalogue with few-shot examples (seed prompts and prompts "
                   "accepted so far). brainstorm: the model lists task ideas for a role as a JSON list, then writes "
                   "a prompt for each idea. Prompts that are too short or long, blacklisted, refusals or meta-text, "
                   "or (near-)duplicates of earlier ones are dropped. Records: id, prompt, role, task, attributes, "
                   "mode, examples, model, iteration, seed.",
                   SYNTH_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    args_require(&cmd, "--count", o.count > 0);
    if (strcmp(o.mode, "brainstorm") != 0 && strcmp(o.mode, "self-instruct") != 0)
        args_error(&cmd, "--mode must be self-instruct or brainstorm");
    if (o.batch < 1 || o.max_new < 1 || o.examples < 0 || o.ideas < 1)
        args_error(&cmd, "--batch, --max-new, --ideas must be positive");
    if (o.dedup_threshold <= 0 || o.dedup_threshold > 1) args_error(&cmd, "--dedup-threshold must be in (0, 1]");
    if (o.constraints < 0 || o.constraints > 3) args_error(&cmd, "--constraints must be 0..3");
    if (o.constraint_draws < 1 || o.constraint_draws > 100) args_error(&cmd, "--constraint-draws must be 1..100");
    if (o.rejects && !jsonl_is_jsonl_path(o.rejects))
        args_error(&cmd, "--rejects %s: name it .jsonl or .jsonl.zst", o.rejects);
    return synth_run(&o);
}
