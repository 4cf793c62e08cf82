/* The lab's owner: what a mount shares across threads is set up and torn
 * down here, and the cluster state and the cancelled tags cross between
 * the FUSE threads and the link thread only through these functions, each
 * under lab->lock. */
#include "lab.h"
#include "log.h"

#include <string.h>

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
