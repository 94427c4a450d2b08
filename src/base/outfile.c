/* outfile.c: the command line's output files; see outfile.h. */
#include "base/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_LINKS = 40 }; /* symlinks followed, as the kernel's ELOOP */

static const char *program = "derivcheck";

void
outfile_set_program(const char *name)
{
    program = name;
}

/* PATH with its symlinks followed to the name they end at (which need not
   exist), malloc'ed; NULL with errno set (ELOOP, ENOMEM). */
static char *
follow_links(const char *path)
{
    char *cur = strdup(path);
    for (int hops = 0; cur != NULL && hops < MAX_LINKS; hops++) {
        struct stat sb;
        char target[PATH_MAX];
        ssize_t n;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode) ||
            (n = readlink(cur, target, sizeof target - 1)) < 0)
            return cur;
        target[n] = '\0';
        const char *slash = strrchr(cur, '/');
        int dir = target[0] == '/' || slash == NULL ? 0 : (int)(slash - cur) + 1;
        size_t len = (size_t)dir + (size_t)n + 1;
        char *next = malloc(len);
        if (next != NULL)
            snprintf(next, len, "%.*s%s", dir, cur, target);
        free(cur);
        cur = next;
    }
    if (cur == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    free(cur);
    errno = ELOOP;
    return NULL;
}

/* The folder PATH is in ("." when it has no slash) into BUF. */
static void
folder_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(buf, size, ".");
    else
        snprintf(buf, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

static int
same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether the targets A and B (symlinks followed) are one file: the same
   inode when both exist, else the same name in the same folder. */
static int
same_target(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && same_inode(&sa, &sb);
    char da[PATH_MAX], db[PATH_MAX];
    folder_of(a, da, sizeof da);
    folder_of(b, db, sizeof db);
    const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
    na = na != NULL ? na + 1 : a;
    nb = nb != NULL ? nb + 1 : b;
    return stat(da, &sa) == 0 && stat(db, &sb) == 0 && same_inode(&sa, &sb) && strcmp(na, nb) == 0;
}

/* outfile_check on TARGET, PATH with its symlinks followed. */
static int
check_target(const char *path, const char *target, const char *const *inputs, size_t ninputs,
             const char *const *folders, size_t nfolders, const char *other, char *why, size_t size)
{
    struct stat sb, in;
    int exists = stat(target, &sb) == 0;
    if (!exists && errno != ENOENT) {
        snprintf(why, size, "cannot write '%s': %s", path, strerror(errno));
        return 0;
    }
    if (exists && S_ISDIR(sb.st_mode)) {
        snprintf(why, size, "cannot write '%s': it is a folder", path);
        return 0;
    }
    for (size_t i = 0; exists && i < ninputs; i++)
        if (inputs[i] != NULL && stat(inputs[i], &in) == 0 && same_inode(&sb, &in)) {
            snprintf(why, size, "will not write '%s': it is the input '%s', which would be lost",
                     path, inputs[i]);
            return 0;
        }
    char dir[PATH_MAX];
    folder_of(target, dir, sizeof dir);
    struct stat ds;
    int found = stat(dir, &ds) == 0;
    if (!found || !S_ISDIR(ds.st_mode)) {
        snprintf(why, size, "cannot write '%s': cannot create a file in '%s': %s", path, dir,
                 strerror(found ? ENOTDIR : errno));
        return 0;
    }
    for (size_t i = 0; i < nfolders; i++)
        if (folders[i] != NULL && stat(folders[i], &in) == 0 && same_inode(&ds, &in)) {
            snprintf(why, size,
                     "will not write '%s': it is in the rules folder '%s', which is read as input",
                     path, folders[i]);
            return 0;
        }
    if (other != NULL && same_target(target, other)) {
        snprintf(why, size, "will not write '%s' twice: -o and --plot name the same file", path);
        return 0;
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        if (access(target, W_OK) == 0)
            return 1;
        snprintf(why, size, "cannot write '%s': %s", path, strerror(errno));
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(why, size, "cannot write '%s': cannot create a file in '%s': %s", path, dir,
                 strerror(errno));
        return 0;
    }
    return 1;
}

int
outfile_check(const char *path, const char *const *inputs, size_t ninputs,
              const char *const *folders, size_t nfolders, const char *other, char *why,
              size_t size)
{
    char *target = follow_links(path);
    if (target == NULL) {
        snprintf(why, size, "cannot write '%s': %s", path, strerror(errno));
        return 0;
    }
    char *other_target = other != NULL ? follow_links(other) : NULL;
    int ok = check_target(path, target, inputs, ninputs, folders, nfolders,
                          other_target != NULL ? other_target : other, why, size);
    free(other_target);
    free(target);
    return ok;
}

/* ---------------------------------------------------------------- signals */

/* The temporary output file while it is being written: a signal that
   stops the program removes it (SIGKILL cannot be caught; it leaves it). */
static char *volatile temp_output;

static const int stopping[] = {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGXFSZ};
enum { NSTOPPING = sizeof stopping / sizeof stopping[0] };
static struct sigaction before[NSTOPPING]; /* the dispositions outfile_open found */

static void
remove_temp_output(int sig)
{
    char *tmp = temp_output;
    if (tmp != NULL)
        unlink(tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* With TMP, catch the stopping signals to remove TMP, except those ignored
   (nohup ignores SIGHUP: it stays ignored); with NULL, put back what was. */
static void
guard_temp_output(char *tmp)
{
    temp_output = tmp;
    for (size_t i = 0; i < NSTOPPING; i++) {
        if (tmp == NULL) {
            sigaction(stopping[i], &before[i], NULL);
            continue;
        }
        sigaction(stopping[i], NULL, &before[i]);
        if (before[i].sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_temp_output;
        sigemptyset(&sa.sa_mask);
        sigaction(stopping[i], &sa, NULL);
    }
}

/* ---------------------------------------------------------------- writing */

/* A new temporary file beside F->path (F->path.XXXXXX: in the same folder,
   so that renaming it onto F->path is atomic), guarded by the signals, with
   the mode F->path has, or when it is new the one the umask gives (mkstemp
   makes it 0600). 0, or -1 with errno set. */
static int
open_temp(outfile *f)
{
    size_t n = strlen(f->path) + sizeof ".XXXXXX";
    f->tmp = malloc(n);
    if (f->tmp == NULL) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(f->tmp, n, "%s.XXXXXX", f->path);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int saved = errno;
        free(f->tmp);
        errno = saved;
        return -1;
    }
    guard_temp_output(f->tmp);
    fcntl(f->fd, F_SETFD, FD_CLOEXEC);
    struct stat old;
    mode_t mask = umask(0);
    umask(mask);
    fchmod(f->fd, stat(f->path, &old) == 0 ? old.st_mode & 07777 : 0666 & ~mask);
    return 0;
}

int
outfile_open(outfile *f, const char *path)
{
    f->tmp = NULL;
    f->fd = -1;
    f->path = follow_links(path);
    if (f->path == NULL)
        return -1;
    struct stat sb;
    int r;
    if (stat(f->path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* a device or a FIFO: replacing it would break the system or the
           reader waiting on it */
        f->fd = open(f->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        r = f->fd < 0 ? -1 : 0;
    } else
        r = open_temp(f);
    if (r != 0) {
        int saved = errno;
        free(f->path);
        f->path = NULL;
        errno = saved;
    }
    return r;
}

int
outfile_finish(outfile *f, int ok)
{
    int saved = errno;
    int closed = close(f->fd) == 0;
    if (!closed)
        saved = errno;
    ok = ok && closed;
    int done = ok;
    if (f->tmp != NULL) {
        done = ok && rename(f->tmp, f->path) == 0;
        if (ok && !done)
            saved = errno;
        if (!done)
            unlink(f->tmp);
        guard_temp_output(NULL);
        free(f->tmp);
    }
    free(f->path);
    f->path = f->tmp = NULL;
    f->fd = -1;
    errno = saved;
    return done;
}

int
outfile_write(const char *path, const char *content, size_t len)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        if (fwrite(content, 1, len, stdout) == len && fflush(stdout) == 0)
            return 0;
        /* the caller reports it: outfile_close_stdout need not again */
        int saved = errno;
        clearerr(stdout);
        errno = saved;
        return -1;
    }
    outfile f;
    if (outfile_open(&f, path) != 0)
        return -1;
    size_t sent = 0;
    errno = 0;
    while (sent < len) {
        ssize_t n = write(f.fd, content + sent, len - sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    if (sent < len && errno == 0)
        errno = EIO;
    return outfile_finish(&f, sent == len) ? 0 : -1;
}

void
outfile_close_stdout(void)
{
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int saved = errno;
    /* EBADF: standard output was closed, and nothing was written to it */
    if (fclose(stdout) != 0 && !failed && errno != EBADF) {
        failed = 1;
        saved = errno;
    }
    if (!failed)
        return;
    fprintf(stderr, "%s: cannot write the output: %s\n", program, strerror(saved));
    _exit(2);
}
