/* An article's word statistics: digest.text.words.article_words in C.
 *
 * The Python definition (words.article_words_py and _StemCache) is the reference:
 * each sentence's whitespace tokens, stripped of the punctuation around them, lower-cased,
 * without a possessive 's, stop words and one-letter words dropped, plurals crudely made
 * singular; each sentence's distinct stems, its number of words, and the sum over its stems
 * of the number of sentences that hold each (what the centrality rule needs). This module
 * stems plain-ASCII tokens itself, which are nearly all tokens of an English article; any
 * other token (accents, curly quotes, other scripts, a very long token) is looked up in the
 * Python stem cache passed in, so the two paths agree by construction. tests/test_stems.py
 * checks that they agree on every dev article and on generated text.
 *
 * Why C: a third of the summarizer's time went to one dict lookup per token in a stem cache
 * too large to stay in the CPU's caches between articles (README, Benchmarks). Here a token
 * costs a few byte comparisons, and a distinct stem one small string.
 *
 * The same scan counts what tells code and tables from prose (feed_furniture.looks_like_code):
 * each text's characters among the configured symbols and its tokens that are numbers (an
 * optional sign, then digits and the configured number characters), so that the summarizer
 * looks closer only at the few sentences that may be code, instead of scanning every
 * article's text with patterns.
 *
 * One job in one file (a little over 500 lines): tokenizing, stemming and counting share the
 * token loop and its buffers, and the module's whole surface is two functions.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_WORD 64      /* longer ASCII tokens (URLs) take the Python path */
#define STOP_SLOTS 1024  /* open addressing, a power of two well over twice the stop words */

typedef struct {
    char word[MAX_WORD];
    Py_ssize_t length; /* 0: empty slot */
} StopSlot;

static StopSlot stop_slots[STOP_SLOTS];
static unsigned char strip_char[128]; /* 1 for the ASCII characters of words._STRIP */
static unsigned char symbol_char[128]; /* 1 for the characters of words.CODE_SYMBOLS */
static unsigned char number_ascii[128]; /* 1 for the digits and ASCII words.NUMBER_CHARS */
static PyObject *number_chars = NULL;   /* words.NUMBER_CHARS, for the others */
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
    if (n <= 0 || n > MAX_WORD || is_stop_word(s, n)) {
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
"configure(stop_words, strip, symbols, number_chars)\n--\n\n"
"Set the stop words (ASCII ones; others can never match an ASCII token), the characters\n"
"stripped from a token's ends (its ASCII ones), the symbols counted (ASCII ones) and the\n"
"characters a number holds besides decimal digits.");

static PyObject *
configure(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *stop_words, *strip, *symbols, *numbers;
    if (!PyArg_ParseTuple(args, "OUUU:configure", &stop_words, &strip, &symbols, &numbers)) {
        return NULL;
    }
    memset(stop_slots, 0, sizeof stop_slots);
    memset(strip_char, 0, sizeof strip_char);
    memset(symbol_char, 0, sizeof symbol_char);
    memset(number_ascii, 0, sizeof number_ascii);
    memset(number_ascii + '0', 1, 10);
    Py_ssize_t strip_length = PyUnicode_GET_LENGTH(strip);
    for (Py_ssize_t i = 0; i < strip_length; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(strip, i);
        if (c < 128) {
            strip_char[c] = 1;
        }
    }
    Py_ssize_t symbols_length = PyUnicode_GET_LENGTH(symbols);
    for (Py_ssize_t i = 0; i < symbols_length; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(symbols, i);
        if (c < 128) {
            symbol_char[c] = 1;
        }
    }
    Py_ssize_t numbers_length = PyUnicode_GET_LENGTH(numbers);
    for (Py_ssize_t i = 0; i < numbers_length; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(numbers, i);
        if (c < 128) {
            number_ascii[c] = 1;
        }
    }
    Py_INCREF(numbers);
    Py_XSETREF(number_chars, numbers);
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

/* The article's vocabulary: each distinct stem once (so a repeated stem is one shared
 * string), the number of texts it occurs in, and each text's distinct stems in order. */
typedef struct {
    PyObject *stem; /* owned */
    uint32_t hash;  /* FNV-1a over the stem's code points */
    Py_ssize_t texts; /* how many texts hold it */
    Py_ssize_t last_text; /* the last text that did */
} Entry;

typedef struct {
    Entry *entries; /* in first-seen order */
    Py_ssize_t size, capacity;
    uint32_t *slots; /* open addressing: an entry's index + 1, 0 for an empty slot */
    Py_ssize_t slot_count; /* a power of two, over twice `capacity` */
    Py_ssize_t *uses; /* each text's distinct entries, text after text */
    Py_ssize_t use_count, use_capacity;
    Py_ssize_t text; /* the text being counted */
} Vocabulary;

static void
vocabulary_free(Vocabulary *v)
{
    for (Py_ssize_t i = 0; i < v->size; i++) {
        Py_DECREF(v->entries[i].stem);
    }
    PyMem_Free(v->entries);
    PyMem_Free(v->slots);
    PyMem_Free(v->uses);
}

static int
vocabulary_init(Vocabulary *v)
{
    memset(v, 0, sizeof *v);
    v->capacity = 64;
    v->slot_count = 256;
    v->use_capacity = 256;
    v->entries = PyMem_New(Entry, v->capacity);
    v->slots = PyMem_New(uint32_t, v->slot_count);
    v->uses = PyMem_New(Py_ssize_t, v->use_capacity);
    if (v->entries == NULL || v->slots == NULL || v->uses == NULL) {
        vocabulary_free(v);
        PyErr_NoMemory();
        return -1;
    }
    memset(v->slots, 0, (size_t)v->slot_count * sizeof(uint32_t));
    return 0;
}

static uint32_t
hash_code_points(PyObject *s)
{
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0, n = PyUnicode_GET_LENGTH(s); i < n; i++) {
        h ^= (uint32_t)PyUnicode_READ(kind, data, i);
        h *= 16777619u;
    }
    return h;
}

/* The slot holding the entry equal to `stem` (an ASCII buffer when `stem_object` is NULL),
 * or the empty slot where it would go. */
static Py_ssize_t
vocabulary_slot(Vocabulary *v, uint32_t hash, const char *ascii, Py_ssize_t length,
                PyObject *stem_object)
{
    Py_ssize_t mask = v->slot_count - 1, slot = (Py_ssize_t)hash & mask;
    while (v->slots[slot]) {
        Entry *e = &v->entries[v->slots[slot] - 1];
        if (e->hash == hash) {
            PyObject *known = e->stem;
            if (stem_object == NULL) {
                if (PyUnicode_IS_ASCII(known) && PyUnicode_GET_LENGTH(known) == length &&
                    memcmp(PyUnicode_DATA(known), ascii, (size_t)length) == 0) {
                    return slot;
                }
            }
            else if (PyUnicode_GET_LENGTH(known) == PyUnicode_GET_LENGTH(stem_object) &&
                     PyUnicode_KIND(known) == PyUnicode_KIND(stem_object) &&
                     memcmp(PyUnicode_DATA(known), PyUnicode_DATA(stem_object),
                            (size_t)(PyUnicode_GET_LENGTH(known) * PyUnicode_KIND(known))) == 0) {
                return slot;
            }
        }
        slot = (slot + 1) & mask;
    }
    return slot;
}

static int
vocabulary_grow(Vocabulary *v)
{
    Py_ssize_t capacity = v->capacity * 2, slot_count = v->slot_count * 2;
    Entry *entries = PyMem_Resize(v->entries, Entry, capacity);
    if (entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    v->entries = entries;
    if (capacity > UINT32_MAX / 4) {
        PyErr_SetString(PyExc_OverflowError, "too many distinct words");
        return -1;
    }
    uint32_t *slots = PyMem_New(uint32_t, slot_count);
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(slots, 0, (size_t)slot_count * sizeof(uint32_t));
    for (Py_ssize_t i = 0; i < v->size; i++) {
        Py_ssize_t slot = (Py_ssize_t)v->entries[i].hash & (slot_count - 1);
        while (slots[slot]) {
            slot = (slot + 1) & (slot_count - 1);
        }
        slots[slot] = (uint32_t)(i + 1);
    }
    PyMem_Free(v->slots);
    v->slots = slots;
    v->capacity = capacity;
    v->slot_count = slot_count;
    return 0;
}

/* Count one content token of text `v->text`, whose stem is the ASCII buffer, or
 * `stem_object` (a new reference, consumed) when that is not NULL. */
static int
vocabulary_count(Vocabulary *v, const char *ascii, Py_ssize_t length, PyObject *stem_object)
{
    uint32_t hash = stem_object ? hash_code_points(stem_object) : fnv1a(ascii, length);
    Py_ssize_t slot = vocabulary_slot(v, hash, ascii, length, stem_object);
    Py_ssize_t index = (Py_ssize_t)v->slots[slot] - 1;
    if (index < 0) {
        if (v->size == v->capacity) {
            if (vocabulary_grow(v) < 0) {
                Py_XDECREF(stem_object);
                return -1;
            }
            slot = vocabulary_slot(v, hash, ascii, length, stem_object);
        }
        if (stem_object == NULL) {
            stem_object = PyUnicode_New(length, 127);
            if (stem_object == NULL) {
                return -1;
            }
            memcpy(PyUnicode_DATA(stem_object), ascii, (size_t)length);
        }
        index = v->size++;
        v->entries[index] = (Entry){stem_object, hash, 0, -1};
        v->slots[slot] = (uint32_t)(index + 1);
    }
    else {
        Py_XDECREF(stem_object); /* the vocabulary has this stem already */
    }
    if (v->entries[index].last_text == v->text) {
        return 0; /* a repeat within the text */
    }
    if (v->use_count == v->use_capacity) {
        Py_ssize_t *uses = PyMem_Resize(v->uses, Py_ssize_t, v->use_capacity * 2);
        if (uses == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        v->uses = uses;
        v->use_capacity *= 2;
    }
    v->uses[v->use_count++] = index;
    v->entries[index].texts++;
    v->entries[index].last_text = v->text;
    return 0;
}

/* Count the stem of text[start:end]; `ascii` says the token is all ASCII. */
static int
count_token(Vocabulary *v, PyObject *text, int kind, const void *data, Py_ssize_t start,
            Py_ssize_t end, int ascii, PyObject *fallback)
{
    Py_ssize_t n = end - start;
    if (ascii && n <= MAX_WORD) {
        char buffer[MAX_WORD];
        Py_UCS1 copy[MAX_WORD];
        const Py_UCS1 *token = (const Py_UCS1 *)data + start; /* a 1-byte string's bytes */
        if (kind != PyUnicode_1BYTE_KIND) { /* an ASCII token in a wider string */
            for (Py_ssize_t i = 0; i < n; i++) {
                copy[i] = (Py_UCS1)PyUnicode_READ(kind, data, start + i);
            }
            token = copy;
        }
        Py_ssize_t length = ascii_stem(token, n, buffer);
        return length ? vocabulary_count(v, buffer, length, NULL) : 0;
    }
    PyObject *token = PyUnicode_Substring(text, start, end);
    if (token == NULL) {
        return -1;
    }
    PyObject *stem = PyObject_GetItem(fallback, token);
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
    return vocabulary_count(v, NULL, 0, stem);
}

/* A character a number may hold: a decimal digit or one of words.NUMBER_CHARS. */
static int
in_number(Py_UCS4 c)
{
    if (c < 128) {
        return number_ascii[c];
    }
    if (Py_UNICODE_ISDECIMAL(c)) {
        return 1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(number_chars);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyUnicode_READ_CHAR(number_chars, i) == c) {
            return 1;
        }
    }
    return 0;
}

/* Whether text[start:end] is a number: an optional sign, then number characters. */
static int
is_number(int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_UCS4 first = PyUnicode_READ(kind, data, start);
    if ((first == '-' || first == '+') && end - start > 1) {
        start++;
    }
    for (Py_ssize_t i = start; i < end; i++) {
        if (!in_number(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return 1;
}

/* What one text's characters say: its symbols and the tokens that are numbers. */
typedef struct {
    Py_ssize_t words, symbols, numbers;
} TextCounts;

/* Count the content tokens of one text into `v` and `counts`; returns 0, or -1. */
static int
count_text(Vocabulary *v, PyObject *text, PyObject *fallback, TextCounts *counts)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "texts must be str");
        return -1;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), i = 0;
    *counts = (TextCounts){0, 0, 0};
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
        counts->words++;
        while (i < length) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (Py_UNICODE_ISSPACE(c)) {
                break;
            }
            if (c < 128) {
                counts->symbols += symbol_char[c];
            }
            else {
                ascii = 0;
            }
            i++;
        }
        if (is_number(kind, data, start, i)) { /* most tokens: decided at their first letter */
            counts->numbers++;
        }
        if (count_token(v, text, kind, data, start, i, ascii, fallback) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A list of `n` counts, one field of `counts`. */
static PyObject *
count_list(const TextCounts *counts, Py_ssize_t n, size_t field)
{
    PyObject *list = PyList_New(n);
    for (Py_ssize_t t = 0; list != NULL && t < n; t++) {
        Py_ssize_t value = *(const Py_ssize_t *)((const char *)&counts[t] + field);
        PyObject *number = PyLong_FromSsize_t(value);
        if (number == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, t, number);
    }
    return list;
}

/* The Python results: (stems, lengths, shared, symbols, numbers). */
static PyObject *
results(Vocabulary *v, Py_ssize_t n, const Py_ssize_t *ends, const TextCounts *counts)
{
    PyObject *stems = PyList_New(n), *sums = PyList_New(n);
    PyObject *lengths = count_list(counts, n, offsetof(TextCounts, words));
    PyObject *symbols = count_list(counts, n, offsetof(TextCounts, symbols));
    PyObject *numbers = count_list(counts, n, offsetof(TextCounts, numbers));
    if (stems == NULL || lengths == NULL || sums == NULL || symbols == NULL || numbers == NULL) {
        goto error;
    }
    for (Py_ssize_t t = 0, use = 0; t < n; t++) {
        PyObject *these = PyList_New(ends[t] - use);
        if (these == NULL) {
            goto error;
        }
        PyList_SET_ITEM(stems, t, these);
        Py_ssize_t sum = 0;
        for (Py_ssize_t j = 0; use < ends[t]; use++, j++) {
            Entry *e = &v->entries[v->uses[use]];
            Py_INCREF(e->stem);
            PyList_SET_ITEM(these, j, e->stem);
            sum += e->texts;
        }
        PyObject *total = PyLong_FromSsize_t(sum);
        if (total == NULL) {
            goto error;
        }
        PyList_SET_ITEM(sums, t, total);
    }
    return Py_BuildValue("(NNNNN)", stems, lengths, sums, symbols, numbers);

error:
    Py_XDECREF(stems);
    Py_XDECREF(lengths);
    Py_XDECREF(sums);
    Py_XDECREF(symbols);
    Py_XDECREF(numbers);
    return NULL;
}

PyDoc_STRVAR(article_words_doc,
"article_words(texts, stem_cache)\n--\n\n"
"(stems, lengths, shared, symbols, numbers) of the texts (an article's sentences): each\n"
"text's distinct content stems in the order they first occur, one string object per\n"
"distinct stem; its number of whitespace tokens; the sum over its stems of the number of\n"
"texts each occurs in; its characters among the configured symbols; and its tokens that\n"
"are numbers. Tokens that are not plain ASCII are looked up in stem_cache (token -> stem,\n"
"\"\" for none).");

static PyObject *
article_words(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *texts, *fallback;
    if (!PyArg_ParseTuple(args, "OO:article_words", &texts, &fallback)) {
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
    Py_ssize_t *ends = PyMem_New(Py_ssize_t, n + 1);
    TextCounts *counts = PyMem_New(TextCounts, n + 1);
    Vocabulary v;
    PyObject *result = NULL;
    if (ends == NULL || counts == NULL) {
        PyErr_NoMemory();
    }
    else if (vocabulary_init(&v) == 0) {
        Py_ssize_t t = 0;
        for (; t < n; t++) {
            v.text = t;
            if (count_text(&v, PySequence_Fast_GET_ITEM(sequence, t), fallback, &counts[t]) < 0) {
                break;
            }
            ends[t] = v.use_count;
        }
        if (t == n) {
            result = results(&v, n, ends, counts);
        }
        vocabulary_free(&v);
    }
    PyMem_Free(ends);
    PyMem_Free(counts);
    Py_DECREF(sequence);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"article_words", article_words, METH_VARARGS, article_words_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "digest._stems",
    "An article's word statistics, in C (see digest.text.words.article_words).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__stems(void)
{
    return PyModule_Create(&module);
}
