// test_constraint_repair.c: every edit of selfplay/constraint_repair.h on a failing answer gives
// the expected text and passes the checker; failures without an edit, edits that cannot
// help and conflicting edits give NULL; answers that pass stay as they are.
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../selfplay/constraint_repair.h"
#include "../selfplay/constraints.h"
#include "test.h"

// Repairs `answer` under the constraints (a JSON array text); expect NULL for "no repair".
static void expect_repair(const char *constraints, const char *request, const char *answer, const char *other,
                          const char *expect, const char *expect_edits) {
    json_error_t err;
    json_t *cons = json_loads(constraints, 0, &err);
    if (!cons) {
        EXPECT(0, "bad JSON in the test: %s", err.text);
        return;
    }
    json_t *edits = json_array();
    char *got = constraints_repair(cons, request, answer, other, edits);
    if (!expect) {
        EXPECT(got == NULL, "%s: expected no repair of [%s], got [%s]", constraints, answer, got ? got : "");
    } else {
        EXPECT(got && strcmp(got, expect) == 0, "%s: [%s] repaired to [%s], expected [%s]", constraints, answer,
               got ? got : "(null)", expect);
        int passed = -1;
        if (got) json_decref(constraints_check(cons, request, got, &passed));
        EXPECT(passed == (int)json_array_size(cons), "%s: the repair passes %d of %zu", constraints, passed,
               json_array_size(cons));
        char *names = json_dumps(edits, JSON_COMPACT);
        EXPECT(strcmp(names, expect_edits) == 0, "%s: edits %s, expected %s", constraints, names, expect_edits);
        free(names);
    }
    free(got);
    json_decref(edits);
    json_decref(cons);
}

static void test_single_edits(void) {
    expect_repair("[{\"kind\":\"lowercase\"}]", NULL, "Hello World, ÉLAN!\n", NULL, "hello world, élan!",
                  "[\"lowercase\"]");
    expect_repair("[{\"kind\":\"uppercase\"}]", NULL, "  Über ok", NULL, "ÜBER OK", "[\"uppercase\"]");
    expect_repair("[{\"kind\":\"no_commas\"}]", NULL, "One, two，three 1,000.", NULL, "One twothree 1000.",
                  "[\"no_commas\"]");
    expect_repair("[{\"kind\":\"sentence_count\",\"relation\":\"at most\",\"n\":2}]", NULL, "A b. C d! E f? G h.", NULL,
                  "A b. C d!", "[\"sentence_count\"]");
    expect_repair("[{\"kind\":\"word_count\",\"relation\":\"at most\",\"n\":5}]", NULL,
                  "One two three. Four five six. Seven.", NULL, "One two three.", "[\"word_count\"]");
    expect_repair("[{\"kind\":\"start_with\",\"phrase\":\"In short,\"}]", NULL, "\n  it works.  ", NULL,
                  "In short, it works.", "[\"start_with\"]");
    expect_repair("[{\"kind\":\"end_with\",\"phrase\":\"Any questions?\"}]", NULL, "It works.", NULL,
                  "It works. Any questions?", "[\"end_with\"]");
    expect_repair("[{\"kind\":\"repeat_request\"}]", "Plan a trip. ", "Go north.", NULL, "Plan a trip.\n\nGo north.",
                  "[\"repeat_request\"]");
    expect_repair("[{\"kind\":\"title\"}]", NULL, "## The best day: a story\nIt was sunny.", NULL,
                  "<<The best day>>\n\n## The best day: a story\nIt was sunny.", "[\"title\"]");
    expect_repair("[{\"kind\":\"quotes\"}]", NULL, "Say \"hi\".\n", NULL, "\"Say \"hi\".\"", "[\"quotes\"]");
    expect_repair("[{\"kind\":\"json_format\"}]", NULL, "Line \"one\"\nline two", NULL,
                  "{\n  \"response\": \"Line \\\"one\\\"\\nline two\"\n}", "[\"json_format\"]");
    expect_repair("[{\"kind\":\"two_responses\"}]", NULL, "First.", " Second. ", "First.\n\n******\n\nSecond.",
                  "[\"two_responses\"]");
}

static void test_combined_edits(void) {
    // cut, then the phrase first, then letter case over all of it (phrases match in any case)
    expect_repair("[{\"kind\":\"sentence_count\",\"relation\":\"at most\",\"n\":1},{\"kind\":\"lowercase\"},"
                  "{\"kind\":\"start_with\",\"phrase\":\"Dear Sam,\"}]",
                  NULL, "Hi There. More Text.", NULL, "dear sam, hi there.",
                  "[\"sentence_count\",\"start_with\",\"lowercase\"]");
    // the request goes before the title
    expect_repair("[{\"kind\":\"title\"},{\"kind\":\"repeat_request\"},{\"kind\":\"uppercase\"}]", "Name a fruit.",
                  "Apple is one.", NULL, "NAME A FRUIT.\n\n<<APPLE IS ONE>>\n\nAPPLE IS ONE.",
                  "[\"title\",\"repeat_request\",\"uppercase\"]");
    // only the failed constraints are edited
    expect_repair("[{\"kind\":\"no_commas\"},{\"kind\":\"lowercase\"}]", NULL, "No Commas here", NULL, "no commas here",
                  "[\"lowercase\"]");
}

static void test_no_repair(void) {
    // a failed family without an edit
    expect_repair("[{\"kind\":\"bullet_count\",\"n\":2}]", NULL, "No bullets.", NULL, NULL, NULL);
    expect_repair("[{\"kind\":\"lowercase\"},{\"kind\":\"include_keywords\",\"keywords\":[\"river\"]}]", NULL,
                  "Big Sea", NULL, NULL, NULL);
    // at least: cutting cannot add words
    expect_repair("[{\"kind\":\"word_count\",\"relation\":\"at least\",\"n\":50}]", NULL, "Short.", NULL, NULL, NULL);
    // the first sentence alone is already too long
    expect_repair("[{\"kind\":\"word_count\",\"relation\":\"at most\",\"n\":2}]", NULL, "One two three. Four.", NULL,
                  NULL, NULL);
    // two responses need another, different answer
    expect_repair("[{\"kind\":\"two_responses\"}]", NULL, "Only one.", NULL, NULL, NULL);
    expect_repair("[{\"kind\":\"two_responses\"}]", NULL, "Same.", "Same.\n", NULL, NULL);
    // repeat the request needs the request
    expect_repair("[{\"kind\":\"repeat_request\"}]", NULL, "Answer.", NULL, NULL, NULL);
    // an edit that breaks another constraint: cutting to one sentence loses the keyword
    expect_repair("[{\"kind\":\"sentence_count\",\"relation\":\"at most\",\"n\":1},"
                  "{\"kind\":\"include_keywords\",\"keywords\":[\"river\"]}]",
                  NULL, "A lake. A river.", NULL, NULL, NULL);
    // malformed constraints and empty answers are never repaired
    expect_repair("[{\"kind\":\"shouting\"}]", NULL, "x", NULL, NULL, NULL);
    expect_repair("[{\"kind\":\"quotes\"}]", NULL, "   ", NULL, NULL, NULL);
}

static void test_passing_answer_unchanged(void) {
    expect_repair("[{\"kind\":\"lowercase\"},{\"kind\":\"no_commas\"}]", NULL, "  fine as it is  \n", NULL,
                  "  fine as it is  \n", "[]");
    expect_repair("[]", NULL, "Anything", NULL, "Anything", "[]");
}

int main(void) {
    RUN(test_single_edits);
    RUN(test_combined_edits);
    RUN(test_no_repair);
    RUN(test_passing_answer_unchanged);
    return test_summary();
}
