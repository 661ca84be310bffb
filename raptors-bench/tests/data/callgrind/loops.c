/* Recorded under callgrind for raptors-bench's parser tests (see README.md next to the outputs). */
#include <unistd.h>

#define N 1000
#define REPS 10

__attribute__((noinline, noipa)) static void add(const float *a, const float *b, float *o, int n) {
    for (int i = 0; i < n; i++) o[i] = a[i] + b[i];
}

__attribute__((noinline, noipa)) static float acc(const float *a, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s;
}

int main(void) {
    static float a[N], b[N], o[N];
    float t = 0;
    for (int i = 0; i < N; i++) { a[i] = (float)i; b[i] = 1.0f; }
    getppid(); /* part 2: add */
    for (int r = 0; r < REPS; r++) add(a, b, o, N);
    getppid(); /* part 3: acc */
    for (int r = 0; r < REPS; r++) t += acc(o, N);
    getppid(); /* part 4: teardown */
    return t > 0.0f ? 0 : 1; /* uses t, so the loops are not optimised away */
}
