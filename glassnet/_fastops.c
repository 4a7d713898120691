/*
 * glassnet._fastops: optional compiled one-pass loops for the training fast path.
 *
 * Each function is the NumPy code it replaces written as one loop over contiguous
 * memory, with the same floating-point operations in the same order (built with
 * -ffp-contract=off: no contracted multiply-adds), so the results are bitwise equal
 * to NumPy's (tests/test_fastops.py and tests/test_optimizers.py check it). One
 * exception in form, not in result: float32 Adam's v / k1 and s / k2 are taken by
 * multiplication with explicit FMAs (_exact_division.h), which gives the division's
 * bits. The loops run on the calling thread with the GIL released; gcc vectorizes
 * them, and on x86-64 Linux a copy for AVX2 and one for AVX-512 are chosen at load
 * time.
 *
 * Arrays arrive through the buffer protocol: C-contiguous, all float32 ("f") or all
 * float64 ("d"). Scalars arrive as Python floats and are rounded once to the
 * arrays' precision, as NumPy does with a Python scalar.
 *
 *   gradient_descent(W, dW, alpha)          W = W - dW * alpha
 *   momentum(W, dW, v, beta, c, alpha)      v = v beta + dW c; W = W - v alpha
 *   rmsprop(W, dW, s, beta2, c, alpha, eps) s = s beta2 + (dW dW) c;
 *                                           W = W - (dW alpha) / (sqrt(s) + eps)
 *   adam(W, dW, v, s, beta1, c1, beta2, c2, k1, alpha, k2, eps)
 *                                           v = v beta1 + dW c1; s = s beta2 + (dW dW) c2;
 *                                           W = W - ((v / k1) alpha) / (sqrt(s / k2) + eps)
 *   bias_relu(Z, b)                         Z = max(Z + b, 0)      Z (n, m), b (n, 1)
 *   relu_backward(dA, A)                    dA = dA * (A > 0)
 *   relu_backward_sum(dA, A, db)            dA = dA * (A > 0); db = sum(dA, axis=1)
 *                                           (NumPy's pairwise summation of each row)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "_exact_division.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

#if defined(_MSC_VER)
#define restrict __restrict
#endif

#define MAX_ARRAYS 4

typedef struct {
    Py_buffer views[MAX_ARRAYS];
    int count;
    int is_double;
    Py_ssize_t n;
} Arrays;

static void release(Arrays *arrays) {
    for (int i = 0; i < arrays->count; i++) PyBuffer_Release(&arrays->views[i]);
    arrays->count = 0;
}

/* Borrow the buffers of `objects`: `access` has one letter per array, 'w' (written)
   or 'r' (read); all must be C-contiguous with one float format and, when
   `same_size`, one length. */
static int acquire(Arrays *arrays, PyObject *const *objects, const char *access,
                   int same_size) {
    arrays->count = 0;
    for (int i = 0; access[i] != '\0'; i++) {
        int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS;
        if (access[i] == 'w') flags |= PyBUF_WRITABLE;
        if (PyObject_GetBuffer(objects[i], &arrays->views[i], flags) < 0) {
            release(arrays);
            return -1;
        }
        arrays->count++;
        const char *format = arrays->views[i].format;
        int is_double;
        if (format != NULL && strcmp(format, "f") == 0) {
            is_double = 0;
        } else if (format != NULL && strcmp(format, "d") == 0) {
            is_double = 1;
        } else {
            PyErr_Format(PyExc_TypeError,
                         "array %d has format '%s'; float32 or float64 is required",
                         i, format == NULL ? "B" : format);
            release(arrays);
            return -1;
        }
        Py_ssize_t n = arrays->views[i].len / arrays->views[i].itemsize;
        if (i == 0) {
            arrays->is_double = is_double;
            arrays->n = n;
        } else if (is_double != arrays->is_double) {
            PyErr_SetString(PyExc_TypeError, "the arrays must share one dtype");
            release(arrays);
            return -1;
        } else if (same_size && n != arrays->n) {
            PyErr_Format(PyExc_ValueError,
                         "array %d has %zd elements; array 0 has %zd", i, n,
                         arrays->n);
            release(arrays);
            return -1;
        }
    }
    return 0;
}

/* Check the argument count, read the scalars that follow the arrays, borrow the
   arrays. */
static int take(Arrays *arrays, PyObject *const *args, Py_ssize_t nargs,
                const char *name, const char *access, int same_size, double *scalars,
                int n_scalars) {
    Py_ssize_t n_arrays = (Py_ssize_t)strlen(access);
    if (nargs != n_arrays + n_scalars) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name,
                     n_arrays + n_scalars, nargs);
        return -1;
    }
    for (int i = 0; i < n_scalars; i++) {
        scalars[i] = PyFloat_AsDouble(args[n_arrays + i]);
        if (scalars[i] == -1.0 && PyErr_Occurred()) return -1;
    }
    return acquire(arrays, args, access, same_size);
}

/* ---- the loops, written once for float and once for double ------------------ */

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
            W[i] = W[i] - ((vi / k1) * alpha) / (SQRT(si / k2) + eps);             \
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
                W[i] = W[i] - ((v[i] / k1) * alpha) / (sqrtf(s[i] / k2) + eps);
        else
            for (Py_ssize_t i = start; i < end; i++)
                W[i] = W[i] - (divide_by(v[i], k1, y1) * alpha) /
                                  (sqrtf(divide_by(s[i], k2, y2)) + eps);
    }
}

static int exact_division_applies(double k1, double k2) {
    return divisor_in_range((float)k1) && divisor_in_range((float)k2) && HAS_FAST_FMA();
}

/* ---- Python entry points ------------------------------------------------------ */

#define PTR(k) (arrays.views[k].buf)

/* Run LOOP_f64 or LOOP_f32 without the GIL (scalars convert to the loop's precision
   as arguments), release the arrays, return None. */
#define RUN(LOOP, ...)                                                               \
    do {                                                                             \
        Py_BEGIN_ALLOW_THREADS;                                                      \
        if (arrays.is_double)                                                        \
            LOOP##_f64(__VA_ARGS__);                                                 \
        else                                                                         \
            LOOP##_f32(__VA_ARGS__);                                                 \
        Py_END_ALLOW_THREADS;                                                        \
        release(&arrays);                                                            \
        Py_RETURN_NONE;                                                              \
    } while (0)

static PyObject *py_gradient_descent(PyObject *self, PyObject *const *args,
                                     Py_ssize_t nargs) {
    Arrays arrays;
    double x[1];
    if (take(&arrays, args, nargs, "gradient_descent", "wr", 1, x, 1) < 0) return NULL;
    RUN(gd, PTR(0), PTR(1), x[0], arrays.n);
}

static PyObject *py_momentum(PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs) {
    Arrays arrays;
    double x[3];
    if (take(&arrays, args, nargs, "momentum", "wrw", 1, x, 3) < 0) return NULL;
    RUN(momentum, PTR(0), PTR(1), PTR(2), x[0], x[1], x[2], arrays.n);
}

static PyObject *py_rmsprop(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Arrays arrays;
    double x[4];
    if (take(&arrays, args, nargs, "rmsprop", "wrw", 1, x, 4) < 0) return NULL;
    RUN(rmsprop, PTR(0), PTR(1), PTR(2), x[0], x[1], x[2], x[3], arrays.n);
}

static PyObject *py_adam(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Arrays arrays;
    double x[8];
    if (take(&arrays, args, nargs, "adam", "wrww", 1, x, 8) < 0) return NULL;
    if (!arrays.is_double && exact_division_applies(x[4], x[6])) {
        Py_BEGIN_ALLOW_THREADS;
        adam_exact_f32(PTR(0), PTR(1), PTR(2), PTR(3), x[0], x[1], x[2], x[3], x[4],
                       x[5], x[6], x[7], arrays.n);
        Py_END_ALLOW_THREADS;
        release(&arrays);
        Py_RETURN_NONE;
    }
    RUN(adam, PTR(0), PTR(1), PTR(2), PTR(3), x[0], x[1], x[2], x[3], x[4], x[5], x[6],
        x[7], arrays.n);
}

static PyObject *py_relu_backward(PyObject *self, PyObject *const *args,
                                  Py_ssize_t nargs) {
    Arrays arrays;
    if (take(&arrays, args, nargs, "relu_backward", "wr", 1, NULL, 0) < 0) return NULL;
    RUN(relu_backward, PTR(0), PTR(1), arrays.n);
}

static PyObject *py_bias_relu(PyObject *self, PyObject *const *args,
                              Py_ssize_t nargs) {
    Arrays arrays;
    if (take(&arrays, args, nargs, "bias_relu", "wr", 0, NULL, 0) < 0) return NULL;
    Py_buffer *Z = &arrays.views[0], *b = &arrays.views[1];
    Py_ssize_t rows = b->len / b->itemsize;
    if (Z->ndim != 2 || Z->shape[0] != rows) {
        PyErr_Format(PyExc_ValueError,
                     "bias_relu needs Z of shape (n, m) and b of n elements; "
                     "received Z with %d dimensions and b with %zd elements",
                     Z->ndim, rows);
        release(&arrays);
        return NULL;
    }
    RUN(bias_relu, Z->buf, b->buf, rows, Z->shape[1]);
}

static PyObject *py_relu_backward_sum(PyObject *self, PyObject *const *args,
                                      Py_ssize_t nargs) {
    Arrays arrays;
    if (take(&arrays, args, nargs, "relu_backward_sum", "wrw", 0, NULL, 0) < 0)
        return NULL;
    Py_buffer *dA = &arrays.views[0], *A = &arrays.views[1], *db = &arrays.views[2];
    Py_ssize_t rows = db->len / db->itemsize;
    if (dA->ndim != 2 || dA->shape[0] != rows || A->len != dA->len) {
        PyErr_Format(PyExc_ValueError,
                     "relu_backward_sum needs dA and A of one shape (n, m) and db of "
                     "n elements; received dA with %d dimensions, %zd and %zd "
                     "elements in dA and A, and db with %zd elements",
                     dA->ndim, dA->len / dA->itemsize, A->len / A->itemsize, rows);
        release(&arrays);
        return NULL;
    }
    RUN(relu_backward_sum, dA->buf, A->buf, db->buf, rows, dA->shape[1]);
}

static PyMethodDef methods[] = {
    {"gradient_descent", (PyCFunction)(void (*)(void))py_gradient_descent,
     METH_FASTCALL, "gradient_descent(W, dW, alpha): W = W - dW alpha"},
    {"momentum", (PyCFunction)(void (*)(void))py_momentum, METH_FASTCALL,
     "momentum(W, dW, v, beta, c, alpha): v = v beta + dW c; W = W - v alpha"},
    {"rmsprop", (PyCFunction)(void (*)(void))py_rmsprop, METH_FASTCALL,
     "rmsprop(W, dW, s, beta2, c, alpha, eps)"},
    {"adam", (PyCFunction)(void (*)(void))py_adam, METH_FASTCALL,
     "adam(W, dW, v, s, beta1, c1, beta2, c2, k1, alpha, k2, eps)"},
    {"bias_relu", (PyCFunction)(void (*)(void))py_bias_relu, METH_FASTCALL,
     "bias_relu(Z, b): Z = max(Z + b, 0) in place; Z (n, m), b (n, 1)"},
    {"relu_backward", (PyCFunction)(void (*)(void))py_relu_backward, METH_FASTCALL,
     "relu_backward(dA, A): dA = dA * (A > 0) in place"},
    {"relu_backward_sum", (PyCFunction)(void (*)(void))py_relu_backward_sum,
     METH_FASTCALL,
     "relu_backward_sum(dA, A, db): dA = dA * (A > 0) in place; db = sum(dA, axis=1)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastops",
    "Compiled one-pass loops for glassnet's training fast path (optional).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__fastops(void) { return PyModule_Create(&module); }
