#ifndef EAH_IMAGE_SHIMS_H
#define EAH_IMAGE_SHIMS_H

#include <stddef.h>

/// Outcome of a decode: libjpeg and libpng report errors by longjmp, which Swift cannot
/// survive, so these C functions catch them and return one of these codes with a message.
enum eah_decode_status {
    EAH_DECODE_OK = 0,
    EAH_DECODE_CORRUPT = 1,
    EAH_DECODE_TRUNCATED = 2,
    EAH_DECODE_TOO_LARGE = 3,
    EAH_DECODE_NO_MEMORY = 4,
    EAH_DECODE_UNSUPPORTED = 5,
};

/// Raw samples as the file stores them, before any conversion to RGB.
///
/// JPEG: `color` is 1 (gray), 3 (RGB, converted from YCbCr by libjpeg) or 4 (CMYK as stored),
/// `bit_depth` 8, `adobe` whether an Adobe APP14 marker was seen.
/// PNG: `color` is the PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA),
/// `bit_depth` the file's depth; samples of 1, 2 or 4 bits are unpacked one per byte
/// (unscaled), 16-bit samples stay big-endian pairs. `palette` holds `palette_count` RGB
/// triples; `has_trns` tells whether a tRNS chunk was read; `exif` a copy of the eXIf chunk (TIFF bytes) when present.
typedef struct eah_raw_image {
    unsigned int width;
    unsigned int height;
    int color;
    int bit_depth;
    int channels;
    int adobe;
    size_t row_bytes;
    unsigned char *pixels;
    int palette_count;
    unsigned char palette[256 * 3];
    /* tRNS: palette alphas (`trns_count` of them) or the colour key of grey/RGB images. */
    int has_trns;
    int trns_count;
    unsigned char trns_alpha[256];
    unsigned int trns_gray, trns_red, trns_green, trns_blue;
    unsigned char *exif;
    size_t exif_size;
    char message[256];
} eah_raw_image;

/// Decodes a whole JPEG held in memory; refuses more than `max_pixels` pixels before
/// allocating. On success the caller owns `out->pixels` (free with `eah_raw_image_free`).
int eah_decode_jpeg(const unsigned char *data, size_t size, unsigned long long max_pixels, eah_raw_image *out);

/// Decodes a whole PNG held in memory, as `eah_decode_jpeg` does.
int eah_decode_png(const unsigned char *data, size_t size, unsigned long long max_pixels, eah_raw_image *out);

/// Frees the buffers of a decoded image (safe on a zeroed or already freed one).
void eah_raw_image_free(eah_raw_image *image);

#endif
