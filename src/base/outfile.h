/* outfile.h: the command line's output files: checked before the work, written whole or not at all.
 */
#ifndef DC_OUTFILE_H
#define DC_OUTFILE_H

#include <stddef.h>

/* What an output path (-o FILE, --plot FILE) names once symlinks are
   followed: a symlink is never replaced, its target is (a dangling one
   names the file to create). A regular file or a new one is written to a
   temporary file beside it and renamed into place, so that it holds its
   old content or all of the new; any other existing file (a device such
   as /dev/null, a FIFO, a terminal) is written directly, never replaced. */
typedef struct outfile {
    char *path; /* the target, symlinks followed (malloc'ed) */
    char *tmp;  /* the temporary file; NULL when writing directly */
    int fd;     /* where to write */
} outfile;

/* Whether PATH may be written, checked before the work so that a long run
   is not lost at its end: its folder exists and this program may create
   files in it (or, for an existing file that is not regular, may write
   it); it is not a folder; it is none of the INPUTS (NINPUTS paths, NULL
   entries skipped: the files read, compared by device and inode after
   symlinks are followed) nor a file in one of the FOLDERS (NFOLDERS, NULL
   skipped: the rules folder and its models, read too); and it is not
   OTHER (another output of the same run, NULL: none). 1, or 0 with a
   sentence in WHY (SIZE bytes) that names PATH. */
int outfile_check(const char *path, const char *const *inputs, size_t ninputs,
                  const char *const *folders, size_t nfolders, const char *other, char *why,
                  size_t size);

/* Open PATH for writing as outfile says: *F's fd to write to (closed in
   programs this one runs). Until outfile_finish, a signal that stops the
   program (SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGXFSZ) removes the
   temporary file first; a signal ignored when the program started (nohup)
   stays ignored. 0, or -1 with errno set and nothing to finish. */
int outfile_open(outfile *f, const char *path);

/* Close F's fd and, when OK, rename its temporary file onto its target;
   when not, remove it (a file written directly keeps what was written).
   Frees F's strings and restores the signals. Whether the output is in
   place: 0 with errno saying why (for !OK, errno as the caller had it). */
int outfile_finish(outfile *f, int ok);

/* Write the LEN bytes of CONTENT to PATH (NULL or "-": standard output,
   flushed). 0, or -1 with errno set. */
int outfile_write(const char *path, const char *content, size_t len);

/* For atexit: standard output flushed and closed, and the program exits
   with status 2 after a message on standard error (PROGRAM: cannot write
   the output) when a write failed (a full disk, /dev/full, a closed pipe
   given SIGPIPE ignored), so that --help or --version report it too. */
void outfile_close_stdout(void);

/* The program name outfile_close_stdout's message starts with. */
void outfile_set_program(const char *program);

#endif
