// test_synth.c: the model-free parts of prompt synthesis: the shipped catalogue, the
// instruction text, extraction of the request from messy model output, the filters and
// deduplication, the brainstorm JSON parser, and errors on a broken catalogue.
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/io.h"
#include "../selfplay/synth.h"
#include "test.h"

static void test_shipped_catalogue(void) {
    SynthCatalog c;
    synth_catalog_load(&c, "data/synth");
    EXPECT(c.n_roles >= 200, "%d roles", c.n_roles);
    EXPECT(c.n_tasks >= 50, "%d task types", c.n_tasks);
    EXPECT(c.n_attributes >= 4, "%d attributes", c.n_attributes);
    int has_nurse = 0, has_math = 0;
    for (int i = 0; i < c.n_roles; i++) has_nurse |= strcmp(c.roles[i], "a nurse on night shift") == 0;
    for (int i = 0; i < c.n_tasks; i++) {
        has_math |= strcmp(c.task_names[i], "math word problem") == 0;
        EXPECT(strlen(c.task_descriptions[i]) > 10, "task %s has no description", c.task_names[i]);
    }
    EXPECT(has_nurse && has_math, "the catalogue lost its examples");
    // draws are deterministic and cover the catalogue
    Rng a, b;
    rng_seed(&a, 7), rng_seed(&b, 7);
    int *seen = calloc((size_t)c.n_tasks, sizeof(int)), distinct = 0;
    for (int i = 0; i < 2000; i++) {
        SynthSpec x, y;
        synth_draw(&c, &a, &x), synth_draw(&c, &b, &y);
        EXPECT(x.role == y.role && x.task == y.task, "draw %d differs for the same seed", i);
        for (int k = 0; k < c.n_tasks; k++)
            if (x.task == c.task_names[k] && !seen[k]++) distinct++;
    }
    EXPECT(distinct == c.n_tasks, "2000 draws reached %d of %d task types", distinct, c.n_tasks);
    free(seen);
    synth_catalog_free(&c);
}

static void test_instruction(void) {
    SynthCatalog c;
    synth_catalog_load(&c, "data/synth");
    Rng r;
    rng_seed(&r, 3);
    SynthSpec s;
    synth_draw(&c, &r, &s);
    const char *ex[2] = {"How far is the moon?", "Fix this loop: for i in range(10) print(i)"};
    char *text = synth_instruction(&c, &s, ex, 2);
    EXPECT(strstr(text, s.role) && strstr(text, s.task) && strstr(text, s.description), "%s", text);
    EXPECT(strstr(text, "Request 1: How far is the moon?") && strstr(text, "Request 2: Fix this loop"), "%s", text);
    for (int i = 0; i < c.n_attributes; i++) EXPECT(strstr(text, s.attribute_values[i]), "attribute %d missing", i);
    free(text);
    json_t *attrs = synth_spec_attributes(&c, &s);
    EXPECT((int)json_object_size(attrs) == c.n_attributes, "attributes object");
    json_decref(attrs);
    text = synth_brainstorm_instruction("a nurse on night shift", 5);
    EXPECT(strstr(text, "5 different tasks") && strstr(text, "a nurse on night shift") && strstr(text, "JSON list"),
           "%s", text);
    free(text);
    synth_catalog_free(&c);
}

static void test_extract(void) {
    struct {
        const char *in, *want;
    } cases[] = {
        {"  How many litres fit in a 2 m cube?  ", "How many litres fit in a 2 m cube?"},
        {"Request 4: Write a haiku about rain.", "Write a haiku about rain."},
        {"New request: Write a haiku about rain.", "Write a haiku about rain."},
        {"Here is a new request:\nWrite a haiku about rain.", "Write a haiku about rain."},
        {"\"Write a haiku about rain.\"", "Write a haiku about rain."},
        {"Write a haiku about rain.\n\nAnswer: Drops on the window", "Write a haiku about rain."},
        {"Write a haiku about rain.\nRequest 5: Write a limerick.", "Write a haiku about rain."},
        {"Requests for refunds take a week. Why?", "Requests for refunds take a week. Why?"}, // not a label
        {"Line one\nLine two", "Line one\nLine two"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = synth_extract_prompt(cases[i].in);
        EXPECT(strcmp(got, cases[i].want) == 0, "extract(%s) = '%s', want '%s'", cases[i].in, got, cases[i].want);
        free(got);
    }
}

static void test_complete_head(void) {
    char *h = synth_complete_head("Plan my week, please.\n\nSure! Monday: gym. Tuesday: work on the");
    EXPECT(h && strcmp(h, "Plan my week, please.") == 0, "head '%s'", h ? h : "(null)");
    free(h);
    h = synth_complete_head("Plan my week and then\n\nmore text");
    EXPECT(!h, "a first paragraph that stops mid-sentence is not complete");
    free(h);
    h = synth_complete_head("One paragraph only, cut off in the mid");
    EXPECT(!h, "a single paragraph cut off is not complete");
    free(h);
}

static void test_filters(void) {
    EXPECT(synth_is_blacklisted("Describe the image above."), "image");
    EXPECT(synth_is_blacklisted("Please DRAW a cat."), "case-insensitive");
    EXPECT(!synth_is_blacklisted("Imagine a drawer full of socks."), "whole words only");
    EXPECT(synth_is_meta("As an AI language model, I cannot"), "refusal");
    EXPECT(synth_is_meta("Here is a request: do X"), "meta-text");
    EXPECT(!synth_is_meta("How do I store AI-generated images?"), "plain request");

    SynthFilter f;
    synth_filter_build(&f, 4, 30, 0.7, 1);
    char *clean;
    const char *base = "My landlord has not fixed the broken heater in my flat for nine days now. Write a polite "
                       "complaint.";
    EXPECT(synth_filter_check(&f, base, &clean) == SYNTH_KEEP && clean, "a good prompt is kept");
    free(clean);
    EXPECT(synth_filter_check(&f,
                              "My  landlord has NOT fixed the broken heater in my flat for nine days now - write a "
                              "polite complaint!",
                              &clean) == SYNTH_DUPLICATE &&
               !clean,
           "same words, other case and punctuation: duplicate");
    EXPECT(synth_filter_check(&f,
                              "My landlord has not fixed the broken heater in my flat for nine days now. Write a "
                              "polite complaint please.",
                              &clean) == SYNTH_NEAR_DUPLICATE,
           "one word added: near duplicate");
    EXPECT(synth_filter_check(&f, "Fix this.", &clean) == SYNTH_TOO_SHORT, "too short");
    char long_text[2000] = "";
    for (int i = 0; i < 40; i++) snprintf(long_text + strlen(long_text), 40, "word%d ", i);
    EXPECT(synth_filter_check(&f, long_text, &clean) == SYNTH_TOO_LONG, "too long");
    EXPECT(synth_filter_check(&f, "please help please help please help please help please help please help", &clean) ==
               SYNTH_REPETITIVE,
           "repetitive");
    EXPECT(synth_filter_check(&f, "What is shown in the picture of my kitchen?", &clean) == SYNTH_BLACKLISTED,
           "blacklisted");
    EXPECT(synth_filter_check(&f, "I'm sorry, but I cannot write that request.", &clean) == SYNTH_META, "meta");
    EXPECT(synth_filter_check(&f, "   \n ", &clean) == SYNTH_EMPTY, "empty");
    EXPECT(synth_filter_check(&f, "Bad bytes \xff\xfe here in this prompt", &clean) == SYNTH_INVALID_UTF8, "bad UTF-8");
    EXPECT(synth_filter_check(&f, "Plan a three day trip to Lisbon for two students on a small budget.", &clean) ==
               SYNTH_KEEP,
           "an unrelated prompt is kept");
    free(clean);
    synth_filter_free(&f);
    EXPECT(strcmp(synth_reason_name(SYNTH_NEAR_DUPLICATE), "near_duplicate") == 0, "reason names");
}

static void test_idea_list(void) {
    json_t *l = synth_parse_idea_list("Sure! Here you go:\n[\"Plan night meals\", \"Explain a lab value\"]\nEnjoy.");
    EXPECT(l && json_array_size(l) == 2, "a list inside chatter parses");
    json_decref(l);
    const char *bad[] = {"no list here",      "[1, 2, 3]", "[\"ok\", 5]",       "[]",
                         "[\"unterminated\"", "[\"\"]",    "{\"tasks\": \"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = synth_parse_idea_list(bad[i]);
        EXPECT(!l, "'%s' must be rejected", bad[i]);
        json_decref(l);
    }
}

static char tmpdir[64];

static void write_text(const char *name, const char *text) {
    char *p = path_join(tmpdir, name);
    write_file_atomic(p, text, strlen(text));
    free(p);
}

static void load_catalogue(const char *dir) {
    SynthCatalog c;
    synth_catalog_load(&c, dir);
}

static void test_bad_catalogue(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_synth_XXXXXX");
    if (!mkdtemp(tmpdir)) return;
    write_text("roles.txt", "# roles\na nurse\na pilot\n");
    write_text("tasks.txt", "poem | a short poem\nemail without a bar\n");
    write_text("attributes.json", "{\"difficulty\": [\"easy\"]}");
    expect_failure_exit(load_catalogue, tmpdir, "tasks.txt:2", "'|'", "task line without a bar");
    write_text("tasks.txt", "poem | a short poem\n");
    write_text("roles.txt", "a nurse\na pilot\na nurse\n");
    expect_failure_exit(load_catalogue, tmpdir, "roles.txt:3", "already listed on line 1", "duplicate role");
    write_text("roles.txt", "a nurse\n");
    write_text("attributes.json", "{\"difficulty\": []}");
    expect_failure_exit(load_catalogue, tmpdir, "attributes.json", "non-empty list", "empty attribute");
    write_text("attributes.json", "{\"difficulty\": [\"easy\"");
    expect_failure_exit(load_catalogue, tmpdir, "attributes.json:1", NULL, "bad JSON");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void) {
    RUN(test_shipped_catalogue);
    RUN(test_instruction);
    RUN(test_extract);
    RUN(test_complete_head);
    RUN(test_filters);
    RUN(test_idea_list);
    RUN(test_bad_catalogue);
    return test_summary();
}
