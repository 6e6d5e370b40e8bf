/*
 * The raw-text scanner of json_scan.h: RFC 8259's grammar, recursive descent bounded by
 * F8D_JSON_MAX_DEPTH, no allocation. Semantics it leaves to jansson (UTF-8 validity, NUL in
 * strings, duplicate keys, integer range) are still checked by jansson on the document it is
 * given, or, for the data array, by the span readers below.
 */
#include "json_scan.h"

#include <stdbool.h>
#include <string.h>

#include "base64.h"

enum role {
    R_OTHER,
    R_ROOT,    /* the root object */
    R_INPUTS,  /* the root's "inputs" */
    R_INPUT0,  /* its first element */
    R_DATA,    /* that element's "data" */
    R_INSIDE,  /* inside the data array: not counted */
};

struct scanner {
    const char *p;
    size_t len, pos;
    size_t max_values;
    struct f8d_json_scan *out;
};

static int syntax(struct scanner *s, const char *msg)
{
    s->out->error = msg;
    return F8D_JSON_SCAN_SYNTAX;
}

static void skip_ws(struct scanner *s)
{
    while (s->pos < s->len) {
        char c = s->p[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        s->pos++;
    }
}

#define KEY_MAX 16

/* A string at s->pos (its '"'). Its unescaped ASCII text goes to key (NUL-terminated) when
 * it fits in KEY_MAX bytes; otherwise key is "" (no key f8d looks for is that long). */
static int scan_string(struct scanner *s, char key[KEY_MAX + 1])
{
    size_t k = 0;
    bool fits = true;
    s->pos++;
    for (;;) {
        if (s->pos >= s->len)
            return syntax(s, "premature end of input in a string");
        unsigned char c = (unsigned char)s->p[s->pos];
        if (c == '"') {
            s->pos++;
            break;
        }
        if (c < 0x20)
            return syntax(s, "control character in a string");
        unsigned ch = c;
        if (c == '\\') {
            if (s->pos + 1 >= s->len)
                return syntax(s, "premature end of input in a string");
            char e = s->p[s->pos + 1];
            s->pos += 2;
            switch (e) {
            case '"': case '\\': case '/': ch = (unsigned char)e; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u':
                if (s->len - s->pos < 4)
                    return syntax(s, "premature end of input in a \\u escape");
                ch = 0;
                for (int i = 0; i < 4; i++) {
                    int h = f8d_hex_digit(s->p[s->pos + i]);
                    if (h < 0)
                        return syntax(s, "invalid \\u escape");
                    ch = ch * 16 + (unsigned)h;
                }
                s->pos += 4;
                if (ch == 0 || ch >= 0x80)
                    fits = false; /* not a key f8d looks for */
                break;
            default:
                return syntax(s, "invalid escape in a string");
            }
        } else {
            s->pos++;
        }
        if (key != NULL && fits) {
            if (k < KEY_MAX)
                key[k++] = (char)ch;
            else
                fits = false;
        }
    }
    if (key != NULL)
        key[fits ? k : 0] = '\0';
    return F8D_JSON_SCAN_OK;
}

static bool digit(struct scanner *s)
{
    return s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9';
}

static int scan_number(struct scanner *s)
{
    if (s->p[s->pos] == '-')
        s->pos++;
    if (!digit(s))
        return syntax(s, "invalid number");
    if (s->p[s->pos] == '0')
        s->pos++;
    else
        while (digit(s))
            s->pos++;
    if (s->pos < s->len && s->p[s->pos] == '.') {
        s->pos++;
        if (!digit(s))
            return syntax(s, "invalid number");
        while (digit(s))
            s->pos++;
    }
    if (s->pos < s->len && (s->p[s->pos] == 'e' || s->p[s->pos] == 'E')) {
        s->pos++;
        if (s->pos < s->len && (s->p[s->pos] == '+' || s->p[s->pos] == '-'))
            s->pos++;
        if (!digit(s))
            return syntax(s, "invalid number");
        while (digit(s))
            s->pos++;
    }
    return F8D_JSON_SCAN_OK;
}

static int scan_literal(struct scanner *s, const char *word)
{
    size_t n = strlen(word);
    if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0)
        return syntax(s, "invalid token");
    s->pos += n;
    return F8D_JSON_SCAN_OK;
}

static int scan_value(struct scanner *s, enum role role, unsigned depth);

static int count(struct scanner *s, enum role role)
{
    if (role != R_INSIDE && ++s->out->values > s->max_values)
        return F8D_JSON_SCAN_TOO_MANY;
    return F8D_JSON_SCAN_OK;
}

/* After an array element or an object member: `close` ends the container (*closed), ','
 * continues it, anything else is a syntax error (the messages are static: the scan's error
 * points at them). */
static int after_element(struct scanner *s, char close, bool *closed)
{
    const bool array = close == ']';
    skip_ws(s);
    if (s->pos >= s->len)
        return syntax(s, array ? "premature end of input in an array"
                               : "premature end of input in an object");
    char c = s->p[s->pos++];
    *closed = c == close;
    if (*closed || c == ',')
        return F8D_JSON_SCAN_OK;
    s->pos--;
    return syntax(s, array ? "',' or ']' expected in an array" : "',' or '}' expected in an object");
}

static int scan_array(struct scanner *s, enum role role, unsigned depth)
{
    s->pos++;
    skip_ws(s);
    if (s->pos < s->len && s->p[s->pos] == ']') {
        s->pos++;
        return F8D_JSON_SCAN_OK;
    }
    for (size_t i = 0;; i++) {
        enum role r = role == R_INSIDE                ? R_INSIDE
                      : (role == R_INPUTS && i == 0) ? R_INPUT0
                                                      : R_OTHER;
        int rc = scan_value(s, r, depth);
        if (rc != F8D_JSON_SCAN_OK)
            return rc;
        bool closed;
        rc = after_element(s, ']', &closed);
        if (rc != F8D_JSON_SCAN_OK || closed)
            return rc;
    }
}

static int scan_object(struct scanner *s, enum role role, unsigned depth)
{
    s->pos++;
    skip_ws(s);
    if (s->pos < s->len && s->p[s->pos] == '}') {
        s->pos++;
        return F8D_JSON_SCAN_OK;
    }
    for (;;) {
        skip_ws(s);
        if (s->pos >= s->len || s->p[s->pos] != '"')
            return syntax(s, "string or '}' expected in an object");
        char key[KEY_MAX + 1];
        int rc = scan_string(s, key);
        if (rc == F8D_JSON_SCAN_OK)
            rc = count(s, role);
        if (rc != F8D_JSON_SCAN_OK)
            return rc;
        skip_ws(s);
        if (s->pos >= s->len || s->p[s->pos] != ':')
            return syntax(s, "':' expected in an object");
        s->pos++;
        enum role r = R_OTHER;
        if (role == R_INSIDE)
            r = R_INSIDE;
        else if (role == R_ROOT && strcmp(key, "inputs") == 0)
            r = R_INPUTS;
        else if (role == R_INPUT0 && strcmp(key, "data") == 0)
            r = R_DATA;
        rc = scan_value(s, r, depth);
        if (rc != F8D_JSON_SCAN_OK)
            return rc;
        bool closed;
        rc = after_element(s, '}', &closed);
        if (rc != F8D_JSON_SCAN_OK || closed)
            return rc;
    }
}

static int scan_value(struct scanner *s, enum role role, unsigned depth)
{
    skip_ws(s);
    if (s->pos >= s->len)
        return syntax(s, "premature end of input, a value expected");
    if (depth >= F8D_JSON_MAX_DEPTH)
        return syntax(s, "maximum nesting depth reached");
    char c = s->p[s->pos];
    if (role == R_DATA && c == '[' && s->out->data_end == 0) {
        size_t start = s->pos;
        int rc = scan_array(s, R_INSIDE, depth + 1);
        if (rc == F8D_JSON_SCAN_OK) {
            s->out->data_start = start;
            s->out->data_end = s->pos;
        }
        return rc;
    }
    int rc = count(s, role);
    if (rc != F8D_JSON_SCAN_OK)
        return rc;
    switch (c) {
    case '{': return scan_object(s, role, depth + 1);
    case '[': return scan_array(s, role, depth + 1);
    case '"': return scan_string(s, NULL);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return scan_number(s);
        return syntax(s, "invalid token");
    }
}

int f8d_json_scan(const char *text, size_t len, size_t max_values, struct f8d_json_scan *out)
{
    *out = (struct f8d_json_scan){0};
    struct scanner s = {text, len, 0, max_values, out};
    skip_ws(&s);
    int rc;
    if (s.pos >= len || (text[s.pos] != '{' && text[s.pos] != '['))
        rc = syntax(&s, "'[' or '{' expected");
    else
        rc = scan_value(&s, text[s.pos] == '{' ? R_ROOT : R_OTHER, 0);
    if (rc == F8D_JSON_SCAN_OK) {
        skip_ws(&s);
        if (s.pos < len)
            rc = syntax(&s, "end of input expected");
    }
    if (rc == F8D_JSON_SCAN_SYNTAX) {
        out->line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < s.pos && i < len; i++) {
            if (text[i] == '\n') {
                out->line++;
                line_start = i + 1;
            }
        }
        out->column = (int)(s.pos - line_start + 1);
    }
    if (rc != F8D_JSON_SCAN_OK)
        out->data_start = out->data_end = 0;
    return rc;
}

/* ---- jansson on the document with the data array blanked ------------------------------ */

struct feed {
    const char *text;
    size_t len, pos, start, end;
};

static size_t feed_read(void *buffer, size_t buflen, void *data)
{
    struct feed *f = data;
    char *b = buffer;
    size_t n = 0;
    while (n < buflen && f->pos < f->len) {
        if (f->pos < f->start || f->pos >= f->end) {
            size_t stop = f->pos < f->start ? f->start : f->len;
            size_t k = stop - f->pos;
            if (k > buflen - n)
                k = buflen - n;
            memcpy(b + n, f->text + f->pos, k);
            n += k;
            f->pos += k;
        } else {
            char c = f->text[f->pos];
            b[n++] = f->pos == f->start ? '[' : f->pos == f->start + 1 ? ']'
                   : c == '\n'          ? '\n' : ' ';
            f->pos++;
        }
    }
    return n;
}

json_t *f8d_json_load(const char *text, size_t len, const struct f8d_json_scan *scan,
                      size_t flags, json_error_t *err)
{
    if (scan->data_end == 0)
        return json_loadb(text, len, flags, err);
    struct feed f = {text, len, 0, scan->data_start, scan->data_end};
    return json_load_callback(feed_read, &f, flags, err);
}

/* ---- the data array, read from the text ------------------------------------------------ */

/* Leaves inside more than this many brackets are refused, as handlers_infer's count_leaves
 * refused jansson arrays nested deeper than 8 below "data". */
#define SPAN_MAX_DEPTH 8

/* A leaf reader: the leaf starting at text[*i] (its first character c), read up to its end
 * (*i moved past it); stored as leaf number n when it wants to. 0, or -1 when the leaf is not
 * of its kind. */
typedef int (*leaf_fn)(const char *text, size_t *i, size_t end, size_t n, void *arg);

/* Walks the (possibly nested) array text[start .. end), already checked by the scanner,
 * handing each leaf to `leaf`; at most `max` leaves, SPAN_MAX_DEPTH brackets deep. Returns
 * the leaves read, or -1. */
static long long span_walk(const char *text, size_t start, size_t end, size_t max, leaf_fn leaf,
                           void *arg)
{
    size_t n = 0;
    unsigned depth = 0;
    for (size_t i = start; i < end;) {
        char c = text[i];
        if (c == '[') {
            if (++depth > SPAN_MAX_DEPTH + 1)
                return -1;
            i++;
        } else if (c == ']') {
            depth--;
            i++;
        } else if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            i++;
        } else {
            if (depth > SPAN_MAX_DEPTH || n >= max || leaf(text, &i, end, n, arg) != 0)
                return -1;
            n++;
        }
    }
    return (long long)n;
}

/* An integer 0..255 (-0 allowed, no fraction or exponent), into out[n] when out is given. */
static int byte_leaf(const char *text, size_t *i, size_t end, size_t n, void *arg)
{
    uint8_t *out = arg;
    size_t j = *i;
    bool neg = text[j] == '-';
    if (!neg && (text[j] < '0' || text[j] > '9'))
        return -1; /* a string, object, true, false or null */
    if (neg)
        j++;
    unsigned v = 0;
    for (; j < end && text[j] >= '0' && text[j] <= '9'; j++) {
        v = v * 10 + (unsigned)(text[j] - '0');
        if (v > 255)
            return -1;
    }
    if (j < end && (text[j] == '.' || text[j] == 'e' || text[j] == 'E'))
        return -1; /* a real, not an integer */
    if (neg && v != 0)
        return -1;
    if (out != NULL)
        out[n] = (uint8_t)v;
    *i = j;
    return 0;
}

/* A string (counted only). */
static int string_leaf(const char *text, size_t *i, size_t end, size_t n, void *arg)
{
    (void)n;
    (void)arg;
    size_t j = *i;
    if (text[j] != '"')
        return -1;
    for (j++; j < end && text[j] != '"'; j++)
        if (text[j] == '\\')
            j++;
    *i = j + 1;
    return 0;
}

long long f8d_json_span_bytes(const char *text, size_t start, size_t end, uint8_t *out,
                              size_t max)
{
    return span_walk(text, start, end, max, byte_leaf, out);
}

long long f8d_json_span_strings(const char *text, size_t start, size_t end, size_t max)
{
    return span_walk(text, start, end, max, string_leaf, NULL);
}
