// What batch 1 costs the linear products when both cores split one image: DeiT-Tiny's 48 linear
// products (12 blocks x qkv, proj, fc1, fc2, each with its own packed weights, as in the model) on
// one core, split the way two workers would split them, timed while a second copy runs on the
// other core. docs/engine.md#batch-1 has the figures.
//
//   gcc -O2 -o /tmp/ws .ci/weight-stream.c -ldnnl && (OMP_NUM_THREADS=1 /tmp/ws rows & OMP_NUM_THREADS=1 /tmp/ws rows; wait)
//
// rows: 98 rows each, every weight whole (how the engine splits batch 1);
// columns: 197 rows, half of every weight's outputs (each core reads half the weights);
// hot: 98 rows on one block's weights over and over (the weights stay in the core's cache).
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CK(x) do { if ((x) != dnnl_success) { fprintf(stderr, "oneDNN failed at line %d\n", __LINE__); exit(1); } } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t strm;
typedef struct { dnnl_primitive_t p; dnnl_memory_t s, w, d; } matmul;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

// Y [m, n] = X [m, k] W^T with W [n, k] reordered once into the layout oneDNN picks.
static void make(matmul *mm, int m, int n, int k, float *x, float *w, float *y) {
    dnnl_memory_desc_t src, wei, plain, dst;
    dnnl_dims_t sd = {m, k}, wd = {k, n}, dd = {m, n}, ws = {1, k};
    CK(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_ab));
    CK(dnnl_memory_desc_init_by_strides(&plain, 2, wd, dnnl_f32, ws));
    CK(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab));
    CK(dnnl_memory_desc_init_by_tag(&wei, 2, wd, dnnl_f32, dnnl_format_tag_any));
    dnnl_matmul_desc_t md;
    CK(dnnl_matmul_desc_init(&md, &src, &wei, NULL, &dst));
    dnnl_primitive_desc_t pd;
    CK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    const dnnl_memory_desc_t *packed = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t from;
    CK(dnnl_memory_create(&mm->s, &src, eng, x));
    CK(dnnl_memory_create(&mm->d, &dst, eng, y));
    CK(dnnl_memory_create(&from, &plain, eng, w));
    CK(dnnl_memory_create(&mm->w, packed, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t reorder;
    CK(dnnl_reorder_primitive_desc_create(&rpd, &plain, eng, packed, eng, NULL));
    CK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, mm->w}};
    CK(dnnl_primitive_execute(reorder, strm, 2, ra));
    CK(dnnl_stream_wait(strm));
    CK(dnnl_primitive_create(&mm->p, pd));
}

static void run(matmul *mm) {
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, mm->s}, {DNNL_ARG_WEIGHTS, mm->w}, {DNNL_ARG_DST, mm->d}};
    CK(dnnl_primitive_execute(mm->p, strm, 3, a));
    CK(dnnl_stream_wait(strm));
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "rows";
    int columns = !strcmp(mode, "columns"), hot = !strcmp(mode, "hot");
    if (!columns && !hot && strcmp(mode, "rows")) { fprintf(stderr, "usage: %s rows|columns|hot\n", argv[0]); return 2; }
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    const int d = 192, m = columns ? 197 : 98, part = columns ? 2 : 1, blocks = hot ? 1 : 12;
    const int n[4] = {3 * d / part, d / part, 4 * d / part, d / part}, k[4] = {d, d, d, 4 * d};
    float *x = calloc((size_t)197 * 4 * d, 4), *y = calloc((size_t)197 * 4 * d, 4), *w = malloc((size_t)4 * d * d * 4);
    for (int i = 0; i < 4 * d * d; i++) w[i] = (float)(i % 7) / 7 - 0.5f;
    for (int i = 0; i < 197 * 4 * d; i++) x[i] = (float)(i % 5) / 5 - 0.5f;
    matmul mm[12][4];
    double flops = 0;
    for (int b = 0; b < blocks; b++)
        for (int l = 0; l < 4; l++) { make(&mm[b][l], m, n[l], k[l], x, w, y); flops += 2.0 * m * n[l] * k[l]; }
    const int passes = 12 / blocks;
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        int reps = 0;
        while (now() - t0 < 1.0) {
            for (int p = 0; p < passes; p++)
                for (int b = 0; b < blocks; b++)
                    for (int l = 0; l < 4; l++) run(&mm[b][l]);
            reps++;
        }
        double t = (now() - t0) / reps;
        if (t < best) best = t;
    }
    printf("%s: %d rows x %s outputs, 48 products: %.0f us per image's share, %.0f GFLOP/s\n", mode, m,
           columns ? "half the" : "all", best * 1e6, flops * passes / best * 1e-9);
    return 0;
}
