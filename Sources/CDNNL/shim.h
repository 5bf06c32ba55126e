#ifndef TOKENSCOPE_CDNNL_SHIM_H
#define TOKENSCOPE_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
/* Debian's oneDNN runs its parallel regions on GNU OpenMP. The engine runs its own workers and asks
   for one thread per GEMM: these set and read the calling thread's OpenMP team size (libgomp; omp.h
   is GCC's and not on Swift's clang include path). */
void omp_set_num_threads(int n);
int omp_get_max_threads(void);
#endif
