/*
 * Matrix products split across glassnet's threads (_pool.c): C = A @ B in float32.
 *
 * Each thread calls NumPy's own BLAS (its cblas_sgemm, looked up here by name in the
 * OpenBLAS library that glassnet._kernels names with load_sgemm: one already loaded
 * in this process, never an address given from Python) on a band of C's rows or
 * columns, with BLAS itself held to one thread. Every element of C is the same dot
 * product, in the same order, that one single-threaded sgemm call over the whole
 * matrix computes, so the result is bitwise np.matmul's with one BLAS thread,
 * whatever the number of threads here (tests/test_products.py), provided every band
 * is large enough for OpenBLAS to take the same kernel as for the whole
 * (SPLIT_MIN_BAND below) and its edges fall where the whole product's tiles do
 * (ROW_GRAIN below). Smaller products run on the calling thread alone.
 *
 *   matmul(A, B, C, alpha)   C = alpha (A @ B); A (M, K), B (K, N), C (M, N),
 *                        float32; A and B C- or F-contiguous (a transpose is a flag
 *                        to BLAS, not a copy), C C-contiguous and overlapping
 *                        neither; alpha is rounded to float32 (as NumPy rounds a
 *                        Python scalar) and each thread multiplies its band of C
 *                        by it while the band is in its cache: the bits of
 *                        np.matmul(A, B) * alpha (BLAS's own alpha would round
 *                        differently)
 *   load_sgemm(path, columns)   look up cblas_sgemm in the library at `path`, which
 *                        must already be loaded (dlopen with RTLD_NOLOAD: nothing
 *                        is loaded or run by this call), under the fixed names of
 *                        SGEMM_SYMBOLS, each with its integer width; returns the
 *                        name found, or None (then nothing changes); OSError when
 *                        no such library is loaded. `columns`: whether bands of
 *                        C's columns keep the whole product's bits with this
 *                        library's kernel (glassnet._kernels knows which do)
 *   set_threads(n)       the number of threads products and passes use (1: none)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

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
static int columns_allowed; /* bands of C's columns keep the bits (load_sgemm) */

/* The names NumPy's OpenBLAS gives cblas_sgemm (its wheels: prefixed, 64-bit
   integers), each with its integer width; nothing else is ever called. */
static const struct {
    const char *name;
    int ilp64;
} SGEMM_SYMBOLS[] = {
    {"scipy_cblas_sgemm64_", 1},
    {"cblas_sgemm64_", 1},
    {"scipy_cblas_sgemm", 0},
    {"cblas_sgemm", 0},
};

/* Each band gets at least this many multiply-adds, so that OpenBLAS takes the
   same kernel for every band as for the whole product: below these sizes it may
   take other kernels, which round differently. Its "direct" sgemm (AVX-512, both
   operands untransposed) runs below 28 x 512 x 512; its small-matrix kernels run
   below 100^3. Measured on random shapes (tests/test_products.py): bands above
   these limits give the whole product's bits, smaller ones do not always. Both are
   far above the cost of a round of the pool (a few microseconds). */
#define SPLIT_MIN_BAND_UNTRANSPOSED (28LL * 512 * 512)
#define SPLIT_MIN_BAND (1LL << 20)
/* Bands of rows are multiples of ROW_GRAIN rows, bands of columns of COLUMN_GRAIN
   columns. With OpenBLAS's Haswell sgemm kernel (the one it takes on an AMD EPYC
   here), a band of rows keeps the whole product's bits only where bands start at
   multiples of 24 rows (measured on random shapes above the size limits: grains of
   24, 48 and 96 rows kept them, 16, 32 and 64 did not); with its SkylakeX kernel any
   multiple of 16 did: 48 serves both. With the Haswell kernel no band of columns
   kept them, so glassnet._kernels allows bands of columns only for the SkylakeX
   family (load_sgemm's `columns`), where grains of 16 to 96 columns all did. */
#define ROW_GRAIN 48
#define COLUMN_GRAIN 64
/* parts a thread for a product large enough: bands a little finer than one per
   thread, so that a descheduled thread's work is taken by another (_pool.c); each
   band's call packs all of the other operand, so not much finer */
#define PRODUCT_PARTS_PER_THREAD 2

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
    band(p->by_columns ? p->N : p->M, part, parts,
         p->by_columns ? COLUMN_GRAIN : ROW_GRAIN, &start, &stop);
    if (start == stop) return;
    if (p->by_columns)
        product_block(p, 0, p->M, start, stop - start);
    else
        product_block(p, start, stop - start, 0, p->N);
}

/* How many bands: PRODUCT_PARTS_PER_THREAD per thread, else one per thread, else
   fewer, the most whose shortest band (the last) is above the split limit; more
   bands than threads only in whole multiples of the threads, so that a quiet pool
   ends its round together. One: the product runs on the calling thread. */
static int product_parts(const Product *p) {
    int64_t length = p->by_columns ? p->N : p->M, other = p->by_columns ? p->M : p->N;
    int64_t grain = p->by_columns ? COLUMN_GRAIN : ROW_GRAIN;
    int64_t limit = p->transpose_a || p->transpose_b ? SPLIT_MIN_BAND
                                                     : SPLIT_MIN_BAND_UNTRANSPOSED;
    int threads = pool_threads();
    for (int parts = pool_parts(PRODUCT_PARTS_PER_THREAD); parts > 1; parts--) {
        if (parts > threads && parts % threads != 0) continue;
        int64_t start, stop;
        band(length, parts - 1, parts, grain, &start, &stop);
        if (stop > start && (stop - start) * other * p->K >= limit) return parts;
    }
    return 1;
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
        PyErr_SetString(PyExc_RuntimeError, "matmul: no sgemm was loaded (load_sgemm)");
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
       columns were slower (16 % for dW = dZ X at 128, K = 128). Bands of columns
       only where this BLAS's kernel keeps their bits (load_sgemm). */
    p.by_columns = columns_allowed && p.N >= 2 * p.M && p.K >= 256;
    int parts = product_parts(&p);
    Py_BEGIN_ALLOW_THREADS;
    pool_run(product_part, &p, parts); /* one part: on this thread */
    Py_END_ALLOW_THREADS;
    result = Py_None;
done:
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
    Py_XINCREF(result);
    return result;
}

/* The library at `path` if it is loaded in this process (nothing is loaded or run);
   NULL with OSError otherwise. */
static void *loaded_library(PyObject *path) {
    void *handle = NULL;
#if defined(_WIN32)
    PyObject *decoded = NULL;
    if (!PyUnicode_FSDecoder(path, &decoded)) return NULL;
    wchar_t *wide = PyUnicode_AsWideCharString(decoded, NULL);
    Py_DECREF(decoded);
    if (wide == NULL) return NULL;
    handle = (void *)GetModuleHandleW(wide);
    PyMem_Free(wide);
#else
    PyObject *encoded = NULL;
    if (!PyUnicode_FSConverter(path, &encoded)) return NULL;
    handle = dlopen(PyBytes_AS_STRING(encoded), RTLD_NOLOAD | RTLD_LAZY);
    Py_DECREF(encoded);
#endif
    if (handle == NULL)
        PyErr_Format(PyExc_OSError,
                     "load_sgemm: %R is not a library loaded in this process", path);
    return handle;
}

static void *find_symbol(void *library, const char *name) {
#if defined(_WIN32)
    return (void *)GetProcAddress((HMODULE)library, name);
#else
    return dlsym(library, name);
#endif
}

/* Give back the count that loaded_library took (GetModuleHandle takes none). */
static void forget_library(void *library) {
#if !defined(_WIN32)
    dlclose(library);
#endif
}

PyObject *py_load_sgemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "load_sgemm() takes 2 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    int columns = PyObject_IsTrue(args[1]);
    if (columns < 0) return NULL;
    void *library = loaded_library(args[0]);
    if (library == NULL) return NULL;
    for (size_t i = 0; i < sizeof SGEMM_SYMBOLS / sizeof SGEMM_SYMBOLS[0]; i++) {
        void *function = find_symbol(library, SGEMM_SYMBOLS[i].name);
        int ilp64 = SGEMM_SYMBOLS[i].ilp64;
        if (function == NULL) continue;
        if (sgemm != NULL && (function != sgemm || ilp64 != sgemm_is_ilp64 ||
                              columns != columns_allowed)) {
            /* a product may be running on the one loaded: it stays */
            forget_library(library);
            PyErr_SetString(PyExc_RuntimeError,
                            "load_sgemm: another sgemm is loaded already");
            return NULL;
        }
        if (sgemm == function) forget_library(library); /* counted once already */
        sgemm = function; /* its library stays loaded: dlopen counted it */
        sgemm_is_ilp64 = ilp64;
        columns_allowed = columns;
        return PyUnicode_FromString(SGEMM_SYMBOLS[i].name);
    }
    forget_library(library);
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
