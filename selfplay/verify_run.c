// verify_run.c: see verify_run.h.
#include "verify_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/rng.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "constraint_repair.h"
#include "constraints.h"

void verify_options_default(VerifyOptions *o) {
    memset(o, 0, sizeof *o);
    o->text_field = "text";
    o->constraints = 3;
}

// strap verify --in answers --out scored [--repair]
static int verify_answers(const char *in, const char *out, const char *text_field, const char *report_path,
                          int repair) {
    const char *const *kinds = constraints_known_kinds();
    int n_kinds = 0;
    while (kinds[n_kinds]) n_kinds++;
    int *kind_n = xcalloc((size_t)n_kinds, sizeof(int)), *kind_pass = xcalloc((size_t)n_kinds, sizeof(int));
    JsonlReader *r = jsonl_open(in);
    RecordsWriter *w = records_writer_open(out);
    long records = 0, all_pass = 0, instructions = 0, passed = 0, malformed = 0, repaired = 0;
    char *prev_id = NULL, *prev_text = NULL; // --repair: the last answer, another answer to the same prompt
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        long line = jsonl_line(r);
        json_t *cons = json_object_get(obj, "constraints"), *text = json_object_get(obj, text_field);
        if (!json_is_array(cons))
            fail("%s:%ld: no \"constraints\" list: the prompts must carry constraints (made by strap synth or strap "
                 "verify with constraints)",
                 in, line);
        if (!json_is_string(text))
            fail("%s:%ld: the answer field \"%s\" is missing or not a string (name the field that holds the answer)",
                 in, line, text_field);
        json_t *base = json_object_get(obj, "base_prompt");
        if (!json_is_string(base)) base = json_object_get(obj, "prompt");
        int n_pass = 0, total = (int)json_array_size(cons);
        json_t *res = constraints_check(cons, json_string_value(base), json_string_value(text), &n_pass);
        if (repair) {
            const char *id = json_string_value(json_object_get(obj, "prompt_id"));
            const char *answer = json_string_value(text);
            int same_prompt = id && prev_id && strcmp(id, prev_id) == 0;
            char *keep = xstrdup(answer);
            if (n_pass < total) {
                json_t *edits = json_array();
                char *fixed =
                    constraints_repair(cons, json_string_value(base), answer, same_prompt ? prev_text : NULL, edits);
                if (fixed) {
                    json_object_set_new(obj, "original_text", json_string(answer));
                    json_object_set_new(obj, text_field, json_string(fixed));
                    json_object_set(obj, "repaired", edits);
                    json_decref(res);
                    res = constraints_check(cons, json_string_value(base), fixed, &n_pass);
                    text = json_object_get(obj, text_field);
                    repaired++;
                    free(fixed);
                }
                json_decref(edits);
            }
            free(prev_id), free(prev_text);
            prev_id = id ? xstrdup(id) : NULL, prev_text = keep;
        }
        size_t i;
        json_t *v;
        json_array_foreach(res, i, v) {
            malformed += json_object_get(v, "error") != NULL;
            const char *kind = json_string_value(json_object_get(v, "kind"));
            for (int k = 0; k < n_kinds; k++)
                if (strcmp(kinds[k], kind) == 0) kind_n[k]++, kind_pass[k] += json_is_true(json_object_get(v, "pass"));
        }
        json_object_set_new(obj, "verify", res);
        json_object_set_new(obj, "verify_pass", json_integer(n_pass));
        json_object_set_new(obj, "verify_total", json_integer(total));
        json_object_set_new(obj, "verify_score", json_real(total ? (double)n_pass / total : 1.0));
        json_object_set_new(obj, "verify_all", json_boolean(n_pass == total));
        records_writer_write(w, obj);
        json_decref(obj);
        records++, all_pass += n_pass == total, instructions += total, passed += n_pass;
    }
    jsonl_close(r);
    free(prev_id), free(prev_text);
    if (records == 0) fail("%s holds no answers", in);
    records_writer_close(w);
    json_t *fam = json_object();
    for (int k = 0; k < n_kinds; k++)
        if (kind_n[k])
            json_object_set_new(fam, kinds[k],
                                json_pack("{s:i, s:i, s:f}", "n", kind_n[k], "passed", kind_pass[k], "accuracy",
                                          (double)kind_pass[k] / kind_n[k]));
    json_t *rep =
        json_pack("{s:i, s:i, s:f, s:i, s:i, s:f, s:i, s:o}", "records", (int)records, "all_passed", (int)all_pass,
                  "prompt_accuracy", (double)all_pass / records, "instructions", (int)instructions,
                  "instructions_passed", (int)passed, "instruction_accuracy",
                  instructions ? (double)passed / instructions : 1.0, "malformed", (int)malformed, "families", fam);
    if (repair) json_object_set_new(rep, "repaired", json_integer(repaired));
    printf("verify: %ld answers, %ld pass all their constraints (%.1f%%%s), %ld of %ld constraints pass (%.1f%%)%s\n",
           records, all_pass, 100.0 * all_pass / records, repair ? ", repaired ones included" : "", passed,
           instructions, instructions ? 100.0 * passed / instructions : 100.0,
           malformed ? " (some constraints malformed: see \"error\" in the records)" : "");
    if (repair) printf("verify: %ld answers repaired (selfplay/constraint_repair.h)\n", repaired);
    if (report_path) json_write_atomic(report_path, rep, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    json_decref(rep);
    free(kind_n), free(kind_pass);
    return 0;
}

// strap verify --prompts-from requests --out prompts
static int make_prompts(const char *from, const char *out, const char *catalog_path, int k, int count, int seed,
                        const char *families) {
    char *path = catalog_path ? strdup(catalog_path) : path_near_exe("data/synth/constraints.json");
    ConstraintCatalog *cat = constraints_load(path);
    const char *names[64];
    int n_names = 0;
    char *list = families ? strdup(families) : NULL;
    for (char *save = NULL, *f = list ? strtok_r(list, ",", &save) : NULL; f; f = strtok_r(NULL, ",", &save)) {
        int known = 0;
        for (int i = 0; i < constraints_family_count(cat); i++)
            known |= strcmp(constraints_family_name(cat, i), f) == 0;
        if (!known) fail("the family \"%s\" asked for is not one of %s", f, path);
        if (n_names < 64) names[n_names++] = f;
    }
    JsonlReader *r = jsonl_open(from);
    int n = 0, cap = 64;
    json_t **base = xmalloc((size_t)cap * sizeof(json_t *)), *obj;
    while (jsonl_next(r, &obj)) {
        if (!json_is_string(json_object_get(obj, "prompt")))
            fail("%s:%ld: a request needs a string field \"prompt\"", from, jsonl_line(r));
        if (n == cap) base = xrealloc(base, (size_t)(cap *= 2) * sizeof(json_t *));
        base[n++] = obj;
    }
    jsonl_close(r);
    if (n == 0) fail("%s holds no requests", from);
    if (count <= 0) count = n;
    RecordsWriter *w = records_writer_open(out);
    for (int i = 0; i < count; i++) {
        json_t *b = base[i % n], *id = json_object_get(b, "id");
        Rng rng; // prompt i's own stream: the same prompts whatever --count
        rng_seed(&rng, ((uint64_t)seed * 1000003u + (uint64_t)i) ^ 0x56455249ull);
        int kk = 1 + (int)(rng_u64(&rng) % (uint64_t)k);
        json_t *cons = constraints_draw(cat, kk, &rng, n_names ? names : NULL, n_names);
        const char *request = json_string_value(json_object_get(b, "prompt"));
        char *prompt = constraints_prompt(request, cons), idbuf[160];
        if (json_is_string(id))
            snprintf(idbuf, sizeof idbuf, "%s-c%d", json_string_value(id), i / n);
        else
            snprintf(idbuf, sizeof idbuf, "line%d-c%d", i % n + 1, i / n);
        json_t *rec = json_pack("{s:s, s:s, s:s, s:o, s:s, s:i}", "id", idbuf, "prompt", prompt, "base_prompt", request,
                                "constraints", cons, "source", "constraints", "seed", seed);
        json_t *task = json_object_get(b, "task");
        if (task) json_object_set(rec, "task", task);
        records_writer_write(w, rec);
        json_decref(rec);
        free(prompt);
    }
    records_writer_close(w);
    printf("verify: %d prompts with 1-%d constraints from %d requests of %s -> %s\n", count, k, n, from, out);
    for (int i = 0; i < n; i++) json_decref(base[i]);
    free(base), free(list), free(path);
    constraints_free(cat);
    return 0;
}

int verify_run(const VerifyOptions *o) {
    if (o->prompts_from)
        return make_prompts(o->prompts_from, o->out, o->catalog, o->constraints, o->count, o->seed, o->families);
    return verify_answers(o->in, o->out, o->text_field, o->report, o->repair);
}
