// test_flags.c: base/flags.h (an options struct written back as a command line) and
// base/arg_list.h (its words quoted for a shell), and the shape of every library flag table.
#include "../base/flags.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/bench_comm.h"
#include "../bench/bench_gen.h"
#include "../bench/bench_gpu.h"
#include "../bench/bench_step.h"
#include "../cli/args.h"
#include "../data/clean.h"
#include "../data/inspect.h"
#include "../data/pack_run.h"
#include "../data/tok_run.h"
#include "../eval/compare.h"
#include "../eval/constraint_eval.h"
#include "../eval/dpo_eval.h"
#include "../eval/logits_run.h"
#include "../eval/ppl_run.h"
#include "../loop/stages.h"
#include "../model/convert_gguf.h"
#include "../model/init_run.h"
#include "../model/stream_run.h"
#include "../selfplay/answer_file.h"
#include "../selfplay/judge_run.h"
#include "../selfplay/pairs.h"
#include "../selfplay/synth_run.h"
#include "../selfplay/verify_run.h"
#include "../train/dpo.h"
#include "../train/sft.h"
#include "../train/trainer.h"
#include "test.h"

typedef struct {
    int on, off, n, pick;
    int64_t big;
    float x, maybe;
    double d;
    const char *s;
} Opts;

static const char *const COLOURS[] = {"red", "green", "blue", NULL};

static const Flag FLAGS[] = {
    FLAG(Opts, on, FLAG_BOOL, "--on", NULL, ""),       FLAG(Opts, off, FLAG_OFF, "--no-off", NULL, ""),
    FLAG(Opts, n, FLAG_INT, "--n", "N", ""),           FLAG_CHOICES(Opts, pick, "--colour", COLOURS, ""),
    FLAG(Opts, big, FLAG_INT64, "--big", "N", ""),     FLAG(Opts, x, FLAG_FLOAT, "--x", "X", ""),
    FLAG(Opts, maybe, FLAG_FLOAT, "--maybe", "X", ""), FLAG(Opts, d, FLAG_DOUBLE, "--d", "D", ""),
    FLAG(Opts, s, FLAG_STRING, "--s", "S", ""),        {0},
};

static Opts defaults(void) { return (Opts){0, 1, 7, 0, 10000000, 0.5f, NAN, 0.25, "auto"}; }

// the words flags_to_args writes, joined by single spaces
static char *words(const Opts *o, const Opts *d) {
    ArgList a = {0};
    flags_to_args(FLAGS, o, d, &a);
    size_t len = 1;
    for (int i = 0; i < a.n; i++) len += strlen(a.argv[i]) + 1;
    char *s = calloc(1, len);
    for (int i = 0; i < a.n; i++) strcat(strcat(s, i ? " " : ""), a.argv[i]);
    arg_list_free(&a);
    return s;
}

static void test_defaults_write_nothing(void) {
    Opts d = defaults(), o = d;
    char copy[] = "auto"; // the same text at another address is the same value
    o.s = copy;
    char *w = words(&o, &d);
    EXPECT(strcmp(w, "") == 0, "got '%s'", w);
    free(w);
}

static void test_every_type_written(void) {
    Opts d = defaults(), o = d;
    o.on = 1, o.off = 0, o.n = -3, o.pick = 2, o.big = 5000000000LL, o.x = 5e-6f, o.maybe = 2.5f, o.d = 0.1;
    o.s = "a b";
    char *w = words(&o, &d);
    const char *want = "--on --no-off --n -3 --colour blue --big 5000000000 --x 5e-06 --maybe 2.5 --d 0.1 --s a b";
    EXPECT(strcmp(w, want) == 0, "got '%s', want '%s'", w, want);
    free(w);
}

static void test_floats_read_back_bit_for_bit(void) {
    const float xs[] = {0.1f, 0.8f, 0.95f, 1e-3f, 5e-6f, 1.2345678e-5f, 3.4028235e38f, 1.17549435e-38f, 1.0f / 3};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        Opts d = defaults(), o = d;
        o.x = xs[i];
        ArgList a = {0};
        flags_to_args(FLAGS, &o, &d, &a);
        EXPECT(a.n == 2 && strtof(a.argv[1], NULL) == xs[i], "%.9g written as '%s'", (double)xs[i],
               a.n == 2 ? a.argv[1] : "(nothing)");
        EXPECT(a.n == 2 && strlen(a.argv[1]) <= 15, "'%s' is longer than needed", a.n == 2 ? a.argv[1] : "");
        arg_list_free(&a);
    }
    const double ds[] = {0.1, 1.0 / 3, 2.5e-300, 123456789.123456789};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        Opts d = defaults(), o = d;
        o.d = ds[i];
        ArgList a = {0};
        flags_to_args(FLAGS, &o, &d, &a);
        EXPECT(a.n == 2 && strtod(a.argv[1], NULL) == ds[i], "%.17g written as '%s'", ds[i],
               a.n == 2 ? a.argv[1] : "(nothing)");
        arg_list_free(&a);
    }
}

static void test_unset_values_not_written(void) {
    Opts d = defaults(), o = d;
    o.s = NULL;    // a string the run leaves unset is not written
    o.off = 1;     // a flag that only clears
    o.on = 0;      // a flag that only sets
    o.maybe = NAN; // a NAN default ("no value") stays unwritten
    char *w = words(&o, &d);
    EXPECT(strcmp(w, "") == 0, "got '%s'", w);
    free(w);
    d.s = NULL, o.s = "x"; // a string the defaults leave unset is written when set
    w = words(&o, &d);
    EXPECT(strcmp(w, "--s x") == 0, "got '%s'", w);
    free(w);
}

static void test_command_line_quotes(void) {
    ArgList a = {0};
    arg_add(&a, "strap"), arg_add(&a, "--s"), arg_add(&a, "a b"), arg_add(&a, "it's"), arg_add(&a, "%s", "");
    arg_add_words(&a, "  --x   1 ");
    char *line = arg_list_command_line(&a);
    const char *want = "strap --s 'a b' 'it'\\''s' '' --x 1";
    EXPECT(strcmp(line, want) == 0, "got %s, want %s", line, want);
    EXPECT(a.n == 7 && a.argv[7] == NULL, "%d words, not NULL-terminated", a.n);
    free(line);
    arg_list_free(&a);
}

static void check_table(const char *name, const Flag *flags, size_t size) {
    for (const Flag *f = flags; f->name; f++) {
        EXPECT(f->name[0] == '-', "%s: '%s' is not a flag", name, f->name);
        EXPECT(f->value == NULL, "%s %s: a library table names fields, not variables", name, f->name);
        EXPECT(f->offset < size, "%s %s: offset %zu outside the struct (%zu bytes)", name, f->name, f->offset, size);
        EXPECT((f->type == FLAG_CHOICE) == (f->choices != NULL), "%s %s: choices go with FLAG_CHOICE", name, f->name);
        EXPECT(f->help && f->help[0], "%s %s: no help", name, f->name);
        for (const Flag *g = flags; g != f; g++) {
            EXPECT(strcmp(g->name, f->name) != 0, "%s: %s twice", name, f->name);
            EXPECT(g->offset != f->offset || g->type != f->type, "%s: %s and %s set the same field", name, g->name,
                   f->name);
        }
    }
}

static void test_library_tables(void) {
    check_table("synth", SYNTH_FLAGS, sizeof(SynthOptions));
    check_table("gen", GEN_FLAGS, sizeof(AnswerFileOptions));
    check_table("judge", JUDGE_FLAGS, sizeof(JudgeOptions));
    check_table("verify", VERIFY_FLAGS, sizeof(VerifyOptions));
    check_table("pairs", PAIRS_FLAGS, sizeof(PairsOptions));
    check_table("data clean", CLEAN_FLAGS, sizeof(CleanOptions));
    check_table("data pack", PACK_FLAGS, sizeof(PackRunOptions));
    check_table("sft", SFT_FLAGS, sizeof(SftOptions));
    check_table("dpo", DPO_FLAGS, sizeof(DpoOptions));
    check_table("eval ppl", PPL_FLAGS, sizeof(PplOptions));
    check_table("eval pairs", EVAL_PAIRS_FLAGS, sizeof(DpoEvalOptions));
    check_table("eval winrate", WINRATE_FLAGS, sizeof(WinrateOptions));
    check_table("eval judge-accuracy", JUDGE_ACCURACY_FLAGS, sizeof(JudgeAccuracyOptions));
    check_table("eval constraints", CONSTRAINT_EVAL_FLAGS, sizeof(ConstraintEvalOptions));
    check_table("eval logits", LOGITS_FLAGS, sizeof(LogitsOptions));
    check_table("train", TRAIN_FLAGS, sizeof(TrainOptions));
    check_table("loop", LOOP_FLAGS, sizeof(LoopOptions));
    check_table("init", INIT_FLAGS, sizeof(InitOptions));
    check_table("convert", CONVERT_FLAGS, sizeof(ConvertOptions));
    check_table("chat", CHAT_FLAGS, sizeof(ChatOptions));
    check_table("data inspect", INSPECT_FLAGS, sizeof(InspectOptions));
    check_table("tok train", TOK_TRAIN_FLAGS, sizeof(TokTrainOptions));
    check_table("tok encode", TOK_ENCODE_FLAGS, sizeof(TokEncodeOptions));
    check_table("tok decode", TOK_DECODE_FLAGS, sizeof(TokDecodeOptions));
    check_table("bench step", BENCH_STEP_FLAGS, sizeof(BenchStepOptions));
    check_table("bench gen", BENCH_GEN_FLAGS, sizeof(BenchGenOptions));
    check_table("bench gemm", BENCH_GEMM_FLAGS, sizeof(BenchGemmOptions));
    check_table("bench attention", BENCH_ATTENTION_FLAGS, sizeof(BenchAttentionOptions));
    check_table("bench comm", BENCH_COMM_FLAGS, sizeof(BenchCommOptions));
}

// flag f's field equal in two option structs
static int same_field(const Flag *f, const void *a, const void *b) {
    const char *x = (const char *)a + f->offset, *y = (const char *)b + f->offset;
    switch (f->type) {
    case FLAG_STRING: {
        const char *s = *(const char *const *)x, *t = *(const char *const *)y;
        return s == t || (s && t && strcmp(s, t) == 0);
    }
    case FLAG_INT64: return memcmp(x, y, sizeof(int64_t)) == 0;
    case FLAG_FLOAT: return memcmp(x, y, sizeof(float)) == 0;
    case FLAG_DOUBLE: return memcmp(x, y, sizeof(double)) == 0;
    default: return memcmp(x, y, sizeof(int)) == 0;
    }
}

// Every stage of a loop with settings away from every default: its command line, parsed by
// the command line parser into the command's defaults, gives back the options the loop meant.
static void test_loop_command_lines_parse_back(void) {
    char dir[] = "/tmp/strap-test-flags-XXXXXX";
    EXPECT(mkdtemp(dir) != NULL, "mkdtemp");
    LoopOptions o;
    loop_options_default(&o);
    o.init = "M0", o.workdir = dir, o.prompts = 7, o.candidates = 3, o.synth_mode = "brainstorm";
    o.catalog = "cat", o.synth_max_new = 77, o.judge_method = "text", o.judge_samples = 5, o.min_margin = 0.25f;
    o.sft_min_score = 0.5f, o.sft_steps = 9, o.sft_lr = 3e-6f, o.dpo_loss = "ipo", o.beta = 0.2f, o.lr = 1.5e-6f;
    o.dpo_batch = 3, o.epochs = 2, o.max_len = 333, o.max_new = 99, o.temperature = 0.9f, o.eval_count = 11;
    o.winrate_method = "rubric", o.eval_text_batches = 5, o.constraints = 2, o.constraint_draws = 3;
    o.reward = "mix", o.heldout = "held.jsonl", o.eval_max_new = 55, o.no_repeat_ngram = 4, o.repair = 1;
    o.seed = 3, o.threads = 2, o.batch = 5, o.device = "cpu", o.chat_template = "chatml";
    for (int t = 1; t <= 2; t++) {
        Iter it = {.o = &o,
                   .exe = "strap",
                   .prev_model = "prev",
                   .earlier_prompts = t > 1 ? "p1.jsonl" : NULL,
                   .seed_prompts = "seed.jsonl",
                   .eval_prompts = "eval.jsonl",
                   .eval_data = "eval-text"};
        iter_build(&it, t);
        for (int s = 0; s < N_STAGES; s++) {
            const Stage *st = &STAGES[s];
            ArgList a = {0};
            stage_args(st, &it, &a);
            StageOptions want, parsed;
            st->options(&it, &want, &parsed); // parsed: the command's defaults
            int words = 1;                    // strap
            for (const char *c = st->command; *c; c++) words += *c == ' ';
            char usage[64];
            snprintf(usage, sizeof usage, "strap %s", st->command);
            Command cmd = {usage, NULL, st->flags, .options = &parsed};
            args_parse(&cmd, a.n - words, a.argv + words);
            for (const Flag *f = st->flags; f->name; f++)
                EXPECT(same_field(f, &want, &parsed), "iteration %d, stage %s: %s did not come back", t, st->name,
                       f->name);
            arg_list_free(&a);
        }
        iter_free(&it);
    }
    remove_tree(dir);
}

int main(void) {
    RUN(test_defaults_write_nothing);
    RUN(test_every_type_written);
    RUN(test_floats_read_back_bit_for_bit);
    RUN(test_unset_values_not_written);
    RUN(test_command_line_quotes);
    RUN(test_library_tables);
    RUN(test_loop_command_lines_parse_back);
    return test_summary();
}
