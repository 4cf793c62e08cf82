/* The view's private parts, shared by views.c (the window/snapshot
 * engine) and views_wait.c (reads of wait, held until work is done). */
#ifndef CLAB_VIEWS_I_H
#define CLAB_VIEWS_I_H

#include "buf.h"
#include "epyc.h"
#include "table.h"
#include "views.h"

#include <pthread.h>

typedef enum {
    SHAPE_WHOLE,    /* rendered at open, kept whole */
    SHAPE_APPEND,   /* rows with N <= upto, re-rendered from any snapshot */
    SHAPE_SNAPSHOT, /* streamed from a snapshot held while open */
    SHAPE_WAIT,     /* nothing until the set is done, then whole */
} shape_t;

/* Where rendering stands. Tables, results.jsonl and pending: phase 0
 * head, 1 rows, and key the last row rendered (0: none yet);
 * notebook.json: nb (epyc.h). */
typedef struct {
    int phase;
    long key;
    clab_epyc_pos_t nb;
} pos_t;

typedef struct {
    off_t off;
    pos_t pos;
} checkpoint_t;

struct clab_view {
    clab_lab_t *lab;
    clab_node_t node;
    const clab_node_info_t *info; /* the node's row in the node table */
    pthread_mutex_t lock;         /* FUSE may serve one handle on two threads */
    struct clab_view *next;       /* in lab->views while attached */
    int pid, attached;
    shape_t shape;
    off_t size; /* what this open reads; -1 while a wait is pending */
    double mtime;
    clab_buf_t buf; /* bytes [base, base + buf.len) of the file */
    off_t base;
    pos_t pos; /* the state at base + buf.len */
    int exhausted;
    checkpoint_t *cps; /* cps[0] is the start; offsets grow */
    size_t ncps, cpcap;
    clab_nb_reader_t *reader; /* snapshot views: for the open; append: per read */
    clab_nb_cursor_t *cur;
    long upto; /* append views: the last N of this open */
    /* Append views: a read reached the end of this open's size. Only then
     * may a stat move the open on (catch_up): a reader between its fstat
     * and the end of its reads (Python's read() does an fstat of its own)
     * must get the size it was told. */
    int read_to_end;
    int settled;     /* append views: the set had nothing pending at open */
    json_t *cols[3]; /* results.csv/tsv: the columns of this open */
    clab_table_format_t fmt;
    clab_set_info_t set; /* notebook.json: the set at pos.nb.tag */
    int warned;
    uint64_t gen; /* wait: the notebook's generation when a read last looked */
};

/* A wait's open: no size until it is done; the time its set (or, for
 * /wait, any set) last changed. */
int clab_viewp_wait_open(clab_view_t *v);
/* Looks once whether what the wait node waits for is done, and if so makes
 * the view whole with the status of that moment: 0, -EAGAIN when it is not
 * done (the read is to be held: clab_waits_prepare), or -errno. Called
 * without v->lock. */
int clab_viewp_wait_read(clab_view_t *v);

#endif
