/*
 * glassnet._fastops: optional compiled one-pass loops for the training fast path.
 *
 * Each function is the NumPy code it replaces written as one loop over contiguous
 * memory, with the same floating-point operations in the same order (built with
 * -ffp-contract=off: no contracted multiply-adds), so the results are bitwise equal
 * to NumPy's (tests/test_fastops.py and tests/test_optimizers.py check it). One
 * exception in form, not in result: float32 Adam's v / k1 and s / k2 are taken by
 * multiplication with explicit FMAs (_exact_division.h), which gives the division's
 * bits. The loops (_loops.h) run with the GIL released, on the calling thread or,
 * for large arrays while glassnet's pool has threads (_pool.c), on a band of the
 * array per thread; gcc vectorizes them, and on x86-64 Linux a copy for AVX2 and one
 * for AVX-512 are chosen at load time.
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
 *   flush(a, tiny)                          a = 0 where |a| < tiny (denormal flush)
 *   bias_relu(Z, b)                         Z = max(Z + b, 0)      Z (n, m), b (n, 1)
 *   relu_backward(dA, A)                    dA = dA * (A > 0)
 *   relu_backward_sum(dA, A, db)            dA = dA * (A > 0); db = sum(dA, axis=1)
 *                                           (NumPy's pairwise summation of each row)
 *   gather_rows(X, index, out)              out[i] = X[index[i]] (rows, any dtype;
 *                                           index np.intp, copied and checked first)
 *   matmul, load_sgemm, set_threads         float32 products and the pool (_products.c)
 *   build_info()                            which copy of the loops this CPU runs
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_loops.h"
#include "_pool.h"
#include "_products.h"

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

/* ---- Python entry points ------------------------------------------------------ */

/* A call of one loop, shared by the pool's threads: each takes a band of the
   elements (the optimizers, relu_backward) or of the rows (bias_relu,
   relu_backward_sum). Bands of elements are whole multiples of EXACT_BLOCK, so
   float32 Adam meets the same blocks as on one thread; every element, and every
   row's sum, is computed as on one thread, so the bits do not depend on the
   number of threads. */
enum Kind {
    GD, MOMENTUM, RMSPROP, ADAM, ADAM_EXACT, FLUSH, RELU_BACKWARD, BIAS_RELU,
    RELU_BACKWARD_SUM
};

typedef struct {
    enum Kind kind;
    int is_double;
    void *p[MAX_ARRAYS];
    double x[8];
    Py_ssize_t n, rows, columns;
} Job;

/* passes over fewer elements than this run on the calling thread */
#define PARALLEL_MIN_ELEMENTS (1 << 14)
/* parts a thread for a pass (claimed dynamically, _pool.c): a thread that the
   system deschedules holds up a quarter of its share at most */
#define PASS_PARTS_PER_THREAD 4
#define ELEMENT_GRAIN (16 * EXACT_BLOCK)

#define AT(k, T, offset) ((T *)job->p[k] + (offset))
#define DISPATCH(T, S)                                                               \
    switch (job->kind) {                                                             \
        case GD: gd_##S(AT(0, T, a), AT(1, T, a), x[0], n); break;                   \
        case MOMENTUM:                                                               \
            momentum_##S(AT(0, T, a), AT(1, T, a), AT(2, T, a), x[0], x[1], x[2], n); \
            break;                                                                   \
        case RMSPROP:                                                                \
            rmsprop_##S(AT(0, T, a), AT(1, T, a), AT(2, T, a), x[0], x[1], x[2], x[3], \
                        n);                                                          \
            break;                                                                   \
        case ADAM:                                                                   \
            adam_##S(AT(0, T, a), AT(1, T, a), AT(2, T, a), AT(3, T, a), x[0], x[1],  \
                     x[2], x[3], x[4], x[5], x[6], x[7], n);                         \
            break;                                                                   \
        case ADAM_EXACT:                                                             \
            adam_exact_f32(AT(0, float, a), AT(1, float, a), AT(2, float, a),        \
                           AT(3, float, a), x[0], x[1], x[2], x[3], x[4], x[5], x[6], \
                           x[7], n);                                                 \
            break;                                                                   \
        case FLUSH: flush_##S(AT(0, T, a), x[0], n); break;                          \
        case RELU_BACKWARD: relu_backward_##S(AT(0, T, a), AT(1, T, a), n); break;   \
        case BIAS_RELU: bias_relu_##S(AT(0, T, a * c), AT(1, T, a), n, c); break;    \
        case RELU_BACKWARD_SUM:                                                      \
            relu_backward_sum_##S(AT(0, T, a * c), AT(1, T, a * c), AT(2, T, a), n, c); \
            break;                                                                   \
    }

static void job_part(void *context, int part, int parts) {
    const Job *job = context;
    const double *x = job->x;
    int by_rows = job->kind == BIAS_RELU || job->kind == RELU_BACKWARD_SUM;
    int64_t a, b;
    band(by_rows ? job->rows : job->n, part, parts, by_rows ? 1 : ELEMENT_GRAIN, &a, &b);
    Py_ssize_t n = (Py_ssize_t)(b - a), c = job->columns;
    if (n <= 0) return;
    if (job->is_double) {
        DISPATCH(double, f64)
    } else {
        DISPATCH(float, f32)
    }
}

/* Run the job without the GIL, on the pool's threads when it is large enough;
   release the arrays; return None. */
static PyObject *run(Job *job, Arrays *arrays) {
    job->is_double = arrays->is_double;
    for (int i = 0; i < arrays->count; i++) job->p[i] = arrays->views[i].buf;
    Py_ssize_t elements = arrays->views[0].len / arrays->views[0].itemsize;
    int parts =
        elements >= PARALLEL_MIN_ELEMENTS ? pool_parts(PASS_PARTS_PER_THREAD) : 1;
    Py_BEGIN_ALLOW_THREADS;
    pool_run(job_part, job, parts); /* one part: on this thread */
    Py_END_ALLOW_THREADS;
    release(arrays);
    Py_RETURN_NONE;
}

/* An elementwise job: the loop, its arrays' access letters, its scalar count. */
static PyObject *elementwise(PyObject *const *args, Py_ssize_t nargs, enum Kind kind,
                             const char *name, const char *access, int n_scalars) {
    Arrays arrays;
    Job job = {kind};
    if (take(&arrays, args, nargs, name, access, 1, job.x, n_scalars) < 0) return NULL;
    job.n = arrays.n;
    if (kind == ADAM && !arrays.is_double && exact_division_applies(job.x[4], job.x[6]))
        job.kind = ADAM_EXACT;
    return run(&job, &arrays);
}

static PyObject *py_gradient_descent(PyObject *self, PyObject *const *args,
                                     Py_ssize_t nargs) {
    return elementwise(args, nargs, GD, "gradient_descent", "wr", 1);
}

static PyObject *py_momentum(PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs) {
    return elementwise(args, nargs, MOMENTUM, "momentum", "wrw", 3);
}

static PyObject *py_rmsprop(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return elementwise(args, nargs, RMSPROP, "rmsprop", "wrw", 4);
}

static PyObject *py_adam(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return elementwise(args, nargs, ADAM, "adam", "wrww", 8);
}

static PyObject *py_flush(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return elementwise(args, nargs, FLUSH, "flush", "w", 1);
}

static PyObject *py_relu_backward(PyObject *self, PyObject *const *args,
                                  Py_ssize_t nargs) {
    return elementwise(args, nargs, RELU_BACKWARD, "relu_backward", "wr", 0);
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
    Job job = {BIAS_RELU, .rows = rows, .columns = Z->shape[1]};
    return run(&job, &arrays);
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
    Job job = {RELU_BACKWARD_SUM, .rows = rows, .columns = dA->shape[1]};
    return run(&job, &arrays);
}

/* out[i] = X[index[i]] for each row i: rows of any dtype, copied as bytes, bands of
   rows shared by the threads. The indices are copied into memory of this call
   while the GIL is held and checked there (IndexError), and the copy is what the
   threads read: another thread that changes the index array meanwhile (between
   the check and the copying of the rows, which runs without the GIL) cannot make
   them read outside X. The copy costs one pass over k integers against the k rows
   copied (tests/test_fastops.py; measured in docs/architecture.md, D20). */
typedef struct {
    char *out;
    const char *X;
    const Py_ssize_t *index;
    Py_ssize_t rows, row_bytes;
} Gather;

/* gathers up to this many rows copy their indices on the stack */
#define GATHER_STACK_ROWS 1024

static void gather_part(void *context, int part, int parts) {
    const Gather *g = context;
    int64_t start, stop;
    band(g->rows, part, parts, 1, &start, &stop);
    for (int64_t i = start; i < stop; i++)
        memcpy(g->out + i * g->row_bytes, g->X + g->index[i] * g->row_bytes,
               (size_t)g->row_bytes);
}

/* Whether a buffer holds native signed integers of Py_ssize_t's size (np.intp:
   format 'l' or 'q' on 64-bit Linux, 'n' for ssize_t; '@' is native order). A
   float, unsigned, narrower or byte-swapped array is not reinterpreted. */
static int holds_intp(const Py_buffer *view) {
    const char *f = view->format;
    if (f == NULL || view->itemsize != (Py_ssize_t)sizeof(Py_ssize_t)) return 0;
    if (f[0] == '@') f++;
    if (f[0] == '\0' || f[1] != '\0') return 0;
    return (f[0] == 'n') || (f[0] == 'l' && sizeof(long) == sizeof(Py_ssize_t)) ||
           (f[0] == 'q' && sizeof(long long) == sizeof(Py_ssize_t)) ||
           (f[0] == 'i' && sizeof(int) == sizeof(Py_ssize_t));
}

/* TypeError naming the index array's dtype (its buffer format without one). */
static void refuse_index_dtype(PyObject *index, const Py_buffer *view) {
    PyObject *dtype = PyObject_GetAttrString(index, "dtype");
    if (dtype == NULL) PyErr_Clear();
    if (dtype != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "gather_rows: the indices must be np.intp (native signed "
                     "integers of %zd bytes); received dtype %S",
                     (Py_ssize_t)sizeof(Py_ssize_t), dtype);
        Py_DECREF(dtype);
    } else {
        PyErr_Format(PyExc_TypeError,
                     "gather_rows: the indices must be np.intp (native signed "
                     "integers of %zd bytes); received buffer format '%s'",
                     (Py_ssize_t)sizeof(Py_ssize_t),
                     view->format == NULL ? "B" : view->format);
    }
}

/* Whether two buffers' bytes overlap. */
static int overlap(const Py_buffer *a, const Py_buffer *b) {
    const char *a0 = a->buf, *b0 = b->buf;
    return a->len > 0 && b->len > 0 && a0 < b0 + b->len && b0 < a0 + a->len;
}

/* Check the gather's shapes and dtypes; 0, or -1 with the error set. */
static int check_gather(PyObject *index_object, const Py_buffer *X,
                        const Py_buffer *index, const Py_buffer *out) {
    if (!holds_intp(index)) {
        refuse_index_dtype(index_object, index);
        return -1;
    }
    Py_ssize_t rows = index->len / index->itemsize;
    if (X->ndim != 2 || out->ndim != 2 || out->shape[0] != rows ||
        out->shape[1] != X->shape[1] || out->itemsize != X->itemsize ||
        strcmp(out->format, X->format) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "gather_rows needs X (m, n), intp indices (k,) and out (k, n) "
                        "of X's dtype");
        return -1;
    }
    if (overlap(X, out)) {
        PyErr_SetString(PyExc_ValueError, "gather_rows: out overlaps X");
        return -1;
    }
    return 0;
}

static PyObject *py_gather_rows(PyObject *self, PyObject *const *args,
                                Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "gather_rows() takes 3 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    Py_buffer views[3];
    const int flags[3] = {PyBUF_C_CONTIGUOUS | PyBUF_FORMAT,
                          PyBUF_C_CONTIGUOUS | PyBUF_FORMAT,
                          PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE};
    int count = 0;
    PyObject *result = NULL;
    Py_ssize_t on_stack[GATHER_STACK_ROWS], *rows_wanted = on_stack;
    for (; count < 3; count++)
        if (PyObject_GetBuffer(args[count], &views[count], flags[count]) < 0) goto done;
    Py_buffer *X = &views[0], *index = &views[1], *out = &views[2];
    if (check_gather(args[1], X, index, out) < 0) goto done;
    Py_ssize_t rows = index->len / index->itemsize;
    if (rows > GATHER_STACK_ROWS) {
        rows_wanted = PyMem_Malloc((size_t)rows * sizeof(Py_ssize_t));
        if (rows_wanted == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    /* the copy, then the check of the copy: what is checked is what is used */
    memcpy(rows_wanted, index->buf, (size_t)rows * sizeof(Py_ssize_t));
    for (Py_ssize_t i = 0; i < rows; i++) {
        if (rows_wanted[i] < 0 || rows_wanted[i] >= X->shape[0]) {
            PyErr_Format(PyExc_IndexError,
                         "gather_rows: index %zd is out of bounds for %zd rows",
                         rows_wanted[i], X->shape[0]);
            goto done;
        }
    }
    Gather g = {out->buf, X->buf, rows_wanted, rows, X->shape[1] * X->itemsize};
    int parts =
        out->len >= PARALLEL_MIN_ELEMENTS * 4 ? pool_parts(PASS_PARTS_PER_THREAD) : 1;
    Py_BEGIN_ALLOW_THREADS;
    pool_run(gather_part, &g, parts);
    Py_END_ALLOW_THREADS;
    result = Py_None;
    Py_INCREF(result);
done:
    if (rows_wanted != on_stack) PyMem_Free(rows_wanted);
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
    return result;
}

/* What this build runs: the copy of the loops the CPU takes (target_clones picks
   the first the CPU supports, in this order), whether float32 Adam divides by
   multiplication (fused multiply-adds), whether the pool has threads. */
static PyObject *py_build_info(PyObject *self, PyObject *unused) {
    const char *loops = loops_target();
    return Py_BuildValue("{s:s,s:O,s:O}", "loops", loops, "exact_division",
                         HAS_FAST_FMA() ? Py_True : Py_False, "threads",
                         POOL_HAS_THREADS ? Py_True : Py_False);
}

/* Rounds the pool ran on the caller alone because it saw contention (_pool.c). */
static PyObject *py_serial_rounds(PyObject *self, PyObject *unused) {
    return PyLong_FromUnsignedLongLong(pool_serial_rounds());
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
    {"flush", (PyCFunction)(void (*)(void))py_flush, METH_FASTCALL,
     "flush(a, tiny): a = 0 where |a| < tiny, in place (NaN stays)"},
    {"relu_backward", (PyCFunction)(void (*)(void))py_relu_backward, METH_FASTCALL,
     "relu_backward(dA, A): dA = dA * (A > 0) in place"},
    {"relu_backward_sum", (PyCFunction)(void (*)(void))py_relu_backward_sum,
     METH_FASTCALL,
     "relu_backward_sum(dA, A, db): dA = dA * (A > 0) in place; db = sum(dA, axis=1)"},
    {"gather_rows", (PyCFunction)(void (*)(void))py_gather_rows, METH_FASTCALL,
     "gather_rows(X, index, out): out[i] = X[index[i]], rows copied as bytes"},
    {"matmul", (PyCFunction)(void (*)(void))py_matmul, METH_FASTCALL,
     "matmul(A, B, C, alpha): C = alpha (A @ B) in float32, split across the threads"},
    {"load_sgemm", (PyCFunction)(void (*)(void))py_load_sgemm, METH_FASTCALL,
     "load_sgemm(path, columns): matmul calls the cblas_sgemm of the OpenBLAS "
     "already loaded from path (fixed symbol names); returns the name found or None"},
    {"set_threads", (PyCFunction)(void (*)(void))py_set_threads, METH_FASTCALL,
     "set_threads(n): the threads the loops and products use; returns n"},
    {"build_info", py_build_info, METH_NOARGS,
     "build_info(): {'loops': the SIMD copy this CPU runs, 'exact_division': bool, "
     "'threads': bool}"},
    {"serial_rounds", py_serial_rounds, METH_NOARGS,
     "serial_rounds(): rounds the pool ran on the calling thread alone because its "
     "workers were being descheduled (another process on their cores)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastops",
    "Compiled one-pass loops for glassnet's training fast path (optional).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__fastops(void) { return PyModule_Create(&module); }
