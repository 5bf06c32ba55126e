#ifndef TOKENSCOPE_CLIBPNG_SHIM_H
#define TOKENSCOPE_CLIBPNG_SHIM_H
#include <png.h>
/* OR-ed and function-like macros do not import into Swift: re-export them as constants. */
static const png_uint_32 CPNG_FORMAT_GRAY = PNG_FORMAT_GRAY;
static const png_uint_32 CPNG_FORMAT_RGB = PNG_FORMAT_RGB;
static const png_uint_32 CPNG_FORMAT_RGBA = PNG_FORMAT_RGBA;
static const png_uint_32 CPNG_IMAGE_FLAG_16BIT_sRGB = PNG_IMAGE_FLAG_16BIT_sRGB;
static const png_uint_32 CPNG_IMAGE_VERSION = PNG_IMAGE_VERSION;
#endif
