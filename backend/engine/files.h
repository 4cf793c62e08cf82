/* A job's files at an engine (a submit's "files": a pickled experiment,
 * say). The data come with the first task that names them in this
 * engine's process (the task's "file_data": {"SHA256": "BASE64"}) and are
 * kept here, by their sha256, as long as the engine runs, in a directory
 * of their own under the scratch root; each point gets a copy under the
 * names its task gives ("files": {"NAME": "SHA256"}) in its scratch
 * directory, a worker in its own. Part of the runner library. */
#ifndef CLAB_FILES_H
#define CLAB_FILES_H

#include <jansson.h>
#include <stddef.h>

typedef struct clab_files clab_files_t;

/* The cache, a fresh directory under root (NULL or "": $TMPDIR, else
 * /tmp). 0 or -errno. */
int clab_files_new(const char *root, clab_files_t **out);
/* Removes the cache and its directory; NULLs *f. */
void clab_files_destroy(clab_files_t **f);
/* Keeps each file of data ({"SHA256": "BASE64"}) it does not have: 0, or
 * -EINVAL when one is not base64 or not what its name says (the others
 * are kept), -errno. */
int clab_files_take(clab_files_t *f, const json_t *data);
/* How many files of files ({"NAME": "SHA256"}) the cache lacks, their
 * hashes appended to missing. */
int clab_files_missing(const clab_files_t *f, const json_t *files, json_t *missing);
/* Copies each file of files into dir under its name: 0, or -errno with
 * why the point cannot have them in why. */
int clab_files_install(const clab_files_t *f, const json_t *files, const char *dir,
                       char *why, size_t size);

#endif
