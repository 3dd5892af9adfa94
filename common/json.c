/* JSON string output for the records the C programs write. */
#include <stdio.h>

#include "papaya.h"

/* Length of the well-formed UTF-8 sequence starting at s, or 0 if the byte
 * there does not start one (Unicode table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF). s is NUL-terminated, and NUL fails
 * every continuation test, so the && chains never read past the end. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xBF;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] >= 0x80 && s[1] <= 0xBF) ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        if (s[0] == 0xE0)
            lo = 0xA0;
        if (s[0] == 0xED)
            hi = 0x9F;
        return (s[1] >= lo && s[1] <= hi && s[2] >= 0x80 && s[2] <= 0xBF)
                   ? 3
                   : 0;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        if (s[0] == 0xF0)
            lo = 0x90;
        if (s[0] == 0xF4)
            hi = 0x8F;
        return (s[1] >= lo && s[1] <= hi && s[2] >= 0x80 && s[2] <= 0xBF &&
                s[3] >= 0x80 && s[3] <= 0xBF)
                   ? 4
                   : 0;
    }
    return 0;
}

/* Command-line arguments are bytes, but JSON text must be UTF-8: a byte
 * that is not part of valid UTF-8 becomes U+FFFD rather than making the
 * whole file unreadable. */
void json_string(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;

    fputc('"', out);
    while (*s != '\0') {
        size_t n = utf8_sequence_length(s);

        if (n == 0) {
            fputs("\\ufffd", out);
            s++;
            continue;
        }
        switch (*s) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*s < 0x20)
                fprintf(out, "\\u%04x", (unsigned)*s);
            else
                fwrite(s, 1, n, out);
        }
        s += n;
    }
    fputc('"', out);
}
