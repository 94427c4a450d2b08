/* numpy.h: a derivation written as a runnable Python module over NumPy. */
#ifndef DC_NUMPY_H
#define DC_NUMPY_H

#include "base/text.h"
#include "sym/derive.h"

/* Append to OUT a Python module computing D's model with NumPy (import
   numpy as np), for the file NAME:
   - SHAPES: each input, label and param mapped to the tuple of its
     declared sizes (None for a dim declared without one);
   - LABELS: each label, and each input of 0/1 entries (a dropout
     mask), mapped to its assumption ("binary", "onehot",
     "prob" or "none"), which values passed in must obey, and for onehot
     and prob the axis along which an example's entries sum to 1 (0 when
     examples are columns, 1 when they are rows), else None;
   - forward(**arrays): the loss;
   - forward_backward(convention="deferred"|"absorbed", **arrays): the
     loss and a dict of every gradient in that convention ("dW1": ...),
     each line as derive prints it, in NumPy.
   Sizes come from the arrays passed in, so any sizes that fit the
   declarations work. */
void numpy_module(text *out, const derivation *d, const char *name);

#endif
