/* numpy.c: a derivation written as a runnable Python module; see numpy.h. */
#include "out/numpy.h"

#include "base/format.h"
#include "lang/print.h"

/* Whether symbol S is passed to the module's functions. */
static int
is_argument(const symbol *s)
{
    return s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM;
}

static void
put_dim(text *out, dim d)
{
    if (d.sym == NULL)
        text_printf(out, "%ld", d.n);
    else if (d.sym->value > 0)
        text_printf(out, "%ld", d.sym->value);
    else
        text_puts(out, "None");
}

/* SHAPES and LABELS. */
static void
put_tables(text *out, const model *m)
{
    text_puts(out, "SHAPES = {\n");
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (!is_argument(s))
            continue;
        text_puts(out, "    \"");
        print_python_name(out, s->name);
        text_puts(out, "\": (");
        for (int k = 0; k < s->shape.rank; k++) {
            put_dim(out, s->shape.d[k]);
            text_puts(out, s->shape.rank == 1 ? "," : k == 0 ? ", " : "");
        }
        text_puts(out, "),\n");
    }
    text_puts(out, "}\n\nLABELS = {\n");
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_LABEL && !(s->kind == SYM_INPUT && s->label == LABEL_BINARY))
            continue;
        text_puts(out, "    \"");
        print_python_name(out, s->name);
        text_printf(out, "\": (\"%s\", ", term_label_name(s->label));
        if (s->label == LABEL_ONEHOT || s->label == LABEL_PROB)
            text_printf(out, "%d),\n", s->class_axis);
        else
            text_puts(out, "None),\n");
    }
    text_puts(out, "}\n\nBATCH = ");
    if (m->batch != NULL) {
        text_putc(out, '"');
        print_python_name(out, m->batch->name);
        text_puts(out, "\"\n");
    } else
        text_puts(out, "None\n");
}

/* "X, Y, W1, b1" (the arguments, in the order declared). */
static void
put_arguments(text *out, const model *m)
{
    int any = 0;
    for (size_t i = 0; i < m->nsymbols; i++) {
        if (!is_argument(m->symbols[i]))
            continue;
        if (any)
            text_puts(out, ", ");
        print_python_name(out, m->symbols[i]->name);
        any = 1;
    }
}

/* Every dim the formulas may name, read off the first argument that has
   it as a size: "    m = X.shape[1]". */
static void
put_sizes(text *out, const model *m)
{
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *dsym = m->symbols[i];
        if (dsym->kind != SYM_DIM && dsym->kind != SYM_BATCH)
            continue;
        for (size_t j = 0; j < m->nsymbols; j++) {
            const symbol *s = m->symbols[j];
            int k = 0;
            while (is_argument(s) && k < s->shape.rank && s->shape.d[k].sym != dsym)
                k++;
            if (!is_argument(s) || k == s->shape.rank)
                continue;
            text_puts(out, "    ");
            print_python_name(out, dsym->name);
            text_puts(out, " = ");
            print_python_name(out, s->name);
            text_printf(out, ".shape[%d]\n", k);
            break;
        }
    }
}

/* The forward pass: each definition in the order written. */
static void
put_forward(text *out, const model *m)
{
    put_sizes(out, m);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF)
            continue;
        text_puts(out, "    ");
        print_python_name(out, s->name);
        text_puts(out, " = ");
        print_numpy(out, s->definition, NULL);
        text_putc(out, '\n');
    }
}

/* The backward pass in convention C, at INDENT, then the dict GRADS. */
static void
put_backward(text *out, const derivation *d, convention c, const char *indent)
{
    size_t *order = mem_alloc(out->pool, (d->n + 1) * sizeof *order);
    derive_written_order(d, c, order);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[order[i]];
        text_printf(out, "%sd", indent);
        print_python_name(out, g->of->name);
        text_puts(out, " = ");
        print_numpy(out, derive_pretty(d, g, c), &g->of->shape);
        text_putc(out, '\n');
    }
    mem_release(out->pool, order);
    text_printf(out, "%sgrads = {\n", indent);
    for (size_t i = 0; i < d->n; i++) {
        text_printf(out, "%s    \"d", indent);
        print_python_name(out, d->g[i].of->name);
        text_puts(out, "\": d");
        print_python_name(out, d->g[i].of->name);
        text_puts(out, ",\n");
    }
    text_printf(out, "%s}\n", indent);
}

void
numpy_module(text *out, const derivation *d, const char *name)
{
    const model *m = d->m;
    text_printf(out,
                "\"\"\"The model of %s in NumPy, written by derivcheck: its forward pass and "
                "its\nbackward pass in both placements of 1/m.\"\"\"\n\nimport numpy as np\n\n",
                format_base_name(name));
    put_tables(out, m);
    text_puts(out, "\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n\n"
                   "def relu(z):\n    return np.maximum(z, 0)\n\n\n"
                   "def softmax(z, axis):\n"
                   "    e = np.exp(z - np.max(z, axis=axis, keepdims=True))\n"
                   "    return e / np.sum(e, axis=axis, keepdims=True)\n\n\n");
    text_puts(out, "def forward(");
    put_arguments(out, m);
    text_puts(out, "):\n    \"\"\"The loss at these arrays.\"\"\"\n");
    put_forward(out, m);
    text_puts(out, "    return ");
    print_python_name(out, m->loss->name);
    text_puts(out, "\n\n\ndef forward_backward(");
    put_arguments(out, m);
    text_puts(out, ", convention=\"deferred\"):\n"
                   "    \"\"\"The loss and every gradient, as a dict by name, in CONVENTION:\n"
                   "    \"deferred\" (dV = m * dJ/dV for intermediates, dJ/dV for params) or\n"
                   "    \"absorbed\" (dV = dJ/dV).\"\"\"\n");
    put_forward(out, m);
    if (m->batch != NULL) {
        text_puts(out, "    if convention == \"deferred\":\n");
        put_backward(out, d, CONVENTION_DEFERRED, "        ");
        text_puts(out, "    elif convention == \"absorbed\":\n");
        put_backward(out, d, CONVENTION_ABSORBED, "        ");
        text_puts(out, "    else:\n        raise ValueError(\"convention is 'deferred' or "
                       "'absorbed', not %r\" % (convention,))\n");
    } else /* per example: the placements coincide */
        put_backward(out, d, CONVENTION_ABSORBED, "    ");
    text_puts(out, "    return ");
    print_python_name(out, m->loss->name);
    text_puts(out, ", grads\n");
}
