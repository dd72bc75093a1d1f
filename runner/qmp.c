#include "runner/qmp.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* qemu's answers are small; a line this long means something is wrong. */
#define QMP_MAX_LINE (4 * 1024 * 1024)
#define QMP_RETRY_US (20 * 1000)

struct SkQmp {
  int fd;
  guint timeout_ms;
  gboolean closed;   /* qemu closed the connection */
  GString *buf;      /* bytes read but not yet consumed */
  GQueue events;     /* SkQmpEvent, oldest first */
  gint64 next_id;
};

void
sk_qmp_event_free (SkQmpEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->name);
  g_free (event->data_json);
  g_free (event);
}

char *
sk_qmp_event_get_string (const SkQmpEvent *event, const char *key)
{
  if (event->data_json == NULL)
    return NULL;
  g_autoptr (json_t) data = json_loads (event->data_json, 0, NULL);
  const char *s = json_string_value (json_object_get (data, key));
  return s ? g_strdup (s) : NULL;
}

void
sk_qmp_free (SkQmp *qmp)
{
  if (qmp == NULL)
    return;
  if (qmp->fd >= 0)
    close (qmp->fd);
  g_string_free (qmp->buf, TRUE);
  g_queue_clear_full (&qmp->events, (GDestroyNotify) sk_qmp_event_free);
  g_free (qmp);
}

void
sk_qmp_set_timeout (SkQmp *qmp, guint timeout_ms)
{
  qmp->timeout_ms = timeout_ms;
}

static gint64
deadline_after (guint timeout_ms)
{
  return g_get_monotonic_time () + (gint64) timeout_ms * 1000;
}

/* Waits until @fd is ready for @events; FALSE with SK_ERROR_TRANSIENT at
 * @deadline. */
static gboolean
wait_fd (SkQmp *qmp, short events, gint64 deadline, const char *what, GError **error)
{
  for (;;)
    {
      gint64 left_us = deadline - g_get_monotonic_time ();
      if (left_us <= 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_TRANSIENT, "qmp: no answer to '%s' within %u ms",
                            what, qmp->timeout_ms), FALSE;
      struct pollfd p = { .fd = qmp->fd, .events = events };
      int n = poll (&p, 1, (int) ((left_us + 999) / 1000));
      if (n > 0)
        return TRUE;
      if (n < 0 && errno != EINTR)
        return sk_error_from_errno (error, errno, "qmp: waiting for '%s'", what);
    }
}

static gboolean
write_all (SkQmp *qmp, const char *data, gsize len, gint64 deadline, const char *what, GError **error)
{
  while (len > 0)
    {
      ssize_t n = send (qmp->fd, data, len, MSG_NOSIGNAL);
      if (n >= 0)
        {
          data += n;
          len -= (gsize) n;
          continue;
        }
      if (errno == EPIPE || errno == ECONNRESET)
        {
          qmp->closed = TRUE;
          return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                              "qmp: sending '%s': connection closed by qemu", what), FALSE;
        }
      if (errno != EAGAIN && errno != EINTR)
        return sk_error_from_errno (error, errno, "qmp: sending '%s'", what);
      if (!wait_fd (qmp, POLLOUT, deadline, what, error))
        return FALSE;
    }
  return TRUE;
}

/* Reads more bytes into the buffer, waiting until @deadline. */
static gboolean
fill_buffer (SkQmp *qmp, gint64 deadline, const char *what, GError **error)
{
  if (qmp->buf->len > QMP_MAX_LINE)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "qmp: message longer than %d bytes",
                        QMP_MAX_LINE), FALSE;
  if (!wait_fd (qmp, POLLIN, deadline, what, error))
    return FALSE;
  char chunk[4096];
  ssize_t n = recv (qmp->fd, chunk, sizeof chunk, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return TRUE;
  if (n < 0 && errno != ECONNRESET)
    return sk_error_from_errno (error, errno, "qmp: reading the answer to '%s'", what);
  if (n <= 0)
    {
      qmp->closed = TRUE;
      return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                          "qmp: connection closed by qemu while waiting for '%s'", what), FALSE;
    }
  g_string_append_len (qmp->buf, chunk, n);
  return TRUE;
}

/* The next JSON object qemu sent (one per line). */
static json_t *
read_message (SkQmp *qmp, gint64 deadline, const char *what, GError **error)
{
  for (;;)
    {
      char *nl = memchr (qmp->buf->str, '\n', qmp->buf->len);
      if (nl == NULL)
        {
          if (!fill_buffer (qmp, deadline, what, error))
            return NULL;
          continue;
        }
      gsize len = (gsize) (nl - qmp->buf->str);
      g_autofree char *line = g_strndup (qmp->buf->str, len);
      g_string_erase (qmp->buf, 0, (gssize) len + 1);
      if (g_strstrip (line)[0] == '\0')
        continue;
      json_error_t jerr;
      json_t *msg = json_loads (line, 0, &jerr);
      if (msg == NULL || !json_is_object (msg))
        {
          json_decref (msg);
          g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "qmp: malformed message from qemu: %s",
                       jerr.text);
          return NULL;
        }
      return msg;
    }
}

/* Queues @msg if it is an event; TRUE when it was one. */
static gboolean
queue_if_event (SkQmp *qmp, json_t *msg)
{
  const char *name = json_string_value (json_object_get (msg, "event"));
  if (name == NULL)
    return FALSE;
  SkQmpEvent *ev = g_new0 (SkQmpEvent, 1);
  ev->name = g_strdup (name);
  json_t *data = json_object_get (msg, "data");
  if (data != NULL)
    ev->data_json = json_dumps (data, JSON_COMPACT | JSON_ENCODE_ANY);
  json_t *ts = json_object_get (msg, "timestamp");
  ev->timestamp_us = json_integer_value (json_object_get (ts, "seconds")) * G_USEC_PER_SEC
                   + json_integer_value (json_object_get (ts, "microseconds"));
  sk_debug ("qmp: event %s %s", ev->name, ev->data_json ? ev->data_json : "");
  g_queue_push_tail (&qmp->events, ev);
  return TRUE;
}

static json_t *
build_command (const char *command, const char *args_json, gint64 id, GError **error)
{
  g_autoptr (json_t) cmd = json_pack ("{s:s, s:I}", "execute", command, "id", (json_int_t) id);
  if (args_json == NULL)
    return g_steal_pointer (&cmd);
  json_error_t jerr;
  json_t *args = json_loads (args_json, 0, &jerr);
  if (args == NULL || !json_is_object (args))
    {
      json_decref (args);
      g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "qmp '%s': arguments are not a JSON object",
                   command);
      return NULL;
    }
  json_object_set_new (cmd, "arguments", args);
  return g_steal_pointer (&cmd);
}

/* Waits for the answer carrying @id; events met on the way are queued and
 * answers to earlier (timed-out) commands dropped. */
static json_t *
await_answer (SkQmp *qmp, const char *command, gint64 id, gint64 deadline, GError **error)
{
  for (;;)
    {
      g_autoptr (json_t) msg = read_message (qmp, deadline, command, error);
      if (msg == NULL)
        return NULL;
      if (queue_if_event (qmp, msg))
        continue;
      json_t *msg_id = json_object_get (msg, "id");
      if (!json_is_integer (msg_id) || json_integer_value (msg_id) != id)
        continue;
      json_t *err = json_object_get (msg, "error");
      if (err != NULL)
        {
          const char *desc = json_string_value (json_object_get (err, "desc"));
          g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "qmp '%s': %s", command,
                       desc ? desc : "unknown error");
          return NULL;
        }
      json_t *ret = json_object_get (msg, "return");
      if (ret == NULL)
        continue;
      return json_incref (ret);
    }
}

static json_t *
execute_json (SkQmp *qmp, const char *command, const char *args_json, GError **error)
{
  if (qmp->closed)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                        "qmp '%s': connection closed by qemu", command), NULL;
  gint64 id = qmp->next_id++;
  g_autoptr (json_t) cmd = build_command (command, args_json, id, error);
  if (cmd == NULL)
    return NULL;
  g_autofree char *text = json_dumps (cmd, JSON_COMPACT);
  g_autofree char *line = g_strconcat (text, "\n", NULL);
  gint64 deadline = deadline_after (qmp->timeout_ms);
  sk_debug ("qmp: %s", text);
  if (!write_all (qmp, line, strlen (line), deadline, command, error))
    return NULL;
  return await_answer (qmp, command, id, deadline, error);
}

gboolean
sk_qmp_execute (SkQmp *qmp, const char *command, const char *args_json, char **out_return,
                GError **error)
{
  g_autoptr (json_t) ret = execute_json (qmp, command, args_json, error);
  if (ret == NULL)
    return FALSE;
  if (out_return != NULL)
    *out_return = json_dumps (ret, JSON_COMPACT | JSON_ENCODE_ANY);
  return TRUE;
}

/* One connection attempt; -1 with errno set on failure. */
static int
try_connect (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return errno = ENAMETOOLONG, -1;
  memcpy (addr.sun_path, path, strlen (path) + 1);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      int errsv = errno;
      close (fd);
      return errno = errsv, -1;
    }
  return fd;
}

/* Reads the greeting and leaves negotiation mode. */
static gboolean
handshake (SkQmp *qmp, gint64 deadline, GError **error)
{
  g_autoptr (json_t) greeting = NULL;
  while (greeting == NULL)
    {
      g_autoptr (json_t) msg = read_message (qmp, deadline, "greeting", error);
      if (msg == NULL)
        return FALSE;
      if (json_object_get (msg, "QMP") != NULL)
        greeting = g_steal_pointer (&msg);
      else if (!queue_if_event (qmp, msg))
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                            "qmp: expected a greeting from qemu"), FALSE;
    }
  g_autoptr (json_t) ret = execute_json (qmp, "qmp_capabilities", NULL, error);
  return ret != NULL;
}

static SkQmp *
connect_until (const char *socket_path, guint timeout_ms, gboolean retry, GError **error)
{
  gint64 deadline = deadline_after (timeout_ms);
  int fd;
  while ((fd = try_connect (socket_path)) < 0)
    {
      gboolean starting = errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN;
      if (!retry || !starting || g_get_monotonic_time () + QMP_RETRY_US > deadline)
        return sk_error_from_errno (error, errno, "qmp: connecting to '%s'", socket_path), NULL;
      g_usleep (QMP_RETRY_US);
    }
  g_autoptr (SkQmp) qmp = g_new0 (SkQmp, 1);
  qmp->fd = fd;
  qmp->timeout_ms = timeout_ms;
  qmp->buf = g_string_new (NULL);
  qmp->next_id = 1;
  g_queue_init (&qmp->events);
  if (!handshake (qmp, deadline, error))
    {
      g_prefix_error (error, "connecting to '%s': ", socket_path);
      return NULL;
    }
  return g_steal_pointer (&qmp);
}

SkQmp *
sk_qmp_connect (const char *socket_path, guint timeout_ms, GError **error)
{
  return connect_until (socket_path, timeout_ms, FALSE, error);
}

SkQmp *
sk_qmp_connect_wait (const char *socket_path, guint timeout_ms, GError **error)
{
  return connect_until (socket_path, timeout_ms, TRUE, error);
}

GPtrArray *
sk_qmp_take_events (SkQmp *qmp)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_qmp_event_free);
  SkQmpEvent *ev;
  while ((ev = g_queue_pop_head (&qmp->events)) != NULL)
    g_ptr_array_add (events, ev);
  return events;
}

static SkQmpEvent *
steal_queued_event (SkQmp *qmp, const char *name)
{
  for (GList *l = qmp->events.head; l != NULL; l = l->next)
    {
      SkQmpEvent *ev = l->data;
      if (g_str_equal (ev->name, name))
        {
          g_queue_delete_link (&qmp->events, l);
          return ev;
        }
    }
  return NULL;
}

SkQmpEvent *
sk_qmp_wait_event (SkQmp *qmp, const char *name, GError **error)
{
  gint64 deadline = deadline_after (qmp->timeout_ms);
  g_autofree char *what = g_strdup_printf ("event %s", name);
  for (;;)
    {
      SkQmpEvent *ev = steal_queued_event (qmp, name);
      if (ev != NULL)
        return ev;
      if (qmp->closed)
        return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                            "qmp: connection closed by qemu before %s", what), NULL;
      g_autoptr (json_t) msg = read_message (qmp, deadline, what, error);
      if (msg == NULL)
        return NULL;
      (void) queue_if_event (qmp, msg);
    }
}

static gboolean
execute_simple (SkQmp *qmp, const char *command, GError **error)
{
  g_autoptr (json_t) ret = execute_json (qmp, command, NULL, error);
  return ret != NULL;
}

gboolean
sk_qmp_system_powerdown (SkQmp *qmp, GError **error)
{
  return execute_simple (qmp, "system_powerdown", error);
}

gboolean
sk_qmp_stop (SkQmp *qmp, GError **error)
{
  return execute_simple (qmp, "stop", error);
}

gboolean
sk_qmp_cont (SkQmp *qmp, GError **error)
{
  return execute_simple (qmp, "cont", error);
}

gboolean
sk_qmp_quit (SkQmp *qmp, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (execute_simple (qmp, "quit", &local))
    return TRUE;
  if (qmp->closed)
    return TRUE; /* qemu went away before answering: that is what quit asks */
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

char *
sk_qmp_query_status (SkQmp *qmp, GError **error)
{
  g_autoptr (json_t) ret = execute_json (qmp, "query-status", NULL, error);
  if (ret == NULL)
    return NULL;
  const char *status = json_string_value (json_object_get (ret, "status"));
  if (status == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "qmp 'query-status': no status in the answer"), NULL;
  return g_strdup (status);
}
