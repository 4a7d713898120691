/* Entry points of _products.c, listed in _fastops.c's method table. */
#ifndef GLASSNET_PRODUCTS_H
#define GLASSNET_PRODUCTS_H

#include <Python.h>

PyObject *py_matmul(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_load_sgemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_set_threads(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

#endif
