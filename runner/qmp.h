/* skiff — a small synchronous QMP client over qemu's unix socket.
 *
 * Every wait is bounded by the client's timeout.  Asynchronous events that
 * arrive while waiting for an answer are queued for the caller (SHUTDOWN
 * carries the reason a VM ended).  Errors: SK_ERROR_TRANSIENT when qemu
 * does not answer in time, SK_ERROR_NOT_FOUND when the socket is absent,
 * SK_ERROR_FAILED for a refused connection, a closed one, or a command
 * that qemu answered with an error (the message holds qemu's `desc`). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct SkQmp SkQmp;

typedef struct {
  char *name;         /* "SHUTDOWN", "POWERDOWN", "STOP", "RESUME", ... */
  char *data_json;    /* the event's "data" object as JSON text, or NULL */
  gint64 timestamp_us; /* qemu's wall clock */
} SkQmpEvent;

void sk_qmp_event_free (SkQmpEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkQmpEvent, sk_qmp_event_free)

/* A string member of the event's data ("reason" of SHUTDOWN), or NULL. */
char *sk_qmp_event_get_string (const SkQmpEvent *event, const char *key);

/* Connects to @socket_path, reads qemu's greeting and negotiates
 * capabilities, all within @timeout_ms (also the timeout of every later
 * call).  One attempt: a missing socket or a refused connection fails. */
SkQmp *sk_qmp_connect (const char *socket_path, guint timeout_ms, GError **error);

/* The same, but retries while the socket does not exist yet or refuses
 * connections (qemu starting), until @timeout_ms has passed. */
SkQmp *sk_qmp_connect_wait (const char *socket_path, guint timeout_ms, GError **error);

void sk_qmp_free (SkQmp *qmp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkQmp, sk_qmp_free)

void sk_qmp_set_timeout (SkQmp *qmp, guint timeout_ms);

/* Runs @command with @args_json (a JSON object's text, or NULL) and stores
 * its "return" value as JSON text in @out_return (may be NULL). */
gboolean sk_qmp_execute (SkQmp *qmp, const char *command, const char *args_json,
                         char **out_return, GError **error);

/* The events received so far, oldest first (SkQmpEvent, owned by the
 * caller); the client's queue is emptied. */
GPtrArray *sk_qmp_take_events (SkQmp *qmp);

/* Waits for an event named @name (taking it from the queue if it already
 * arrived; earlier events of other names stay queued). */
SkQmpEvent *sk_qmp_wait_event (SkQmp *qmp, const char *name, GError **error);

/* Presses the ACPI power button. */
gboolean sk_qmp_system_powerdown (SkQmp *qmp, GError **error);
/* Ends qemu at once; a connection closed before the answer counts as done. */
gboolean sk_qmp_quit (SkQmp *qmp, GError **error);
gboolean sk_qmp_stop (SkQmp *qmp, GError **error);
gboolean sk_qmp_cont (SkQmp *qmp, GError **error);
/* qemu's run state: "running", "paused", "prelaunch", "shutdown",
 * "guest-panicked", ... */
char *sk_qmp_query_status (SkQmp *qmp, GError **error);

G_END_DECLS
