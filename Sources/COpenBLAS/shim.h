#ifndef TOKENSCOPE_COPENBLAS_SHIM_H
#define TOKENSCOPE_COPENBLAS_SHIM_H
#include <cblas.h>
/* Exported by libopenblas.so.0 (its constructor and destructor) but not declared in cblas.h.
   TokenScope calls them once at start-up to re-select the kernels when OpenBLAS 0.3.21 falls
   back to "Prescott" on a CPU it does not recognise. */
void gotoblas_init(void);
void gotoblas_quit(void);
#endif
