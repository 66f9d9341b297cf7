#include "eah_image_shims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct eah_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int status;
    char *message;
};

static void eah_jpeg_error_exit(j_common_ptr cinfo) {
    struct eah_jpeg_error *error = (struct eah_jpeg_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(error->message, 256, "%s", text);
    error->status = EAH_DECODE_CORRUPT;
    longjmp(error->jump, 1);
}

/* Warnings are ignored as Pillow ignores them, except the premature end of the data, which
   Pillow reports as a truncated image. */
static void eah_jpeg_emit_message(j_common_ptr cinfo, int level) {
    struct eah_jpeg_error *error = (struct eah_jpeg_error *)cinfo->err;
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            snprintf(error->message, 256, "the data ends before the image is complete");
            error->status = EAH_DECODE_TRUNCATED;
            longjmp(error->jump, 1);
        }
    }
}

static void eah_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

int eah_decode_jpeg(const unsigned char *data, size_t size, unsigned long long max_pixels, eah_raw_image *out) {
    memset(out, 0, sizeof(*out));
    struct jpeg_decompress_struct cinfo;
    struct eah_jpeg_error error;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = eah_jpeg_error_exit;
    error.base.emit_message = eah_jpeg_emit_message;
    error.base.output_message = eah_jpeg_output_message;
    error.status = EAH_DECODE_OK;
    error.message = out->message;
    /* Written after setjmp and read after longjmp: volatile. */
    unsigned char *volatile pixels = NULL;
    if (setjmp(error.jump)) {
        free(pixels);
        out->pixels = NULL;
        jpeg_destroy_decompress(&cinfo);
        return error.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    out->adobe = cinfo.saw_Adobe_marker ? 1 : 0;
    out->bit_depth = 8;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; out->color = 1; break;
    case JCS_YCbCr: case JCS_RGB: cinfo.out_color_space = JCS_RGB; out->color = 3; break;
    case JCS_CMYK: case JCS_YCCK: cinfo.out_color_space = JCS_CMYK; out->color = 4; break;
    default:
        snprintf(out->message, sizeof(out->message), "a JPEG with %d colour components of unknown colour space", cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        return EAH_DECODE_UNSUPPORTED;
    }
    if ((unsigned long long)cinfo.image_width * cinfo.image_height > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        return EAH_DECODE_TOO_LARGE;
    }
    jpeg_start_decompress(&cinfo);
    out->channels = cinfo.output_components;
    out->row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    pixels = malloc(out->row_bytes * cinfo.output_height + 1);
    if (pixels == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return EAH_DECODE_NO_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * out->row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->pixels = pixels;
    return EAH_DECODE_OK;
}

void eah_raw_image_free(eah_raw_image *image) {
    free(image->pixels);
    image->pixels = NULL;
    free(image->exif);
    image->exif = NULL;
    image->exif_size = 0;
}
