#ifndef TOKENSCOPE_CLIBJPEG_SHIM_H
#define TOKENSCOPE_CLIBJPEG_SHIM_H
/* jpeglib.h uses FILE and size_t without including their headers. Swift never calls libjpeg
   directly (its errors longjmp): CJPEGGuard does, and this module only declares the dependency. */
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
#endif
