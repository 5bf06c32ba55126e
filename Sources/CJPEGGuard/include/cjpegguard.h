#ifndef TOKENSCOPE_CJPEGGUARD_H
#define TOKENSCOPE_CJPEGGUARD_H
/* JPEG decoding through libjpeg(-turbo) with every error caught.
 *
 * libjpeg reports a fatal error by calling error_exit, whose default prints and calls exit(): a
 * broken photo would end the whole program. Here error_exit longjmps back into the function that
 * called libjpeg (setjmp lives in C, so no Swift frame is ever jumped over) and the error comes
 * back as a return code plus libjpeg's own message.
 *
 * Decoding follows Pillow's JpegDecode.c with its default options, so the pixels equal
 * `Image.open(f)`'s: out_color_space GRAYSCALE for one component, RGB for three (libjpeg converts
 * YCbCr), CMYK for four (YCCK converted by libjpeg); dct_method JDCT_ISLOW, do_fancy_upsampling
 * TRUE (libjpeg's defaults, which Pillow leaves alone unless asked for a draft). Warnings are not
 * printed (Pillow drops them too), except that running out of data is an error, as Pillow's
 * "image file is truncated".
 */
#include <stddef.h>

enum {
    CJPEG_OK = 0,
    CJPEG_CORRUPT = 1,      /* libjpeg refused the data; message holds its words */
    CJPEG_TRUNCATED = 2,    /* the data ended before the image did */
    CJPEG_UNSUPPORTED = 3,  /* a component count other than 1, 3 or 4 */
    CJPEG_TOO_MANY_SCANS = 4,
    CJPEG_MISMATCH = 5      /* the caller's buffer does not fit the header */
};

typedef struct {
    int width, height;
    /* Components in the file (1, 3, 4) and bytes per output pixel (1 gray, 3 RGB, 4 CMYK). */
    int components, output_components;
    int progressive;
    /* Adobe APP14 marker seen (four-component files are then inverted CMYK, Photoshop's habit). */
    int adobe;
    char message[200];
} cjpeg_image;

/* Parses the header only (dimensions, components), so the caller can check a pixel cap and
   allocate before anything is decoded. */
int cjpeg_read_header(const unsigned char *data, size_t size, cjpeg_image *image);

/* Decodes into `out`, which must hold width * height * output_components bytes as read_header
   reported them; rows top to bottom, no padding. */
int cjpeg_decode(const unsigned char *data, size_t size, cjpeg_image *image, unsigned char *out, size_t out_size);

#endif
