/* Cells of the results table as CSV (RFC 4180) and TSV text: numbers in
 * shortest round-trip form, booleans as TRUE/FALSE (R reads them as
 * logical), missing values and null empty, arrays and objects as compact
 * JSON text. CSV quotes a field only when it holds a comma, a quote or a
 * line break; TSV has no quoting, so tabs and line breaks inside a value
 * become spaces. Whole header lines and rows come from a table's columns
 * and a result document. */
#ifndef CLAB_TABLE_H
#define CLAB_TABLE_H

#include "json.h"
#include "buf.h"

#include <jansson.h>
#include <stdint.h>

typedef enum { CLAB_TABLE_CSV, CLAB_TABLE_TSV } clab_table_format_t;

/* Appends one cell for v (NULL: missing). */
int clab_table_cell(clab_buf_t *b, const json_t *v, clab_table_format_t fmt);
/* Appends one header cell. */
int clab_table_name(clab_buf_t *b, const char *name, clab_table_format_t fmt);
/* The separator between cells. */
char clab_table_sep(clab_table_format_t fmt);
/* The total length of the cells of every value of obj (an object; NULL
 * counts 0): what one result adds to its row, separators aside. A row of a
 * table with C columns is this plus C bytes (C - 1 separators and a
 * newline), since missing cells are empty. */
int clab_table_cells_len(const json_t *obj, clab_table_format_t fmt, int64_t *len);

/* Whole lines. cols are a table's columns: the names (JSON arrays of
 * strings) of its parameters, results and metadata, in that order. */
/* The header names of the columns cols, part by part (out: three new
 * arrays of strings, parallel to cols), for the header line and for
 * anything else that must name columns as the tables do. 0 or -ENOMEM. */
int clab_table_header_names(json_t *const cols[3], json_t *out[3]);
/* Appends the header line; nothing when there are no columns. */
int clab_table_header(clab_buf_t *b, json_t *const cols[3], clab_table_format_t fmt);
/* Appends the row of the result document text (-EIO when not JSON). */
int clab_table_row(clab_buf_t *b, json_t *const cols[3], const char *text, size_t len,
                   clab_table_format_t fmt);

/* Appends the cells of one result (parts: its parameters, results and
 * metadata objects) without the newline: each object's values in name
 * order, separated. *ncols is how many. Under columns that are exactly
 * the names of these parts, this is the result's row as clab_table_row
 * renders it, less the newline; the notebook stores it at ingest so that
 * reading a table parses no JSON. */
int clab_table_cells(clab_buf_t *b, json_t *const parts[3], clab_table_format_t fmt,
                     int *ncols);

#endif
