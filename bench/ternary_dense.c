/*
 * FGQ issue 12: a DENSE layer at batch 1 (each weight read once per image) three ways, on
 * AVX-512 VNNI, to decide between expanding ternary weights to int8 at load (what libf8
 * does) and decoding their 2-bit form on the fly:
 *
 *   int8     the engine's layout and inner loop: 64 output channels at a time, each step of
 *            4 input bytes reads 4 x 64 weight bytes into 4 vpdpbusd (packed as pack.c does);
 *   tern4    2-bit codes and one u8 alpha per group of 4 weights, same tiling: a step reads
 *            64 bytes of codes (4 x 64 weights) and 64 alphas; the codes are spread to bytes
 *            (vpmovzxwq + vpmultishiftqb), mapped to {-1, 0, +1} (vpshufb), dotted with the
 *            input (vpdpbusd: the group sums), multiplied by alpha (vpmulld) and added;
 *   tern64   the same with one alpha per 64 weights: 16 steps of vpdpbusd into the group sums,
 *            then one vpmulld by alpha.
 *
 * All three compute the same s32 sums (checked against a scalar loop before timing). Sizes:
 * a cache-resident layer (512 -> 1024, about ResNet-18's classifier, timed hot, 300 runs) and a
 * memory-bound one (4096 -> 16384, 64 MB in int8; every run after streaming 128 MB through
 * the caches, so no form of the weights is still in L3). Median of interleaved rounds of
 * thread CPU time, one thread.
 *
 *   cc -O3 -march=x86-64-v4 -mavx512vnni -mavx512vbmi bench/ternary_dense.c \
 *      -o build/bench/ternary_dense && build/bench/ternary_dense [ROUNDS]
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    uint32_t K, C;             /* inputs (multiple of 64), outputs (multiple of 64) */
    int8_t *w8;                /* [C/64][K/4][64][4]: pack.c's GEMM layout, one tile row */
    uint8_t *codes;            /* [C/64][K/4][64 ch][4 k] 2-bit, 4 per byte: 64 B a step */
    uint8_t *a4;               /* [C/64][K/4][64]: alpha of group k/4 of each channel */
    uint8_t *a64;              /* [C/64][K/64][64] */
    int8_t *t;                 /* [C][K] codes as -1/0/+1, for the reference */
    uint8_t *al4, *al64;       /* [C][K/4], [C][K/64] */
} layer;

/* The thread's CPU time: on a shared host a descheduled run would otherwise count the other
 * processes' time (their memory traffic still slows the cold runs). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static void *amalloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64))
        abort();
    return p;
}

static void make(layer *L, uint32_t K, uint32_t C, int alpha64)
{
    L->K = K;
    L->C = C;
    L->t = amalloc((size_t)C * K);
    L->al4 = amalloc((size_t)C * K / 4);
    L->al64 = amalloc((size_t)C * K / 64);
    for (size_t i = 0; i < (size_t)C * K; i++) {
        const uint32_t r = rnd() % 3;
        L->t[i] = (int8_t)(r == 2 ? -1 : (int)r);
    }
    for (size_t i = 0; i < (size_t)C * K / 4; i++)
        L->al4[i] = (uint8_t)(rnd() % 128);
    for (size_t i = 0; i < (size_t)C * K / 64; i++)
        L->al64[i] = (uint8_t)(rnd() % 128);
    L->w8 = amalloc((size_t)C * K);
    L->codes = amalloc((size_t)C * K / 4);
    L->a4 = amalloc((size_t)C * K / 4);
    L->a64 = amalloc((size_t)C * K / 64);
    for (uint32_t tile = 0; tile < C / 64; tile++)
        for (uint32_t s = 0; s < K / 4; s++)
            for (uint32_t c = 0; c < 64; c++) {
                const uint32_t o = tile * 64 + c;
                const size_t step = (size_t)tile * (K / 4) + s;
                uint8_t byte = 0;
                for (uint32_t b = 0; b < 4; b++) {
                    const size_t j = (size_t)o * K + 4 * s + b;
                    const int a = alpha64 ? L->al64[(size_t)o * (K / 64) + (4 * s) / 64]
                                          : L->al4[(size_t)o * (K / 4) + s];
                    L->w8[step * 256 + c * 4 + b] = (int8_t)(L->t[j] * a);
                    byte |= (uint8_t)((L->t[j] & 3) << (2 * b));
                }
                L->codes[step * 64 + c] = byte;
                L->a4[step * 64 + c] = L->al4[(size_t)o * (K / 4) + s];
                if (s % 16 == 0)
                    L->a64[((size_t)tile * (K / 64) + s / 16) * 64 + c] =
                        L->al64[(size_t)o * (K / 64) + s / 16];
            }
}

static void ref(const layer *L, const uint8_t *x, int alpha64, int32_t *y)
{
    for (uint32_t o = 0; o < L->C; o++) {
        int64_t s = 0;
        for (uint32_t k = 0; k < L->K; k++) {
            const int a = alpha64 ? L->al64[(size_t)o * (L->K / 64) + k / 64]
                                  : L->al4[(size_t)o * (L->K / 4) + k / 4];
            s += (int64_t)x[k] * L->t[(size_t)o * L->K + k] * a;
        }
        y[o] = (int32_t)s;
    }
}

static void int8_dense(const layer *L, const uint8_t *x, int32_t *y)
{
    for (uint32_t tile = 0; tile < L->C / 64; tile++) {
        const int8_t *w = L->w8 + (size_t)tile * (L->K / 4) * 256;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (uint32_t s = 0; s < L->K / 4; s++, w += 256) {
            const __m512i xb = _mm512_set1_epi32(*(const int32_t *)(const void *)(x + 4 * s));
            acc0 = _mm512_dpbusd_epi32(acc0, xb, _mm512_load_si512(w));
            acc1 = _mm512_dpbusd_epi32(acc1, xb, _mm512_load_si512(w + 64));
            acc2 = _mm512_dpbusd_epi32(acc2, xb, _mm512_load_si512(w + 128));
            acc3 = _mm512_dpbusd_epi32(acc3, xb, _mm512_load_si512(w + 192));
        }
        _mm512_storeu_si512(y + tile * 64, acc0);
        _mm512_storeu_si512(y + tile * 64 + 16, acc1);
        _mm512_storeu_si512(y + tile * 64 + 32, acc2);
        _mm512_storeu_si512(y + tile * 64 + 48, acc3);
    }
}

/* 16 code bytes (64 codes: 16 channels x 4 k) -> 64 bytes t in {-1, 0, +1}: each qword of
 * the spread gets 2 code bytes (8 codes), vpmultishiftqb picks bits 2i..2i+7 into byte i,
 * the low 2 bits index a table. */
static inline __m512i decode16(const uint8_t *c, __m512i shifts, __m512i lut, __m512i three)
{
    const __m512i q = _mm512_cvtepu16_epi64(_mm_loadu_si128((const __m128i *)(const void *)c));
    const __m512i f = _mm512_and_si512(_mm512_multishift_epi64_epi8(shifts, q), three);
    return _mm512_shuffle_epi8(lut, f);
}

static void tern_dense(const layer *L, const uint8_t *x, int alpha64, int32_t *y)
{
    const __m512i shifts = _mm512_set1_epi64(0x0E0C0A0806040200LL);
    const __m512i lut = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 0, -1, 0, 0, 0, 0, 0, 0, 0,
                                                             0, 0, 0, 0, 0));
    const __m512i three = _mm512_set1_epi8(3);
    for (uint32_t tile = 0; tile < L->C / 64; tile++) {
        const uint8_t *c = L->codes + (size_t)tile * (L->K / 4) * 64;
        __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(),
                          _mm512_setzero_si512(), _mm512_setzero_si512()};
        if (!alpha64) {
            const uint8_t *a = L->a4 + (size_t)tile * (L->K / 4) * 64;
            for (uint32_t s = 0; s < L->K / 4; s++, c += 64, a += 64) {
                const __m512i xb = _mm512_set1_epi32(*(const int32_t *)(const void *)(x + 4 * s));
                for (int b = 0; b < 4; b++) {
                    const __m512i t = decode16(c + 16 * b, shifts, lut, three);
                    const __m512i g = _mm512_dpbusd_epi32(_mm512_setzero_si512(), xb, t);
                    const __m512i al = _mm512_cvtepu8_epi32(
                        _mm_loadu_si128((const __m128i *)(const void *)(a + 16 * b)));
                    acc[b] = _mm512_add_epi32(acc[b], _mm512_mullo_epi32(g, al));
                }
            }
        } else {
            const uint8_t *a = L->a64 + (size_t)tile * (L->K / 64) * 64;
            for (uint32_t s0 = 0; s0 < L->K / 4; s0 += 16, a += 64) {
                __m512i g[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(),
                                _mm512_setzero_si512(), _mm512_setzero_si512()};
                for (uint32_t s = s0; s < s0 + 16; s++, c += 64) {
                    const __m512i xb =
                        _mm512_set1_epi32(*(const int32_t *)(const void *)(x + 4 * s));
                    for (int b = 0; b < 4; b++)
                        g[b] = _mm512_dpbusd_epi32(g[b], xb,
                                                   decode16(c + 16 * b, shifts, lut, three));
                }
                for (int b = 0; b < 4; b++) {
                    const __m512i al = _mm512_cvtepu8_epi32(
                        _mm_loadu_si128((const __m128i *)(const void *)(a + 16 * b)));
                    acc[b] = _mm512_add_epi32(acc[b], _mm512_mullo_epi32(g[b], al));
                }
            }
        }
        for (int b = 0; b < 4; b++)
            _mm512_storeu_si512(y + tile * 64 + 16 * b, acc[b]);
    }
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 9;
    const struct { const char *name; uint32_t K, C; } shapes[] = {
        {"512->1024 (about ResNet-18's fc, 0.5 MB int8)", 512, 1024},
        {"4096->16384 (64 MB int8)", 4096, 16384},
    };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        layer L4, L64;
        rng = 12345;
        make(&L4, shapes[si].K, shapes[si].C, 0);
        rng = 12345;
        make(&L64, shapes[si].K, shapes[si].C, 1);
        uint8_t *x = amalloc(shapes[si].K);
        for (uint32_t k = 0; k < shapes[si].K; k++)
            x[k] = (uint8_t)rnd();
        int32_t *y = amalloc(sizeof(int32_t) * shapes[si].C);
        int32_t *want = amalloc(sizeof(int32_t) * shapes[si].C);
        /* every kernel against the scalar reference */
        const char *names[4] = {"int8 (N=4 weights)", "ternary N=4, decoded", "int8 (N=64 weights)",
                                "ternary N=64, decoded"};
        for (int v = 0; v < 4; v++) {
            const layer *L = v < 2 ? &L4 : &L64;
            ref(L, x, v >= 2, want);
            if (v % 2 == 0)
                int8_dense(L, x, y);
            else
                tern_dense(L, x, v >= 2, y);
            if (memcmp(y, want, sizeof(int32_t) * shapes[si].C) != 0) {
                fprintf(stderr, "%s: %s differs from the reference\n", shapes[si].name, names[v]);
                return 1;
            }
        }
        double t[4][64];
        const int cold = shapes[si].K * (uint64_t)shapes[si].C > 10000000;
        const int reps = cold ? 1 : 300;
        const size_t flush_n = (size_t)128 << 20;
        uint8_t *flush = cold ? amalloc(flush_n) : NULL;
        if (flush)
            memset(flush, 1, flush_n);
        for (int r = 0; r < rounds && r < 64; r++)
            for (int v = 0; v < 4; v++) {
                const layer *L = v < 2 ? &L4 : &L64;
                if (flush) { /* evict every weight form from the caches */
                    uint64_t sum = 0;
                    for (size_t i = 0; i < flush_n; i += 64)
                        sum += flush[i]++;
                    if (sum == 42)
                        printf(" ");
                }
                const double t0 = now();
                for (int i = 0; i < reps; i++) {
                    if (v % 2 == 0)
                        int8_dense(L, x, y);
                    else
                        tern_dense(L, x, v >= 2, y);
                }
                t[v][r] = (now() - t0) / reps;
            }
        free(flush);
        const double bytes[4] = {(double)shapes[si].K * shapes[si].C,
                                 (double)shapes[si].K * shapes[si].C / 2,
                                 (double)shapes[si].K * shapes[si].C,
                                 (double)shapes[si].K * shapes[si].C * (0.25 + 1.0 / 64)};
        printf("%s, batch 1, 1 thread, median of %d rounds:\n", shapes[si].name, rounds);
        double base = 0;
        for (int v = 0; v < 4; v++) {
            qsort(t[v], (size_t)rounds, sizeof(double), cmp);
            const double med = t[v][rounds / 2];
            if (v % 2 == 0)
                base = med;
            printf("  %-24s %8.3f ms  %6.2f MB read  %6.1f GB/s%s", names[v], med * 1e3,
                   bytes[v] / 1e6, bytes[v] / med * 1e-9, v % 2 ? "" : "\n");
            if (v % 2)
                printf("  int8 / decoded time %.2f\n", base / med);
        }
    }
    return 0;
}
