#ifndef TOKENSCOPE_CZLIB_SHIM_H
#define TOKENSCOPE_CZLIB_SHIM_H
#include <zlib.h>
#endif
