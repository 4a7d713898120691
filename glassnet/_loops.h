/*
 * The loops of glassnet._fastops (included once, by _fastops.c), written once for
 * float and once for double: the NumPy code they replace as one loop over contiguous
 * memory, same operations in the same order (see _fastops.c).
 */
#ifndef GLASSNET_LOOPS_H
#define GLASSNET_LOOPS_H

#include <math.h>

#include "_exact_division.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* the copy that target_clones' resolver picks: the first the CPU supports */
static const char *loops_target(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "x86-64 baseline";
}
#else
#define CLONES
static const char *loops_target(void) { return "one copy (no selection at load time)"; }
#endif

#if defined(_MSC_VER)
#define restrict __restrict
#endif

/* ---- the loops, written once for float and once for double ------------------ */

/* Adam's step of one parameter from its new moments vi, si (the notes' order):
   W - (v_hat alpha) / (sqrt(s_hat) + eps), v_hat = vi / k1, s_hat = si / k2 */
#define ADAM_PARAMETER(W, vi, si, k1, alpha, k2, eps, SQRT) \
    ((W) - (((vi) / (k1)) * (alpha)) / (SQRT((si) / (k2)) + (eps)))

#define DEFINE_LOOPS(T, SQRT, SUFFIX)                                                \
    CLONES static void gd_##SUFFIX(T *restrict W, const T *restrict dW, T alpha,   \
                                   Py_ssize_t n) {                                 \
        for (Py_ssize_t i = 0; i < n; i++) W[i] = W[i] - dW[i] * alpha;              \
    }                                                                              \
    CLONES static void momentum_##SUFFIX(T *restrict W, const T *restrict dW,      \
                                         T *restrict v, T beta, T c, T alpha,      \
                                         Py_ssize_t n) {                           \
        for (Py_ssize_t i = 0; i < n; i++) {                                       \
            T vi = v[i] * beta + dW[i] * c;                                        \
            v[i] = vi;                                                             \
            W[i] = W[i] - vi * alpha;                                              \
        }                                                                          \
    }                                                                              \
    CLONES static void rmsprop_##SUFFIX(T *restrict W, const T *restrict dW,       \
                                        T *restrict s, T beta2, T c, T alpha,      \
                                        T eps, Py_ssize_t n) {                     \
        for (Py_ssize_t i = 0; i < n; i++) {                                       \
            T g = dW[i];                                                           \
            T si = s[i] * beta2 + (g * g) * c;                                     \
            s[i] = si;                                                             \
            W[i] = W[i] - (g * alpha) / (SQRT(si) + eps);                          \
        }                                                                          \
    }                                                                              \
    CLONES static void adam_##SUFFIX(T *restrict W, const T *restrict dW,          \
                                     T *restrict v, T *restrict s, T beta1, T c1,  \
                                     T beta2, T c2, T k1, T alpha, T k2, T eps,    \
                                     Py_ssize_t n) {                               \
        for (Py_ssize_t i = 0; i < n; i++) {                                       \
            T g = dW[i];                                                           \
            T vi = v[i] * beta1 + g * c1;                                          \
            T si = s[i] * beta2 + (g * g) * c2;                                    \
            v[i] = vi;                                                             \
            s[i] = si;                                                             \
            W[i] = ADAM_PARAMETER(W[i], vi, si, k1, alpha, k2, eps, SQRT);         \
        }                                                                          \
    }                                                                              \
    CLONES static void bias_relu_##SUFFIX(T *restrict Z, const T *restrict b,      \
                                          Py_ssize_t rows, Py_ssize_t columns) {   \
        for (Py_ssize_t r = 0; r < rows; r++) {                                    \
            T *restrict row = Z + r * columns;                                     \
            T bias = b[r];                                                         \
            for (Py_ssize_t j = 0; j < columns; j++) {                             \
                T z = row[j] + bias;                                               \
                /* NumPy's maximum(z, 0): z when z > 0 or NaN, else +0 (as its \
                   SIMD loops give, -0.0 included) */                              \
                row[j] = (z > 0 || z != z) ? z : (T)0;                             \
            }                                                                      \
        }                                                                          \
    }                                                                              \
    /* a[i] = 0 where |a[i]| < tiny (NaN stays, -0 becomes +0, as NumPy's masked \
       assignment of 0 does) */                                                   \
    CLONES static void flush_##SUFFIX(T *restrict a, T tiny, Py_ssize_t n) {       \
        for (Py_ssize_t i = 0; i < n; i++)                                         \
            a[i] = (a[i] < tiny && a[i] > -tiny) ? (T)0 : a[i];                    \
    }                                                                              \
    CLONES static void relu_backward_##SUFFIX(T *restrict dA, const T *restrict A, \
                                              Py_ssize_t n) {                      \
        for (Py_ssize_t i = 0; i < n; i++) dA[i] = dA[i] * (T)(A[i] > 0);          \
    }                                                                              \
    /* NumPy's pairwise sum (loops_utils.h.src): blocks of at most 128 elements    \
       summed with 8 accumulators, halves added recursively */                    \
    static T pairwise_sum_##SUFFIX(const T *a, Py_ssize_t n) {                     \
        if (n < 8) {                                                               \
            T res = 0;                                                             \
            for (Py_ssize_t i = 0; i < n; i++) res += a[i];                        \
            return res;                                                            \
        }                                                                          \
        if (n <= 128) {                                                            \
            T r[8];                                                                \
            Py_ssize_t i;                                                          \
            for (int k = 0; k < 8; k++) r[k] = a[k];                               \
            for (i = 8; i < n - (n % 8); i += 8)                                   \
                for (int k = 0; k < 8; k++) r[k] += a[i + k];                      \
            T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])); \
            for (; i < n; i++) res += a[i];                                        \
            return res;                                                            \
        }                                                                          \
        Py_ssize_t n2 = n / 2;                                                     \
        n2 -= n2 % 8;                                                              \
        return pairwise_sum_##SUFFIX(a, n2) + pairwise_sum_##SUFFIX(a + n2, n - n2); \
    }                                                                              \
    CLONES static void relu_backward_sum_##SUFFIX(                                 \
        T *restrict dA, const T *restrict A, T *restrict db, Py_ssize_t rows,      \
        Py_ssize_t columns) {                                                      \
        for (Py_ssize_t r = 0; r < rows; r++) {                                    \
            T *row = dA + r * columns;                                             \
            relu_backward_##SUFFIX(row, A + r * columns, columns);                 \
            /* np.sum(dA, axis=1) starts from 0 (so -0.0 sums to +0.0) */          \
            db[r] = (T)0 + pairwise_sum_##SUFFIX(row, columns);                    \
        }                                                                          \
    }

DEFINE_LOOPS(float, sqrtf, f32)
DEFINE_LOOPS(double, sqrt, f64)

/* ---- float32 Adam with its two constant divisions done by multiplication ------
 *
 * Adam's pass is bound by the division unit: v / k1, s / k2, a square root and the
 * last division per parameter. k1 = 1 - beta1^t and k2 = 1 - beta2^t are fixed for
 * the pass, so divide_by (_exact_division.h) takes v / k1 and s / k2 as a
 * multiplication and two fused multiply-adds, bitwise the division's result, for
 * blocks of parameters whose v and s are all in_range; other blocks (moments in the
 * denormal range between two flushes, infinities, NaN) divide. ~30 % off the float32
 * pass on AVX-512 (0.50 -> 0.36 ms for 535k parameters). Only where the CPU has
 * FMA instructions (else fmaf would be a library call); float64 always divides. */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define FMA_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#define HAS_FAST_FMA() __builtin_cpu_supports("fma")
#else
#define FMA_CLONES
#if defined(FP_FAST_FMAF)
#define HAS_FAST_FMA() 1
#else
#define HAS_FAST_FMA() 0
#endif
#endif

#define EXACT_BLOCK 64 /* measured: 64-128 as fast as one fused loop; 16 or 256 slower */

FMA_CLONES static void adam_exact_f32(float *restrict W, const float *restrict dW,
                                      float *restrict v, float *restrict s,
                                      float beta1, float c1, float beta2, float c2,
                                      float k1, float alpha, float k2, float eps,
                                      Py_ssize_t n) {
    const float y1 = 1 / k1, y2 = 1 / k2;
    for (Py_ssize_t start = 0; start < n; start += EXACT_BLOCK) {
        Py_ssize_t end = n - start < EXACT_BLOCK ? n : start + EXACT_BLOCK;
        int outside = 0;
        for (Py_ssize_t i = start; i < end; i++) {
            float g = dW[i];
            float vi = v[i] * beta1 + g * c1;
            float si = s[i] * beta2 + (g * g) * c2;
            v[i] = vi;
            s[i] = si;
            outside |= (in_range(vi) & in_range(si)) ^ 1;
        }
        if (outside)
            for (Py_ssize_t i = start; i < end; i++)
                W[i] = ADAM_PARAMETER(W[i], v[i], s[i], k1, alpha, k2, eps, sqrtf);
        else
            for (Py_ssize_t i = start; i < end; i++)
                W[i] = W[i] - (divide_by(v[i], k1, y1) * alpha) /
                                  (sqrtf(divide_by(s[i], k2, y2)) + eps);
    }
}

static int exact_division_applies(double k1, double k2) {
    return divisor_in_range((float)k1) && divisor_in_range((float)k2) && HAS_FAST_FMA();
}

#endif
