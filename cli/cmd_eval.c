// cmd_eval.c: strap eval ppl | logits | pairs | winrate | judge-accuracy | constraints.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/text.h"
#include "../dist/dist.h"
#include "../eval/compare.h"
#include "../eval/constraint_eval.h"
#include "../eval/dpo_eval.h"
#include "../eval/ppl.h"
#include "args.h"
#include "commands.h"

// Reads whitespace-separated token ids; errors name the file and the offending word.
static int *read_tokens_file(const char *path, int64_t *n_out) {
    size_t size;
    char *text = read_file(path, &size);
    int64_t cap = 1024, n = 0;
    int *ids = xmalloc((size_t)cap * sizeof(int));
    int line = 1;
    for (char *p = text; *p;) {
        if (isspace((unsigned char)*p)) {
            if (*p == '\n') line++;
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 0x7fffffff || (*end && !isspace((unsigned char)*end))) {
            int len = 0;
            while (p[len] && !isspace((unsigned char)p[len]) && len < 32) len++;
            fail("%s:%d: '%.*s' is not a token id (a tokens file holds whitespace-separated "
                 "non-negative integers)",
                 path, line, len, p);
        }
        if (n == cap) ids = xrealloc(ids, (size_t)(cap *= 2) * sizeof(int));
        CHECK(ids != NULL, "out of memory");
        ids[n++] = (int)v;
        p = end;
    }
    free(text);
    *n_out = n;
    return ids;
}

// Prints an eval's result (one JSON line with --json, else "key value | ..."), and writes it
// as JSON (--out) and as a two-column Markdown table (--markdown), each atomically.
static void eval_report(json_t *res, const char *title, int json, const char *out, const char *markdown) {
    CHECK(res != NULL, "%s: no result to report (a value was not a finite number)", title);
    char *line = json_dumps(res, JSON_REAL_PRECISION(10)); // one line, "key": value
    if (json) {
        printf("%s\n", line);
    } else {
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach(res, key, v) {
            if (json_is_integer(v))
                printf("%s%s %lld", first ? "" : " | ", key, (long long)json_integer_value(v));
            else if (json_is_real(v))
                printf("%s%s %.4f", first ? "" : " | ", key, json_real_value(v));
            else
                continue;
            first = 0;
        }
        printf("\n");
    }
    if (out) {
        size_t n = strlen(line);
        line = xrealloc(line, n + 2);
        line[n] = '\n', line[n + 1] = 0;
        write_file_atomic(out, line, n + 1);
    }
    free(line);
    if (markdown) {
        Text md = {0};
        text_printf(&md, "### %s\n\n| measure | value |\n|---|---|\n", title);
        const char *key;
        json_t *v;
        json_object_foreach(res, key, v) {
            if (json_is_integer(v))
                text_printf(&md, "| %s | %lld |\n", key, (long long)json_integer_value(v));
            else if (json_is_real(v))
                text_printf(&md, "| %s | %.4f |\n", key, json_real_value(v));
            else if (json_is_string(v))
                text_printf(&md, "| %s | %s |\n", key, json_string_value(v));
        }
        write_file_atomic(markdown, md.s, md.len);
        free(md.s);
    }
}

static int eval_ppl(int argc, char **argv) {
    const char *model_dir = NULL, *data = NULL, *tokens_file = NULL, *device = "auto", *out = NULL, *markdown = NULL;
    int json = 0, batch = 4, seq = 0, max_batches = 0, threads = 0;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint directory (required)", NULL},
        {"--data", FLAG_STRING, &data, "PATH", "directory of .tok.zst shards or a quoted glob", NULL},
        {"--tokens-file", FLAG_STRING, &tokens_file, "F", "whitespace-separated token ids, scored as given", NULL},
        {"--batch", FLAG_INT, &batch, "B", "sequences per batch (--data)", NULL},
        {"--seq", FLAG_INT, &seq, "T", "tokens per sequence (--data; default min(max_seq, 512))", NULL},
        {"--max-batches", FLAG_INT, &max_batches, "N", "stop after N batches (0: the whole data)", NULL},
        {"--json", FLAG_BOOL, &json, NULL, "print one JSON object {loss, ppl, tokens}", NULL},
        {"--out", FLAG_STRING, &out, "F", "also write the JSON to F", NULL},
        {"--markdown", FLAG_STRING, &markdown, "F", "also write a Markdown table to F", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap eval ppl --model DIR (--data PATH | --tokens-file F) [--json]",
                   "Mean next-token loss and perplexity of a checkpoint.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    if (!data == !tokens_file) args_error(&cmd, "give exactly one of --data and --tokens-file");
    Model m;
    model_load(&m, model_dir, dist_backend_select(device, threads)); // under mpirun: batches split over the ranks
    EvalResult r;
    if (tokens_file) {
        int64_t n;
        int *ids = read_tokens_file(tokens_file, &n);
        r = eval_tokens(&m, ids, n);
        free(ids);
    } else {
        if (seq <= 0) seq = m.config.max_seq < 512 ? m.config.max_seq : 512;
        if (seq > m.config.max_seq)
            fail("--seq %d is above the model's max_position_embeddings (%d)", seq, m.config.max_seq);
        int n_files;
        char **files = expand_inputs(data, ".tok.zst", &n_files);
        Loader *l = loader_open(files, n_files, batch, seq, 0, 1);
        if (loader_vocab_size(l) > m.config.vocab_size)
            fail("data '%s' uses a vocabulary of %d ids but the model has vocab_size %d", data, loader_vocab_size(l),
                 m.config.vocab_size);
        r = eval_loader(&m, l, batch, seq, max_batches);
        loader_close(l);
        free_string_list(files);
    }
    if (!isfinite(r.loss))
        fail("eval ppl: the loss of %s on %s is not a finite number (%g): its weights or activations overflow; nothing "
             "is reported",
             model_dir, data ? data : tokens_file, r.loss);
    json_t *res = json_pack("{s:f, s:f, s:I}", "loss", r.loss, "ppl", r.ppl, "tokens", (json_int_t)r.tokens);
    char title[512];
    snprintf(title, sizeof title, "Perplexity of %s on %s", model_dir, data ? data : tokens_file);
    if (comm_rank() == 0) eval_report(res, title, json, out, markdown);
    json_decref(res);
    model_free(&m);
    return 0;
}

// The top-K logits of the last position of a token sequence, as JSON (for parity checks).
static int eval_logits(int argc, char **argv) {
    const char *model_dir = NULL, *tokens_file = NULL, *device = "auto";
    int top = 20, threads = 0;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint directory (required)", NULL},
        {"--tokens-file", FLAG_STRING, &tokens_file, "F", "whitespace-separated token ids (required)", NULL},
        {"--top", FLAG_INT, &top, "K", "how many of the largest logits to print", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap eval logits --model DIR --tokens-file F [--top K]",
                   "Print {\"top\": [[id, logit], ...]} for the position after the last token.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    args_require(&cmd, "--tokens-file", tokens_file != NULL);
    Model m;
    model_load(&m, model_dir, backend_select(device, threads));
    int64_t n;
    int *ids = read_tokens_file(tokens_file, &n);
    if (n < 1 || n > m.config.max_seq)
        fail("%s: %lld tokens; give 1 to %d", tokens_file, (long long)n, m.config.max_seq);
    int V = m.config.vocab_size;
    float *last = xmalloc((size_t)V * sizeof(float));
    model_forward(&m, ids, NULL, 1, (int)n);
    model_logits_rows(&m, (int)n - 1, 1, last); // the classifier of the last position alone
    if (top > V) top = V;
    printf("{\"top\": [");
    for (int k = 0; k < top; k++) { // selection: k passes over V (K is small)
        int best = -1;
        for (int v = 0; v < V; v++)
            if (!isnan(last[v]) && (best < 0 || last[v] > last[best])) best = v;
        printf("%s[%d, %.6f]", k ? ", " : "", best, last[best]);
        last[best] = NAN;
    }
    printf("]}\n");
    free(last), free(ids);
    model_free(&m);
    return 0;
}

static int eval_pairs(int argc, char **argv) {
    DpoEvalOptions o = {.device = "auto", .loss = {DPO_SIGMOID, 0.1, 0.0}, .batch = 4, .max_len = 512};
    float beta = (float)o.loss.beta;
    int json = 0;
    const char *out = NULL, *markdown = NULL;
    Flag flags[] = {
        {"--model", FLAG_STRING, &o.model_dir, "DIR", "the model to evaluate (with tokenizer.json) (required)", NULL},
        {"--ref", FLAG_STRING, &o.ref_dir, "DIR", "the reference it is measured against (required)", NULL},
        {"--pairs", FLAG_STRING, &o.pairs, "F", ".jsonl(.zst) records with prompt, chosen, rejected (required)", NULL},
        {"--beta", FLAG_FLOAT, &beta, "B", "reward scale, as in training", NULL},
        {"--max-len", FLAG_INT, &o.max_len, "T", "tokens per sequence", NULL},
        {"--batch", FLAG_INT, &o.batch, "N", "pairs per forward", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME", "chatml, llama3 or plain", NULL},
        {"--json", FLAG_BOOL, &json, NULL, "print one JSON object", NULL},
        {"--out", FLAG_STRING, &out, "F", "also write the JSON to F", NULL},
        {"--markdown", FLAG_STRING, &markdown, "F", "also write a Markdown table to F", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap eval pairs --model DIR --ref DIR --pairs F [--json]",
                   "Preference accuracy and mean reward margin of a model against a reference on "
                   "held-out (prompt, chosen, rejected) pairs.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--ref", o.ref_dir != NULL);
    args_require(&cmd, "--pairs", o.pairs != NULL);
    if (o.batch < 1) args_error(&cmd, "--batch must be positive");
    o.loss.beta = beta;
    json_t *res = dpo_eval(&o);
    char title[512];
    snprintf(title, sizeof title, "Preference accuracy of %s against %s on %s", o.model_dir, o.ref_dir, o.pairs);
    if (comm_rank() == 0) eval_report(res, title, json, out, markdown);
    json_decref(res);
    return 0;
}

static JudgeMethod parse_judge_method(const Command *cmd, const char *name, int rubric_ok) {
    if (strcmp(name, "logprob") == 0) return JUDGE_LOGPROB;
    if (strcmp(name, "text") == 0) return JUDGE_TEXT;
    if (rubric_ok && strcmp(name, "rubric") == 0) return JUDGE_RUBRIC;
    args_error(cmd, "--judge-method must be logprob%s or text (got '%s')", rubric_ok ? ", rubric" : "", name);
    return JUDGE_TEXT;
}

static int eval_winrate(int argc, char **argv) {
    WinrateOptions o;
    winrate_options_default(&o);
    const char *method = "logprob";
    Flag flags[] = {
        {"--model", FLAG_STRING, &o.model_dir, "DIR", "the model under test (required)", NULL},
        {"--baseline", FLAG_STRING, &o.baseline_dir, "DIR", "the model it is compared with (required)", NULL},
        {"--judge", FLAG_STRING, &o.judge_dir, "DIR", "the judge model (required)", NULL},
        {"--prompts", FLAG_STRING, &o.prompts, "F", ".jsonl(.zst) of prompts: prompt, optional id, system (required)",
         NULL},
        {"--limit", FLAG_INT, &o.limit, "N", "the first N prompts only (0: all)", "-n"},
        {"--max-new", FLAG_INT, &o.max_new, "N", "answer tokens at most", NULL},
        {"--temperature", FLAG_FLOAT, &o.temperature, "T", "answers: 0 = greedy, else seeded sampling", NULL},
        {"--top-p", FLAG_FLOAT, &o.top_p, "P", "answers: nucleus sampling mass (1: off)", NULL},
        {"--seed", FLAG_INT, &o.seed, "S", "random seed (answer i of both models: the same stream)", NULL},
        {"--batch", FLAG_INT, &o.batch, "B", "sequences generated together", NULL},
        {"--judge-method", FLAG_STRING, &method, "M",
         "logprob (p of ' A' vs ' B' after 'Verdict: Assistant'), text, or rubric (each answer's 5-point rubric "
         "score, no position bias)",
         NULL},
        {"--judge-max-new", FLAG_INT, &o.judge_max_new, "N", "text: tokens per judgement", NULL},
        {"--judge-temperature", FLAG_FLOAT, &o.judge_temperature, "T", "text: 0 = greedy judgements", NULL},
        {"--template", FLAG_STRING, &o.template_path, "FILE",
         "pairwise judge prompt with {prompt}, {answer_a}, {answer_b}", NULL},
        {"--out", FLAG_STRING, &o.out, "F", "the report as JSON (default: printed)", NULL},
        {"--markdown", FLAG_STRING, &o.markdown, "F", "the report as a Markdown table", NULL},
        {"--records", FLAG_STRING, &o.records, "F", "per-prompt answers and verdicts, .jsonl(.zst)", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME",
         "chatml, llama3 or plain (default: from each model's files)", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap eval winrate --model DIR --baseline DIR --judge DIR --prompts F [--out report.json] "
                   "[--markdown report.md]",
                   "Both models answer every prompt; the judge compares the answers in both orders. Win: the "
                   "model preferred in both orders; loss: the baseline in both; tie otherwise (and when a "
                   "verdict is unparseable, counted separately). With --judge-method rubric the judge scores each "
                   "answer alone and the higher score wins. Win rate = (wins + ties/2) / prompts with a 95% "
                   "Wilson interval; mean answer lengths in tokens.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--baseline", o.baseline_dir != NULL);
    args_require(&cmd, "--judge", o.judge_dir != NULL);
    args_require(&cmd, "--prompts", o.prompts != NULL);
    o.method = parse_judge_method(&cmd, method, 1);
    if (o.max_new < 1 || o.batch < 1 || o.judge_max_new < 1 || o.limit < 0)
        args_error(&cmd, "--max-new, --batch and --judge-max-new must be positive, --limit not negative");
    return winrate_run(&o);
}

static int eval_judge_accuracy(int argc, char **argv) {
    JudgeAccuracyOptions o;
    judge_accuracy_options_default(&o);
    const char *method = "logprob";
    int no_rubric = 0;
    Flag flags[] = {
        {"--judge", FLAG_STRING, &o.judge_dir, "DIR", "the judge model (required)", NULL},
        {"--labelled", FLAG_STRING, &o.labelled, "F", ".jsonl(.zst) with prompt, chosen, rejected (required)", NULL},
        {"--limit", FLAG_INT, &o.limit, "N", "the first N pairs only (0: all)", "-n"},
        {"--judge-method", FLAG_STRING, &method, "M", "logprob or text", NULL},
        {"--judge-max-new", FLAG_INT, &o.judge_max_new, "N", "text: tokens per judgement", NULL},
        {"--judge-temperature", FLAG_FLOAT, &o.judge_temperature, "T", "text: 0 = greedy judgements", NULL},
        {"--template", FLAG_STRING, &o.template_path, "FILE",
         "pairwise judge prompt with {prompt}, {answer_a}, {answer_b}", NULL},
        {"--no-rubric", FLAG_BOOL, &no_rubric, NULL, "skip the 5-point rubric scores", NULL},
        {"--seed", FLAG_INT, &o.seed, "S", "text: random seed", NULL},
        {"--batch", FLAG_INT, &o.batch, "B", "text: judgements generated together", NULL},
        {"--out", FLAG_STRING, &o.out, "F", "the report as JSON (default: printed)", NULL},
        {"--markdown", FLAG_STRING, &o.markdown, "F", "the report as a Markdown table", NULL},
        {"--records", FLAG_STRING, &o.records, "F", "per-pair verdicts, .jsonl(.zst)", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME",
         "chatml, llama3 or plain (default: from the judge's files)", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap eval judge-accuracy --judge DIR --labelled F [--out report.json] [--markdown report.md]",
                   "How often the judge prefers the chosen answer of labelled pairs (the pairs format of strap "
                   "pairs, or human labels in the same schema): pairwise in both answer orders (ties count half), "
                   "and by the 5-point rubric score of each answer; 95% Wilson intervals.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--judge", o.judge_dir != NULL);
    args_require(&cmd, "--labelled", o.labelled != NULL);
    o.method = parse_judge_method(&cmd, method, 0);
    o.rubric = !no_rubric;
    if (o.batch < 1 || o.judge_max_new < 1 || o.limit < 0)
        args_error(&cmd, "--batch and --judge-max-new must be positive, --limit not negative");
    return judge_accuracy_run(&o);
}

static int eval_constraints(int argc, char **argv) {
    ConstraintEvalOptions o;
    constraint_eval_options_default(&o);
    Flag flags[] = {
        {"--model", FLAG_STRING, &o.model_dir, "DIR", "the model under test (required)", NULL},
        {"--baseline", FLAG_STRING, &o.baseline_dir, "DIR", "the model it is compared with (McNemar test)", NULL},
        {"--baseline-answers", FLAG_STRING, &o.baseline_answers, "F",
         "the baseline's answers from an earlier run's --records on the same prompts (not generated again)", NULL},
        {"--prompts", FLAG_STRING, &o.prompts, "F",
         ".jsonl(.zst) of held-out prompts with constraints (strap verify --prompts-from) (required)", NULL},
        {"--limit", FLAG_INT, &o.limit, "N", "the first N prompts only (0: all)", "-n"},
        {"--max-new", FLAG_INT, &o.max_new, "N", "answer tokens at most", NULL},
        {"--temperature", FLAG_FLOAT, &o.temperature, "T", "0 = greedy (default), else seeded sampling", NULL},
        {"--no-repeat-ngram", FLAG_INT, &o.no_repeat_ngram, "N", "generation guard for both models (0: off)", NULL},
        {"--seed", FLAG_INT, &o.seed, "S", "random seed (sampling only)", NULL},
        {"--batch", FLAG_INT, &o.batch, "B", "sequences generated together", NULL},
        {"--out", FLAG_STRING, &o.out, "F", "the report as JSON (default: printed)", NULL},
        {"--markdown", FLAG_STRING, &o.markdown, "F", "the report as Markdown tables", NULL},
        {"--records", FLAG_STRING, &o.records, "F", "per-prompt answers and checks, .jsonl(.zst)", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME",
         "chatml, llama3 or plain (default: from each model's files)", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap eval constraints --model DIR [--baseline DIR] --prompts held-out.jsonl [--out report.json] "
                   "[--markdown report.md]",
                   "Verifiable instructions: the model (and the baseline) answer held-out prompts that carry "
                   "constraints a program checks (strap verify). Reports prompt-level accuracy (all constraints "
                   "pass), instruction-level accuracy, accuracy per constraint family, answers cut off and looping, "
                   "and against a baseline the paired counts with the exact McNemar p-value.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--prompts", o.prompts != NULL);
    if (o.baseline_answers && !o.baseline_dir)
        args_error(&cmd, "--baseline-answers needs --baseline (the model that wrote them)");
    if (o.max_new < 1 || o.batch < 1 || o.limit < 0 || o.no_repeat_ngram < 0 || o.temperature < 0)
        args_error(&cmd,
                   "--max-new and --batch must be positive; --limit, --no-repeat-ngram and --temperature not negative");
    return constraint_eval_run(&o);
}

int cmd_eval(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "ppl") == 0) return eval_ppl(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "logits") == 0) return eval_logits(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "pairs") == 0) return eval_pairs(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "winrate") == 0) return eval_winrate(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "judge-accuracy") == 0) return eval_judge_accuracy(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "constraints") == 0) return eval_constraints(argc - 1, argv + 1);
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "usage: strap eval <kind> [options]\n\n"
            "kinds:\n  ppl      mean next-token loss and perplexity on shards or a tokens file\n"
            "  logits   the largest next-token logits after a token sequence (JSON)\n"
            "  pairs    preference accuracy and reward margin against a reference\n"
            "  winrate  win rate of a model against a baseline, judged pairwise in both answer orders\n"
            "  judge-accuracy  how often a judge prefers the chosen answer of labelled pairs\n"
            "  constraints  verifiable-instruction accuracy on held-out prompts, against a baseline (McNemar)\n");
    if (!help && argc >= 2) fprintf(stderr, "\nstrap: error: unknown eval kind '%s'\n", argv[1]);
    return help ? 0 : 2;
}
