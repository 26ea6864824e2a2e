// cmd_judge.c: strap judge: the model scores answers with the additive 5-point rubric.
//   --method text:    sample the judgement --samples times, parse the last "Score: N" of
//                     each, average the parsed ones (unparseable ones are missing, not 0);
//   --method logprob: one forward to the position after "Score: " in the assistant's turn;
//                     score = sum_k p(k) k with p renormalised over the tokens "0".."5".
// Under mpirun answer i is rank i % world's (dist/dist_records.h); judgement seeds depend
// on the answer's place in the file, so the output is the same on any number of ranks.
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/io.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "../data/tokenizer.h"
#include "../selfplay/judge.h"
#include "../base/check.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../base/progress.h"
#include "args.h"
#include "commands.h"

// The records of a .jsonl(.zst) file (a quick first pass, for the progress total).
static int64_t count_records(const char *path) {
    JsonlReader *r = jsonl_open(path);
    const char *line;
    size_t len;
    int64_t n = 0;
    while (jsonl_next_line(r, &line, &len)) n++;
    jsonl_close(r);
    return n;
}

int cmd_judge(int argc, char **argv) {
    const char *model_dir = NULL, *in = NULL, *out = NULL, *method = "text", *template_path = NULL, *device = "auto";
    int samples = 3, max_new = 256, seed = 0, threads = 0, batch = 8;
    float temperature = 0.7f;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "the judge (with tokenizer.json) (required)", NULL},
        {"--in", FLAG_STRING, &in, "F", "answers .jsonl(.zst): prompt, text (strap gen --prompts output) (required)", NULL},
        {"--out", FLAG_STRING, &out, "F", "the same records with score, scores, judgements, judge (required)", NULL},
        {"--method", FLAG_STRING, &method, "M", "text or logprob", NULL},
        {"--samples", FLAG_INT, &samples, "K", "text: judgements sampled per answer", NULL},
        {"--template", FLAG_STRING, &template_path, "FILE", "a judge prompt with {prompt} and {response} (default: the 5-point rubric)", NULL},
        {"--temperature", FLAG_FLOAT, &temperature, "T", "text: sampling temperature", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "text: tokens per judgement", NULL},
        {"--batch", FLAG_INT, &batch, "B", "text: judgements generated together", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap judge --model DIR --in answers.jsonl.zst --out judged.jsonl.zst [--method text|logprob]",
                   "LLM-as-a-judge with the additive 5-point rubric: adds score (mean of the parsed "
                   "judgements, null if none parsed), scores, judgements and judge to every record.",
                   flags, 0, NULL, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    args_require(&cmd, "--in", in != NULL);
    args_require(&cmd, "--out", out != NULL);
    int logprob = strcmp(method, "logprob") == 0;
    if (!logprob && strcmp(method, "text") != 0) args_error(&cmd, "--method must be text or logprob");
    if (samples < 1 || max_new < 1 || batch < 1) args_error(&cmd, "--samples, --max-new and --batch must be positive");
    char *tpl = template_path ? read_file(template_path, NULL) : NULL;

    Model m;
    model_load(&m, model_dir, dist_backend_select(device, threads)); // a rank's share of the cores, its own GPU
    ChatIO io;
    chat_io_open(&io, model_dir, &m.config, NULL, "the judge");
    if (!io.tok) fail("%s has no tokenizer.json: the judge needs a model with a text tokenizer", model_dir);
    Tokenizer *tok = io.tok;
    int digit_ids[6];
    if (logprob)
        for (int k = 0; k < 6; k++) {
            char d[2] = {(char)('0' + k), 0};
            int32_t *ids = NULL;
            size_t n = 0, cap = 0;
            tokenizer_encode(tok, d, 1, 0, &ids, &n, &cap);
            if (n != 1) fail("--method logprob needs each digit 0-5 to be one token; '%s' is %zu tokens", d, n);
            digit_ids[k] = ids[0];
            free(ids);
        }
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    o.sample.temperature = temperature;
    o.eos_ids = io.stop, o.n_eos = io.n_stop;
    Generator g;
    // text judgements: a cache for a judge prompt plus its verdict (not the model's whole
    // context: 8192 positions x batch 8 of SmolLM2 would be 3 GB); logprob needs none
    int capacity = m.config.max_seq < 4096 ? m.config.max_seq : 4096;
    generator_build(&g, &m, logprob ? 1 : batch, logprob ? 1 : capacity);
    int **outs = xmalloc((size_t)batch * sizeof(int *)), *n_out = xmalloc((size_t)batch * sizeof(int));
    for (int b = 0; b < batch; b++) outs[b] = xmalloc((size_t)max_new * sizeof(int));
    FinishReason *fin = xmalloc((size_t)batch * sizeof(FinishReason));
    uint64_t *seeds = xmalloc((size_t)batch * sizeof(uint64_t));
    const int **prompts = xmalloc((size_t)batch * sizeof(int *));
    int *lens = xmalloc((size_t)batch * sizeof(int));
    float *logits = xmalloc((size_t)m.config.vocab_size * sizeof(float));

    JsonlReader *r = jsonl_open(in);
    DistRecords w;
    dist_records_open(&w, out);
    json_t *rec;
    long n_records = 0, n_missing = 0; // every answer in the file; this rank's without a score
    int lead = comm_rank() == 0;
    Progress prog;
    if (lead) progress_start(&prog, "judge", count_records(in)); // in answers: a small file is read at once
    while (jsonl_next(r, &rec)) {
        const char *prompt = json_string_value(json_object_get(rec, "prompt")),
                   *text = json_string_value(json_object_get(rec, "text"));
        if (!prompt || !text) fail("%s:%ld: an answer record needs prompt and text", in, jsonl_line(r));
        if (!dist_records_mine(n_records)) { // another rank's answer
            n_records++;
            json_decref(rec);
            continue;
        }
        char *jp = judge_build_prompt(tpl, prompt, text);
        size_t n;
        int32_t *ids = chat_io_encode(&io, NULL, jp, &n); // the judge's default system message, BOS in plain
        size_t cap = n;
        json_t *scores = json_array(), *judgements = json_array();
        double sum = 0;
        int parsed = 0;
        if (logprob) { // the assistant's turn starts with "Score: "
            tokenizer_encode(tok, "Score: ", 7, 0, &ids, &n, &cap);
            if ((int)n > m.config.max_seq) fail("%s:%ld: the judge prompt has %zu tokens, more than the context", in, jsonl_line(r), n);
            model_forward(&m, (const int *)ids, NULL, 1, (int)n);
            model_logits_rows(&m, (int)n - 1, 1, logits); // the score is read at the last position alone
            const float *last = logits;
            double mx = -INFINITY, z = 0, e = 0;
            for (int k = 0; k < 6; k++) mx = fmax(mx, last[digit_ids[k]]);
            for (int k = 0; k < 6; k++) z += exp(last[digit_ids[k]] - mx);
            json_t *probs = json_array();
            for (int k = 0; k < 6; k++) {
                double p = exp(last[digit_ids[k]] - mx) / z;
                e += p * k;
                json_array_append_new(probs, json_real(p));
            }
            json_object_set_new(rec, "score_probs", probs);
            json_array_append_new(scores, json_real(e));
            sum = e, parsed = 1;
        } else {
            if ((int)n + max_new > g.capacity) fail("%s:%ld: the judge prompt has %zu tokens; with --max-new %d it does not fit the context (%d)", in, jsonl_line(r), n, max_new, g.capacity);
            for (int s0 = 0; s0 < samples; s0 += batch) {
                int nb = samples - s0 < batch ? samples - s0 : batch;
                for (int b = 0; b < nb; b++) {
                    prompts[b] = (const int *)ids, lens[b] = (int)n;
                    seeds[b] = (uint64_t)seed * 1000003u + (uint64_t)n_records * 1009u + (uint64_t)(s0 + b);
                }
                o.seeds = seeds, o.max_new = max_new;
                generate(&g, prompts, lens, nb, &o, outs, n_out, fin, NULL, NULL);
                for (int b = 0; b < nb; b++) {
                    size_t jl;
                    char *jt = chat_io_decode(&io, outs[b], n_out[b], fin[b], &jl);
                    int score = judge_parse_score(jt);
                    json_array_append_new(scores, score >= 0 ? json_integer(score) : json_null());
                    json_t *jtext = json_stringn(jt, jl); // NULL if the bytes are not UTF-8
                    json_array_append_new(judgements, jtext ? jtext : json_string("(not valid UTF-8)"));
                    if (score >= 0) sum += score, parsed++;
                    free(jt);
                }
            }
            json_object_set_new(rec, "judgements", judgements);
            judgements = NULL;
        }
        if (judgements) json_decref(judgements);
        json_object_set_new(rec, "score", parsed ? json_real(sum / parsed) : json_null());
        json_object_set_new(rec, "scores", scores);
        json_object_set_new(rec, "judge", json_string(model_dir));
        json_object_set_new(rec, "judge_method", json_string(method));
        dist_records_put(&w, rec);
        dist_records_end_input(&w);
        n_missing += !parsed;
        n_records++;
        json_decref(rec);
        free(jp), free(ids);
        if (lead) progress_update(&prog, n_records, NULL);
    }
    if (lead) progress_finish(&prog, NULL);
    jsonl_close(r);
    if (n_records == 0) fail("%s holds no answers", in);
    dist_records_close(&w);
    double missing = (double)n_missing;
    dist_sum(&missing, 1);
    if (lead)
        printf("judged %ld answers (%s) into %s; %.0f without a parseable score\n", n_records, method, out, missing);
    for (int b = 0; b < batch; b++) free(outs[b]);
    free(outs), free(n_out), free(fin), free(seeds), free(prompts), free(lens), free(logits), free(tpl);
    generator_free(&g);
    chat_io_close(&io);
    model_free(&m);
    return 0;
}
