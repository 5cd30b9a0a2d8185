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

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  vec acc[CHAINS];
  /* x ← x·m + c converges to c/(1−m): no overflow, no denormals, however long it runs. */
  vec m = SET1(0.999999f), c = SET1(1e-6f);
  for (int i = 0; i < CHAINS; i++) acc[i] = SET1((float)i);
  double start = now(), elapsed;
  long rounds = 0;
  do {
    for (long s = 0; s < STEPS; s++)
      for (int i = 0; i < CHAINS; i++) acc[i] = FMA(acc[i], m, c);
    rounds++;
    elapsed = now() - start;
  } while (elapsed < seconds);
  float sink = 0;
  for (int i = 0; i < CHAINS; i++) sink += lane0(acc[i]);
  double flops = 2.0 * (BITS / 32) * CHAINS * (double)STEPS * rounds;
  printf("%d %.3f %g\n", BITS, flops / elapsed / 1e9, sink);
  return 0;
}
