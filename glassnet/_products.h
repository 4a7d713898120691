/* Entry points of _products.c, listed in _fastops.c's method table. */
#ifndef GLASSNET_PRODUCTS_H
#define GLASSNET_PRODUCTS_H

#include <Python.h>
#include <stdint.h>

PyObject *py_matmul(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_set_sgemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_set_threads(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

/* The part-th of `parts` bands of [0, n): [*start, *stop), whole multiples of
   `grain` long except the last. */
void band(int64_t n, int part, int parts, int64_t grain, int64_t *start,
          int64_t *stop);

#endif
