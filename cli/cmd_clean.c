// cmd_clean.c: strap data clean: normalise, repair, filter and deduplicate a record file.
#include "cmd_clean.h"

#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../data/clean.h"
#include "../data/jsonl.h"
#include "../data/minhash.h"
#include "args.h"

static int same_path(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

int cmd_data_clean(int argc, char **argv) {
    CleanOptions o;
    clean_options_defaults(&o);
    int no_exact = 0, no_near = 0, quiet = 0, threads = 0;
    Flag flags[] = {
        {"--input", FLAG_STRING, &o.input, "FILE", ".jsonl or .jsonl.zst, one JSON object per line (required)", NULL},
        {"--out", FLAG_STRING, &o.output, "FILE", "cleaned records, .jsonl or .jsonl.zst (required)", NULL},
        {"--field", FLAG_STRING, &o.field, "NAME", "JSON field holding the text", NULL},
        {"--report", FLAG_STRING, &o.report, "FILE", "write the report (counts, examples, LSH parameters) as JSON",
         NULL},
        {"--dropped", FLAG_STRING, &o.dropped, "FILE", "write every removed record with drop_reason (and duplicate_of)",
         NULL},
        {"--min-chars", FLAG_INT, &o.filter.min_chars, "N", "drop texts shorter than N characters (too_short)", NULL},
        {"--max-chars", FLAG_INT, &o.filter.max_chars, "N",
         "drop texts longer than N characters (too_long); 0: no limit", NULL},
        {"--min-words", FLAG_INT, &o.filter.min_words, "N",
         "drop texts with fewer than N words (too_few_words); 0: off", NULL},
        {"--max-repeat", FLAG_FLOAT, &o.filter.max_repeat, "F",
         "drop texts whose share of repeated word 3-grams exceeds F (repetitive)", NULL},
        {"--max-non-printable", FLAG_FLOAT, &o.filter.max_non_printable, "F",
         "drop texts whose share of non-printable characters exceeds F (non_printable)", NULL},
        {"--threshold", FLAG_FLOAT, &o.threshold, "J", "near-duplicate Jaccard similarity (word 5-gram shingles)",
         NULL},
        {"--perm", FLAG_INT, &o.perm, "N", "MinHash permutations (1..256)", NULL},
        {"--no-exact-dedup", FLAG_BOOL, &no_exact, NULL, "keep exact duplicates", NULL},
        {"--no-near-dedup", FLAG_BOOL, &no_near, NULL, "keep near-duplicates", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores); the output does not depend on it", NULL},
        {"--quiet", FLAG_BOOL, &quiet, NULL, "no progress lines", NULL},
        {0},
    };
    Command cmd = {
        "strap data clean --input FILE --out FILE [--field text] [--report R.json] [--dropped D.jsonl.zst] [options]",
        "Clean a record file: Unicode NFC and whitespace normalisation, repair (unclosed code fences, "
        "leaked chat markers, cut-off last sentences), quality filters, exact and near-duplicate removal "
        "(MinHash + LSH). Kept records keep every other field as it was; removed records can be written "
        "with the reason to --dropped.",
        flags,
        0,
        NULL,
        0};
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
    if (threads < 0) args_error(&cmd, "--threads must not be negative");
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#endif
    o.exact_dedup = !no_exact;
    o.near_dedup = !no_near;
    o.progress = !quiet;

    CleanStats st;
    clean_corpus(&o, &st);
    printf("cleaned %s -> %s: %lld records in, %lld out, %lld removed (%.1fs)\n", o.input, o.output,
           (long long)st.records_in, (long long)st.records_out, (long long)st.removed_total, st.seconds);
    for (int k = 1; k < CLEAN_N_REASONS; k++)
        if (st.removed[k]) printf("  %-16s %lld\n", clean_reason_name((CleanReason)k), (long long)st.removed[k]);
    printf("repaired (in the output): %lld normalised, %lld with chat markers stripped, %lld code fences closed, "
           "%lld cut-off endings trimmed\n",
           (long long)st.normalised, (long long)st.markers_stripped, (long long)st.fences_closed,
           (long long)st.cut_offs_trimmed);
    if (o.near_dedup)
        printf("near-duplicates: MinHash %d permutations, LSH %d bands x %d rows for threshold %.2f: %lld candidate "
               "pairs, %lld clusters (largest %lld records), %lld records removed\n",
               o.perm, st.bands, st.rows, o.threshold, (long long)st.candidate_pairs, (long long)st.clusters,
               (long long)st.largest_cluster, (long long)st.removed[CLEAN_NEAR_DUPLICATE]);
    printf("text: %lld bytes in, %lld bytes out\n", (long long)st.text_bytes_in, (long long)st.text_bytes_out);
    if (o.report) printf("report: %s\n", o.report);
    if (o.dropped) printf("removed records: %s\n", o.dropped);
    clean_stats_free(&st);
    return 0;
}
