// test_sft.c: strap sft's pieces (train/sft.h): the chat encoding and its assistant-token
// mask checked against the rendered template text; packing; the loss and gradient of a
// packed batch against a float64 cross-entropy over the answer tokens found independently,
// and against the weighted backward with prompt targets changed (prompt tokens contribute
// nothing); and what packing means for attention (a conversation sees the earlier ones in
// its row, never the later ones).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../model/llama.h"
#include "../train/sft.h"
#include "test.h"

#define TOK "tests/ref/fixtures/tok/llama3.tokenizer.json"

static char *decode(Tokenizer *t, const int32_t *ids, int n) {
    char *out = NULL;
    size_t cap = 0;
    size_t len = tokenizer_decode(t, ids, (size_t)n, &out, &cap);
    out = realloc(out, len + 1);
    out[len] = 0;
    return out;
}

// The trained tokens, decoded span by span and joined with '|'.
static char *trained_text(Tokenizer *t, const SftExample *e) {
    char *all = xcalloc(1, 1);
    for (int k = 0; k < e->len;) {
        if (!e->train[k]) {
            k++;
            continue;
        }
        int s = k;
        while (k < e->len && e->train[k]) k++;
        char *piece = decode(t, e->tokens + s, k - s);
        size_t n = strlen(all) + strlen(piece) + 2;
        all = realloc(all, n);
        if (*all) strcat(all, "|");
        strcat(all, piece);
        free(piece);
    }
    return all;
}

static void test_encode_chatml(void) {
    Tokenizer *t = tokenizer_load(TOK);
    int im_end = tokenizer_token_id(t, "<|im_end|>");
    char err[256];
    SftExample e;
    ChatMessage one[3] = {{"system", "Be brief."}, {"user", "Who is Tom?"}, {"assistant", "Tom is kind."}};
    EXPECT(sft_encode(t, CHAT_CHATML, -1, im_end, one, 3, &e, err, sizeof err) == 0, "%s", err);
    char *text = decode(t, e.tokens, e.len), *trained = trained_text(t, &e);
    EXPECT(strcmp(text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho is Tom?<|im_end|>\n"
                        "<|im_start|>assistant\nTom is kind.<|im_end|>") == 0,
           "one turn: '%s'", text);
    EXPECT(strcmp(trained, "Tom is kind.<|im_end|>") == 0, "trained: '%s'", trained);
    free(text), free(trained), sft_example_free(&e);

    ChatMessage two[4] = {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}, {"assistant", "Goodbye."}};
    EXPECT(sft_encode(t, CHAT_CHATML, -1, im_end, two, 4, &e, err, sizeof err) == 0, "%s", err);
    text = decode(t, e.tokens, e.len), trained = trained_text(t, &e);
    EXPECT(strcmp(text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n"
                        "Bye<|im_end|>\n<|im_start|>assistant\nGoodbye.<|im_end|>") == 0,
           "two turns: '%s'", text);
    EXPECT(strcmp(trained, "Hello!<|im_end|>|Goodbye.<|im_end|>") == 0, "trained: '%s'", trained);
    free(text), free(trained), sft_example_free(&e);

    ChatMessage none[1] = {{"user", "Hi"}};
    EXPECT(sft_encode(t, CHAT_CHATML, -1, im_end, none, 1, &e, err, sizeof err) != 0 && strstr(err, "no assistant"),
           "no assistant turn: '%s'", err);
    ChatMessage bad[2] = {{"user", "Hi"}, {"robot", "beep"}};
    EXPECT(sft_encode(t, CHAT_CHATML, -1, im_end, bad, 2, &e, err, sizeof err) != 0 && strstr(err, "robot"),
           "bad role: '%s'", err);
    tokenizer_free(t);
}

static void test_encode_plain(void) {
    Tokenizer *t = tokenizer_load(TOK);
    int eot = tokenizer_token_id(t, "<|endoftext|>");
    char err[256];
    SftExample e;
    ChatMessage one[2] = {{"user", "2+2="}, {"assistant", "4"}};
    EXPECT(sft_encode(t, CHAT_PLAIN, 7, eot, one, 2, &e, err, sizeof err) == 0, "%s", err);
    EXPECT(e.len >= 3 && e.tokens[0] == 7 && !e.train[0], "BOS first in the plain format");
    char *text = decode(t, e.tokens + 1, e.len - 1), *trained = trained_text(t, &e);
    EXPECT(strcmp(text, "2+2=4<|endoftext|>") == 0, "plain: '%s'", text); // the prompt as strap gen gives it
    EXPECT(strcmp(trained, "4<|endoftext|>") == 0, "trained: '%s'", trained);
    free(text), free(trained), sft_example_free(&e);
    tokenizer_free(t);
}

static SftExample ramp(int len, int first_trained, int base) {
    SftExample e = {xmalloc((size_t)len * sizeof(int32_t)), xmalloc((size_t)len), len};
    for (int k = 0; k < len; k++) e.tokens[k] = base + k, e.train[k] = k >= first_trained;
    return e;
}

static void test_pack_layout(void) {
    SftExample ex[4] = {ramp(5, 2, 100), ramp(4, 1, 200), ramp(3, 2, 300), ramp(6, 3, 400)};
    SftPacked p;
    sft_pack(ex, 4, 10, &p);
    // rows of 10: [5 + 4 + pad], [3 + 6 + pad]
    EXPECT(p.rows == 2 && p.row_examples[0] == 2 && p.row_examples[1] == 2, "rows %d (%d, %d)", p.rows,
           p.row_examples[0], p.row_examples[1]);
    int want_tokens[20] = {100, 101, 102, 103, 104, 200, 201, 202, 203, 0,
                           300, 301, 302, 400, 401, 402, 403, 404, 405, 0};
    // position k predicts token k+1 of its own conversation when that one is trained
    int want_targets[20] = {-1, 102, 103, 104, -1, 201, 202, 203, -1, -1, -1, 302, -1, -1, -1, 403, 404, 405, -1, -1};
    for (int i = 0; i < 20; i++) {
        EXPECT(p.tokens[i] == want_tokens[i], "token %d: %d vs %d", i, p.tokens[i], want_tokens[i]);
        EXPECT(p.targets[i] == want_targets[i], "target %d: %d vs %d", i, p.targets[i], want_targets[i]);
    }
    sft_packed_free(&p);
    SftExample big[2] = {ramp(10, 1, 1), ramp(10, 1, 1)};
    sft_pack(big, 2, 10, &p);
    EXPECT(p.rows == 2, "two full rows: %d", p.rows);
    sft_packed_free(&p);
    for (int i = 0; i < 4; i++) sft_example_free(&ex[i]);
    for (int i = 0; i < 2; i++) sft_example_free(&big[i]);
}

static void tiny_model(Model *m, int vocab) {
    LlamaConfig c = {0};
    c.vocab_size = vocab, c.hidden_size = 32, c.intermediate_size = 64, c.n_layers = 2, c.n_heads = 4;
    c.n_kv_heads = 2, c.head_dim = 8, c.max_seq = 128, c.rope_theta = 10000, c.rms_norm_eps = 1e-5f;
    c.tie_embeddings = 1, c.bos_token_id = -1, c.initializer_range = 0.1f;
    config_validate(&c, "test");
    model_build(m, &c, backend_cpu(1));
    model_init_weights(m, 7);
    model_enable_grads(m);
}

static const char *PROMPTS[3] = {"Who is Tom?", "Name a colour.", "What is two plus two?"};
static const char *ANSWERS[3] = {"Tom is a good friend.", "Blue.", "Four, of course."};

// Three one-turn conversations packed into one row of 128; answer positions found by
// encoding each answer on its own (it ends its conversation, followed by <|im_end|>).
static void test_loss_and_gradient_mask(void) {
    Tokenizer *t = tokenizer_load(TOK);
    int im_end = tokenizer_token_id(t, "<|im_end|>"), T = 128, V = tokenizer_vocab_size(t);
    SftExample ex[3];
    char err[256];
    int answer_pos[128] = {0}, off = 0, count = 0;
    for (int i = 0; i < 3; i++) {
        ChatMessage msgs[2] = {{"user", PROMPTS[i]}, {"assistant", ANSWERS[i]}};
        EXPECT(sft_encode(t, CHAT_CHATML, -1, im_end, msgs, 2, &ex[i], err, sizeof err) == 0, "%s", err);
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        tokenizer_encode(t, ANSWERS[i], strlen(ANSWERS[i]), 0, &ids, &n, &cap);
        int start = ex[i].len - (int)n - 1; // the answer's first token
        EXPECT(ex[i].tokens[ex[i].len - 1] == im_end && memcmp(ex[i].tokens + start, ids, n * sizeof(int32_t)) == 0,
               "conversation %d does not end with its answer", i);
        for (int k = start; k < ex[i].len; k++) answer_pos[off + k - 1] = 1, count++; // position k-1 predicts k
        off += ex[i].len;
        free(ids);
    }
    EXPECT(off <= T, "the three conversations take %d tokens", off);
    SftPacked p;
    sft_pack(ex, 3, T, &p);
    EXPECT(p.rows == 1, "one row: %d", p.rows);
    Model m;
    tiny_model(&m, V);
    size_t P = m.n_params;

    // the loss: float64 cross-entropy over the answer positions, from the logits
    float loss = model_forward(&m, p.tokens, p.targets, 1, T);
    float *logits = xmalloc((size_t)T * V * sizeof(float));
    model_logits(&m, logits);
    double sum = 0;
    int counted = 0;
    for (int k = 0; k < T; k++) {
        EXPECT((p.targets[k] >= 0) == answer_pos[k], "position %d: target %d, answer position %d", k, p.targets[k],
               answer_pos[k]);
        if (!answer_pos[k]) continue;
        const float *l = logits + (size_t)k * V;
        double mx = -INFINITY, z = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) z += exp((double)l[v] - mx);
        sum += mx + log(z) - l[p.tokens[k + 1]];
        counted++;
    }
    EXPECT(counted == count, "%d answer positions, %d expected", counted, count);
    double ref = sum / counted;
    EXPECT(fabs(loss - ref) < 1e-5 * fabs(ref), "loss %.7f vs float64 %.7f", loss, ref);

    // the gradient of the masked mean == the weighted backward over full targets with weight
    // 0 on every prompt position, whatever those prompt targets are
    float *g_mask = xmalloc(P * sizeof(float)), *g_w = xmalloc(P * sizeof(float)), *g_alt = xmalloc(P * sizeof(float));
    float *g_all = xmalloc(P * sizeof(float));
    model_zero_grads(&m);
    model_backward(&m, 1.0f / (float)count);
    model_get_grads_host(&m, g_mask);
    int full[128];
    float w[128];
    for (int k = 0; k < T; k++) {
        full[k] = k + 1 < off ? p.tokens[k + 1] : -1;
        w[k] = answer_pos[k] ? 1.0f / (float)count : 0.0f;
    }
    float *grads[3] = {g_w, g_alt, g_all};
    for (int variant = 0; variant < 3; variant++) {
        if (variant == 1) // other prompt targets: the loss of prompt positions changes, the gradient must not
            for (int k = 0; k < off - 1; k++)
                if (!answer_pos[k]) full[k] = (full[k] + 17) % V;
        if (variant == 2) // a weight on the prompt positions too: the gradient must change (the test can fail)
            for (int k = 0; k < off - 1; k++) w[k] = 1.0f / (float)count;
        model_forward(&m, p.tokens, full, 1, T);
        model_zero_grads(&m);
        model_backward_weighted(&m, w);
        model_get_grads_host(&m, grads[variant]);
    }
    double scale = 0, d_w = 0, d_alt = 0, d_all = 0;
    for (size_t i = 0; i < P; i++) {
        scale = fmax(scale, fabs(g_mask[i]));
        d_w = fmax(d_w, fabs(g_mask[i] - g_w[i]));
        d_alt = fmax(d_alt, fabs(g_mask[i] - g_alt[i]));
        d_all = fmax(d_all, fabs(g_mask[i] - g_all[i]));
    }
    EXPECT(scale > 0, "zero gradient");
    EXPECT(d_w <= 1e-5 * scale, "masked vs weighted gradient: %g (scale %g)", d_w, scale);
    EXPECT(d_alt <= 1e-5 * scale, "changing prompt targets changed the gradient: %g (scale %g)", d_alt, scale);
    EXPECT(d_all > 1e-3 * scale, "weighting the prompt did not change the gradient (%g)", d_all);
    free(g_mask), free(g_w), free(g_alt), free(g_all), free(logits);
    sft_packed_free(&p);

    // packing and attention: conversation 0 alone has the losses it has first in the row;
    // conversation 1 sees conversation 0 before it, so its losses differ from its own row
    int lens[3] = {ex[0].len, ex[1].len, ex[2].len};
    SftPacked both, alone0, alone1;
    sft_pack(ex, 2, T, &both);
    sft_pack(&ex[0], 1, T, &alone0);
    sft_pack(&ex[1], 1, T, &alone1);
    float *l_both = xmalloc((size_t)T * sizeof(float)), *l_alone = xmalloc((size_t)T * sizeof(float));
    model_forward(&m, both.tokens, both.targets, 1, T);
    memcpy(l_both, m.acts.losses_host, (size_t)T * sizeof(float));
    model_forward(&m, alone0.tokens, alone0.targets, 1, T);
    memcpy(l_alone, m.acts.losses_host, (size_t)T * sizeof(float));
    double d0 = 0;
    for (int k = 0; k < lens[0]; k++)
        if (alone0.targets[k] >= 0) d0 = fmax(d0, fabs(l_both[k] - l_alone[k]));
    EXPECT(d0 < 1e-5, "conversation 0 saw what comes after it in its row: %g", d0);
    model_forward(&m, alone1.tokens, alone1.targets, 1, T);
    memcpy(l_alone, m.acts.losses_host, (size_t)T * sizeof(float));
    double d1 = 0;
    for (int k = 0; k < lens[1]; k++)
        if (alone1.targets[k] >= 0) d1 = fmax(d1, fabs(l_both[lens[0] + k] - l_alone[k]));
    EXPECT(d1 > 1e-4, "conversation 1's losses do not depend on conversation 0 before it (%g)", d1);
    free(l_both), free(l_alone);
    sft_packed_free(&both), sft_packed_free(&alone0), sft_packed_free(&alone1);
    for (int i = 0; i < 3; i++) sft_example_free(&ex[i]);
    model_free(&m);
    tokenizer_free(t);
}

int main(void) {
    RUN(test_encode_chatml);
    RUN(test_encode_plain);
    RUN(test_pack_layout);
    RUN(test_loss_and_gradient_mask);
    return test_summary();
}
