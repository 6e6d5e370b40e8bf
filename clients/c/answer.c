/* f8-classify: answers and their JSON form. */
#include <stdlib.h>

#include "f8_classify.h"

void f8c_answer_free(struct f8c_answer *a)
{
    for (unsigned i = 0; i < a->n; i++)
        free(a->p[i].label);
    free(a->p);
    free(a->model);
    a->p = NULL;
    a->model = NULL;
    a->n = 0;
}

void f8c_print_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}
