/* Peak float32 FMA rate of one core: independent multiply-add chains on the widest vector the compiler
 * targets (cc -O2 -march=native). `npm run bench` (bench/peak.ts) runs one copy per core at once and
 * adds their rates. Prints: <vector bits> <GFLOP/s> (an FMA counts 2 FLOPs per lane).
 * usage: fma-peak SECONDS */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* More chains than FMA latency × FMA pipes (4 × 2 on current x86), so the pipes never wait on a result. */
#define CHAINS 12
#define STEPS 1000000L

#if defined(__AVX512F__)
#define BITS 512
typedef __m512 vec;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
static float lane0(vec v) { return _mm512_cvtss_f32(v); }
#elif defined(__FMA__)
#define BITS 256
typedef __m256 vec;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float lane0(vec v) { return _mm256_cvtss_f32(v); }
#else
#define BITS 128
typedef __m128 vec;
#define SET1 _mm_set1_ps
#define FMA(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c) /* no FMA unit: multiply and add, 2 FLOPs */
static float lane0(vec v) { return _mm_cvtss_f32(v); }
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Twelve named accumulators, not an array: at -O2 GCC does not unroll a loop over an array of
 * vectors, and the array would live in memory, each step waiting on a store and a load. */
#define STEP(x) x = FMA(x, m, c)

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  /* x <- x*m + c converges to c/(1-m): no overflow, no denormals, however long it runs. */
  vec m = SET1(0.999999f), c = SET1(1e-6f);
  vec a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);
  vec a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);
  double start = now(), elapsed;
  long rounds = 0;
  do {
    for (long s = 0; s < STEPS; s++) {
      STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);
      STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);
    }
    rounds++;
    elapsed = now() - start;
  } while (elapsed < seconds);
  float sink = lane0(a0) + lane0(a1) + lane0(a2) + lane0(a3) + lane0(a4) + lane0(a5) + lane0(a6) + lane0(a7) + lane0(a8) + lane0(a9) + lane0(a10) + lane0(a11);
  double flops = 2.0 * (BITS / 32) * CHAINS * (double)STEPS * rounds;
  /* The sink keeps the chains from being optimised away. */
  printf("%d %.3f %g\n", BITS, flops / elapsed / 1e9, sink);
  return 0;
}
