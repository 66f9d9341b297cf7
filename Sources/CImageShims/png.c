#include "eah_image_shims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

struct eah_png_source {
    const unsigned char *data;
    size_t size;
    size_t offset;
    int truncated;
    char *message;
};

static void eah_png_read(png_structp png, png_bytep target, size_t length) {
    struct eah_png_source *source = png_get_io_ptr(png);
    if (length > source->size - source->offset) {
        source->truncated = 1;
        png_error(png, "the data ends before the image is complete");
    }
    memcpy(target, source->data + source->offset, length);
    source->offset += length;
}

static void eah_png_error(png_structp png, png_const_charp text) {
    struct eah_png_source *source = png_get_error_ptr(png);
    snprintf(source->message, 256, "%s", text);
    png_longjmp(png, 1);
}

static void eah_png_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

int eah_decode_png(const unsigned char *data, size_t size, unsigned long long max_pixels, eah_raw_image *out) {
    memset(out, 0, sizeof(*out));
    struct eah_png_source source = {data, size, 0, 0, out->message};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, eah_png_error, eah_png_warning);
    if (png == NULL) return EAH_DECODE_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return EAH_DECODE_NO_MEMORY;
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return source.truncated ? EAH_DECODE_TRUNCATED : EAH_DECODE_CORRUPT;
    }
    png_set_read_fn(png, &source, eah_png_read);
    /* Dimensions are checked against max_pixels below, not libpng's default limits. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    /* Like Pillow, refuse any chunk whose checksum is wrong. */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color, &interlace, NULL, NULL);
    out->width = width;
    out->height = height;
    out->bit_depth = bit_depth;
    out->color = color;
    if ((unsigned long long)width * height > max_pixels) {
        png_destroy_read_struct(&png, &info, NULL);
        return EAH_DECODE_TOO_LARGE;
    }
    if (png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_bytep alpha = NULL;
        int count = 0;
        png_color_16p key = NULL;
        if (png_get_tRNS(png, info, &alpha, &count, &key) != 0) {
            out->has_trns = 1;
            if (alpha != NULL && count > 0) {
                if (count > 256) count = 256;
                out->trns_count = count;
                memcpy(out->trns_alpha, alpha, (size_t)count);
            }
            if (key != NULL) {
                out->trns_gray = key->gray;
                out->trns_red = key->red;
                out->trns_green = key->green;
                out->trns_blue = key->blue;
            }
        }
    }
    if (bit_depth < 8) png_set_packing(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    out->channels = png_get_channels(png, info);
    out->row_bytes = png_get_rowbytes(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_colorp palette = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &palette, &count) == 0 || palette == NULL) {
            snprintf(out->message, sizeof(out->message), "palette image without a PLTE chunk");
            png_destroy_read_struct(&png, &info, NULL);
            return EAH_DECODE_CORRUPT;
        }
        if (count > 256) count = 256;
        out->palette_count = count;
        for (int i = 0; i < count; i++) {
            out->palette[3 * i] = palette[i].red;
            out->palette[3 * i + 1] = palette[i].green;
            out->palette[3 * i + 2] = palette[i].blue;
        }
    }
    pixels = malloc(out->row_bytes * height + 1);
    rows = malloc(sizeof(png_bytep) * height + 1);
    if (pixels == NULL || rows == NULL) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return EAH_DECODE_NO_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * out->row_bytes;
    png_read_image(png, rows);
    png_read_end(png, info);
    png_bytep exif = NULL;
    png_uint_32 exif_size = 0;
    if (png_get_eXIf_1(png, info, &exif_size, &exif) != 0 && exif != NULL && exif_size > 0) {
        out->exif = malloc(exif_size);
        if (out->exif != NULL) {
            memcpy(out->exif, exif, exif_size);
            out->exif_size = exif_size;
        }
    }
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->pixels = pixels;
    return EAH_DECODE_OK;
}
