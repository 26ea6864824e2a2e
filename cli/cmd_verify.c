// cmd_verify.c: strap verify: the flags of selfplay/verify_run.h.
#include "../data/jsonl.h"
#include "../selfplay/verify_run.h"
#include "args.h"
#include "commands.h"

int cmd_verify(int argc, char **argv) {
    VerifyOptions o;
    verify_options_default(&o);
    Command cmd = {
        "strap verify --in answers.jsonl.zst --out scored.jsonl.zst [--report F]\n"
        "       strap verify --prompts-from requests.jsonl --out prompts.jsonl [--constraints K] [--count N] [--seed S]",
        "Checks every answer against the verifiable constraints of its prompt (letter case, counts of "
        "words, sentences, paragraphs, bullets, keywords, phrases at the start or end, formats such as JSON "
        "or quotes, ...; docs/formats.md) and adds verify (per constraint: kind, pass, detail), "
        "verify_pass, verify_total, verify_score (share passed) and verify_all. With --prompts-from it "
        "makes prompts instead: each request with 1..K constraints drawn from the catalogue.",
        VERIFY_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--out", o.out != NULL);
    if (!o.in == !o.prompts_from) args_error(&cmd, "give either --in (check answers) or --prompts-from (make prompts)");
    if (!jsonl_is_jsonl_path(o.out)) args_error(&cmd, "--out %s: name it .jsonl or .jsonl.zst", o.out);
    if (o.repair && o.prompts_from) args_error(&cmd, "--repair goes with --in (checking answers)");
    if (o.prompts_from) {
        if (o.constraints < 1 || o.constraints > 3) args_error(&cmd, "--constraints must be 1..3");
        if (o.count < 0) args_error(&cmd, "--count must not be negative");
    }
    return verify_run(&o);
}
