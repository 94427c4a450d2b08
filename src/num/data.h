/* data.h: numeric values by name from a --data JSON file, read as exact rationals. */
#ifndef DC_DATA_H
#define DC_DATA_H

#include "base/diag.h"
#include "lang/model.h"
#include "num/eval.h"

/* Caps on a data file, each refused with a message naming it. Values have
   at most EVAL_MAX_ENTRIES entries each. */
enum {
    DATA_MAX_BYTES = 64 << 20, /* the file */
    DATA_MAX_EXPONENT = 10000, /* decimal exponent of a number: 1e10000 */
};

/* The values a data file gives, by name, and the dim sizes they fix. */
typedef struct data_set data_set;

/* Read the data file PATH for the model M:

       {"X": [[1, 2], [3, 4]], "Y": [[1, 0]], "W1": [["0.1", "-2.5e-3"], ...],
        "b": 0.5, "m": 2}

   Each key names an input, label or param of M (or a dim, whose value is a
   positive integer); its value is a row-major nested array of its shape:
   rank 2 an array of rows, rank 1 a flat array, rank 0 a number. A number
   is a JSON number or a string holding a decimal ("0.1", "-2.5e-3": read as
   the exact rational 1/10, -1/400) or a fraction ("1/3"). JSON numbers are
   read exactly from their text too, not through a double: "0.1" and 0.1
   are the same 1/10 (jansson itself refuses an integer beyond 64 bits and
   a real beyond double's range: write those as strings). Dims
   take their sizes from the arrays, each from the first value (in the
   file's order) that fixes it; every later use must agree. Labels must obey
   their assumption: binary entries 0 or 1; onehot columns all 0 but one 1;
   prob columns nonnegative and summing to 1 within 1e-12.

   Returns the data set, or NULL with ERR filled (its strings in POOL):
   an input error at the file:line:col of the offending key or value, whose
   message starts with the JSON path ("\"W1\"[2]: expected 3 numbers,
   found 2"): malformed JSON (the place jansson reports), a top level that
   is not an object, an unknown name, a definition given a value, a wrong
   rank, ragged rows, an empty array, conflicting dim sizes, an entry that
   is not a number, a label breaking its assumption; DC_ELIMIT for a file
   over DATA_MAX_BYTES or a value over EVAL_MAX_ENTRIES entries; DC_EIO
   when the file cannot be read; DC_ENOMEM when jansson runs out of memory.
   Allocation failures in POOL jump to its on_oom target after freeing what
   the call holds. The data set is allocated from POOL; data_free clears
   its numbers. */
data_set *data_read(const char *path, const model *m, mem_pool *pool, dc_error *err);

/* The same for the text of SRC (SRC->name names it in errors). */
data_set *data_parse(const source *src, const model *m, mem_pool *pool, dc_error *err);

/* Clear the numbers DS holds and release it. DS may be NULL. */
void data_free(data_set *ds);

/* The size of the dim D in an evaluation with DS: the data's, else the
   declared one (a literal's own). DS may be NULL. */
long data_dim_size(const data_set *ds, dim d);

/* Whether DS gives SYM a value. DS may be NULL. */
int data_gives(const data_set *ds, const symbol *sym);

/* Whether the value DS gives the label SYM obeys SYM's declared assumption
   exactly, as rationals. The reader lets a prob label's column sum to 1
   within 1e-12 (data written in double rarely sum to 1 exactly), but an
   algebra that uses sum = 1 computes the gradient of other data then.
   Returns 1 when it does, when SYM assumes nothing a column sum decides
   (binary and onehot are read exactly), and when DS gives SYM no value
   (drawn labels obey it exactly); else 0, with *COLUMN the first column
   whose sum is not 1 and *SUM that sum in words ("1 + 5e-13"), allocated
   in POOL. DS may be NULL. */
int data_label_exact(const data_set *ds, const symbol *sym, long *column, const char **sum,
                     mem_pool *pool);

/* Make EV ready to evaluate M at the point DS describes: set every dim the
   data fixes, draw every input, label and param the data leaves out with
   sample_bind from SEED (stream 0, entries k / 2^DATA_SAMPLE_BITS; at the
   same dims, giving one value leaves the draws of the others as they
   were), then bind the data's values (exact; EV rounds them). DS NULL: everything random. POOL is
   EV's pool; an allocation failure jumps to its on_oom target. Returns 1, or 0 with WHY (LEN bytes)
   when a value cannot be drawn. */
enum { DATA_SAMPLE_BITS = 16 };
int data_bind(evaluator *ev, mem_pool *pool, const data_set *ds, const model *m, unsigned long seed,
              char *why, size_t len);

#endif
