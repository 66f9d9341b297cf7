/*
 * eah-manifest-dump: prints an EAH bundle's manifest (schemas/eah_manifest.proto) as text,
 * reading it with libprotobuf-c and the generated code in Sources/CEAHManifest. It shows a
 * runtime other than the Swift one can consume the manifest; the Swift tests build and run it.
 *
 * Build:
 *   cc -std=c11 -o eah-manifest-dump tools/eah-manifest-dump.c \
 *      Sources/CEAHManifest/eah_manifest.pb-c.c -I Sources/CEAHManifest/include \
 *      $(pkg-config --cflags --libs libprotobuf-c)
 * Run:
 *   eah-manifest-dump BUNDLE_FOLDER      (reads BUNDLE_FOLDER/manifest.pb)
 *   eah-manifest-dump path/to/manifest.pb
 *
 * Exit status: 0 printed, 1 missing/unreadable/invalid manifest or newer schema version,
 * 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eah_manifest.pb-c.h"

/* The newest schema major version this reader knows (readers refuse larger ones). */
#define SUPPORTED_SCHEMA_VERSION 1u
/* A manifest is small; refuse anything absurd before reading it into memory. */
#define MAX_MANIFEST_BYTES (256u << 20)

static void print_string(const char *text) {
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++) {
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f) printf("\\x%02x", *c);
        else putchar(*c);
    }
    putchar('"');
}

/* The shortest %.Ng (N = 15, 16, 17) that reads back as the same double. */
static void print_double(double value) {
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (strtod(text, NULL) == value) break;
    }
    fputs(text, stdout);
}

static void print_doubles(const char *indent, const char *name, size_t count, const double *values) {
    printf("%s%s: [", indent, name);
    for (size_t i = 0; i < count; i++) {
        if (i) fputs(", ", stdout);
        print_double(values[i]);
    }
    puts("]");
}

static const char *selection_name(Eah__Selection selection) {
    switch (selection) {
    case EAH__SELECTION__SELECTION_DYNAMIC: return "DYNAMIC";
    case EAH__SELECTION__SELECTION_STATIC: return "STATIC";
    case EAH__SELECTION__SELECTION_UNSPECIFIED: return "UNSPECIFIED";
    default: return "UNKNOWN";
    }
}

static const char *phase_name(Eah__Phase phase) {
    switch (phase) {
    case EAH__PHASE__PHASE_PREFILL: return "PREFILL";
    case EAH__PHASE__PHASE_ALL: return "ALL";
    case EAH__PHASE__PHASE_UNSPECIFIED: return "UNSPECIFIED";
    default: return "UNKNOWN";
    }
}

static void print_files(const char *indent, const char *name, size_t count, Eah__FileChecksum **files) {
    printf("%s%s: %zu\n", indent, name, count);
    for (size_t i = 0; i < count; i++) {
        const Eah__FileChecksum *file = files[i];
        printf("%s  - path: ", indent);
        print_string(file->path);
        printf("\n%s    sha256: %s\n", indent, file->sha256 ? file->sha256 : "");
        printf("%s    size: %" PRIu64 "\n", indent, file->size);
    }
}

static void print_manifest(const Eah__Manifest *manifest) {
    printf("schema_version: %" PRIu32 "\n", manifest->schema_version);
    fputs("tool_version: ", stdout);
    print_string(manifest->tool_version);
    putchar('\n');

    if (manifest->model) {
        puts("model:");
        fputs("  architecture: ", stdout);
        print_string(manifest->model->architecture);
        fputs("\n  weight_layout: ", stdout);
        print_string(manifest->model->weight_layout);
        fputs("\n  family: ", stdout);
        print_string(manifest->model->family);
        putchar('\n');
        print_files("  ", "source_files", manifest->model->n_source_files, manifest->model->source_files);
    } else {
        puts("model: (absent)");
    }

    printf("patches: %zu\n", manifest->n_patches);
    for (size_t i = 0; i < manifest->n_patches; i++) {
        const Eah__LayerPatch *patch = manifest->patches[i];
        printf("  - layer: %" PRId32 "\n", patch->layer);
        printf("    selection: %s\n", selection_name(patch->selection));
        if (patch->head) printf("    head: %" PRId32 "\n", patch->head->value);
        fputs("    beta: ", stdout);
        print_double(patch->beta);
        printf("\n    phase: %s\n", phase_name(patch->phase));
        if (patch->n_target_heads == 0) {
            puts("    target_heads: all");
        } else {
            fputs("    target_heads: [", stdout);
            for (size_t h = 0; h < patch->n_target_heads; h++) printf(h ? ", %" PRId32 : "%" PRId32, patch->target_heads[h]);
            puts("]");
        }
    }

    printf("baked: %s\n", manifest->baked ? "true" : "false");

    const Eah__CalibrationProvenance *calibration = manifest->calibration;
    if (calibration) {
        puts("calibration:");
        printf("  data_digest: %s\n", calibration->data_digest ? calibration->data_digest : "");
        printf("  sample_count: %" PRIu64 "\n", calibration->sample_count);
        fputs("  beta: ", stdout);
        print_double(calibration->beta);
        printf("\n  layers: %zu\n", calibration->n_layers);
        for (size_t i = 0; i < calibration->n_layers; i++) {
            const Eah__LayerStatistics *layer = calibration->layers[i];
            printf("    - layer: %" PRId32 "\n", layer->layer);
            print_doubles("      ", "mean_sink_count", layer->n_mean_sink_count, layer->mean_sink_count);
            print_doubles("      ", "sink_density", layer->n_sink_density, layer->sink_density);
            print_doubles("      ", "win_frequency", layer->n_win_frequency, layer->win_frequency);
            if (layer->chosen_head) printf("      chosen_head: %" PRId32 "\n", layer->chosen_head->value);
            else puts("      chosen_head: none");
            fputs("      agreement: ", stdout);
            print_double(layer->agreement);
            putchar('\n');
        }
    } else {
        puts("calibration: none");
    }

    print_files("", "weight_files", manifest->n_weight_files, manifest->weight_files);
}

int main(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: %s BUNDLE_FOLDER | MANIFEST_FILE\n", argv[0]);
        return 2;
    }
    const char *argument = argv[1];
    char *path = NULL;
    struct stat status;
    if (stat(argument, &status) == 0 && S_ISDIR(status.st_mode)) {
        size_t length = strlen(argument) + sizeof "/manifest.pb";
        path = malloc(length);
        if (!path) { fputs("eah-manifest-dump: out of memory\n", stderr); return 1; }
        snprintf(path, length, "%s/manifest.pb", argument);
    } else {
        path = strdup(argument);
        if (!path) { fputs("eah-manifest-dump: out of memory\n", stderr); return 1; }
    }

    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "%s: cannot be read (%s)\n", path, strerror(errno));
        free(path);
        return 1;
    }
    if (fstat(fileno(file), &status) != 0 || !S_ISREG(status.st_mode)) {
        fprintf(stderr, "%s: not a regular file\n", path);
        fclose(file);
        free(path);
        return 1;
    }
    if ((uintmax_t)status.st_size > MAX_MANIFEST_BYTES) {
        fprintf(stderr, "%s: %jd bytes is too large for a manifest\n", path, (intmax_t)status.st_size);
        fclose(file);
        free(path);
        return 1;
    }
    size_t size = (size_t)status.st_size;
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes || fread(bytes, 1, size, file) != size) {
        fprintf(stderr, "%s: cannot be read\n", path);
        free(bytes);
        fclose(file);
        free(path);
        return 1;
    }
    fclose(file);

    int result = 1;
    Eah__Manifest *manifest = size ? eah__manifest__unpack(NULL, size, bytes) : NULL;
    if (!manifest) {
        fprintf(stderr, "%s: not a valid eah.Manifest (%zu bytes, truncated or corrupt)\n", path, size);
    } else if (manifest->schema_version == 0) {
        fprintf(stderr, "%s: schema_version is missing: not an EAH manifest\n", path);
    } else if (manifest->schema_version > SUPPORTED_SCHEMA_VERSION) {
        fprintf(stderr, "%s: schema_version %" PRIu32 " is newer than this reader (%u)\n", path,
                manifest->schema_version, SUPPORTED_SCHEMA_VERSION);
    } else {
        printf("manifest: %s (%zu bytes)\n", path, size);
        print_manifest(manifest);
        result = 0;
    }
    if (manifest) eah__manifest__free_unpacked(manifest, NULL);
    free(bytes);
    free(path);
    return result;
}
