/* Unit tests: runner/qmp — against a real qemu (`-M none -S`) and against
 * scripted fake servers: silent ones (timeouts), stale answers, events,
 * errors, malformed and endless messages, connections closed mid-command. */
#include "common/error.h"
#include "runner/accel.h"
#include "runner/qmp.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("skiff-qmp-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "qmp.sock", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static int
listen_unix (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 4), ==, 0);
  return fd;
}

/* ---- a scripted fake QMP server ---- */

/* Each step answers one command line: "%ID%" becomes the command's id.
 * "CLOSE" hangs up instead; "SILENT" reads on and never answers. */
typedef struct {
  int listen_fd;
  const char *greeting;        /* NULL: say nothing at all */
  const char *const *steps;    /* NULL-terminated */
  GPtrArray *received;         /* command lines seen */
} FakeServer;

static char *
read_line (int fd)
{
  GString *s = g_string_new (NULL);
  char c;
  while (recv (fd, &c, 1, 0) == 1)
    {
      if (c == '\n')
        return g_string_free (s, FALSE);
      g_string_append_c (s, c);
    }
  g_string_free (s, TRUE);
  return NULL;
}

static char *
answer_for (const char *step, const char *command)
{
  const char *idp = strstr (command, "\"id\":");
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, idp ? g_ascii_strtoll (idp + 5, NULL, 10) : -1);
  g_auto (GStrv) parts = g_strsplit (step, "%ID%", -1);
  return g_strjoinv (id, parts);
}

static gpointer
fake_server_thread (gpointer data)
{
  FakeServer *srv = data;
  int fd = accept (srv->listen_fd, NULL, NULL);
  if (fd < 0)
    return NULL;
  if (srv->greeting != NULL)
    (void) send (fd, srv->greeting, strlen (srv->greeting), MSG_NOSIGNAL);
  for (guint i = 0; srv->steps != NULL && srv->steps[i] != NULL; i++)
    {
      char *line = srv->greeting ? read_line (fd) : NULL;
      if (line == NULL && srv->greeting != NULL)
        break;
      if (line != NULL)
        g_ptr_array_add (srv->received, line);
      if (g_str_equal (srv->steps[i], "CLOSE"))
        break;
      if (g_str_equal (srv->steps[i], "SILENT"))
        {
          char c;
          while (recv (fd, &c, 1, 0) > 0)
            ;
          break;
        }
      g_autofree char *answer = answer_for (srv->steps[i], line ? line : "");
      (void) send (fd, answer, strlen (answer), MSG_NOSIGNAL);
    }
  close (fd);
  return NULL;
}

static GThread *
fake_server_start (FakeServer *srv, const char *path)
{
  srv->listen_fd = listen_unix (path);
  srv->received = g_ptr_array_new_with_free_func (g_free);
  return g_thread_new ("fake-qmp", fake_server_thread, srv);
}

static void
fake_server_join (FakeServer *srv, GThread *thread)
{
  g_thread_join (thread);
  close (srv->listen_fd);
}

static void
fake_server_clear (FakeServer *srv)
{
  g_clear_pointer (&srv->received, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FakeServer, fake_server_clear)

/* ---- timeouts ---- */

static void
assert_timeout (GError *error, const char *what, gint64 started, guint timeout_ms)
{
  gint64 elapsed_ms = (g_get_monotonic_time () - started) / 1000;
  g_assert_error (error, SK_ERROR, SK_ERROR_TRANSIENT);
  g_autofree char *msg = g_strdup_printf ("qmp: no answer to '%s' within %u ms", what, timeout_ms);
  g_assert_nonnull (strstr (error->message, msg));
  g_assert_cmpint (elapsed_ms, >=, timeout_ms - 5);
  g_assert_cmpint (elapsed_ms, <, timeout_ms + 1500);
}

/* Connected, then nothing: the kernel queues the connection, nobody accepts. */
static void
test_timeout_never_accepted (Fixture *f, gconstpointer data)
{
  int lfd = listen_unix (f->path);
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (SkQmp) qmp = sk_qmp_connect (f->path, 300, &error);
  g_assert_null (qmp);
  assert_timeout (error, "greeting", t0, 300);
  g_assert_true (g_str_has_prefix (error->message, "connecting to '"));
  close (lfd);
}

static gpointer
accept_silently (gpointer data)
{
  GSocketListener *listener = data;
  g_autoptr (GSocketConnection) conn = g_socket_listener_accept (listener, NULL, NULL, NULL);
  if (conn == NULL)
    return NULL;
  /* Wait for the client to give up and hang up. */
  char buf[64];
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  while (g_input_stream_read (in, buf, sizeof buf, NULL, NULL) > 0)
    ;
  return NULL;
}

static void
test_timeout_accepted_silent (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (f->path);
  g_assert_true (g_socket_listener_add_address (listener, addr, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, NULL));
  GThread *t = g_thread_new ("silent", accept_silently, listener);
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  SkQmp *qmp = sk_qmp_connect (f->path, 400, &error);
  g_assert_null (qmp);
  assert_timeout (error, "greeting", t0, 400);
  g_thread_join (t);
}

static void
test_timeout_command (Fixture *f, gconstpointer data)
{
  const char *steps[] = { "{\"return\": {}, \"id\": %ID%}\r\n", "SILENT", NULL };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  GThread *t = fake_server_start (&srv, f->path);
  g_autoptr (GError) error = NULL;
  SkQmp *qmp = sk_qmp_connect (f->path, 5000, &error);
  g_assert_no_error (error);
  sk_qmp_set_timeout (qmp, 250);
  gint64 t0 = g_get_monotonic_time ();
  g_autofree char *status = sk_qmp_query_status (qmp, &error);
  g_assert_null (status);
  assert_timeout (error, "query-status", t0, 250);
  sk_qmp_free (qmp);
  fake_server_join (&srv, t);
}

/* ---- connecting ---- */

static void
test_connect_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_assert_null (sk_qmp_connect (f->path, 5000, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_autofree char *want = g_strdup_printf ("qmp: connecting to '%s': ", f->path);
  g_assert_true (g_str_has_prefix (error->message, want));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 1000 * 1000); /* no retrying */
  g_clear_error (&error);

  t0 = g_get_monotonic_time ();
  g_assert_null (sk_qmp_connect_wait (f->path, 300, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  gint64 waited_ms = (g_get_monotonic_time () - t0) / 1000;
  g_assert_cmpint (waited_ms, >=, 250);
  g_assert_cmpint (waited_ms, <, 2000);
}

/* A stale socket file whose server is gone refuses at once. */
static void
test_connect_refused (Fixture *f, gconstpointer data)
{
  close (listen_unix (f->path));
  g_autoptr (GError) error = NULL;
  g_assert_null (sk_qmp_connect (f->path, 5000, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "Connection refused"));
}

typedef struct {
  FakeServer *srv;
  const char *path;
  GThread *thread;
} LateStart;

static gpointer
late_thread (gpointer data)
{
  LateStart *late = data;
  g_usleep (200 * 1000);
  late->thread = fake_server_start (late->srv, late->path);
  return NULL;
}

static void
test_connect_wait_for_socket (Fixture *f, gconstpointer data)
{
  const char *steps[] = { "{\"return\": {}, \"id\": %ID%}\r\n", NULL };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  LateStart late = { &srv, f->path, NULL };
  GThread *starter = g_thread_new ("late", late_thread, &late);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkQmp) qmp = sk_qmp_connect_wait (f->path, 5000, &error);
  g_assert_no_error (error);
  g_assert_nonnull (qmp);
  g_thread_join (starter);
  g_clear_pointer (&qmp, sk_qmp_free);
  fake_server_join (&srv, late.thread);
}

/* ---- protocol handling ---- */

static void
test_stale_answers_and_events (Fixture *f, gconstpointer data)
{
  const char *steps[] = {
    /* qmp_capabilities, preceded by an event */
    "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
    "{\"return\": {}, \"id\": %ID%}\r\n",
    /* query-status: a stale answer, an event with data, blank line, then ours */
    "{\"return\": {\"status\": \"bogus\"}, \"id\": 999}\r\n"
    "{\"return\": {\"status\": \"bogus\"}}\r\n"
    "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}, "
    "\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5}}\r\n\r\n"
    "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %ID%}\r\n",
    /* an error with a desc */
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"No such thing\"}, \"id\": %ID%}\r\n",
    /* an error without one */
    "{\"error\": {\"class\": \"GenericError\"}, \"id\": %ID%}\r\n",
    /* a return value that is not an object */
    "{\"return\": [1, \"two\"], \"id\": %ID%}\r\n",
    NULL,
  };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  GThread *t = fake_server_start (&srv, f->path);
  g_autoptr (GError) error = NULL;
  SkQmp *qmp = sk_qmp_connect (f->path, 5000, &error);
  g_assert_no_error (error);
  g_autofree char *status = sk_qmp_query_status (qmp, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (status, ==, "running");

  g_assert_false (sk_qmp_execute (qmp, "frobnicate", "{\"level\": 3}", NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "qmp 'frobnicate': No such thing");
  g_clear_error (&error);
  g_assert_false (sk_qmp_stop (qmp, &error));
  g_assert_cmpstr (error->message, ==, "qmp 'stop': unknown error");
  g_clear_error (&error);
  g_autofree char *ret = NULL;
  g_assert_true (sk_qmp_execute (qmp, "list-things", NULL, &ret, &error));
  g_assert_cmpstr (ret, ==, "[1,\"two\"]");

  g_autoptr (GPtrArray) events = sk_qmp_take_events (qmp);
  g_assert_cmpuint (events->len, ==, 2);
  SkQmpEvent *resume = events->pdata[0], *shutdown = events->pdata[1];
  g_assert_cmpstr (resume->name, ==, "RESUME");
  g_assert_null (resume->data_json);
  g_assert_cmpint (resume->timestamp_us, ==, 1000002);
  g_assert_cmpstr (shutdown->name, ==, "SHUTDOWN");
  g_assert_cmpint (shutdown->timestamp_us, ==, G_GINT64_CONSTANT (1700000000000005));
  g_autofree char *reason = sk_qmp_event_get_string (shutdown, "reason");
  g_assert_cmpstr (reason, ==, "guest-shutdown");
  g_assert_null (sk_qmp_event_get_string (shutdown, "guest")); /* not a string */
  g_autoptr (GPtrArray) none = sk_qmp_take_events (qmp);
  g_assert_cmpuint (none->len, ==, 0);
  sk_qmp_free (qmp);
  fake_server_join (&srv, t);

  /* What went over the wire: ids, arguments, one object per line. */
  g_assert_cmpuint (srv.received->len, ==, 5);
  g_assert_cmpstr (srv.received->pdata[0], ==, "{\"execute\":\"qmp_capabilities\",\"id\":1}");
  g_assert_cmpstr (srv.received->pdata[2], ==,
                   "{\"execute\":\"frobnicate\",\"id\":3,\"arguments\":{\"level\":3}}");
}

static void
test_bad_arguments (Fixture *f, gconstpointer data)
{
  const char *steps[] = { "{\"return\": {}, \"id\": %ID%}\r\n", "SILENT", NULL };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  GThread *t = fake_server_start (&srv, f->path);
  g_autoptr (GError) error = NULL;
  SkQmp *qmp = sk_qmp_connect (f->path, 2000, &error);
  g_assert_no_error (error);
  static const char *bad[] = { "[1]", "{", "\"x\"", "" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_false (sk_qmp_execute (qmp, "human-monitor-command", bad[i], NULL, &e));
      g_assert_error (e, SK_ERROR, SK_ERROR_FAILED);
      g_assert_cmpstr (e->message, ==, "qmp 'human-monitor-command': arguments are not a JSON object");
    }
  sk_qmp_free (qmp);
  fake_server_join (&srv, t);
  g_assert_cmpuint (srv.received->len, ==, 1); /* qmp_capabilities only: nothing else was sent */
}

static void
test_wait_event (Fixture *f, gconstpointer data)
{
  const char *steps[] = {
    "{\"return\": {}, \"id\": %ID%}\r\n"
    "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\r\n",
    /* system_powerdown: the event comes before the answer, as qemu does */
    "{\"event\": \"POWERDOWN\", \"timestamp\": {\"seconds\": 2, \"microseconds\": 0}}\r\n"
    "{\"return\": {}, \"id\": %ID%}\r\n"
    "{\"return\": {}, \"id\": 77}\r\n"
    "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-panic\"}, "
    "\"timestamp\": {\"seconds\": 3, \"microseconds\": 0}}\r\n",
    "SILENT",
    NULL,
  };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  GThread *t = fake_server_start (&srv, f->path);
  g_autoptr (GError) error = NULL;
  SkQmp *qmp = sk_qmp_connect (f->path, 2000, &error);
  g_assert_no_error (error);
  g_assert_true (sk_qmp_system_powerdown (qmp, &error));
  g_autoptr (SkQmpEvent) shutdown = sk_qmp_wait_event (qmp, "SHUTDOWN", &error);
  g_assert_no_error (error);
  g_autofree char *reason = sk_qmp_event_get_string (shutdown, "reason");
  g_assert_cmpstr (reason, ==, "guest-panic");
  /* Events of other names stay queued, in order. */
  g_autoptr (SkQmpEvent) powerdown = sk_qmp_wait_event (qmp, "POWERDOWN", &error);
  g_assert_cmpstr (powerdown->name, ==, "POWERDOWN");
  g_autoptr (GPtrArray) rest = sk_qmp_take_events (qmp);
  g_assert_cmpuint (rest->len, ==, 1);
  g_assert_cmpstr (((SkQmpEvent *) rest->pdata[0])->name, ==, "STOP");
  /* An event that never comes times out. */
  sk_qmp_set_timeout (qmp, 200);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_null (sk_qmp_wait_event (qmp, "RESET", &error));
  assert_timeout (error, "event RESET", t0, 200);
  sk_qmp_free (qmp);
  fake_server_join (&srv, t);
}

static void
test_malformed_messages (Fixture *f, gconstpointer data)
{
  static const char *greetings[] = {
    "not json\r\n",
    "[\"QMP\"]\r\n",
    "{\"return\": {}}\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (greetings); i++)
    {
      const char *steps[] = { "SILENT", NULL };
      g_auto (FakeServer) srv = { .greeting = greetings[i], .steps = steps };
      GThread *t = fake_server_start (&srv, f->path);
      g_autoptr (GError) error = NULL;
      g_assert_null (sk_qmp_connect (f->path, 2000, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (error->message, "connecting to '"));
      fake_server_join (&srv, t);
      g_unlink (f->path);
    }
}

/* A server that sends without ever ending a line is cut off, not buffered
 * without bound. */
static gpointer
flood_thread (gpointer data)
{
  int fd = accept (GPOINTER_TO_INT (data), NULL, NULL);
  g_autofree char *chunk = g_malloc (65536);
  memset (chunk, ' ', 65536);
  while (send (fd, chunk, 65536, MSG_NOSIGNAL) > 0)
    ;
  close (fd);
  return NULL;
}

static void
test_endless_line (Fixture *f, gconstpointer data)
{
  int lfd = listen_unix (f->path);
  GThread *t = g_thread_new ("flood", flood_thread, GINT_TO_POINTER (lfd));
  g_autoptr (GError) error = NULL;
  g_assert_null (sk_qmp_connect (f->path, 20000, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "message longer than 4194304 bytes"));
  g_thread_join (t);
  close (lfd);
}

static void
test_closed_mid_command (Fixture *f, gconstpointer data)
{
  const char *steps[] = { "{\"return\": {}, \"id\": %ID%}\r\n", "CLOSE", NULL };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  GThread *t = fake_server_start (&srv, f->path);
  g_autoptr (GError) error = NULL;
  SkQmp *qmp = sk_qmp_connect (f->path, 2000, &error);
  g_assert_no_error (error);
  g_assert_false (sk_qmp_cont (qmp, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "qmp: connection closed by qemu while waiting for 'cont'");
  g_clear_error (&error);
  /* Later calls fail at once; quit counts a closed connection as done. */
  g_assert_null (sk_qmp_query_status (qmp, &error));
  g_assert_cmpstr (error->message, ==, "qmp 'query-status': connection closed by qemu");
  g_assert_true (sk_qmp_quit (qmp, NULL));
  sk_qmp_free (qmp);
  fake_server_join (&srv, t);
}

static void
test_quit_closes_before_answer (Fixture *f, gconstpointer data)
{
  const char *steps[] = { "{\"return\": {}, \"id\": %ID%}\r\n", "CLOSE", NULL };
  g_auto (FakeServer) srv = { .greeting = GREETING, .steps = steps };
  GThread *t = fake_server_start (&srv, f->path);
  g_autoptr (GError) error = NULL;
  SkQmp *qmp = sk_qmp_connect (f->path, 2000, &error);
  g_assert_true (sk_qmp_quit (qmp, &error));
  g_assert_no_error (error);
  sk_qmp_free (qmp);
  fake_server_join (&srv, t);
}

/* ---- a real qemu ---- */

static void
test_real_qemu (Fixture *f, gconstpointer data)
{
  g_autofree char *qemu = sk_accel_find_qemu ();
  if (qemu == NULL)
    {
      g_test_skip ("no qemu-system for this architecture");
      return;
    }
  g_autofree char *chardev = g_strdup_printf ("socket,id=qmp0,path=%s,server=on,wait=off", f->path);
  const char *argv[] = { qemu, "-M", "none", "-S", "-nodefaults", "-no-user-config", "-display", "none",
                         "-chardev", chardev, "-mon", "chardev=qmp0,mode=control", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_autoptr (SkQmp) qmp = sk_qmp_connect_wait (f->path, 20000, &error);
  g_assert_no_error (error);

  g_autofree char *status = sk_qmp_query_status (qmp, &error);
  g_assert_cmpstr (status, ==, "prelaunch");
  g_assert_true (sk_qmp_cont (qmp, &error));
  g_autoptr (SkQmpEvent) resume = sk_qmp_wait_event (qmp, "RESUME", &error);
  g_assert_no_error (error);
  g_clear_pointer (&status, g_free);
  status = sk_qmp_query_status (qmp, &error);
  g_assert_cmpstr (status, ==, "running");
  g_assert_true (sk_qmp_stop (qmp, &error));
  g_clear_pointer (&status, g_free);
  status = sk_qmp_query_status (qmp, &error);
  g_assert_cmpstr (status, ==, "paused");

  g_autofree char *version = NULL;
  g_assert_true (sk_qmp_execute (qmp, "human-monitor-command", "{\"command-line\": \"info version\"}",
                                 &version, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (version, "\"") && g_ascii_isdigit (version[1]));

  g_assert_false (sk_qmp_execute (qmp, "no-such-command", NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "qmp 'no-such-command': The command no-such-command has not been found");
  g_clear_error (&error);

  g_assert_true (sk_qmp_system_powerdown (qmp, &error));
  g_autoptr (SkQmpEvent) powerdown = sk_qmp_wait_event (qmp, "POWERDOWN", &error);
  g_assert_no_error (error);

  g_assert_true (sk_qmp_quit (qmp, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (p, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_autoptr (SkQmpEvent) shutdown = sk_qmp_wait_event (qmp, "SHUTDOWN", &error);
  g_assert_no_error (error);
  g_autofree char *reason = sk_qmp_event_get_string (shutdown, "reason");
  g_assert_cmpstr (reason, ==, "host-qmp-quit");
  g_assert_null (sk_qmp_query_status (qmp, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/qmp/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("timeout-never-accepted", test_timeout_never_accepted);
  ADD ("timeout-accepted-silent", test_timeout_accepted_silent);
  ADD ("timeout-command", test_timeout_command);
  ADD ("connect-missing", test_connect_missing);
  ADD ("connect-refused", test_connect_refused);
  ADD ("connect-wait-for-socket", test_connect_wait_for_socket);
  ADD ("stale-answers-and-events", test_stale_answers_and_events);
  ADD ("bad-arguments", test_bad_arguments);
  ADD ("wait-event", test_wait_event);
  ADD ("malformed-messages", test_malformed_messages);
  ADD ("endless-line", test_endless_line);
  ADD ("closed-mid-command", test_closed_mid_command);
  ADD ("quit-closes-before-answer", test_quit_closes_before_answer);
  ADD ("real-qemu", test_real_qemu);
#undef ADD
  return g_test_run ();
}
