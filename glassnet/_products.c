/*
 * Matrix products split across glassnet's threads (_pool.c): C = A @ B in float32.
 *
 * Each thread calls NumPy's own BLAS (its cblas_sgemm, found by glassnet._kernels
 * and handed over as an address with set_sgemm) on a band of C's rows or columns,
 * with BLAS itself held to one thread. Every element of C is the same dot product, in the
 * same order, that one single-threaded sgemm call over the whole matrix computes,
 * so the result is bitwise np.matmul's with one BLAS thread, whatever the number of
 * threads here (tests/test_products.py), provided every band is large enough for
 * OpenBLAS to take the same kernel as for the whole (SPLIT_MIN_BAND below).
 * Smaller products run on the calling thread alone.
 *
 *   matmul(A, B, C, alpha)   C = alpha (A @ B); A (M, K), B (K, N), C (M, N),
 *                        float32; A and B C- or F-contiguous (a transpose is a flag
 *                        to BLAS, not a copy), C C-contiguous and overlapping
 *                        neither; alpha is rounded to float32 (as NumPy rounds a
 *                        Python scalar) and each thread multiplies its band of C
 *                        by it while the band is in its cache: the bits of
 *                        np.matmul(A, B) * alpha (BLAS's own alpha would round
 *                        differently)
 *   set_sgemm(address, ilp64)   the cblas_sgemm to call (64-bit integers if ilp64)
 *   set_threads(n)       the number of threads products and passes use (1: none)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "_pool.h"
#include "_products.h"

enum { ROW_MAJOR = 101, NO_TRANSPOSE = 111, TRANSPOSE = 112 };

typedef void (*sgemm_ilp64)(int, int, int, int64_t, int64_t, int64_t, float,
                            const float *, int64_t, const float *, int64_t, float,
                            float *, int64_t);
typedef void (*sgemm_lp64)(int, int, int, int, int, int, float, const float *, int,
                           const float *, int, float, float *, int);

static void *sgemm;
static int sgemm_is_ilp64;

/* Each band gets at least this many multiply-adds, so that OpenBLAS takes the
   same kernel for every band as for the whole product: below these sizes it may
   take other kernels, which round differently. Its "direct" sgemm (AVX-512, both
   operands untransposed) runs below 28 x 512 x 512; its small-matrix kernels run
   below 100^3. Measured on random shapes (tests/test_products.py): bands above
   these limits give the whole product's bits, smaller ones do not always. Both are
   far above the cost of a round of the pool (a few microseconds). */
#define SPLIT_MIN_BAND_UNTRANSPOSED (28LL * 512 * 512)
#define SPLIT_MIN_BAND (1LL << 20)
/* bands are multiples of this many rows or columns (BLAS kernels' tile edges) */
#define BAND_GRAIN 64

typedef struct {
    const float *A, *B;
    float *C;
    int transpose_a, transpose_b;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha;
    int by_columns; /* bands of C's columns rather than of its rows */
} Product;

/* C[rows, columns] = alpha (A[rows, :] @ B[:, columns]) for the block of C at
   (row, column), `rows` by `columns` */
static void product_block(const Product *p, int64_t row, int64_t rows, int64_t column,
                          int64_t columns) {
    const float *A = p->A + (p->transpose_a ? row : row * p->lda);
    const float *B = p->B + (p->transpose_b ? column * p->ldb : column);
    float *C = p->C + row * p->ldc + column;
    int ta = p->transpose_a ? TRANSPOSE : NO_TRANSPOSE;
    int tb = p->transpose_b ? TRANSPOSE : NO_TRANSPOSE;
    if (sgemm_is_ilp64)
        ((sgemm_ilp64)sgemm)(ROW_MAJOR, ta, tb, rows, columns, p->K, 1.0f, A, p->lda, B,
                             p->ldb, 0.0f, C, p->ldc);
    else
        ((sgemm_lp64)sgemm)(ROW_MAJOR, ta, tb, (int)rows, (int)columns, (int)p->K, 1.0f,
                            A, (int)p->lda, B, (int)p->ldb, 0.0f, C, (int)p->ldc);
    if (p->alpha == 1.0f) return;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) C[i * p->ldc + j] *= p->alpha;
}

static void product_part(void *context, int part, int parts) {
    const Product *p = context;
    int64_t start, stop;
    band(p->by_columns ? p->N : p->M, part, parts, BAND_GRAIN, &start, &stop);
    if (start == stop) return;
    if (p->by_columns)
        product_block(p, 0, p->M, start, stop - start);
    else
        product_block(p, start, stop - start, 0, p->N);
}

/* A matrix operand's layout: 0 and its leading dimension when rows are contiguous,
   1 (a transpose for BLAS) when columns are; -1 otherwise. */
static int layout(const Py_buffer *view, int64_t *leading) {
    Py_ssize_t s0 = view->strides[0], s1 = view->strides[1];
    if (s1 == sizeof(float) && s0 % sizeof(float) == 0 &&
        s0 / (Py_ssize_t)sizeof(float) >= (view->shape[1] > 1 ? view->shape[1] : 1)) {
        *leading = s0 / sizeof(float);
        return 0;
    }
    if (s0 == sizeof(float) && s1 % sizeof(float) == 0 &&
        s1 / (Py_ssize_t)sizeof(float) >= (view->shape[0] > 1 ? view->shape[0] : 1)) {
        *leading = s1 / sizeof(float);
        return 1;
    }
    return -1;
}

PyObject *py_matmul(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "matmul() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    double alpha = PyFloat_AsDouble(args[3]);
    if (alpha == -1.0 && PyErr_Occurred()) return NULL;
    if (sgemm == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "matmul: no sgemm was set (set_sgemm)");
        return NULL;
    }
    Py_buffer views[3];
    int count = 0;
    PyObject *result = NULL;
    for (; count < 3; count++) {
        int flags = PyBUF_FORMAT | PyBUF_STRIDES | (count == 2 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(args[count], &views[count], flags) < 0) goto done;
        const Py_buffer *v = &views[count];
        if (v->ndim != 2 || v->format == NULL || strcmp(v->format, "f") != 0) {
            PyErr_Format(PyExc_TypeError,
                         "matmul: array %d must be a 2-d float32 array; received %d "
                         "dimensions of format '%s'",
                         count, v->ndim, v->format == NULL ? "B" : v->format);
            count++;
            goto done;
        }
    }
    Product p;
    p.alpha = (float)alpha;
    p.A = views[0].buf;
    p.B = views[1].buf;
    p.C = views[2].buf;
    p.M = views[0].shape[0];
    p.K = views[0].shape[1];
    p.N = views[1].shape[1];
    if (views[1].shape[0] != p.K || views[2].shape[0] != p.M ||
        views[2].shape[1] != p.N) {
        PyErr_Format(PyExc_ValueError,
                     "matmul: shapes (%zd, %zd) @ (%zd, %zd) -> (%zd, %zd) do not match",
                     views[0].shape[0], views[0].shape[1], views[1].shape[0],
                     views[1].shape[1], views[2].shape[0], views[2].shape[1]);
        goto done;
    }
    int64_t ldc;
    p.transpose_a = layout(&views[0], &p.lda);
    p.transpose_b = layout(&views[1], &p.ldb);
    if (p.transpose_a < 0 || p.transpose_b < 0 || layout(&views[2], &ldc) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "matmul: A and B must be C- or F-contiguous and C C-contiguous");
        goto done;
    }
    p.ldc = ldc;
    if (p.M == 0 || p.N == 0) {
        result = Py_None;
        goto done;
    }
    if (p.K == 0) {
        for (int64_t row = 0; row < p.M; row++)
            memset(p.C + row * p.ldc, 0, sizeof(float) * (size_t)p.N);
        result = Py_None;
        goto done;
    }
    /* Each thread's BLAS call packs its band of one operand and all of the other.
       Bands of columns duplicate the packing of A rather than of B, which pays
       when C is at least twice as wide as tall and K is long. Measured on this
       project's machine (interleaved calls): at 1024 examples a batch the forward
       products and dW2 were 5-15 % faster in bands of columns, while dW1 = dZ1 X
       (512 x 784, K = 1024, only 1.5 times as wide) was 3-6 % faster in bands of
       rows (an epoch 2 % faster, 24 alternating epochs twice); for short products
       columns were slower (16 % for dW = dZ X at 128, K = 128). As many bands as
       threads, none below the split limit. */
    p.by_columns = p.N >= 2 * p.M && p.K >= 256;
    int64_t length = p.by_columns ? p.N : p.M, other = p.by_columns ? p.M : p.N;
    int64_t limit = p.transpose_a || p.transpose_b ? SPLIT_MIN_BAND
                                                   : SPLIT_MIN_BAND_UNTRANSPOSED;
    int parts = pool_threads();
    for (; parts > 1; parts--) { /* the shortest band is the last one */
        int64_t start, stop;
        band(length, parts - 1, parts, BAND_GRAIN, &start, &stop);
        if (stop > start && (stop - start) * other * p.K >= limit) break;
    }
    Py_BEGIN_ALLOW_THREADS;
    pool_run(product_part, &p, parts); /* one part: on this thread */
    Py_END_ALLOW_THREADS;
    result = Py_None;
done:
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
    Py_XINCREF(result);
    return result;
}

PyObject *py_set_sgemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "set_sgemm() takes 2 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    void *address = PyLong_AsVoidPtr(args[0]);
    if (address == NULL && PyErr_Occurred()) return NULL;
    int ilp64 = PyObject_IsTrue(args[1]);
    if (ilp64 < 0) return NULL;
    sgemm = address;
    sgemm_is_ilp64 = ilp64;
    Py_RETURN_NONE;
}

PyObject *py_set_threads(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "set_threads() takes 1 argument (%zd given)",
                     nargs);
        return NULL;
    }
    long wanted = PyLong_AsLong(args[0]);
    if (wanted == -1 && PyErr_Occurred()) return NULL;
    if (wanted < 1 || wanted > POOL_MAX) {
        PyErr_Format(PyExc_ValueError, "set_threads: %ld threads; 1 to %d are allowed",
                     wanted, POOL_MAX);
        return NULL;
    }
    int got;
    Py_BEGIN_ALLOW_THREADS;
    got = pool_resize((int)wanted);
    Py_END_ALLOW_THREADS;
    if (got < 0) {
        PyErr_Format(PyExc_OSError, "set_threads: could not start %ld threads (%d run)",
                     wanted, pool_threads());
        return NULL;
    }
    return PyLong_FromLong(got);
}
