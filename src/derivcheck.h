/* derivcheck.h: the public API of libderivcheck, which checks backpropagation derivations. */
#ifndef DERIVCHECK_H
#define DERIVCHECK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ownership, in one sentence: a dc_session owns everything the library hands
   out through it, and what a call returns (a report, the model names, its
   error) stays valid until the next call on the session or dc_session_free,
   the model's dump until the model is replaced. The accessors
   (dc_session_error, dc_error_*, dc_session_rules_dir, dc_model_dump) are
   not calls in this sense. A call's working memory is freed when it
   returns, so a session that loads a model once and runs commands on it
   for ever holds no more memory after the thousandth than after the
   first. */

typedef struct dc_session dc_session;
typedef struct dc_error dc_error;

/* What a call established. The command-line program maps DC_REFUTED to exit
   status 1, and DC_UNDECIDED and every error to exit status 2. */
typedef enum dc_status {
    DC_OK = 0,      /* everything asked for holds */
    DC_REFUTED = 1, /* something was refuted */
    DC_EINPUT = 2,  /* malformed input: the error names file:line:col */
    DC_ENOMEM = 3,  /* an allocation failed; the session is still usable */
    DC_ELIMIT = 4,  /* a documented cap was exceeded */
    DC_EIO = 5,     /* a file could not be read */
    /* nothing was refuted, but something asked for could not be decided
       (no method could run, or the methods contradict each other): the
       report is written and says what and why; the error says so too */
    DC_UNDECIDED = 6,
} dc_status;

/* The verdict on one claim of a derivation file (dc_check), as the JSON
   writes it ("ok", "given", "wrong", "shape", "undecided";
   dc_verdict_code). */
typedef enum dc_verdict {
    DC_VERDICT_OK = 0,        /* equals the gradient in the convention it follows */
    DC_VERDICT_GIVEN = 1,     /* right given earlier claims, but they are wrong */
    DC_VERDICT_WRONG = 2,     /* refuted by a witnessed difference */
    DC_VERDICT_SHAPE = 3,     /* not even the shape of what it claims */
    DC_VERDICT_UNDECIDED = 4, /* no method could decide it */
    DC_VERDICT_STEP = 5,      /* a working step of a name assigned again later, which is
                                 the gradient of no version of its name: judged by the last */
} dc_verdict;

/* What is wrong with a claim, beside the words of its reason, for programs
   that act on it (an autograder); the JSON writes dc_diagnosis_code's
   name, "missing_inv_m" and so on. New codes are added at the end. */
typedef enum dc_diagnosis {
    DC_DIAGNOSIS_NONE = 0,              /* it holds: nothing to diagnose */
    DC_DIAGNOSIS_UNKNOWN,               /* wrong, but none of the usual mistakes explains it */
    DC_DIAGNOSIS_MISSING_INV_M,         /* a factor m too many: a 1/m is missing */
    DC_DIAGNOSIS_EXTRA_INV_M,           /* a factor 1/m too many */
    DC_DIAGNOSIS_HARD_CODED_BATCH,      /* the declared batch size written as a number */
    DC_DIAGNOSIS_SIGN,                  /* the negative of the gradient */
    DC_DIAGNOSIS_TRANSPOSE,             /* the transpose of the gradient */
    DC_DIAGNOSIS_AXIS,                  /* a sum over the wrong axis */
    DC_DIAGNOSIS_KEEPDIMS,              /* a sum's keepdims missing or extra */
    DC_DIAGNOSIS_ACTIVATION_DERIVATIVE, /* another activation's derivative, or none */
    DC_DIAGNOSIS_LABEL_ASSUMPTION,      /* holds only if a label is onehot */
    DC_DIAGNOSIS_ZERO_GRADIENT,         /* the loss does not depend on the claimed variable */
    DC_DIAGNOSIS_WRONG_EARLIER_CLAIMS,  /* verdict given: the earlier claims it uses are wrong */
    DC_DIAGNOSIS_UNSOUND_RULE,          /* undecided: proof and numbers disagree */
    DC_DIAGNOSIS_NOT_DECIDABLE,         /* undecided: no method could run */
    DC_DIAGNOSIS_HYPERPARAMETER_FACTOR, /* a factor keep_prob, lambd... too many or missing */
    DC_DIAGNOSIS_RELU_MASK,             /* a ReLU's mask A >= 0 or inverted, or A's values */
    DC_DIAGNOSIS_REGULARISATION,        /* a regularisation term dropped, or lambd for lambd/m */
    DC_DIAGNOSIS_GRADIENT_OF_OTHER,     /* the gradient of another name (dhidden of scores1) */
    DC_DIAGNOSIS_TWO_MISTAKES,          /* a mistake of the whole line and one more */
    DC_DIAGNOSIS_CONSTANT_FACTOR,       /* a number too many or missing (the 2 of a square) */
} dc_diagnosis;

/* The library version, "MAJOR.MINOR.PATCH". */
const char *dc_version(void);

/* The name among NAMES[0..N) that NAME is likely a slip for, for a "did
   you mean" message: the nearest by edit distance, when at most 2 edits
   away and fewer edits than NAME has bytes; NULL if none (or NAME is one
   of them). */
const char *dc_nearest_name(const char *name, const char *const *names, size_t n);

/* A new session, or NULL when memory is exhausted. */
dc_session *dc_session_new(void);
void dc_session_free(dc_session *s);

/* Where rule files and built-in models are looked up: DIR holds *.rules and
   models/ *.dc. A new session looks in the rules installed with the
   library (pkg-config --variable=rulesdir derivcheck); the caller may
   point it elsewhere. */
dc_status dc_session_set_rules_dir(dc_session *s, const char *dir);
const char *dc_session_rules_dir(const dc_session *s);

/* How deep prove's (and doc's) numeric tests go: they evaluate whole
   formulas, whose cost grows with the depth of the network, so they run
   for the gradients whose certificate lemma is at most DEPTH backward
   steps from the loss (0: for none; the default is 6). The certificate
   covers every gradient whatever DEPTH. DC_ELIMIT for a DEPTH below 0 or
   above 1000000. */
dc_status dc_session_set_numeric_depth(dc_session *s, long depth);

/* A progress callback for the session's long evaluations (dc_eval: called
   as it goes with the thousandths of its estimated work done and 1000,
   and with 1, 1 when it ends, from the calling thread); NULL: none. The
   error sweep takes its own in dc_sweep_options. */
void dc_session_set_progress(dc_session *s, void (*progress)(void *ctx, long done, long total),
                             void *ctx);

/* Parse a .dc model from a file or from memory into the session, replacing
   any earlier model. NAME is used in error messages. On failure the session
   has no model and dc_session_error says why. */
dc_status dc_parse_file(dc_session *s, const char *path);
dc_status dc_parse_string(dc_session *s, const char *name, const char *text, size_t len);

/* Resolve FILE|MODEL as the commands take it: an existing file is parsed as
   is; otherwise a built-in model name is looked up in the rules directory. */
dc_status dc_load(dc_session *s, const char *file_or_model);

/* The names of the built-in models, sorted; *names is owned by the session. */
dc_status dc_model_names(dc_session *s, const char *const **names, size_t *count);

/* The built-in models as a report in FORMAT ("text": one name a line, or
   "json", docs/json.md). *REPORT is owned by the session. */
dc_status dc_models_list(dc_session *s, const char *format, const char **report);

/* The parsed model printed back, normalised: one declaration or definition
   per line, NumPy spellings reduced to one form, every shape in a comment.
   Parsing this text gives the same terms. NULL when there is no model. */
const char *dc_model_dump(dc_session *s);

/* Derive every gradient of the loaded model with the rules of the rules
   directory, in both conventions, and write the report in FORMAT ("text",
   "json", "markdown", "latex"); WITH_TRACE adds every rule applied.
   *REPORT is owned by the session. */
dc_status dc_derive(dc_session *s, const char *format, int with_trace, const char **report);

/* Check every claim of the loaded file against the derivation: holds or
   refuted, which convention it follows, why a wrong one is wrong, with a
   counterexample from SEED, and how each verdict was decided. DC_OK when
   all hold; DC_REFUTED when one does not (or the claims mix the
   conventions); DC_UNDECIDED when none is refuted but one could not be
   decided (the report is written). A file without claims is an input
   error. FORMAT: "text" or "json". */
dc_status dc_check(dc_session *s, unsigned long seed, const char *format, const char **report);

/* The claims the last dc_check judged, one by one, for a program to act
   on without reading the report (an autograder): valid until the next
   call on the session, like the report. After any other call the count is
   0. dc_result_claim is NULL for I out of range. */
typedef struct dc_claim dc_claim;
size_t dc_result_claim_count(const dc_session *s);
const dc_claim *dc_result_claim(const dc_session *s, size_t i);
const char *dc_claim_name(const dc_claim *c); /* "dW2" */
int dc_claim_line(const dc_claim *c);         /* its line in the file */
dc_verdict dc_claim_verdict(const dc_claim *c);
dc_diagnosis dc_claim_diagnosis(const dc_claim *c); /* DC_DIAGNOSIS_NONE when it holds */
const char *dc_claim_reason(const dc_claim *c);     /* the diagnosis in words; NULL if it holds */
/* the gradient it claims, written in the language ("1/m * dZ2 @ A1.T") */
const char *dc_claim_expected(const dc_claim *c);

/* The codes the JSON writes: "ok", "given", "wrong", "shape", "undecided";
   "missing_inv_m", "sign", ... (NULL for DC_DIAGNOSIS_NONE or a value out
   of range). Static strings. */
const char *dc_verdict_code(dc_verdict v);
const char *dc_diagnosis_code(dc_diagnosis d);

/* Prove, for the loaded model, that the deferred and absorbed placements of
   1/m give the same gradient for every param (symbolically, exactly at
   random rational points from SEED, in MPFR at rising precisions) and that
   the intermediates' gradients differ by exactly m; how far apart the two
   are in double; each param's gradient is checked against the derivative
   of the loss. DC_OK when every param gradient is proven the same, or
   agrees in MPFR at two batch sizes where no proof could be had (the
   report says "numeric"); DC_REFUTED when a difference is witnessed (a
   nonzero exact difference, an interval enclosure excluding 0, a gradient
   far from the loss's derivative); DC_EINPUT, with *REPORT written all the
   same, when nothing is refuted but some param could be decided by no
   method. FORMAT: "text", "json" or "markdown"; WITH_TRACE adds the
   certificates to text (json always has them). */
dc_status dc_prove(dc_session *s, unsigned long seed, const char *format, int with_trace,
                   const char **report);

/* The whole derivation of the loaded model as one document, in FORMAT
   ("markdown", the default for NULL; "latex", a document pdflatex compiles
   as is; "html", XHTML with MathML, no script): the model and its forward
   pass, every gradient step by step with each rule's file:line, both
   conventions' formulas side by side, the proof that the param gradients
   agree (from SEED) with its exact and MPFR evidence, what is not equal
   and why, the ulps apart in double, and for a file with claims the
   verdict on each. The same model, rules and SEED give the same bytes.
   DC_OK; DC_REFUTED when a claim or the proof is refuted, else DC_UNDECIDED
   when a claim could not be decided (the document is written all the
   same). *REPORT is owned by the session. */
dc_status dc_doc(dc_session *s, unsigned long seed, const char *format, const char **report);

/* The loss and the gradient of every param of the loaded model as numbers,
   at the values of the JSON file DATA_PATH ({"X": [[...], ...], "W1": ...},
   row-major nested arrays, numbers as JSON numbers or decimal strings read
   exactly; dims read from the arrays) with every value it leaves out drawn
   from SEED (DATA_PATH NULL: all drawn). Evaluated in MPFR at PREC bits
   (0: 256; 64 to 10000) and at PREC + 64, each number is printed with the
   digits on which the two agree, as a decimal string. CHECK_FD adds central
   finite differences of the loss for every param entry and their largest
   relative difference from the derived gradients. FORMAT: "text" or "json".
   Returns DC_OK, DC_REFUTED when the finite differences disagree,
   DC_UNDECIDED (with the report) when a number is nan or infinite, so that
   none of its digits is proved, or an error (a data file error names
   file:line:col and the JSON path).
   *REPORT is owned by the session. */
dc_status dc_eval(dc_session *s, const char *data_path, unsigned long seed, long prec,
                  const char *format, int check_fd, const char **report);

/* What an error sweep (dc_error_sweep) is asked to do. Zero-initialise it
   and set what you need. */
typedef struct dc_sweep_options {
    unsigned long seed; /* every sample i is drawn from its own stream (seed, i) */
    long samples;       /* per regime; 0: 64 (2 for large-m) */
    const char *regime; /* "typical", "saturated", "tiny", "large-m", "pow2-m",
                           "odd-m", "confident", "confident-mixed", or NULL or
                           "all" for every one */
    const char *format; /* "text" (NULL), "markdown" or "json" */
    int threads;        /* 0 or 1: one; the report is the same for any count */
    int shard, nshards; /* run only samples i with i % nshards == shard - 1
                           (1-based shard; 0/0: all) */
    /* called now and then with the samples done and the total, from the
       calling thread (NULL: none) */
    void (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
} dc_sweep_options;

/* How much error IEEE double adds to each formulation of the loss and of
   every param gradient of the loaded model (deferred, absorbed, the naive
   chain through dA, the loss's stable forms, naive and shifted softmax),
   measured against references in MPFR raised in precision until certified
   (cap 10000 bits; entries beyond it are reported as unsampleable), as
   bits of error per entry, log2(1 + ulps): mean and max, max relative
   error, NaN and Inf counts, and the worst input, per regime.
   *REPORT is owned by the session. */
dc_status dc_error_sweep(dc_session *s, const dc_sweep_options *o, const char **report);

/* Merge the JSON outputs of dc_error_sweep's shards (the N files PATHS)
   into one report in FORMAT ("text", "markdown", "json"); needs no model.
   Each shard carries its sweep's identity (hashes of the model's text and
   of the rules, the seed, the samples, the regimes, the shard count):
   shards that differ in it, a shard given twice, a number out of its range
   and, unless PARTIAL, a missing shard are refused (DC_EINPUT). */
dc_status dc_error_merge(dc_session *s, const char *const *paths, size_t n, const char *format,
                         int partial, const char **report);

/* The histograms of bits of error of the session's last dc_error_sweep or
   dc_error_merge, as a gnuplot script that writes SVG to gnuplot's
   standard output (it names no file: the caller decides where that goes):
   a panel per quantity and regime, in each a bar per formulation for every
   whole number of bits of error (0 to 63, and 64 for a NaN), the entries
   there counted on a log scale. DC_EINPUT when the session has no such
   result (none yet, the last one failed, or a model was loaded since).
   *SCRIPT is owned by the session. */
dc_status dc_error_plot(dc_session *s, const char **script);

/* The rule base of the rules directory, listed in FORMAT ("text", "json"). */
dc_status dc_rules_list(dc_session *s, const char *format, const char **report);

/* Check every rule of the rules directory at random points: the two sides
   of a rewrite rule evaluated in MPFR at PREC bits (0: 256; 64 to 10000),
   an adjoint rule against central finite differences. SEED fixes the
   points; SAMPLES (1 to 10000) is the points per rule (at least 3 are
   used). Returns DC_OK when every rule holds and DC_REFUTED when one fails
   (a rewrite where an interval enclosure of the difference excludes 0, an
   adjoint whose gap is far above rounding); DC_EINPUT, with *REPORT
   written all the same, when none fails but some rule could not be
   checked at any point. *REPORT (owned by the session) has a line per
   rule, a counterexample for each failure, and a summary line. */
dc_status dc_rules_verify(dc_session *s, unsigned long seed, int samples, long prec,
                          const char **report);

/* The last error of the session, or NULL after a call that succeeded. */
const dc_error *dc_session_error(const dc_session *s);
dc_status dc_error_status(const dc_error *e);
const char *dc_error_file(const dc_error *e); /* NULL if not about a file */
int dc_error_line(const dc_error *e);         /* 1-based; 0 if no place */
int dc_error_column(const dc_error *e);       /* 1-based byte column; 0 if none */
const char *dc_error_message(const dc_error *e);
/* "file:line:col: error: message", then the line quoted and a caret under
   the column, each line ending in a newline. */
const char *dc_error_text(const dc_error *e);
/* The session's last error as the JSON an error is written as with
   --format json, {"schema_version": 1, "error": {"status", "file", "line",
   "column", "message"}} and a newline (docs/json.md); NULL when the last
   call succeeded. Valid as long as dc_session_error's. */
const char *dc_session_error_json(const dc_session *s);

/* Test hook: make the n-th allocation from now fail (0: never). GMP's,
   MPFR's and jansson's allocations count too: when it is loaded the library
   installs its own allocation functions with mp_set_memory_functions and
   json_set_alloc_funcs (a program that also uses GMP or jansson may use them
   freely but must not install others), and each call drops MPFR's caches
   (mpfr_free_cache) before it returns. The command-line program reads n
   from DERIVCHECK_TEST_FAIL_ALLOC. */
void dc_debug_fail_alloc_after(long n);

#ifdef __cplusplus
}
#endif

#endif
