/* rules.c: loading rule files, matching patterns, applying rules; see rules.h. */
#include "sym/rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lang/parse.h"
#include "lang/print.h"

/* ---- loading ---- */

typedef struct loader {
    rule_set *rs;
    const source *src;
    const char *shown; /* how traces cite the file: rules/adjoint.rules */
    const char *group;
    dc_error *err;
    mem_pool *err_pool;
    int failed;
} loader;

static const struct {
    const char *name;
    predicate pred;
} predicates[] = {
    {"onehot", PRED_ONEHOT},           {"binary", PRED_BINARY},       {"prob", PRED_PROB},
    {"scalar", PRED_SCALAR},           {"const", PRED_CONST},         {"matrix", PRED_MATRIX},
    {"onehot_rows", PRED_ONEHOT_ROWS}, {"prob_rows", PRED_PROB_ROWS},
};

const char *
rules_predicate_name(predicate p)
{
    for (size_t i = 0; i < sizeof predicates / sizeof predicates[0]; i++)
        if (predicates[i].pred == p)
            return predicates[i].name;
    return "?";
}

/* The first variable of T that does not occur in PATTERN (and is not one of
   the names an adjoint rule binds itself), or NULL. */
static const symbol *
unbound_variable(const term *t, const term *pattern, const symbol *output, const symbol *grad)
{
    if (t->op == OP_SYM)
        return t->sym != output && t->sym != grad && !term_occurrences(pattern, t->sym) ? t->sym
                                                                                        : NULL;
    for (unsigned i = 0; i < t->nargs; i++) {
        const symbol *v = unbound_variable(t->args[i], pattern, output, grad);
        if (v != NULL)
            return v;
    }
    return NULL;
}

/* How a term depends on G, for rules_linear_in. */
typedef enum dependence {
    DEP_NONE,   /* no G in it */
    DEP_ZERO,   /* no G, and zero: 0 * a */
    DEP_LINEAR, /* linear in G */
    DEP_OTHER,  /* G in it, not shown linear */
} dependence;

/* How T depends on G (see rules_linear_in). Recursion follows the rule
   formula's nesting, which the parser bounds. */
static dependence
dependence_on(const term *t, const symbol *G)
{
    if (t->op == OP_SYM)
        return t->sym == G ? DEP_LINEAR : DEP_NONE;
    if (t->op == OP_CONST)
        return mpq_sgn(t->value) == 0 ? DEP_ZERO : DEP_NONE;
    dependence a = dependence_on(t->args[0], G);
    dependence b = t->nargs > 1 ? dependence_on(t->args[1], G) : DEP_NONE;
    int a_free = a == DEP_NONE || a == DEP_ZERO, b_free = b == DEP_NONE || b == DEP_ZERO;
    switch (t->op) {
    case OP_NEG:
    case OP_TRANSPOSE:
    case OP_SUM:
    case OP_BROADCAST:
    case OP_UNBROADCAST:
    case OP_BROADCAST_LIKE:
        /* the second argument of unbroadcast(G, a) only gives a shape */
        return a;
    case OP_ADD:
        if (a_free && b_free)
            return a == DEP_ZERO && b == DEP_ZERO ? DEP_ZERO : DEP_NONE;
        /* G + 1 is affine, not linear */
        return (a == DEP_LINEAR || a == DEP_ZERO) && (b == DEP_LINEAR || b == DEP_ZERO) ? DEP_LINEAR
                                                                                        : DEP_OTHER;
    case OP_MUL:
    case OP_MATMUL:
        if (a == DEP_OTHER || b == DEP_OTHER)
            return DEP_OTHER;
        if (a == DEP_ZERO || b == DEP_ZERO)
            return DEP_ZERO;
        if (a_free && b_free)
            return DEP_NONE;
        return a_free || b_free ? DEP_LINEAR : DEP_OTHER;
    case OP_DIV:
        return b_free ? a : DEP_OTHER;
    default:
        return a_free && b_free ? DEP_NONE : DEP_OTHER;
    }
}

int
rules_linear_in(const term *t, const symbol *G)
{
    dependence d = dependence_on(t, G);
    return d == DEP_LINEAR || d == DEP_ZERO;
}

static void
load_error(loader *ld, size_t offset, const char *fmt, const char *arg)
{
    if (ld->failed)
        return;
    diag_at(ld->err, ld->err_pool, ld->src, offset, fmt, arg);
    ld->failed = 1;
}

/* Check one parsed rule and add it to the set (parse_rules' callback). */
static void
add_rule(void *ctx, const rule_syntax *syn)
{
    loader *ld = ctx;
    rule_set *rs = ld->rs;
    if (ld->failed)
        return;
    rule r;
    memset(&r, 0, sizeof r);
    r.name = syn->name;
    r.group = ld->group;
    r.file = ld->shown;
    int col;
    source_position(ld->src, syn->offset, &r.line, &col);
    r.lhs = syn->lhs;
    r.rhs = syn->rhs;
    if (r.lhs->op == OP_SYM || r.lhs->op == OP_CONST)
        return load_error(ld, syn->lhs_offset,
                          "%s: a pattern must be an operation, not a "
                          "bare name or number",
                          r.name);
    if ((syn->output == NULL) != (syn->gradient == NULL))
        return load_error(ld, syn->offset,
                          "%s: an adjoint rule names both the output "
                          "(C = pattern) and the input's gradient (da = formula)",
                          r.name);
    const symbol *grad = NULL;
    if (syn->output != NULL) {
        r.kind = RULE_ADJOINT;
        r.output = syn->output;
        const char *g = syn->gradient->name;
        for (unsigned i = 0; i < r.lhs->nargs && g[0] == 'd'; i++)
            if (r.lhs->args[i]->op == OP_SYM && strcmp(r.lhs->args[i]->sym->name, g + 1) == 0) {
                r.input = r.lhs->args[i]->sym;
                r.input_index = i;
            }
        if (r.input == NULL)
            return load_error(ld, syn->gradient_offset,
                              "'%s' is not d followed by an argument "
                              "of the pattern",
                              g);
        grad = rs->G;
    }
    if (syn->linear_in != NULL) {
        if (r.kind != RULE_ADJOINT || syn->linear_in != rs->G)
            return load_error(ld, syn->linear_offset,
                              "%s: only an adjoint rule's formula can be linear, and only in "
                              "G, the incoming gradient",
                              r.name);
        r.linear_claimed = 1;
        r.linear = rules_linear_in(r.rhs, rs->G);
    }
    const symbol *free_var = unbound_variable(r.rhs, r.lhs, r.output, grad);
    if (free_var != NULL)
        return load_error(ld, syn->rhs_offset,
                          "'%s' in the replacement does not occur in the "
                          "pattern",
                          free_var->name);
    for (int i = 0; i < syn->ncond; i++) {
        size_t k = 0;
        while (k < sizeof predicates / sizeof predicates[0] &&
               strcmp(predicates[k].name, syn->cond[i].predicate) != 0)
            k++;
        if (k == sizeof predicates / sizeof predicates[0])
            return load_error(ld, syn->cond[i].offset,
                              "unknown condition '%s'; expected onehot, binary, prob, "
                              "onehot_rows, prob_rows, scalar, const or matrix",
                              syn->cond[i].predicate);
        if (!term_occurrences(r.lhs, syn->cond[i].var))
            return load_error(ld, syn->cond[i].offset,
                              "the condition's variable '%s' does not "
                              "occur in the pattern",
                              syn->cond[i].var->name);
        r.cond[i].pred = predicates[k].pred;
        r.cond[i].var = syn->cond[i].var;
    }
    r.ncond = syn->ncond;
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].name, r.name) == 0)
            return load_error(ld, syn->offset, "a second rule named '%s'", r.name);
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 64;
        rs->rules = mem_realloc(rs->scope->pool, rs->rules, rs->cap * sizeof *rs->rules);
    }
    rs->rules[rs->n++] = r;
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A cap on a rules folder (RULES_MAX_FILES, RULES_MAX_BYTES): FALLBACK,
   or the environment variable ENV when set, from 1 to CEILING. -1 with ERR
   filled when ENV is set to something else. */
static long
folder_cap(const char *env, long fallback, long ceiling, dc_error *err, mem_pool *err_pool)
{
    const char *v = getenv(env);
    if (v == NULL || *v == '\0')
        return fallback;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno == 0 && *end == '\0' && n >= 1 && n <= ceiling)
        return n;
    diag_plain(err, err_pool, DC_EINPUT, "%s takes a whole number from 1 to %ld, not '%s'", env,
               ceiling, v);
    return -1;
}

/* The caps of one load, and how many bytes are left under the second. */
typedef struct folder_caps {
    long files, bytes, bytes_left;
} folder_caps;

/* Read PATH whole into the scope's pool, CAPS->bytes_left bytes at most
   (the bytes read are taken from it). Only a regular
   file is read: it is opened without blocking, so that a FIFO or a device
   named *.rules is refused, not waited on. */
static int
read_rule_file(rule_set *rs, const char *path, folder_caps *caps, source *src, dc_error *err,
               mem_pool *err_pool)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        diag_plain(err, err_pool, DC_EIO, "cannot read '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        diag_plain(err, err_pool, DC_EIO, "'%s' is not a regular file; a rule file must be one",
                   path);
        return 0;
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        diag_plain(err, err_pool, DC_EIO, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return 0;
    }
    text t;
    text_init(&t, rs->scope->pool);
    char buf[16384];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && t.len <= (size_t)caps->bytes_left)
        text_putn(&t, buf, n);
    fclose(f);
    if (t.len > (size_t)caps->bytes_left) {
        diag_plain(err, err_pool, DC_ELIMIT,
                   "the rule files are larger than the cap of %ld bytes in all (reached in "
                   "'%s'); DERIVCHECK_RULES_MAX_BYTES raises it, up to %d",
                   caps->bytes, path, RULES_CEILING_BYTES);
        return 0;
    }
    caps->bytes_left -= (long)t.len;
    src->name = mem_strdup(rs->scope->pool, path);
    src->text = text_str(&t);
    src->len = t.len;
    return 1;
}

/* The sorted names of DIR's *.rules files, or NULL (with ERR) when none. */
static char **
rule_files(const char *dir, size_t *count, long max_files, mem_pool *pool, dc_error *err,
           mem_pool *err_pool)
{
    DIR *d = opendir(dir);
    if (d == NULL && errno == ENOENT) {
        diag_plain(err, err_pool, DC_EIO,
                   "the rules folder '%s' is missing (set by --rules DIR, DERIVCHECK_RULES or "
                   "the installation)",
                   dir);
        return NULL;
    }
    if (d == NULL) {
        diag_plain(err, err_pool, DC_EIO, "cannot read the rules folder '%s': %s", dir,
                   strerror(errno));
        return NULL;
    }
    /* an allocation failure jumps past closedir: close it on the way */
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    if (setjmp(here)) {
        closedir(d);
        mem_pool_on_oom(pool, outer);
        mem_oom(pool);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 6 || strcmp(e->d_name + len - 6, ".rules") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            names = mem_realloc(pool, names, cap * sizeof *names);
        }
        names[n++] = mem_strdup(pool, e->d_name);
    }
    mem_pool_on_oom(pool, outer);
    closedir(d);
    if (n == 0) {
        diag_plain(err, err_pool, DC_EIO, "no rule files (*.rules) in '%s'", dir);
        return NULL;
    }
    if ((long)n > max_files) {
        diag_plain(err, err_pool, DC_ELIMIT,
                   "'%s' has %zu rule files, more than the cap of %ld; "
                   "DERIVCHECK_RULES_MAX_FILES raises it, up to %d",
                   dir, n, max_files, RULES_CEILING_FILES);
        return NULL;
    }
    qsort(names, n, sizeof *names, compare_strings);
    *count = n;
    return names;
}

/* The last component of the path DIR ("rules" for "/usr/share/derivcheck/"
   is "derivcheck"). */
static const char *
folder_name(const char *dir, mem_pool *pool)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    return mem_strndup(pool, dir + start, end - start);
}

rule_set *
rules_load(const char *dir, dc_error *err, mem_pool *err_pool)
{
    mem_pool *pool = mem_pool_new();
    if (pool == NULL) {
        diag_oom(err);
        return NULL;
    }
    jmp_buf oom;
    jmp_buf *outer = mem_pool_on_oom(err_pool, &oom);
    /* the rules' constants outlive the call that loads them */
    mem_pool *gmp_outer = mem_gmp_pool(pool);
    rule_set *volatile rs = NULL;
    if (setjmp(oom)) {
        mem_gmp_pool(gmp_outer);
        mem_pool_on_oom(err_pool, outer);
        diag_oom(err);
        if (rs != NULL)
            rules_free(rs);
        else
            mem_pool_free(pool);
        return NULL;
    }
    mem_pool_on_oom(pool, &oom);
    model *scope = model_new(pool);
    rule_set *set = mem_zalloc(pool, sizeof *set);
    set->scope = scope;
    set->hash = TEXT_HASH_START;
    rs = set;
    /* G is the incoming gradient in every adjoint rule */
    symbol *G = mem_zalloc(pool, sizeof *G);
    G->name = "G";
    G->kind = SYM_VAR;
    G->shape = shape_any;
    model_add(scope, G);
    set->G = G;
    folder_caps caps = {folder_cap("DERIVCHECK_RULES_MAX_FILES", RULES_MAX_FILES,
                                   RULES_CEILING_FILES, err, err_pool),
                        folder_cap("DERIVCHECK_RULES_MAX_BYTES", RULES_MAX_BYTES,
                                   RULES_CEILING_BYTES, err, err_pool),
                        0};
    caps.bytes_left = caps.bytes;
    size_t nfiles = 0;
    char **files = caps.files > 0 && caps.bytes > 0
                       ? rule_files(dir, &nfiles, caps.files, pool, err, err_pool)
                       : NULL;
    int ok = files != NULL;
    for (size_t i = 0; ok && i < nfiles; i++) {
        text path;
        text_init(&path, pool);
        text_printf(&path, "%s/%s", dir, files[i]);
        source src;
        ok = read_rule_file(set, text_str(&path), &caps, &src, err, err_pool);
        if (!ok)
            break;
        set->hash = text_hash(set->hash, files[i], strlen(files[i]) + 1);
        set->hash = text_hash(set->hash, src.text, src.len);
        /* traces cite rules/adjoint.rules:17, whatever the folder's path */
        text shown;
        text_init(&shown, pool);
        text_printf(&shown, "%s/%s", folder_name(dir, pool), files[i]);
        loader ld = {set,
                     &src,
                     text_str(&shown),
                     mem_strndup(pool, files[i], strlen(files[i]) - 6),
                     err,
                     err_pool,
                     0};
        ok = parse_rules(&src, scope, add_rule, &ld, err, err_pool) && !ld.failed;
        mem_pool_on_oom(pool, &oom); /* parse_rules restored it; keep ours */
    }
    mem_gmp_pool(gmp_outer);
    mem_pool_on_oom(err_pool, outer);
    mem_pool_on_oom(pool, NULL);
    if (!ok) {
        rules_free(set);
        return NULL;
    }
    return set;
}

void
rules_free(rule_set *rs)
{
    if (rs != NULL)
        model_free(rs->scope);
}

/* ---- matching ---- */

void
match_bind(match *m, const symbol *var, const term *value)
{
    if (m->n < MATCH_MAX) {
        m->var[m->n] = var;
        m->value[m->n] = value;
        m->n++;
    }
}

static const term *
lookup_binding(const match *m, const symbol *var)
{
    for (int i = 0; i < m->n; i++)
        if (m->var[i] == var)
            return m->value[i];
    return NULL;
}

/* rule_match, where an operation of PATTERN may also match a name that
   NAMES maps to a formula (NULL: none), by matching that formula. */
static int
match_at(const term *pattern, const term *t, match *m, const term_map *names)
{
    if (pattern->op == OP_SYM && pattern->sym->kind == SYM_VAR) {
        const term *bound = lookup_binding(m, pattern->sym);
        if (bound != NULL)
            return bound == t;
        if (m->n == MATCH_MAX)
            return 0;
        match_bind(m, pattern->sym, t);
        return 1;
    }
    const term *formula =
        names != NULL && t->op == OP_SYM && pattern->op != OP_SYM ? term_map_get(names, t) : NULL;
    if (formula != NULL)
        t = formula;
    if (pattern->op != t->op || pattern->aux != t->aux || pattern->keepdims != t->keepdims ||
        pattern->nargs != t->nargs)
        return 0;
    if (pattern->op == OP_CONST)
        return mpq_equal(pattern->value, t->value);
    if (pattern->op == OP_SYM)
        return 0; /* rule files have no names but variables */
    for (unsigned i = 0; i < pattern->nargs; i++)
        if (!match_at(pattern->args[i], t->args[i], m, names))
            return 0;
    return 1;
}

int
rule_match(const term *pattern, const term *t, match *m)
{
    return match_at(pattern, t, m, NULL);
}

/* What ASSUME takes the label L to be. */
static label_assumption
assumed(const label_assumption_set *assume, const symbol *l)
{
    for (size_t i = 0; assume != NULL && i < assume->n; i++)
        if (assume->labels[i] == l)
            return assume->as[i];
    return l->label;
}

int
rule_conditions_hold(const rule *r, const match *m, const label_assumption_set *assume)
{
    for (int i = 0; i < r->ncond; i++) {
        const term *v = lookup_binding(m, r->cond[i].var);
        const symbol *label =
            v != NULL && v->op == OP_SYM && v->sym->kind == SYM_LABEL ? v->sym : NULL;
        /* a 0/1 mask is an input declared binary */
        const symbol *mask = v != NULL && v->op == OP_SYM && v->sym->kind == SYM_INPUT &&
                                     v->sym->label == LABEL_BINARY
                                 ? v->sym
                                 : NULL;
        int rows = label != NULL && label->class_axis == 1;
        int holds = 0;
        switch (r->cond[i].pred) {
        case PRED_ONEHOT:
            holds = label != NULL && !rows && assumed(assume, label) == LABEL_ONEHOT;
            break;
        case PRED_BINARY:
            holds = mask != NULL || (label != NULL && assumed(assume, label) == LABEL_BINARY);
            break;
        case PRED_PROB:
            holds = label != NULL && !rows && assumed(assume, label) == LABEL_PROB;
            break;
        case PRED_ONEHOT_ROWS:
            holds = rows && assumed(assume, label) == LABEL_ONEHOT;
            break;
        case PRED_PROB_ROWS:
            holds = rows && assumed(assume, label) == LABEL_PROB;
            break;
        case PRED_SCALAR:
            holds = v != NULL && v->shape.rank == 0;
            break;
        case PRED_CONST:
            holds = v != NULL && v->op == OP_CONST;
            break;
        case PRED_MATRIX:
            holds = v != NULL && v->shape.rank == 2;
            break;
        }
        if (!holds)
            return 0;
    }
    return 1;
}

/* ---- instantiation ---- */

const term *
rules_unbroadcast(term_table *tab, const term *x, const shape *to, char *why)
{
    const term *t = x;
    /* leading axes that TO lacks: sum them away */
    while (t->shape.rank > to->rank) {
        t = term_make(tab, OP_SUM, to->rank == 0 ? -1 : 0, 0, &t, 1, why);
        if (t == NULL)
            return NULL;
    }
    /* axes where TO has a literal 1 that was stretched */
    for (int axis = 0; axis < to->rank; axis++) {
        dim want = to->d[axis], have = t->shape.d[axis];
        if (!dim_equal(want, have) && want.sym == NULL && want.n == 1) {
            t = term_make(tab, OP_SUM, axis, 1, &t, 1, why);
            if (t == NULL)
                return NULL;
        }
    }
    if (!shape_equal(&t->shape, to)) {
        snprintf(why, SHAPE_WHY, "a gradient cannot be summed down to its input's shape");
        return NULL;
    }
    return t;
}

const term *
rule_instantiate(term_table *tab, const term *tpl, const match *m, char *why)
{
    if (tpl->op == OP_SYM) {
        const term *v = lookup_binding(m, tpl->sym);
        if (v == NULL)
            snprintf(why, SHAPE_WHY, "the variable '%s' is unbound", tpl->sym->name);
        return v;
    }
    if (tpl->op == OP_CONST)
        return term_const(tab, tpl->value);
    const term *args[2] = {NULL, NULL}; /* every operation has one or two */
    for (unsigned i = 0; i < tpl->nargs; i++) {
        args[i] = rule_instantiate(tab, tpl->args[i], m, why);
        if (args[i] == NULL)
            return NULL;
    }
    if (tpl->op == OP_UNBROADCAST)
        return rules_unbroadcast(tab, args[0], &args[1]->shape, why);
    if (tpl->op == OP_BROADCAST_LIKE) {
        if (shape_equal(&args[0]->shape, &args[1]->shape))
            return args[0];
        return term_broadcast(tab, args[0], &args[1]->shape, tpl->aux, why);
    }
    return term_make(tab, tpl->op, tpl->aux, tpl->keepdims, args, tpl->nargs, why);
}

/* ---- tracing ---- */

void
trace_init(trace *tr, mem_pool *pool)
{
    memset(tr, 0, sizeof *tr);
    tr->pool = pool;
}

static void
add_step(trace *tr, step_kind kind, const rule *r, const char *what, const term *before,
         const term *after)
{
    if (tr == NULL)
        return;
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? 2 * tr->cap : 64;
        tr->steps = mem_realloc(tr->pool, tr->steps, tr->cap * sizeof *tr->steps);
    }
    tr->steps[tr->n++] =
        (trace_step){.kind = kind, .rule = r, .what = what, .before = before, .after = after};
}

void
trace_add(trace *tr, const rule *r, const char *what, const term *before, const term *after)
{
    add_step(tr, r != NULL ? STEP_RULE : STEP_REWRITE, r, what, before, after);
}

void
trace_add_normal_form(trace *tr, const term *before, const term *after)
{
    add_step(tr, STEP_NORMAL_FORM, NULL, "normal form: expand, cancel, collect", before, after);
}

/* ---- rewriting ---- */

typedef struct rewriter {
    const rule_set *rs;
    const label_assumption_set *assume;
    term_table *tab;
    trace *tr;
    long *steps;
    term_map *done;         /* terms already in normal form under the rules */
    const char *group;      /* only the rules of this group; NULL: all */
    const term_map *names;  /* names whose formulas patterns may match (NULL: none) */
    int depth;              /* how deep rewrite() recurses now */
    const rule *recent[64]; /* the last rules applied, to name a cycle */
    dc_error *err;
    mem_pool *err_pool;
    int failed;
} rewriter;

/* Stop rewriting with an error (DC_ELIMIT) that says which cap was hit
   (WHAT, a format taking the cap CAP) and names the rules that kept firing. */
static void fail_cycle(rewriter *w, const char *what, int cap)
    __attribute__((format(printf, 2, 0)));

static void
fail_cycle(rewriter *w, const char *what, int cap)
{
    text t;
    text_init(&t, w->err_pool);
    text_printf(&t, what, cap);
    text_puts(&t, "; the rules that kept firing:");
    for (size_t i = 0; i < 64; i++) {
        const rule *r = w->recent[i];
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= w->recent[j] == r;
        if (r != NULL && !seen)
            text_printf(&t, " %s (%s:%d)", r->name, r->file, r->line);
    }
    diag_plain(w->err, w->err_pool, DC_ELIMIT, "%s", text_str(&t));
    w->failed = 1;
}

/* The first rewrite rule that applies at T itself, and its result. */
static const term *
apply_once(rewriter *w, const term *t, const rule **used)
{
    for (size_t k = 0; k < w->rs->n; k++) {
        const rule *r = &w->rs->rules[k];
        match m = {.n = 0};
        if (r->kind != RULE_REWRITE || r->lhs->op != t->op ||
            (w->group != NULL && strcmp(r->group, w->group) != 0) ||
            !match_at(r->lhs, t, &m, w->names) || !rule_conditions_hold(r, &m, w->assume))
            continue;
        char why[SHAPE_WHY];
        const term *out = rule_instantiate(w->tab, r->rhs, &m, why);
        /* a replacement keeps its place's shape: 1 for a [1, m] sum is
           broadcast back to [1, m] */
        if (out != NULL && !shape_equal(&out->shape, &t->shape))
            out = term_broadcast(w->tab, out, &t->shape, -1, why);
        if (out == NULL)
            continue; /* the rule does not fit these shapes */
        *used = r;
        return out;
    }
    return NULL;
}

static const term *
rewrite(rewriter *w, const term *t)
{
    if (w->failed)
        return t;
    const term *known = term_map_get(w->done, t);
    if (known != NULL)
        return known;
    if (w->depth >= REWRITE_MAX_DEPTH) {
        fail_cycle(w,
                   "rewriting went deeper than %d nested terms (the cap, REWRITE_MAX_DEPTH): a "
                   "rule's replacement keeps growing",
                   REWRITE_MAX_DEPTH);
        return t;
    }
    w->depth++;
    const term *cur = t;
    for (;;) {
        const term *args[2];
        int changed = 0;
        for (unsigned i = 0; i < cur->nargs; i++) {
            args[i] = rewrite(w, cur->args[i]);
            changed |= args[i] != cur->args[i];
        }
        if (changed) {
            char why[SHAPE_WHY];
            const term *rebuilt = term_rebuild(w->tab, cur, args, why);
            if (rebuilt != NULL)
                cur = rebuilt;
        }
        const rule *used = NULL;
        const term *next = apply_once(w, cur, &used);
        if (next == NULL || w->failed)
            break;
        trace_add(w->tr, used, NULL, cur, next);
        w->recent[*w->steps % 64] = used;
        if (++*w->steps > REWRITE_MAX_STEPS) {
            fail_cycle(w, "rewriting did not settle after %d rule applications", REWRITE_MAX_STEPS);
            break;
        }
        cur = next;
    }
    w->depth--;
    term_map_put(w->done, t, cur);
    /* what rewriting leaves is rewritten: a walk that meets it again
       (in a rebuilt term) stops there instead of descending */
    if (cur != t && !w->failed)
        term_map_put(w->done, cur, cur);
    return cur;
}

/* rewrite(W, T) with every subterm of T rewritten first, children before
   parents in the order rewrite itself takes them, by an explicit stack:
   rewrite's own recursion then meets rewritten arguments at once, so its
   depth stays that of a rule's template, not of T. A normal form with
   thousands of monomials is a chain of sums that deep, which recursion
   would follow down the C stack. */
static const term *
rewrite_deep(rewriter *w, const term *t)
{
    typedef struct frame {
        const term *t;
        unsigned next; /* the argument to visit next */
    } frame;
    size_t cap = 64, n = 0;
    frame *stack = mem_alloc(w->err_pool, cap * sizeof *stack);
    stack[n++] = (frame){t, 0};
    while (n > 0 && !w->failed) {
        frame *f = &stack[n - 1];
        if (term_map_get(w->done, f->t) != NULL) {
            n--;
            continue;
        }
        if (f->next < f->t->nargs) {
            const term *arg = f->t->args[f->next++];
            if (term_map_get(w->done, arg) != NULL)
                continue;
            if (n == cap) {
                cap *= 2;
                stack = mem_realloc(w->err_pool, stack, cap * sizeof *stack);
            }
            stack[n++] = (frame){arg, 0};
            continue;
        }
        rewrite(w, f->t);
        n--;
    }
    mem_release(w->err_pool, stack);
    return rewrite(w, t);
}

/* rules_rewrite with the rules of GROUP only (NULL: all), their patterns
   matching through NAMES. */
static const term *
rewrite_with(const rule_set *rs, const char *group, const term_map *names,
             const label_assumption_set *assume, term_table *tab, const term *t, trace *tr,
             long *steps, dc_error *err, mem_pool *err_pool)
{
    rewriter w;
    memset(&w, 0, sizeof w);
    w.group = group;
    w.names = names;
    w.rs = rs;
    w.assume = assume;
    w.tab = tab;
    w.tr = tr;
    w.steps = steps;
    w.done = term_map_new(err_pool);
    w.err = err;
    w.err_pool = err_pool;
    const term *out = rewrite_deep(&w, t);
    return w.failed ? NULL : out;
}

const term *
rules_rewrite(const rule_set *rs, const label_assumption_set *assume, term_table *tab,
              const term *t, trace *tr, long *steps, dc_error *err, mem_pool *err_pool)
{
    return rewrite_with(rs, NULL, NULL, assume, tab, t, tr, steps, err, err_pool);
}

const term *
rules_recognise(const rule_set *rs, const term_map *names, term_table *tab, const term *t,
                trace *tr, long *steps, dc_error *err, mem_pool *err_pool)
{
    return rewrite_with(rs, "recognise", names, NULL, tab, t, tr, steps, err, err_pool);
}
