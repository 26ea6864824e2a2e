// test_constraints.c: every constraint family checked both ways on hand-written answers
// (with the edge cases: unicode, markdown, trailing whitespace, empty answers), malformed
// constraints, the shipped catalogue, deterministic and conflict-free draws, and the
// catalogue loader's errors.
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../selfplay/constraints.h"
#include "test.h"

// One case: a constraint (JSON text), an answer, the request, and the expected verdict.
typedef struct {
    const char *constraint, *answer, *request;
    int expect; // 1 pass, 0 fail, -1 malformed
} Case;

static int run_cases(const Case *cases, int n, const char *family) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        json_error_t err;
        json_t *c = json_loads(cases[i].constraint, 0, &err);
        if (!c) {
            EXPECT(0, "%s case %d: bad JSON in the test: %s", family, i, err.text);
            continue;
        }
        char detail[160];
        int r = constraint_check_one(c, cases[i].request, cases[i].answer, detail, sizeof detail);
        EXPECT(r == cases[i].expect, "%s case %d: got %d, expected %d (%s) for answer [%s]", family, i, r,
               cases[i].expect, detail, cases[i].answer);
        bad += r != cases[i].expect;
        json_decref(c);
    }
    return bad;
}

#define CASES(family, ...)                                                               \
    do {                                                                                 \
        static const Case cs[] = {__VA_ARGS__};                                          \
        run_cases(cs, (int)(sizeof cs / sizeof cs[0]), family);                          \
        for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {                          \
            seen_pass |= cs[k].expect == 1, seen_fail |= cs[k].expect == 0;              \
        }                                                                                \
        EXPECT(seen_pass &&seen_fail, "%s: needs a passing and a failing case", family); \
        seen_pass = seen_fail = 0;                                                       \
        tested[n_tested++] = family;                                                     \
    } while (0)

static const char *tested[64];
static int n_tested = 0, seen_pass = 0, seen_fail = 0;

static void test_case_families(void) {
    CASES("lowercase", {"{\"kind\":\"lowercase\"}", "all small letters, 42 digits ok.\n", NULL, 1},
          {"{\"kind\":\"lowercase\"}", "élan vital über alles", NULL, 1},
          {"{\"kind\":\"lowercase\"}", "one Capital", NULL, 0}, {"{\"kind\":\"lowercase\"}", "ÉLAN", NULL, 0},
          {"{\"kind\":\"lowercase\"}", "привет Мир", NULL, 0}, {"{\"kind\":\"lowercase\"}", "", NULL, 0},
          {"{\"kind\":\"lowercase\"}", "123 ...", NULL, 0});
    CASES("uppercase", {"{\"kind\":\"uppercase\"}", "ALL CAPS, 2024! ÜBER   \n\n", NULL, 1},
          {"{\"kind\":\"uppercase\"}", "ALL CAPS but one word", NULL, 0},
          {"{\"kind\":\"uppercase\"}", "ПРИВЕТ МИР", NULL, 1}, {"{\"kind\":\"uppercase\"}", "  \n", NULL, 0});
}

static void test_count_families(void) {
    CASES("word_count",
          {"{\"kind\":\"word_count\",\"relation\":\"at most\",\"n\":5}", "Don't stop: well-known words, 42.", NULL, 1},
          {"{\"kind\":\"word_count\",\"relation\":\"at most\",\"n\":4}", "Don't stop: well-known words, 42.", NULL, 0},
          {"{\"kind\":\"word_count\",\"relation\":\"at least\",\"n\":3}", "**bold** - word * item", NULL, 1},
          {"{\"kind\":\"word_count\",\"relation\":\"at least\",\"n\":4}", "**bold** - word * item", NULL, 0},
          {"{\"kind\":\"word_count\",\"relation\":\"at least\",\"n\":3}", "日本語 です ね", NULL, 1},
          {"{\"kind\":\"word_count\",\"relation\":\"about\",\"n\":3}", "one two three", NULL, -1},
          {"{\"kind\":\"word_count\",\"relation\":\"at most\"}", "one", NULL, -1});
    CASES("sentence_count",
          {"{\"kind\":\"sentence_count\",\"relation\":\"at most\",\"n\":2}", "First one. Second one!", NULL, 1},
          {"{\"kind\":\"sentence_count\",\"relation\":\"at most\",\"n\":2}", "One. Two? Three!!!", NULL, 0},
          {"{\"kind\":\"sentence_count\",\"relation\":\"at least\",\"n\":3}", "Pi is 3.14 today. It is. And a last one",
           NULL, 1},
          {"{\"kind\":\"sentence_count\",\"relation\":\"at least\",\"n\":2}", "Only 3.14 and 2.5 in one sentence.",
           NULL, 0},
          {"{\"kind\":\"sentence_count\",\"relation\":\"at least\",\"n\":1}", "...", NULL, 0});
    CASES("paragraph_count",
          {"{\"kind\":\"paragraph_count\",\"n\":2}", "First para\nstill first.\n\n  \t\nSecond.\n\n", NULL, 1},
          {"{\"kind\":\"paragraph_count\",\"n\":2}", "One\nblock\nonly", NULL, 0},
          {"{\"kind\":\"paragraph_count\",\"n\":2}", "a\n\nb\n\nc", NULL, 0},
          {"{\"kind\":\"paragraph_count\",\"n\":2}", "\r\na\r\n\r\nb\r\n", NULL, 1});
    CASES("bullet_count", {"{\"kind\":\"bullet_count\",\"n\":3}", "Intro:\n* one\n- two\n  + three\nend", NULL, 1},
          {"{\"kind\":\"bullet_count\",\"n\":3}", "* one\n* two\n*not a bullet*\n**bold**", NULL, 0},
          {"{\"kind\":\"bullet_count\",\"n\":2}", "* one\n* two\n* three", NULL, 0},
          {"{\"kind\":\"bullet_count\",\"n\":1}", "*   \n- real", NULL, 1},
          {"{\"kind\":\"bullet_count\"}", "* one", NULL, -1});
    CASES(
        "numbered_sections",
        {"{\"kind\":\"numbered_sections\",\"marker\":\"SECTION\",\"n\":2}", "SECTION 1\nfoo\n## SECTION 2\nbar", NULL,
         1},
        {"{\"kind\":\"numbered_sections\",\"marker\":\"SECTION\",\"n\":2}", "SECTION 1\nfoo\nSECTION 3\nbar", NULL, 0},
        {"{\"kind\":\"numbered_sections\",\"marker\":\"Part\",\"n\":2}", "Part 1 a\nPart 2 b\nPart 3 c", NULL, 0},
        {"{\"kind\":\"numbered_sections\",\"marker\":\"Part\",\"n\":1}", "A Part 1 inside a line", NULL, 0},
        {"{\"kind\":\"numbered_sections\",\"n\":1}", "SECTION 1", NULL, -1});
    CASES("placeholders", {"{\"kind\":\"placeholders\",\"n\":2}", "Dear [name], meet me at [address].", NULL, 1},
          {"{\"kind\":\"placeholders\",\"n\":2}", "Dear [name], meet me at [ ] or [\nx].", NULL, 0},
          {"{\"kind\":\"placeholders\",\"n\":1}", "no brackets", NULL, 0});
    CASES("highlighted_sections",
          {"{\"kind\":\"highlighted_sections\",\"n\":2}", "This is *one* and **two**.", NULL, 1},
          {"{\"kind\":\"highlighted_sections\",\"n\":2}", "* a bullet\n* another *real*", NULL, 0},
          {"{\"kind\":\"highlighted_sections\",\"n\":1}", "x *  * and * unclosed", NULL, 0},
          {"{\"kind\":\"highlighted_sections\",\"n\":1}", "* bullet with *one highlight*", NULL, 1});
    CASES(
        "capital_word_frequency",
        {"{\"kind\":\"capital_word_frequency\",\"relation\":\"at least\",\"n\":2}", "USE the API and JSON. I A", NULL,
         1},
        {"{\"kind\":\"capital_word_frequency\",\"relation\":\"at least\",\"n\":2}", "Only One Capital WORD.", NULL, 0},
        {"{\"kind\":\"capital_word_frequency\",\"relation\":\"at most\",\"n\":1}", "NO WAY", NULL, 0},
        {"{\"kind\":\"capital_word_frequency\",\"relation\":\"at most\",\"n\":1}", "calm text", NULL, 1});
}

static void test_word_families(void) {
    CASES("include_keywords",
          {"{\"kind\":\"include_keywords\",\"keywords\":[\"plan\",\"Water\"]}", "A PLAN with water.", NULL, 1},
          {"{\"kind\":\"include_keywords\",\"keywords\":[\"plan\"]}", "We planned it.", NULL, 0},
          {"{\"kind\":\"include_keywords\",\"keywords\":[\"plan\"]}", "a plan-b is not the word plan? yes: plan", NULL,
           1},
          {"{\"kind\":\"include_keywords\",\"keywords\":[]}", "plan", NULL, -1});
    CASES("forbidden_words",
          {"{\"kind\":\"forbidden_words\",\"words\":[\"very\",\"good\"]}", "Everything is goodness.", NULL, 1},
          {"{\"kind\":\"forbidden_words\",\"words\":[\"very\"]}", "It is Very hot.", NULL, 0},
          {"{\"kind\":\"forbidden_words\",\"words\":[1]}", "x", NULL, -1});
    CASES("keyword_frequency",
          {"{\"kind\":\"keyword_frequency\",\"keyword\":\"the\",\"relation\":\"at least\",\"n\":3}",
           "The cat, the dog and THE bird.", NULL, 1},
          {"{\"kind\":\"keyword_frequency\",\"keyword\":\"the\",\"relation\":\"at least\",\"n\":3}",
           "The theory there.", NULL, 0},
          {"{\"kind\":\"keyword_frequency\",\"keyword\":\"day\",\"relation\":\"at most\",\"n\":1}", "day by day", NULL,
           0},
          {"{\"kind\":\"keyword_frequency\",\"keyword\":\"day\",\"relation\":\"at most\",\"n\":1}", "daily days", NULL,
           1});
    CASES(
        "letter_frequency",
        {"{\"kind\":\"letter_frequency\",\"letter\":\"z\",\"relation\":\"at least\",\"n\":3}", "Zig zag Zoo", NULL, 1},
        {"{\"kind\":\"letter_frequency\",\"letter\":\"z\",\"relation\":\"at least\",\"n\":4}", "Zig zag Zoo", NULL, 0},
        {"{\"kind\":\"letter_frequency\",\"letter\":\"e\",\"relation\":\"at most\",\"n\":1}", "hello", NULL, 1},
        {"{\"kind\":\"letter_frequency\",\"letter\":\"ee\",\"relation\":\"at most\",\"n\":1}", "hello", NULL, -1});
    CASES("no_commas", {"{\"kind\":\"no_commas\"}", "No commas here; none at all.", NULL, 1},
          {"{\"kind\":\"no_commas\"}", "One, two", NULL, 0}, {"{\"kind\":\"no_commas\"}", "中文，逗号", NULL, 0});
    CASES("language", {"{\"kind\":\"language\",\"language\":\"Russian\"}", "Привет, как дела? OK", NULL, 1},
          {"{\"kind\":\"language\",\"language\":\"Russian\"}", "Hello, how are you? Привет", NULL, 0},
          {"{\"kind\":\"language\",\"language\":\"Japanese\"}", "こんにちは、世界。", NULL, 1},
          {"{\"kind\":\"language\",\"language\":\"Greek\"}", "Καλημέρα κόσμε", NULL, 1},
          {"{\"kind\":\"language\",\"language\":\"Greek\"}", "", NULL, 0},
          {"{\"kind\":\"language\",\"language\":\"Klingon\"}", "x", NULL, -1});
}

static void test_form_families(void) {
    CASES("title", {"{\"kind\":\"title\"}", "<<A Day At Sea>>\nThe text.", NULL, 1},
          {"{\"kind\":\"title\"}", "<< >> and <<broken\ntitle>>", NULL, 0},
          {"{\"kind\":\"title\"}", "No title <here>", NULL, 0});
    CASES("end_with",
          {"{\"kind\":\"end_with\",\"phrase\":\"Any other questions?\"}", "Text.\nAny other questions?  \n\n", NULL, 1},
          {"{\"kind\":\"end_with\",\"phrase\":\"Any other questions?\"}", "Text. any other QUESTIONS?", NULL, 1},
          {"{\"kind\":\"end_with\",\"phrase\":\"Any other questions?\"}", "Any other questions? Bye.", NULL, 0},
          {"{\"kind\":\"end_with\",\"phrase\":\"Any other questions?\"}", "", NULL, 0},
          {"{\"kind\":\"end_with\"}", "x", NULL, -1});
    CASES("start_with", {"{\"kind\":\"start_with\",\"phrase\":\"In short,\"}", "\n  In short, yes.", NULL, 1},
          {"{\"kind\":\"start_with\",\"phrase\":\"In short,\"}", "Well. In short, yes.", NULL, 0});
    CASES("quotes", {"{\"kind\":\"quotes\"}", "  \"The whole answer, quoted.\"\n", NULL, 1},
          {"{\"kind\":\"quotes\"}", "\u201cCurly quotes count.\u201d", NULL, 1},
          {"{\"kind\":\"quotes\"}", "\"Only a start", NULL, 0}, {"{\"kind\":\"quotes\"}", "\"", NULL, 0});
    CASES("json_format", {"{\"kind\":\"json_format\"}", "{\"a\": [1, 2], \"b\": \"x\"}", NULL, 1},
          {"{\"kind\":\"json_format\"}", "```json\n{\"a\": 1}\n```\n", NULL, 1},
          {"{\"kind\":\"json_format\"}", "Here it is: {\"a\": 1}", NULL, 0},
          {"{\"kind\":\"json_format\"}", "\"just a string\"", NULL, 0},
          {"{\"kind\":\"json_format\"}", "{\"a\": 1,}", NULL, 0});
    CASES("postscript", {"{\"kind\":\"postscript\",\"marker\":\"P.S.\"}", "Body.\n\nP.S. Bring a coat.", NULL, 1},
          {"{\"kind\":\"postscript\",\"marker\":\"P.S.\"}", "Body.\n\np.s. lower case is fine", NULL, 1},
          {"{\"kind\":\"postscript\",\"marker\":\"P.S.\"}", "Body. P.S. inline only", NULL, 0},
          {"{\"kind\":\"postscript\",\"marker\":\"P.P.S\"}", "Body.\nP.P.S", NULL, 0});
    CASES("two_responses", {"{\"kind\":\"two_responses\"}", "First answer.\n******\nSecond answer.", NULL, 1},
          {"{\"kind\":\"two_responses\"}", "Same.\n******\nSame.", NULL, 0},
          {"{\"kind\":\"two_responses\"}", "One.\n******\nTwo.\n******\nThree.", NULL, 0},
          {"{\"kind\":\"two_responses\"}", "One.\n******\n   \n", NULL, 0},
          {"{\"kind\":\"two_responses\"}", "One. ****** Two.", NULL, 0});
    CASES("repeat_request", {"{\"kind\":\"repeat_request\"}", "  What is 2+2? It is 4.", "What is 2+2?", 1},
          {"{\"kind\":\"repeat_request\"}", "It is 4. What is 2+2?", "What is 2+2?", 0},
          {"{\"kind\":\"repeat_request\"}", "What is 2+2?", NULL, -1});
}

static void test_every_family_tested(void) {
    const char *const *kinds = constraints_known_kinds();
    int n = 0;
    for (; kinds[n]; n++) {
        int found = 0;
        for (int i = 0; i < n_tested; i++) found |= strcmp(tested[i], kinds[n]) == 0;
        EXPECT(found, "family %s has no test cases", kinds[n]);
    }
    EXPECT(n >= 20, "%d families, at least 20 wanted", n);
}

static void test_check_array(void) {
    json_t *cons = json_loads("[{\"kind\":\"no_commas\"},{\"kind\":\"word_count\",\"relation\":\"at most\",\"n\":3},"
                              "{\"kind\":\"bogus\"}]",
                              0, NULL);
    int n_pass = -1;
    json_t *res = constraints_check(cons, NULL, "two words", &n_pass);
    EXPECT(n_pass == 2 && json_array_size(res) == 3, "passes %d", n_pass);
    EXPECT(json_is_true(json_object_get(json_array_get(res, 0), "pass")), "no_commas should pass");
    json_t *bad = json_array_get(res, 2);
    EXPECT(json_is_false(json_object_get(bad, "pass")) && json_is_string(json_object_get(bad, "error")),
           "an unknown kind is a failed check with an error");
    json_decref(res), json_decref(cons);
    // saying nothing earns nothing: an answer without a word fails even "no commas" and
    // "at most 3 words", and a malformed constraint stays malformed
    const char *empty_ok[] = {"{\"kind\":\"no_commas\"}", "{\"kind\":\"word_count\",\"relation\":\"at most\",\"n\":3}",
                              "{\"kind\":\"forbidden_words\",\"words\":[\"x\"]}",
                              "{\"kind\":\"letter_frequency\",\"letter\":\"a\",\"relation\":\"at most\",\"n\":1}"};
    for (size_t i = 0; i < sizeof empty_ok / sizeof empty_ok[0]; i++) {
        json_t *c = json_loads(empty_ok[i], 0, NULL);
        char detail[160];
        EXPECT(constraint_check_one(c, NULL, " \n* ", detail, sizeof detail) == 0 && strstr(detail, "empty"),
               "%s on an empty answer: %s", empty_ok[i], detail);
        EXPECT(constraint_check_one(c, NULL, "fine", NULL, 0) == 1, "%s on a word", empty_ok[i]);
        json_decref(c);
    }
    json_t *bad_n = json_loads("{\"kind\":\"word_count\",\"relation\":\"at most\"}", 0, NULL);
    EXPECT(constraint_check_one(bad_n, NULL, "", NULL, 0) == -1, "malformed on an empty answer stays malformed");
    json_decref(bad_n);
}

static void test_catalogue_and_draws(void) {
    ConstraintCatalog *c = constraints_load("data/synth/constraints.json");
    EXPECT(constraints_family_count(c) >= 20, "%d families in the catalogue", constraints_family_count(c));
    Rng a, b;
    rng_seed(&a, 11), rng_seed(&b, 11);
    int seen[64] = {0}, clashes = 0, leftover = 0;
    const char *const *kinds = constraints_known_kinds();
    for (int i = 0; i < 3000; i++) {
        int k = 1 + i % 3;
        json_t *x = constraints_draw(c, k, &a, NULL, 0), *y = constraints_draw(c, k, &b, NULL, 0);
        EXPECT(json_equal(x, y), "draw %d differs for the same seed", i);
        EXPECT((int)json_array_size(x) == k, "draw %d: %zu constraints, %d asked", i, json_array_size(x), k);
        size_t p, q;
        json_t *u, *v;
        json_array_foreach(x, p, u) {
            const char *kind = json_string_value(json_object_get(u, "kind"));
            for (int f = 0; kinds[f]; f++) seen[f] += strcmp(kinds[f], kind) == 0;
            leftover += strchr(json_string_value(json_object_get(u, "instruction")), '{') != NULL;
            json_array_foreach(x, q, v) if (q > p) {
                const char *other = json_string_value(json_object_get(v, "kind"));
                clashes += strcmp(kind, other) == 0;
                // contradictory pairs never meet
                clashes += (!strcmp(kind, "lowercase") && !strcmp(other, "uppercase")) ||
                           (!strcmp(kind, "uppercase") && !strcmp(other, "lowercase"));
                clashes += !strcmp(kind, "json_format") || !strcmp(other, "json_format")
                               ? !strcmp(kind, "bullet_count") || !strcmp(other, "bullet_count")
                               : 0;
            }
            // a drawn constraint is well formed: the checker never calls it malformed
            EXPECT(constraint_check_one(u, "the request", "an answer", NULL, 0) >= 0, "draw %d: malformed %s", i, kind);
        }
        json_decref(x), json_decref(y);
    }
    EXPECT(clashes == 0, "%d draws combined a family with itself or a contradicting one", clashes);
    EXPECT(leftover == 0, "%d instructions kept a {placeholder}", leftover);
    for (int f = 0; kinds[f]; f++) EXPECT(seen[f] > 20, "family %s drawn %d times in 3000 draws", kinds[f], seen[f]);
    // only the families asked for
    const char *only[] = {"no_commas", "title"};
    json_t *x = constraints_draw(c, 2, &a, only, 2);
    EXPECT(json_array_size(x) == 2, "two families asked, %zu drawn", json_array_size(x));
    char *prompt = constraints_prompt("Tell me a story.", x);
    EXPECT(strncmp(prompt, "Tell me a story.\n\n", 18) == 0 && strchr(prompt + 18, '\n') != NULL, "prompt: %s", prompt);
    free(prompt), json_decref(x);
    constraints_free(c);
}

static char bad_dir[64];

static void load_bad(const char *text) {
    char path[128];
    snprintf(path, sizeof path, "%s/c.json", bad_dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    constraints_load(path);
}

static void test_catalogue_errors(void) {
    snprintf(bad_dir, sizeof bad_dir, "/tmp/strap_constraints_XXXXXX");
    if (!mkdtemp(bad_dir)) {
        EXPECT(0, "mkdtemp failed");
        return;
    }
    expect_failure_exit(load_bad, "{\"families\": {\"shouting\": {\"instructions\": [\"x\"]}}}",
                        "family \"shouting\" is unknown", "c.json", "unknown family");
    expect_failure_exit(
        load_bad,
        "{\"families\": {\"word_count\": {\"instructions\": [\"Use {n} words.\"], \"n\": {\"at least\": [1, 2], \"at most\": [1, 2]}}}}",
        "lacks {relation}", "c.json", "missing placeholder");
    expect_failure_exit(load_bad,
                        "{\"families\": {\"bullet_count\": {\"instructions\": [\"Use {n} bullets.\"], \"n\": [5, 2]}}}",
                        "\"n\" must be a range", NULL, "bad range");
    expect_failure_exit(load_bad,
                        "{\"families\": {\"end_with\": {\"instructions\": [\"End with {phrase}.\"], \"phrases\": []}}}",
                        "\"phrases\" must be a non-empty list", NULL, "empty pool");
    expect_failure_exit(load_bad, "{\"families\": {\"no_commas\": {\"instructions\": [\"No commas, {n} times.\"]}}}",
                        "uses {n}", NULL, "unused placeholder");
    expect_failure_exit(
        load_bad,
        "{\"families\": {\"language\": {\"instructions\": [\"In {language}.\"], \"languages\": [\"Elvish\"]}}}",
        "no script check", NULL, "unknown language");
    expect_failure_exit(load_bad, "{\"families\": ", "c.json:", NULL, "truncated JSON");
    char path[128];
    snprintf(path, sizeof path, "%s/c.json", bad_dir);
    remove(path);
    rmdir(bad_dir);
}

int main(void) {
    RUN(test_case_families);
    RUN(test_count_families);
    RUN(test_word_families);
    RUN(test_form_families);
    RUN(test_every_family_tested);
    RUN(test_check_array);
    RUN(test_catalogue_and_draws);
    RUN(test_catalogue_errors);
    return test_summary();
}
