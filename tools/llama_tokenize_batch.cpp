// Tokenizes many texts with llama.cpp's own tokenizer in one process (llama-tokenize loads the
// model once per text, which takes seconds for large GGUFs). Same calls as llama-tokenize with its
// defaults: llama_tokenize with add_special = the vocabulary's add_bos, parse_special = true; and
// llama_token_to_piece with special = true for each token.
//
// Usage: llama_tokenize_batch MODEL.gguf < records
// Input: records "<byte count>\n<bytes>". Output per record: a line of ids separated by spaces,
// then a line of the pieces' bytes in hex, separated by spaces.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf < records\n", argv[0]);
        return 2;
    }
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    llama_backend_init();
    llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], params);
    if (!model) {
        fprintf(stderr, "could not load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const bool add_bos = llama_vocab_get_add_bos(vocab);
    size_t length;
    while (scanf("%zu", &length) == 1) {
        getchar();
        std::string text(length, '\0');
        if (length > 0 && fread(&text[0], 1, length, stdin) != length) return 1;
        std::vector<llama_token> tokens(text.size() + 8);
        int n = llama_tokenize(vocab, text.data(), (int) text.size(), tokens.data(), (int) tokens.size(), add_bos, true);
        if (n < 0) {
            tokens.resize(-n);
            n = llama_tokenize(vocab, text.data(), (int) text.size(), tokens.data(), (int) tokens.size(), add_bos, true);
        }
        tokens.resize(n);
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", tokens[i]);
        printf("\n");
        for (int i = 0; i < n; i++) {
            char buf[512];
            int m = llama_token_to_piece(vocab, tokens[i], buf, sizeof(buf), 0, true);
            if (i) printf(" ");
            if (m == 0) printf("-");
            for (int j = 0; j < m; j++) printf("%02x", (unsigned char) buf[j]);
        }
        printf("\n");
        fflush(stdout);
    }
    llama_model_free(model);
    return 0;
}
