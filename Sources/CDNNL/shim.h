#ifndef TOKENSCOPE_CDNNL_SHIM_H
#define TOKENSCOPE_CDNNL_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity and the CPU_SET macros */
#endif
#include <sched.h>
#include <malloc.h> /* malloc_trim (Heap.releaseFree) */
#include <oneapi/dnnl/dnnl.h>
/* Debian's oneDNN runs its parallel regions on GNU OpenMP. The engine runs its own workers and asks
   for one thread per GEMM: these set and read the calling thread's OpenMP team size (libgomp; omp.h
   is GCC's and not on Swift's clang include path). */
void omp_set_num_threads(int n);
int omp_get_max_threads(void);
/* The places libgomp made from OMP_PLACES / OMP_PROC_BIND / GOMP_CPU_AFFINITY (see OpenMPPlacement). */
int omp_get_num_places(void);
int omp_get_place_num_procs(int place);
void omp_get_place_proc_ids(int place, int *ids);

/* How many CPUs the calling thread may run on (its affinity mask; what `taskset` sets), or 0. */
static inline int ts_thread_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

/* Lets the calling thread run on exactly these n CPUs; 0 on success. */
static inline int ts_set_thread_cpus(const int *cpus, int n) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++) if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    return sched_setaffinity(0, sizeof set, &set);
}
#endif
