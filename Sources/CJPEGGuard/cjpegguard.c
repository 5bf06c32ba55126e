/* See include/cjpegguard.h for why this file exists. */
#include "cjpegguard.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

/* A progressive file may hold any number of scans, each a full pass over the coefficients; a
   crafted file with thousands of tiny scans costs minutes. Real encoders write about ten. */
#define CJPEG_MAX_SCANS 1000

typedef struct {
    struct jpeg_error_mgr pub;  /* first, so a j_common_ptr's err can be cast to this */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    int code;
    char *message;
    size_t message_size;
} guard;

static void guard_fail(j_common_ptr cinfo, int code) {
    guard *g = (guard *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(g->message, g->message_size, "%s", text);
    g->code = code;
    longjmp(g->jump, 1);
}

static void guard_error_exit(j_common_ptr cinfo) { guard_fail(cinfo, CJPEG_CORRUPT); }

/* level -1: a warning. Premature end of data is fatal (Pillow: "image file is truncated");
   other warnings (extraneous bytes before a marker and the like) are ignored, as Pillow does. */
static void guard_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) guard_fail(cinfo, CJPEG_TRUNCATED);
        cinfo->err->num_warnings++;
    }
}

static void guard_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void guard_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > CJPEG_MAX_SCANS) {
        guard *g = (guard *)cinfo->err;
        snprintf(g->message, g->message_size, "more than %d progressive scans", CJPEG_MAX_SCANS);
        g->code = CJPEG_TOO_MANY_SCANS;
        longjmp(g->jump, 1);
    }
}

static void setup(struct jpeg_decompress_struct *cinfo, guard *g, cjpeg_image *image) {
    memset(g, 0, sizeof *g);
    cinfo->err = jpeg_std_error(&g->pub);
    g->pub.error_exit = guard_error_exit;
    g->pub.emit_message = guard_emit_message;
    g->pub.output_message = guard_output_message;
    g->progress.progress_monitor = guard_progress;
    g->message = image->message;
    g->message_size = sizeof image->message;
    image->message[0] = 0;
}

/* Everything up to and including jpeg_read_header, shared by both entry points. Must be called
   after setjmp. Returns CJPEG_OK or an error code with the message set. */
static int header(struct jpeg_decompress_struct *cinfo, guard *g, const unsigned char *data, size_t size,
                  cjpeg_image *image) {
    jpeg_create_decompress(cinfo);
    cinfo->progress = &g->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    image->width = (int)cinfo->image_width;
    image->height = (int)cinfo->image_height;
    image->components = cinfo->num_components;
    image->progressive = cinfo->progressive_mode ? 1 : 0;
    image->adobe = cinfo->saw_Adobe_marker ? 1 : 0;
    switch (cinfo->num_components) {
    case 1: cinfo->out_color_space = JCS_GRAYSCALE; image->output_components = 1; break;
    case 3: cinfo->out_color_space = JCS_RGB; image->output_components = 3; break;
    case 4: cinfo->out_color_space = JCS_CMYK; image->output_components = 4; break;
    default:
        snprintf(image->message, sizeof image->message, "%d colour components", cinfo->num_components);
        return CJPEG_UNSUPPORTED;
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    return CJPEG_OK;
}

int cjpeg_read_header(const unsigned char *data, size_t size, cjpeg_image *image) {
    struct jpeg_decompress_struct cinfo;
    guard g;
    setup(&cinfo, &g, image);
    if (setjmp(g.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return g.code;
    }
    int code = header(&cinfo, &g, data, size, image);
    jpeg_destroy_decompress(&cinfo);
    return code;
}

int cjpeg_decode(const unsigned char *data, size_t size, cjpeg_image *image, unsigned char *out, size_t out_size) {
    struct jpeg_decompress_struct cinfo;
    guard g;
    int width = image->width, height = image->height, channels = image->output_components;
    setup(&cinfo, &g, image);
    if (setjmp(g.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return g.code;
    }
    int code = header(&cinfo, &g, data, size, image);
    if (code != CJPEG_OK) {
        jpeg_destroy_decompress(&cinfo);
        return code;
    }
    if (image->width != width || image->height != height || image->output_components != channels ||
        (size_t)width * (size_t)height * (size_t)channels != out_size) {
        snprintf(image->message, sizeof image->message, "output buffer does not match the header");
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_MISMATCH;
    }
    jpeg_start_decompress(&cinfo);
    if ((int)cinfo.output_width != width || (int)cinfo.output_height != height ||
        cinfo.output_components != channels) {
        snprintf(image->message, sizeof image->message, "libjpeg's output size differs from the header");
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_MISMATCH;
    }
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return CJPEG_OK;
}
