/* Each sentence's content stems and its number of words: digest.summarize.sentence_words
 * in C.
 *
 * The Python definition (summarize._sentence_words_py and _StemCache) is the reference:
 * a sentence's whitespace tokens, each stripped of the punctuation around it, lower-cased,
 * without a possessive 's, stop words and one-letter words dropped, and a plural crudely
 * made singular. This module does exactly that for tokens that are plain ASCII, which are
 * nearly all tokens of an English article; any other token (accents, curly quotes, other
 * scripts, a very long token) is looked up in the Python stem cache passed in, so the two
 * paths agree by construction. tests/test_stems.py checks that they agree on every dev
 * article and on generated text.
 *
 * Why C: the summarizer's time went to one dict lookup per token in a cache too large to
 * stay in the CPU's caches (benchmarks/summaries.py, issue 11). Here a token costs a few
 * byte comparisons and, for a content word, one small string.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_WORD 64      /* longer ASCII tokens (URLs) take the Python path */
#define STOP_SLOTS 1024  /* open addressing, a power of two well over twice the stop words */

typedef struct {
    char word[MAX_WORD];
    Py_ssize_t length; /* 0: empty slot */
} StopSlot;

static StopSlot stop_slots[STOP_SLOTS];
static unsigned char strip_char[128]; /* 1 for the ASCII characters of summarize._STRIP */
static int configured = 0;

static uint32_t
fnv1a(const char *s, Py_ssize_t n)
{
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int
is_stop_word(const char *s, Py_ssize_t n)
{
    uint32_t slot = fnv1a(s, n) & (STOP_SLOTS - 1);
    while (stop_slots[slot].length) {
        if (stop_slots[slot].length == n && memcmp(stop_slots[slot].word, s, (size_t)n) == 0) {
            return 1;
        }
        slot = (slot + 1) & (STOP_SLOTS - 1);
    }
    return 0;
}

static int
add_stop_word(const char *s, Py_ssize_t n)
{
    if (n <= 0 || n >= MAX_WORD || is_stop_word(s, n)) {
        return 0;
    }
    uint32_t slot = fnv1a(s, n) & (STOP_SLOTS - 1);
    for (int probes = 0; stop_slots[slot].length; probes++) {
        if (probes >= STOP_SLOTS) {
            PyErr_SetString(PyExc_ValueError, "too many stop words");
            return -1;
        }
        slot = (slot + 1) & (STOP_SLOTS - 1);
    }
    memcpy(stop_slots[slot].word, s, (size_t)n);
    stop_slots[slot].length = n;
    return 0;
}

PyDoc_STRVAR(configure_doc,
"configure(stop_words, strip)\n--\n\n"
"Set the stop words (ASCII ones; others can never match an ASCII token) and the\n"
"characters stripped from a token's ends (its ASCII ones).");

static PyObject *
configure(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *stop_words, *strip;
    if (!PyArg_ParseTuple(args, "OU:configure", &stop_words, &strip)) {
        return NULL;
    }
    memset(stop_slots, 0, sizeof stop_slots);
    memset(strip_char, 0, sizeof strip_char);
    Py_ssize_t strip_length = PyUnicode_GET_LENGTH(strip);
    for (Py_ssize_t i = 0; i < strip_length; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(strip, i);
        if (c < 128) {
            strip_char[c] = 1;
        }
    }
    PyObject *iterator = PyObject_GetIter(stop_words);
    if (iterator == NULL) {
        return NULL;
    }
    PyObject *word;
    while ((word = PyIter_Next(iterator)) != NULL) {
        int failed = 0;
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "stop words must be str");
            failed = 1;
        }
        else if (PyUnicode_IS_ASCII(word)) {
            failed = add_stop_word((const char *)PyUnicode_DATA(word),
                                   PyUnicode_GET_LENGTH(word)) < 0;
        }
        Py_DECREF(word);
        if (failed) {
            Py_DECREF(iterator);
            return NULL;
        }
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        return NULL;
    }
    configured = 1;
    Py_RETURN_NONE;
}

/* The stem of an ASCII token, written to `out`; returns its length, 0 for no stem. */
static Py_ssize_t
ascii_stem(const Py_UCS1 *token, Py_ssize_t n, char *out)
{
    Py_ssize_t start = 0, end = n;
    while (start < end && strip_char[token[start]]) {
        start++;
    }
    while (end > start && strip_char[token[end - 1]]) {
        end--;
    }
    Py_ssize_t length = end - start;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS1 c = token[start + i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    if (length >= 2 && out[length - 2] == '\'' && out[length - 1] == 's') {
        length -= 2; /* a possessive */
    }
    if (length < 2 || is_stop_word(out, length)) {
        return 0;
    }
    if (out[length - 1] != 's') {
        return length;
    }
    if (length > 4 && out[length - 3] == 'i' && out[length - 2] == 'e') {
        out[length - 3] = 'y'; /* "companies" -> "company" */
        return length - 2;
    }
    char before = out[length - 2];
    if (length > 3 && before != 's' && before != 'u' && before != 'i') {
        return length - 1; /* "profits" -> "profit"; not "boss", "bus", "basis" */
    }
    return length;
}

/* Append the stem of text[start:end] to `stems`; `ascii` says the token is all ASCII. */
static int
add_stem(PyObject *stems, PyObject *text, int kind, const void *data, Py_ssize_t start,
         Py_ssize_t end, int ascii, PyObject *fallback)
{
    Py_ssize_t n = end - start;
    PyObject *stem;
    if (ascii && n <= MAX_WORD) {
        char buffer[MAX_WORD];
        /* An ASCII token in a 1-byte string is its bytes; copy it out of wider strings. */
        Py_UCS1 token[MAX_WORD];
        for (Py_ssize_t i = 0; i < n; i++) {
            token[i] = (Py_UCS1)PyUnicode_READ(kind, data, start + i);
        }
        Py_ssize_t length = ascii_stem(token, n, buffer);
        if (length == 0) {
            return 0;
        }
        stem = PyUnicode_New(length, 127);
        if (stem == NULL) {
            return -1;
        }
        memcpy(PyUnicode_DATA(stem), buffer, (size_t)length);
    }
    else {
        PyObject *token = PyUnicode_Substring(text, start, end);
        if (token == NULL) {
            return -1;
        }
        stem = PyObject_GetItem(fallback, token);
        Py_DECREF(token);
        if (stem == NULL) {
            return -1;
        }
        if (!PyUnicode_Check(stem)) {
            Py_DECREF(stem);
            PyErr_SetString(PyExc_TypeError, "the stem cache must map str to str");
            return -1;
        }
        if (PyUnicode_GET_LENGTH(stem) == 0) {
            Py_DECREF(stem);
            return 0;
        }
    }
    int failed = PyList_Append(stems, stem);
    Py_DECREF(stem);
    return failed;
}

/* The stems of one text; its number of tokens goes to *words. */
static PyObject *
stems_of(PyObject *text, PyObject *fallback, Py_ssize_t *words)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "sentences must be str");
        return NULL;
    }
    PyObject *stems = PyList_New(0);
    if (stems == NULL) {
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t i = 0;
    *words = 0;
    while (i < length) {
        /* str.split(): runs of Unicode whitespace separate tokens. */
        while (i < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
            i++;
        }
        if (i >= length) {
            break;
        }
        Py_ssize_t start = i;
        int ascii = 1;
        ++*words;
        while (i < length) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (Py_UNICODE_ISSPACE(c)) {
                break;
            }
            ascii &= c < 128;
            i++;
        }
        if (add_stem(stems, text, kind, data, start, i, ascii, fallback) < 0) {
            Py_DECREF(stems);
            return NULL;
        }
    }
    return stems;
}

PyDoc_STRVAR(sentence_words_doc,
"sentence_words(texts, stem_cache)\n--\n\n"
"(stems, lengths): each text's content stems, in order, repeats kept, and its number of\n"
"whitespace tokens. Tokens that are not plain ASCII are looked up in stem_cache\n"
"(token -> stem, \"\" for none).");

static PyObject *
sentence_words(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *texts, *fallback;
    if (!PyArg_ParseTuple(args, "OO:sentence_words", &texts, &fallback)) {
        return NULL;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    PyObject *sequence = PySequence_Fast(texts, "texts must be a sequence of str");
    if (sequence == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(sequence);
    PyObject *stems = PyList_New(n);
    PyObject *lengths = PyList_New(n);
    if (stems == NULL || lengths == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t words;
        PyObject *these = stems_of(PySequence_Fast_GET_ITEM(sequence, i), fallback, &words);
        if (these == NULL) {
            goto error;
        }
        PyList_SET_ITEM(stems, i, these);
        PyObject *count = PyLong_FromSsize_t(words);
        if (count == NULL) {
            goto error;
        }
        PyList_SET_ITEM(lengths, i, count);
    }
    Py_DECREF(sequence);
    return Py_BuildValue("(NN)", stems, lengths);

error:
    Py_XDECREF(stems);
    Py_XDECREF(lengths);
    Py_DECREF(sequence);
    return NULL;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"sentence_words", sentence_words, METH_VARARGS, sentence_words_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "digest._stems",
    "Each sentence's content stems, in C (see digest.summarize.sentence_words).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__stems(void)
{
    return PyModule_Create(&module);
}
