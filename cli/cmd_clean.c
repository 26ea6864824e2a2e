// cmd_clean.c: strap data clean: normalise, repair, filter and deduplicate a record file.
#include "cmd_clean.h"

#include <string.h>

#include "../data/clean.h"
#include "../data/jsonl.h"
#include "../data/minhash.h"
#include "args.h"

static int same_path(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

int cmd_data_clean(int argc, char **argv) {
    CleanOptions o;
    clean_options_defaults(&o);
    Command cmd = {
        "strap data clean --input FILE --out FILE [--field text] [--report R.json] [--dropped D.jsonl.zst] [options]",
        "Clean a record file: Unicode NFC and whitespace normalisation, repair (unclosed code fences, "
        "leaked chat markers, cut-off last sentences), quality filters, exact and near-duplicate removal "
        "(MinHash + LSH). Kept records keep every other field as it was; removed records can be written "
        "with the reason to --dropped.",
        CLEAN_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--input", o.input != NULL);
    args_require(&cmd, "--out", o.output != NULL);
    if (!jsonl_is_jsonl_path(o.input)) args_error(&cmd, "--input %s: expected a .jsonl or .jsonl.zst file", o.input);
    if (!jsonl_is_jsonl_path(o.output)) args_error(&cmd, "--out %s: name it .jsonl or .jsonl.zst", o.output);
    if (o.dropped && !jsonl_is_jsonl_path(o.dropped))
        args_error(&cmd, "--dropped %s: name it .jsonl or .jsonl.zst", o.dropped);
    if (same_path(o.dropped, o.input) || same_path(o.dropped, o.output) || same_path(o.report, o.input) ||
        same_path(o.report, o.output) || same_path(o.report, o.dropped))
        args_error(&cmd, "--out, --dropped and --report must be different files, none of them the --input");
    if (!o.field || !o.field[0]) args_error(&cmd, "--field must name a JSON field");
    if (o.filter.min_chars < 0 || o.filter.max_chars < 0 || o.filter.min_words < 0)
        args_error(&cmd, "--min-chars, --max-chars and --min-words must not be negative");
    if (o.filter.max_chars > 0 && o.filter.max_chars < o.filter.min_chars)
        args_error(&cmd, "--max-chars %d is below --min-chars %d", o.filter.max_chars, o.filter.min_chars);
    if (o.filter.max_repeat < 0 || o.filter.max_repeat > 1) args_error(&cmd, "--max-repeat must lie in [0, 1]");
    if (o.filter.max_non_printable < 0 || o.filter.max_non_printable > 1)
        args_error(&cmd, "--max-non-printable must lie in [0, 1]");
    if (o.perm < 1 || o.perm > MINHASH_MAX_PERM)
        args_error(&cmd, "--perm must lie in [1, %d], got %d", MINHASH_MAX_PERM, o.perm);
    if (!(o.threshold > 0 && o.threshold <= 1)) args_error(&cmd, "--threshold must lie in (0, 1]");
    if (o.threads < 0) args_error(&cmd, "--threads must not be negative");
    return clean_run(&o);
}
