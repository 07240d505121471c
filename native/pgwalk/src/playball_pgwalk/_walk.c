/*
 * playball_pgwalk._walk: the columns of a pgoutput insert, walked and decoded in C.
 *
 * A pgoutput TupleData (PostgreSQL 15, "Logical Replication Message Formats") is, per
 * column, a kind byte ('n' null, 'u' unchanged, 't' text, 'b' binary) and, for 't' and
 * 'b', a 32-bit big-endian length and that many bytes. With `binary 'true'` each value is
 * its type's send format. This module reads only the common case: every column walked is
 * 'b'. Anything else returns None, and the caller reads the insert with its pure-Python
 * walk (playball_events.outbox.pgoutput), which also says what is wrong with it.
 *
 * Every read is bounds-checked against the buffer: the stream comes from the network.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* How a column's value is decoded: one of these codes, or a Python callable taking the
 * value's bytes (the driver's loaders for uuid and timestamptz), or None: skipped. */
enum { INT8 = 1, INT4 = 2, INT2 = 3, TEXT = 4, BYTEA = 5 };

static uint32_t
be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The value of `code` from `len` bytes at `v`; NULL with no exception set when the
 * bytes do not fit the type (a fixed width other than the type's) or the code is
 * unknown; NULL with an exception set when Python raised (a text not UTF-8). */
static PyObject *
decode_native(long code, const unsigned char *v, Py_ssize_t len)
{
    switch (code) {
    case INT8:
        if (len != 8)
            return NULL;
        return PyLong_FromLongLong((long long)(int64_t)(((uint64_t)be32(v) << 32) | be32(v + 4)));
    case INT4:
        if (len != 4)
            return NULL;
        return PyLong_FromLong((long)(int32_t)be32(v));
    case INT2:
        if (len != 2)
            return NULL;
        return PyLong_FromLong((long)(int16_t)(uint16_t)((v[0] << 8) | v[1]));
    case TEXT:
        return PyUnicode_DecodeUTF8((const char *)v, len, "strict");
    case BYTEA:
        return PyBytes_FromStringAndSize((const char *)v, len);
    default:
        return NULL;
    }
}

/* walk_binary(data, offset, plan, /) -> list | None
 *
 * The tuple at data[offset] (past its column count): for each of the first len(plan)
 * columns, which must all be binary values, the value decoded as its plan item says
 * (None: skipped, not decoded). None when a column is not binary, the buffer ends early
 * or a value does not fit its type. */
static PyObject *
walk_binary(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "walk_binary(data, offset, plan) takes 3 arguments");
        return NULL;
    }
    if (!PyBytes_CheckExact(args[0]) || !PyTuple_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "walk_binary(data, offset, plan): bytes, int, tuple");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    const Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t offset = PyLong_AsSsize_t(args[1]);
    if (offset == -1 && PyErr_Occurred())
        return NULL;
    PyObject *plan = args[2];
    const Py_ssize_t columns = PyTuple_GET_SIZE(plan);

    PyObject *values = PyList_New(0);
    if (values == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < columns; i++) {
        /* the kind byte and the length: five bytes, all within the buffer */
        if (offset < 0 || offset > size - 5 || data[offset] != 'b')
            goto not_mine;
        const Py_ssize_t length = (Py_ssize_t)be32(data + offset + 1);
        const Py_ssize_t start = offset + 5;
        if (length > size - start)
            goto not_mine;
        offset = start + length;

        PyObject *step = PyTuple_GET_ITEM(plan, i);
        if (step == Py_None)
            continue;
        PyObject *value;
        if (PyLong_CheckExact(step)) {
            value = decode_native(PyLong_AsLong(step), data + start, length);
            if (value == NULL) {
                if (PyErr_Occurred())
                    goto error;
                goto not_mine;
            }
        } else {
            PyObject *raw = PyBytes_FromStringAndSize((const char *)data + start, length);
            if (raw == NULL)
                goto error;
            value = PyObject_CallOneArg(step, raw);
            Py_DECREF(raw);
            if (value == NULL)
                goto error;
        }
        int appended = PyList_Append(values, value);
        Py_DECREF(value);
        if (appended < 0)
            goto error;
    }
    return values;

not_mine:
    Py_DECREF(values);
    Py_RETURN_NONE;
error:
    Py_DECREF(values);
    return NULL;
}

static PyMethodDef methods[] = {
    {"walk_binary", (PyCFunction)(void (*)(void))walk_binary, METH_FASTCALL,
     "walk_binary(data, offset, plan, /): the decoded values of a pgoutput tuple whose "
     "walked columns are all binary, or None."},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    if (PyModule_AddIntConstant(module, "INT8", INT8) < 0 ||
        PyModule_AddIntConstant(module, "INT4", INT4) < 0 ||
        PyModule_AddIntConstant(module, "INT2", INT2) < 0 ||
        PyModule_AddIntConstant(module, "TEXT", TEXT) < 0 ||
        PyModule_AddIntConstant(module, "BYTEA", BYTEA) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "playball_pgwalk._walk",
    .m_doc = "The columns of a pgoutput insert, walked and decoded in C.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__walk(void)
{
    return PyModuleDef_Init(&module_def);
}
