/* parse.h: the recursive-descent parser of .dc files. */
#ifndef DC_PARSE_H
#define DC_PARSE_H

#include "error.h"
#include "model.h"

/* Caps on input, each refused with a message naming it. */
enum {
    PARSE_MAX_BYTES = 16 << 20, /* a .dc file */
    PARSE_MAX_DEPTH = 256,      /* nesting of parentheses, calls and prefix operators */
    PARSE_MAX_DIM = 1000000,    /* a dim's numeric value */
    PARSE_MAX_EXPONENT = 10000, /* decimal exponent of a literal: 1e10000 */
};

/* Parse SRC (whose text the model copies) into a new model. Returns the
   model, or NULL with ERR filled: an input error with its place, or an
   out-of-memory error. ERR's strings live in ERR_POOL. */
model *parse_model(const source *src, dc_error *err, mem_pool *err_pool);

#endif
