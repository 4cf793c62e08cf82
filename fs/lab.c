/* The lab's owner: what a mount shares across threads is set up and torn
 * down here, and the cluster state, the cancelled tags, the engines'
 * indexes and the changed sets cross between the FUSE threads and the link
 * thread only through these functions, each under lab->lock. */
#include "lab.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Interned engine ids kept before the ones no longer reported are
 * forgotten: engines come and go (a restarted engine has a new id). */
#define ENGINE_NAMES_KEPT 1024

static const char *const req_names[CLAB_REQ_KINDS] = {
    [CLAB_REQ_LOOKUP] = "lookup",
    [CLAB_REQ_FORGET] = "forget",
    [CLAB_REQ_GETATTR] = "getattr",
    [CLAB_REQ_SETATTR] = "setattr",
    [CLAB_REQ_OPEN] = "open",
    [CLAB_REQ_READ] = "read",
    [CLAB_REQ_WRITE] = "write",
    [CLAB_REQ_FLUSH] = "flush",
    [CLAB_REQ_RELEASE] = "release",
    [CLAB_REQ_OPENDIR] = "opendir",
    [CLAB_REQ_READDIR] = "readdir",
    [CLAB_REQ_READDIRPLUS] = "readdirplus",
    [CLAB_REQ_RELEASEDIR] = "releasedir",
};

void clab_lab_init(clab_lab_t *lab)
{
    memset(lab, 0, sizeof *lab);
    pthread_mutex_init(&lab->lock, NULL);
    pthread_mutex_init(&lab->views_lock, NULL);
    clab_errors_init(&lab->errors);
    lab->limits.max_text = CLAB_SUBMIT_MAX_TEXT;
    lab->limits.max_points = CLAB_SUBMIT_MAX_POINTS;
    lab->mounted = lab->cluster_changed = lab->current_changed = clab_now();
    lab->engines_changed = lab->mounted;
}

void clab_lab_fini(clab_lab_t *lab)
{
    clab_notebook_destroy(&lab->nb);
    for (size_t i = 0; i < lab->nengine_names; i++)
        free(lab->engine_names[i].id);
    free(lab->engine_names);
    free(lab->changes);
    json_decref(lab->engine_list);
    lab->engine_list = NULL;
    json_decref(lab->cancel_tags);
    lab->cancel_tags = NULL;
    clab_errors_free(&lab->errors);
    pthread_mutex_destroy(&lab->views_lock);
    pthread_mutex_destroy(&lab->lock);
}

void clab_lab_cluster(clab_lab_t *lab, int *engines, int *connected)
{
    pthread_mutex_lock(&lab->lock);
    *engines = lab->connected ? lab->engines : 0;
    *connected = lab->connected;
    pthread_mutex_unlock(&lab->lock);
}

void clab_lab_publish(clab_lab_t *lab, int connected, json_t *engines)
{
    pthread_mutex_lock(&lab->lock);
    if (connected != lab->connected ||
        (json_is_array(engines) && (int)json_array_size(engines) != lab->engines))
        lab->cluster_changed = clab_now();
    if (json_is_array(engines) && !json_equal(engines, lab->engine_list))
        lab->engines_changed = clab_now();
    lab->connected = connected;
    if (json_is_array(engines)) {
        lab->engines = (int)json_array_size(engines);
        json_decref(lab->engine_list);
        lab->engine_list = json_incref(engines);
    }
    pthread_mutex_unlock(&lab->lock);
}

void clab_lab_current_changed(clab_lab_t *lab)
{
    pthread_mutex_lock(&lab->lock);
    lab->current_changed = clab_now();
    pthread_mutex_unlock(&lab->lock);
}

double clab_lab_engines_changed(clab_lab_t *lab)
{
    pthread_mutex_lock(&lab->lock);
    double t = lab->engines_changed;
    pthread_mutex_unlock(&lab->lock);
    return t;
}

double clab_lab_status_changed(clab_lab_t *lab)
{
    pthread_mutex_lock(&lab->lock);
    double t = lab->cluster_changed > lab->current_changed ? lab->cluster_changed
                                                           : lab->current_changed;
    pthread_mutex_unlock(&lab->lock);
    return t;
}

json_t *clab_lab_engine(clab_lab_t *lab, const char *id)
{
    json_t *e, *found = NULL;
    size_t i;
    pthread_mutex_lock(&lab->lock);
    if (lab->connected) {
        json_array_foreach(lab->engine_list, i, e)
        {
            const char *eid = json_string_value(json_object_get(e, "id"));
            if (eid && strcmp(eid, id) == 0) {
                /* The link replaces the list, never edits it, but the
                 * caller reads outside the lock. */
                found = json_deep_copy(e);
                break;
            }
        }
    }
    pthread_mutex_unlock(&lab->lock);
    return found;
}

json_t *clab_lab_engines(clab_lab_t *lab)
{
    json_t *list = NULL;
    pthread_mutex_lock(&lab->lock);
    if (lab->connected)
        list = json_incref(lab->engine_list);
    pthread_mutex_unlock(&lab->lock);
    return list;
}

void clab_lab_cancel_keep(clab_lab_t *lab, json_t *body)
{
    pthread_mutex_lock(&lab->lock);
    if (!lab->cancel_tags)
        lab->cancel_tags = json_array();
    json_array_append(lab->cancel_tags, body);
    pthread_mutex_unlock(&lab->lock);
}

void clab_lab_cancel_push(clab_lab_t *lab, const char *tag, int64_t upto)
{
    json_t *body = upto >= 0
                       ? json_pack("{s:s, s:I}", "tag", tag, "upto", (json_int_t)upto)
                       : json_pack("{s:s}", "tag", tag);
    if (!body) {
        clab_err("out of memory: the cancel of %s does not reach the controller", tag);
        return;
    }
    clab_lab_cancel_keep(lab, body);
    json_decref(body);
}

json_t *clab_lab_cancel_take(clab_lab_t *lab)
{
    pthread_mutex_lock(&lab->lock);
    json_t *tags = lab->cancel_tags;
    lab->cancel_tags = NULL;
    pthread_mutex_unlock(&lab->lock);
    return tags;
}

void clab_lab_wake(clab_lab_t *lab)
{
    if (lab->wake)
        lab->wake(lab->wake_ud);
}

/* With lab->lock: whether the engine list reports id now. */
static int reported(clab_lab_t *lab, const char *id)
{
    size_t i;
    json_t *e;
    json_array_foreach(lab->engine_list, i, e)
    {
        const char *eid = json_string_value(json_object_get(e, "id"));
        if (eid && strcmp(eid, id) == 0)
            return 1;
    }
    return 0;
}

/* With lab->lock: forgets the ids no longer reported (their indexes stay
 * unused: a stale inode number of one answers ENOENT). */
static void prune_engine_names(clab_lab_t *lab)
{
    size_t kept = 0;
    for (size_t i = 0; i < lab->nengine_names; i++) {
        if (reported(lab, lab->engine_names[i].id))
            lab->engine_names[kept++] = lab->engine_names[i];
        else
            free(lab->engine_names[i].id);
    }
    lab->nengine_names = kept;
}

uint64_t clab_lab_engine_index(clab_lab_t *lab, const char *id)
{
    uint64_t index = 0;
    pthread_mutex_lock(&lab->lock);
    for (size_t i = 0; i < lab->nengine_names && !index; i++)
        if (strcmp(lab->engine_names[i].id, id) == 0)
            index = lab->engine_names[i].index;
    if (index)
        goto out;
    if (lab->nengine_names >= ENGINE_NAMES_KEPT)
        prune_engine_names(lab);
    if (lab->nengine_names == lab->engine_names_cap) {
        size_t cap = lab->engine_names_cap ? 2 * lab->engine_names_cap : 16;
        clab_engine_name_t *p = realloc(lab->engine_names, cap * sizeof *p);
        if (!p)
            goto out;
        lab->engine_names = p;
        lab->engine_names_cap = cap;
    }
    char *copy = strdup(id);
    if (!copy)
        goto out;
    index = ++lab->next_engine_index;
    lab->engine_names[lab->nengine_names++] = (clab_engine_name_t){index, copy};
out:
    pthread_mutex_unlock(&lab->lock);
    return index;
}

int clab_lab_engine_name(clab_lab_t *lab, uint64_t index, char *out, size_t size)
{
    int rc = -ENOENT;
    size_t lo = 0, hi;
    pthread_mutex_lock(&lab->lock);
    /* In index order: a binary search. */
    hi = lab->nengine_names;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (lab->engine_names[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < lab->nengine_names && lab->engine_names[lo].index == index)
        rc = snprintf(out, size, "%s", lab->engine_names[lo].id) < (int)size
                 ? 0
                 : -ENAMETOOLONG;
    pthread_mutex_unlock(&lab->lock);
    return rc;
}

/* With lab->lock: the change is queued already (the same set, the same
 * way): a burst of submits to one set sends one invalidation. */
static int queued(clab_lab_t *lab, const clab_set_change_t *c)
{
    for (size_t i = 0; i < lab->nchanges; i++)
        if (lab->changes[i].id == c->id && lab->changes[i].removed == c->removed &&
            strcmp(lab->changes[i].tag, c->tag) == 0)
            return 1;
    return 0;
}

void clab_lab_set_changed(clab_lab_t *lab, const char *tag, int64_t id, int removed)
{
    clab_set_change_t c = {.id = id, .removed = removed};
    int wake = 0;
    snprintf(c.tag, sizeof c.tag, "%s", tag);
    pthread_mutex_lock(&lab->lock);
    /* Nobody to send it (no mount), or it is on its way already. */
    if (!lab->send_changes || queued(lab, &c))
        goto out;
    if (lab->nchanges == lab->changes_cap) {
        size_t cap = lab->changes_cap ? 2 * lab->changes_cap : 8;
        clab_set_change_t *p = realloc(lab->changes, cap * sizeof *p);
        if (!p) {
            clab_err("out of memory: the kernel may keep stale files of set %s", tag);
            goto out;
        }
        lab->changes = p;
        lab->changes_cap = cap;
    }
    lab->changes[lab->nchanges++] = c;
    wake = 1;
out:
    pthread_mutex_unlock(&lab->lock);
    if (wake)
        clab_lab_wake(lab);
}

int64_t clab_lab_set_id(clab_lab_t *lab, const char *tag)
{
    clab_nb_reader_t *r;
    clab_set_info_t info;
    int64_t id = 0;
    if (clab_nb_reader_open(lab->nb, &r) < 0)
        return 0;
    if (clab_nb_set_info(r, tag, &info) == 0)
        id = info.id;
    clab_set_info_clear(&info);
    clab_nb_reader_close(&r);
    return id;
}

void clab_lab_send_changes(clab_lab_t *lab)
{
    pthread_mutex_lock(&lab->lock);
    clab_set_change_t *changes = lab->changes;
    size_t n = lab->nchanges;
    void (*send)(void *, const clab_set_change_t *, size_t) = lab->send_changes;
    void *ud = lab->send_ud;
    lab->changes = NULL;
    lab->nchanges = lab->changes_cap = 0;
    pthread_mutex_unlock(&lab->lock);
    if (send && n)
        send(ud, changes, n);
    free(changes);
}

void clab_lab_count(clab_lab_t *lab, clab_req_t op)
{
    atomic_fetch_add_explicit(&lab->requests[op], 1, memory_order_relaxed);
    atomic_store_explicit(&lab->requested_us, (long long)(clab_now() * 1e6),
                          memory_order_relaxed);
}

json_t *clab_lab_requests(clab_lab_t *lab, double *when)
{
    if (when)
        *when = (double)atomic_load(&lab->requested_us) / 1e6;
    json_t *o = json_object();
    unsigned long long total = 0;
    for (int k = 0; k < CLAB_REQ_KINDS; k++) {
        unsigned long long n = atomic_load(&lab->requests[k]);
        total += n;
        json_object_set_new(o, req_names[k], json_integer((json_int_t)n));
    }
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    return o;
}
