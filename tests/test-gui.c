/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The wizard window, for real: GTK under Xvfb (dbus-run-session -- xvfb-run -a), real
 * databases made by the demo generator from the real migrations, in a folder whose
 * name has a space and non-ASCII letters. For every page and problem, a prepared
 * database brings the wizard there; the test checks the title and the buttons,
 * presses them as a person would (the buttons' own actions), and checks the result
 * on disk and the exit status.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <gtk/gtk.h>
#include <gdk/x11/gdkx.h>
#include <X11/extensions/XTest.h>
#include <glib/gstdio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "mw-application.h"
#include "mw-engine.h"
#include "mw-resources.h"
#include "mw-technician-window.h"
#include "mw-testlib.h"
#include "mw-window.h"
#include "mw-window-private.h"

typedef struct
{
  char          *dir;
  char          *db;
  char          *backups;
  char          *migrations;
  MwApplication *app;
  MwWindow      *window;     /* (weak) */
  MwDatabaseSource source;   /* how the database was found */
  char          *then_run;   /* --then-run, for after-update windows */
} Fixture;

static const char *demo_db;
static MwApplication *shared_app;
static const char *wizard_path;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *base = mw_test_make_tmp_dir ("gui");

  f->dir = g_build_filename (base, "Kasse Müller", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0755), ==, 0);
  f->db = g_build_filename (f->dir, "pos_system.db", NULL);
  f->backups = g_build_filename (f->dir, "backups", NULL);
  f->migrations = g_strdup (g_getenv ("MW_MIGRATIONS"));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autofree char *base = g_path_get_dirname (f->dir);

  if (f->window != NULL)
    gtk_window_destroy (GTK_WINDOW (f->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->app);
  if (!g_test_failed ())
    mw_test_remove_tree (base);
  g_free (f->dir);
  g_free (f->db);
  g_free (f->backups);
  g_free (f->migrations);
  g_free (f->then_run);
}

/* A shop database at migration level @level (a tag or a count), a few MB. */
static void
make_demo (Fixture *f, const char *level)
{
  g_autofree char *err = NULL;

  g_assert_cmpint (mw_test_spawn (NULL, &err, demo_db, "-q", "-d", f->db, "-m", f->migrations,
                                  "-l", level, "-s", "2M", "--journal-mode", "delete", NULL),
                   ==, 0);
}

static gboolean
wait_until (gboolean (*done) (Fixture *f), Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (!done (f))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
  return TRUE;
}

static gboolean
settled (Fixture *f)
{
  return f->window == NULL ||
         (!mw_window_is_busy (f->window) &&
          !g_str_equal (mw_window_get_page (f->window), "checking") &&
          !g_str_equal (mw_window_get_page (f->window), "working"));
}

static gboolean
closed (Fixture *f)
{
  return f->window == NULL;
}

static void page_mnemonics_cb (GObject *window, GParamSpec *pspec, gpointer user_data);

static void
open_wizard (Fixture *f, gboolean after_update)
{
  MwSettings options = {
    .database = f->db,
    .migrations = f->migrations,
    .backup_dir = f->backups,
    .after_update = after_update,
    .then_run = f->then_run,
    .database_source = f->source,
  };
  g_autoptr(GError) error = NULL;

  /* One application per process (its D-Bus object path is unique); each test
   * has its own window and its own exit status. */
  if (shared_app == NULL)
    {
      shared_app = mw_application_new (&options);
      g_application_register (G_APPLICATION (shared_app), NULL, &error);
      g_assert_no_error (error);
    }
  f->app = g_object_ref (shared_app);
  mw_application_set_exit_status (f->app, 1);
  f->window = mw_window_new (f->app, &options);
  g_object_add_weak_pointer (G_OBJECT (f->window), (gpointer *) &f->window);
  g_signal_connect (f->window, "notify::page", G_CALLBACK (page_mnemonics_cb), NULL);
  if (!after_update)
    gtk_window_present (GTK_WINDOW (f->window));
  mw_window_start (f->window);
  g_assert_true (wait_until (settled, f));
}

/* The visible page's buttons, as "label" or "label (disabled)", joined by " | ". */
static char *
buttons_of (Fixture *f)
{
  g_autoptr(GPtrArray) buttons = mw_window_list_buttons (f->window);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < buttons->len; i++)
    {
      GtkWidget *b = g_ptr_array_index (buttons, i);

      g_string_append_printf (out, "%s%s%s", i ? " | " : "",
                              gtk_button_get_label (GTK_BUTTON (b)),
                              gtk_widget_get_sensitive (b) ? "" : " (disabled)");
    }
  return g_string_free (out, FALSE);
}

static void
assert_page (Fixture    *f,
             const char *page,
             const char *problem,
             const char *title,
             const char *buttons)
{
  g_autofree char *actual = NULL;

  g_assert_nonnull (f->window);
  g_assert_cmpstr (mw_window_get_page (f->window), ==, page);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, problem);
  g_assert_cmpstr (mw_window_get_title_text (f->window), ==, title);
  actual = buttons_of (f);
  {
    /* A backup's time in a label ("… from 14:02 today") is the test's HH:MM. */
    g_autoptr(GRegex) clock = g_regex_new ("[0-9]{2}:[0-9]{2}", 0, 0, NULL);
    g_autofree char *normal = g_regex_replace_literal (clock, actual, -1, 0, "HH:MM", 0, NULL);

    g_free (actual);
    actual = g_steal_pointer (&normal);
  }
  g_assert_cmpstr (actual, ==, buttons);
}

static gboolean
is_inside (GtkWidget *widget, GType type)
{
  for (GtkWidget *w = widget; w != NULL; w = gtk_widget_get_parent (w))
    if (G_TYPE_CHECK_INSTANCE_TYPE (w, type))
      return TRUE;
  return FALSE;
}

/* ---- mnemonics ----------------------------------------------------------------------- */

/* The Alt+letter of a label with a mnemonic ("Try _Repair": r), or 0. */
static gunichar
mnemonic_of (const char *label)
{
  for (const char *p = label; p != NULL && *p != '\0'; p = g_utf8_next_char (p))
    if (*p == '_')
      {
        if (p[1] == '_')
          {
            p++;
            continue;
          }
        return p[1] != '\0' ? g_unichar_tolower (g_utf8_get_char (p + 1)) : 0;
      }
  return 0;
}

static void
collect_mnemonics (GtkWidget *widget, GHashTable *seen, GString *clashes)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      const char *label = NULL;

      if (!gtk_widget_get_mapped (c))
        continue;
      if (GTK_IS_BUTTON (c) && gtk_button_get_use_underline (GTK_BUTTON (c)))
        label = gtk_button_get_label (GTK_BUTTON (c));
      else if (GTK_IS_EXPANDER (c) && gtk_expander_get_use_underline (GTK_EXPANDER (c)))
        label = gtk_expander_get_label (GTK_EXPANDER (c));
      else if (GTK_IS_LABEL (c) && gtk_label_get_use_underline (GTK_LABEL (c)) &&
               !is_inside (c, GTK_TYPE_BUTTON) && !is_inside (c, GTK_TYPE_EXPANDER))
        label = gtk_label_get_label (GTK_LABEL (c));
      if (label != NULL && mnemonic_of (label) != 0)
        {
          gunichar key = mnemonic_of (label);
          const char *other = g_hash_table_lookup (seen, GUINT_TO_POINTER (key));

          if (other != NULL)
            g_string_append_printf (clashes, " “%s” and “%s”;", other, label);
          else
            g_hash_table_insert (seen, GUINT_TO_POINTER (key), (gpointer) label);
        }
      collect_mnemonics (c, seen, clashes);
    }
}

/* No two things a person can press in @window share an Alt+letter. */
static void
assert_no_mnemonic_clash (GtkWidget *window, const char *where)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  g_autoptr(GString) clashes = g_string_new (NULL);

  if (!gtk_widget_get_mapped (window))
    return;
  collect_mnemonics (window, seen, clashes);
  if (clashes->len > 0)
    g_error ("mnemonic clash on %s:%s", where, clashes->str);
}

/* Every page every test shows is checked for clashes as it is shown. */
static void
page_mnemonics_cb (GObject *window, GParamSpec *pspec, gpointer user_data)
{
  g_autofree char *where = NULL;
  MwWindow *w = MW_WINDOW (window);

  /* The page is mapped once the stack has switched: let GTK do that first. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  if (w == NULL || !gtk_widget_get_mapped (GTK_WIDGET (w)))
    return;
  where = g_strdup_printf ("%s/%s", mw_window_get_page (w),
                           mw_window_get_problem (w) ? mw_window_get_problem (w) : "-");
  assert_no_mnemonic_clash (GTK_WIDGET (w), where);
}

/* Presses the visible button labelled @label, as a click would. */
static void
press (Fixture *f, const char *label)
{
  g_autoptr(GPtrArray) buttons = mw_window_list_buttons (f->window);

  for (guint i = 0; i < buttons->len; i++)
    {
      GtkWidget *b = g_ptr_array_index (buttons, i);

      if (g_str_equal (gtk_button_get_label (GTK_BUTTON (b)), label))
        {
          g_assert_true (gtk_widget_get_sensitive (b));
          g_signal_emit_by_name (b, "clicked");
          g_assert_true (wait_until (settled, f));
          return;
        }
    }
  g_error ("no button “%s” on page %s", label, mw_window_get_page (f->window));
}

/* ---- the keyboard, for real ------------------------------------------------------------
 *
 * Keys go through the X server (XTest), so GTK receives them exactly as from a
 * keyboard: key bindings, mnemonics, the default widget, focus. */

static void
settle_events (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
focus_window (GtkWindow *window)
{
  gtk_window_present (window);
  for (int i = 0; i < 200 && !gtk_window_is_active (window); i++)
    settle_events (10);
  g_assert_true (gtk_window_is_active (window));
}

static void
x_key (Display *dpy, guint keysym, gboolean down)
{
  KeyCode code = XKeysymToKeycode (dpy, keysym);

  g_assert_cmpuint (code, !=, 0);
  XTestFakeKeyEvent (dpy, code, down, CurrentTime);
  XFlush (dpy);
}

/* Presses and releases @keysym with Alt (@alt) or Shift (@shift) held. */
static void
type_key_full (guint keysym, gboolean alt, gboolean shift)
{
  Display *dpy = gdk_x11_display_get_xdisplay (gdk_display_get_default ());

  if (alt)
    x_key (dpy, GDK_KEY_Alt_L, TRUE);
  if (shift)
    x_key (dpy, GDK_KEY_Shift_L, TRUE);
  x_key (dpy, keysym, TRUE);
  settle_events (30);
  x_key (dpy, keysym, FALSE);
  if (shift)
    x_key (dpy, GDK_KEY_Shift_L, FALSE);
  if (alt)
    x_key (dpy, GDK_KEY_Alt_L, FALSE);
  settle_events (60);
}

static void
type_key (guint keysym)
{
  type_key_full (keysym, FALSE, FALSE);
}

/* The widget with the keyboard focus in the wizard window. */
static GtkWidget *
focused (Fixture *f)
{
  return gtk_root_get_focus (GTK_ROOT (f->window));
}

/* With MW_SCREENSHOTS=DIR (tools/screenshots.sh), saves what the window shows as
 * DIR/NAME.png: the screenshots in the README are the tests' own pages. */
/* What @widget shows now, drawn by its own renderer. */
static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  int width, height;

  for (int i = 0; i < 30; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static void
screenshot_window (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("MW_SCREENSHOTS");
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  if (dir == NULL)
    return;
  texture = render_widget (widget);
  file = g_strconcat (name, ".png", NULL);
  path = g_build_filename (dir, file, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

static void
screenshot (Fixture *f, const char *name)
{
  screenshot_window (GTK_WIDGET (f->window), name);
}

#define mw_test_assert_contains(text, part) \
  G_STMT_START { \
    const char *text_ = (text); \
    if (strstr (text_, (part)) == NULL) \
      g_error ("“%s” does not contain “%s”", text_, (part)); \
  } G_STMT_END

static int
exit_status (Fixture *f)
{
  return mw_application_get_exit_status (f->app);
}

static MwDiagnosis *
diagnose (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = mw_migration_set_load (f->migrations, &error);

  g_assert_no_error (error);
  return mw_diagnose (f->db, set, NULL);
}

static guint
count_entries (const char *dir, const char *prefix, const char *suffix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix) && (suffix == NULL || g_str_has_suffix (name, suffix)))
      n++;
  return n;
}

static void
record_page_cb (GObject *window, GParamSpec *pspec, GString *seen)
{
  g_autofree char *page = NULL;

  g_object_get (window, "page", &page, NULL);
  /* The same page shown again (a new problem, a refreshed list) is not a new step. */
  if (!g_str_has_suffix (seen->str, page))
    g_string_append_printf (seen, " %s", page);
}

static void
record_busy_cb (GObject *window, GParamSpec *pspec, GString *seen)
{
  gboolean busy;

  g_object_get (window, "busy", &busy, NULL);
  g_string_append (seen, busy ? " busy" : " idle");
}

static void
test_update (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) after = NULL;
  g_autofree char *sales = NULL;

  make_demo (f, "3");
  sales = mw_test_sql_text (f->db, "SELECT count(*) FROM transactions");
  open_wizard (f, FALSE);
  assert_page (f, "ready", NULL, "Updates are ready", "_Cancel | _Update Now");
  screenshot (f, "ready");

  /* The system's dark style and a larger text size (1.5×) apply as they are. */
  if (g_getenv ("MW_SCREENSHOTS") != NULL)
    {
      GtkSettings *settings = gtk_settings_get_default ();
      int dpi = 0;

      g_object_get (settings, "gtk-xft-dpi", &dpi, NULL);
      g_object_set (settings, "gtk-application-prefer-dark-theme", TRUE, NULL);
      screenshot (f, "ready-dark");
      g_object_set (settings, "gtk-application-prefer-dark-theme", FALSE,
                    "gtk-xft-dpi", 96 * 1024 * 3 / 2, NULL);
      screenshot (f, "ready-large-text");
      g_object_set (settings, "gtk-xft-dpi", dpi > 0 ? dpi : 96 * 1024, NULL);
    }
  g_assert_true (gtk_window_get_default_widget (GTK_WINDOW (f->window)) ==
                 g_ptr_array_index (mw_window_list_buttons (f->window), 1));

  {
    g_autoptr(GString) seen = g_string_new (NULL);
    gulong page_id = g_signal_connect (f->window, "notify::page", G_CALLBACK (record_page_cb),
                                       seen);
    gulong busy_id = g_signal_connect (f->window, "notify::busy", G_CALLBACK (record_busy_cb),
                                       seen);

    press (f, "_Update Now");
    g_signal_handler_disconnect (f->window, page_id);
    g_signal_handler_disconnect (f->window, busy_id);
    /* Observed through the window's properties: busy while the working page shows. */
    g_assert_cmpstr (seen->str, ==, " busy working idle done");
  }
  assert_page (f, "done", NULL, "The database is up to date", "Check _Again | _Close");
  screenshot (f, "done");
  g_assert_cmpint (exit_status (f), ==, 0);

  after = diagnose (f);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpstr (mw_test_sql_text (f->db, "SELECT count(*) FROM transactions"), ==, sales);
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), ==, 1);

  press (f, "_Close");
  g_assert_true (wait_until (closed, f));
}

static void
working_line_cb (GObject *window, GParamSpec *pspec, gboolean *said)
{
  MwWindow *w = MW_WINDOW (window);

  if (g_strcmp0 (mw_window_get_page (w), "working") == 0 &&
      gtk_widget_get_visible (GTK_WIDGET (w->work_after_update)))
    *said = TRUE;
}

/* open_wizard() after an update, noting whether the working page said that the
 * POS starts by itself (the window may close before open_wizard() returns). */
static void
open_wizard_watching (Fixture *f, gboolean after_update, gboolean *said)
{
  MwSettings options = {
    .database = f->db,
    .migrations = f->migrations,
    .backup_dir = f->backups,
    .after_update = after_update,
  };

  if (shared_app == NULL)
    {
      shared_app = mw_application_new (&options);
      g_application_register (G_APPLICATION (shared_app), NULL, NULL);
    }
  if (f->app == NULL)
    f->app = g_object_ref (shared_app);
  f->window = mw_window_new (f->app, &options);
  g_object_add_weak_pointer (G_OBJECT (f->window), (gpointer *) &f->window);
  g_signal_connect (f->window, "notify::page", G_CALLBACK (working_line_cb), said);
  mw_window_start (f->window);
  g_assert_true (wait_until (closed, f));
}

static void
record_progress_cb (MwProgress *progress, GParamSpec *pspec, GString *seen)
{
  guint step = 0, n_steps = 0;
  g_autofree char *message = mw_progress_dup_message (progress);
  g_autofree char *line = NULL;

  mw_progress_get_step (progress, &step, &n_steps);
  line = g_strdup_printf ("%u/%u %.2f %s", step, n_steps, mw_progress_get_fraction (progress),
                          message ? message : "");
  if (!g_str_has_suffix (seen->str, line))
    g_string_append_printf (seen, "%s\n", line);
}

/* Honest progress: the update is step N of M (back up — which reads and checks every
 * page, so there is no separate check before —, apply, check again),
 * each step's bar starts again from nothing and follows that step; the page says
 * how long it has taken, never that it "will not take long". */
static void
test_update_progress (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) seen = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  guint last_step = 0;
  double last_fraction = 0;
  const char *last_message = NULL;
  gulong id;

  make_demo (f, "3");
  open_wizard (f, FALSE);
  id = g_signal_connect (f->window->progress, "notify", G_CALLBACK (record_progress_cb), seen);
  press (f, "_Update Now");
  g_signal_handler_disconnect (f->window->progress, id);
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");

  lines = g_strsplit (seen->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++)
    {
      guint step = 0, n_steps = 0;
      double fraction = 0;
      int at = 0;

      g_assert_cmpint (sscanf (lines[i], "%u/%u %lf %n", &step, &n_steps, &fraction, &at), ==, 3);
      if (step == 0)
        continue;
      g_assert_cmpuint (n_steps, ==, 3);
      g_assert_cmpuint (step, >=, last_step);
      /* Each phase's bar (its message: backing up, applying, checking the links…)
       * only moves forward; a new step or phase starts again from its own
       * beginning (notifications are coalesced, so the first one seen of a short
       * phase may already be its end). */
      if (step == last_step && g_strcmp0 (lines[i] + at, last_message) == 0)
        g_assert_cmpfloat (fraction, >=, last_fraction);
      last_step = step;
      last_fraction = fraction;
      last_message = lines[i] + at;
    }
  g_assert_cmpuint (last_step, ==, 3);
  mw_test_assert_contains (seen->str, "1/3 ");
  mw_test_assert_contains (seen->str, "2/3 ");
  mw_test_assert_contains (seen->str, "3/3 ");
  g_assert_null (strstr (gtk_label_get_text (f->window->work_note), "will not take long"));
  mw_test_assert_contains (gtk_label_get_text (f->window->work_time), "so far");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->window->work_after_update)));
  gtk_window_destroy (GTK_WINDOW (f->window));
  settle_events (50);

  /* After an update, nobody asked: the page says the POS starts by itself. */
  {
    gboolean said = FALSE;

    g_unlink (f->db);
    make_demo (f, "3");
    open_wizard_watching (f, TRUE, &said);
    g_assert_true (said);
  }
}

/* No line of @label starts inside one of @words (update tags are never broken). */
static void
assert_words_not_broken (GtkLabel *label, GPtrArray *words)
{
  PangoLayout *layout = gtk_label_get_layout (label);
  const char *text = pango_layout_get_text (layout);
  GSList *lines = pango_layout_get_lines_readonly (layout);

  for (guint w = 0; w < words->len; w++)
    {
      const char *at = strstr (text, g_ptr_array_index (words, w));
      int start, end;

      g_assert_nonnull (at);
      start = (int) (at - text);
      end = start + (int) strlen (g_ptr_array_index (words, w));
      for (GSList *l = lines; l != NULL; l = l->next)
        {
          PangoLayoutLine *line = l->data;

          if (line->start_index > start && line->start_index < end)
            g_error ("“%s” is broken across two lines", (const char *) g_ptr_array_index (words, w));
        }
    }
}

static gboolean visible_on_screen (Fixture *f, GtkWidget *widget);

static const char *button_label_for_action (Fixture *f, const char *action);

static void
small_screen_walk (Fixture *f, int dpi)
{
  GtkSettings *settings = gtk_settings_get_default ();
  GdkSurface *surface;
  g_autoptr(GPtrArray) buttons = NULL;
  graphene_rect_t list, scroller;
  GtkWidget *scrolled;
  gboolean german = g_strcmp0 (g_getenv ("MW_TEST_SMALL_SCREEN"), "de") == 0;
  g_autofree char *name = g_strdup_printf ("%s%s", dpi == 192 ? "ready-2x-800x600"
                                                              : "ready-1.5x-800x600",
                                           german ? "-de" : "");

  g_object_set (settings, "gtk-xft-dpi", dpi * 1024, NULL);
  g_unlink (f->db);
  make_demo (f, "3");
  open_wizard (f, FALSE);
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "ready");
  settle_events (300);
  screenshot (f, name);
  surface = gtk_native_get_surface (GTK_NATIVE (f->window));
  /* The whole window on the screen, its title, its buttons and its checks seen. */
  g_assert_cmpint (gdk_surface_get_width (surface), <=, 800);
  g_assert_cmpint (gdk_surface_get_height (surface), <=, 600);
  g_assert_true (visible_on_screen (f, GTK_WIDGET (f->window->ready_title)));
  buttons = mw_window_list_buttons (f->window);
  for (guint i = 0; i < buttons->len; i++)
    g_assert_true (visible_on_screen (f, g_ptr_array_index (buttons, i)));
  scrolled = gtk_widget_get_ancestor (GTK_WIDGET (f->window->ready_checks),
                                      GTK_TYPE_SCROLLED_WINDOW);
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (f->window->ready_checks), scrolled,
                                            &list));
  g_assert_true (gtk_widget_compute_bounds (scrolled, scrolled, &scroller));
  /* At least the first check shows without scrolling. */
  g_assert_cmpfloat (list.origin.y + 40, <, scroller.size.height);

  /* The Done page: the update tags whole. */
  press (f, button_label_for_action (f, "wizard.update"));
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  {
    g_autoptr(GPtrArray) tags = g_ptr_array_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(MwMigrationSet) set = mw_migration_set_load (f->migrations, &error);

    for (guint i = 3; i < mw_migration_set_get_n_migrations (set); i++)
      g_ptr_array_add (tags, (gpointer) mw_migration_set_get_migration (set, i)->tag);
    assert_words_not_broken (f->window->done_text, tags);
  }
  /* Let the page's transition and the relayout of the longer text finish. */
  settle_events (300);
  g_assert_true (visible_on_screen (f, GTK_WIDGET (f->window->done_title)));
  if (!german)
    screenshot (f, dpi == 192 ? "done-2x-800x600" : "done-1.5x-800x600");
  gtk_window_destroy (GTK_WINDOW (f->window));
  settle_events (50);
}

/* Large text on a small screen: at 1.5× and 2× text on an 800×600 display (an Xvfb
 * of that size of its own), the window fits the screen; the title, the checks and
 * the buttons are seen; update tags are never broken mid-word. */
static void
test_small_screen_large_text (Fixture *f, gconstpointer data)
{
  g_autofree char *self_exe = NULL;

  if (g_getenv ("MW_TEST_SMALL_SCREEN") != NULL)
    {
      small_screen_walk (f, 144);
      small_screen_walk (f, 192);
      return;
    }
  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_setenv ("MW_TEST_SMALL_SCREEN", "1", TRUE);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "xvfb-run", "-a", "-s", "-screen 0 800x600x24",
                                  self_exe, "-p", "/mw/gui/small-screen/large-text", NULL), ==, 0);
  /* German words are longer. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("LANGUAGE", "de", TRUE);
  g_setenv ("MW_TEST_SMALL_SCREEN", "de", TRUE);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "xvfb-run", "-a", "-s", "-screen 0 800x600x24",
                                  self_exe, "-p", "/mw/gui/small-screen/large-text", NULL), ==, 0);
  g_unsetenv ("LANGUAGE");
  g_unsetenv ("LC_ALL");
  g_unsetenv ("MW_TEST_SMALL_SCREEN");
}

static void
test_up_to_date (Fixture *f, gconstpointer data)
{
  make_demo (f, "7");
  open_wizard (f, FALSE);
  assert_page (f, "done", NULL, "The database is up to date", "Check _Again | _Close");
  g_assert_cmpint (exit_status (f), ==, 0);
  /* An up-to-date start makes no backup. */
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", NULL), ==, 0);
}

/* Damage in a table's leaf page that Try Repair recovers around. Returns the
 * sales the damaged page held. */
static gint64
damage_sales_page (Fixture *f)
{
  gint64 leaf, cells;
  FILE *file;
  char garbage[4096];

  leaf = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'transactions' AND "
                                 "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 2");
  cells = mw_test_sql_int (f->db, "SELECT ncell FROM dbstat WHERE name = 'transactions' AND "
                                  "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 2");
  memset (garbage, 0x5c, sizeof garbage);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (long) ((leaf - 1) * 4096), SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
  fclose (file);
  return cells;
}

static void
corrupt (Fixture *f)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  memset (contents + 100, 0x5a, 900);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));
}

static void
test_corrupt_cancel (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  make_demo (f, "7");
  corrupt (f);
  before = mw_test_file_digest (f->db);
  open_wizard (f, FALSE);
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Try _Repair");

  /* For a technician at a terminal: the command line of each choice. */
  mw_test_assert_contains (mw_window_get_detail_text (f->window),
                           "Try Repair from a terminal: migration-wizard repair --database ");
  /* Escape is Cancel: the wizard stops and leaves everything as it was. */
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.cancel", NULL);
  g_assert_true (wait_until (closed, f));
  g_assert_cmpint (exit_status (f), ==, 16);
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpuint (count_entries (f->dir, "pos_system.db.old.", NULL), ==, 0);
}

static void
test_damaged_table_page (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  FILE *file;
  char garbage[4000];
  gint64 pages;

  /* Schema and history intact; a page in the middle of the sales is garbage. Only
   * reading every page finds it, so a person sees it before any update starts. */
  make_demo (f, "3");
  pages = mw_test_sql_int (f->db, "PRAGMA page_count");
  memset (garbage, 0x77, sizeof garbage);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (long) (pages / 2) * 4096 + 8, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
  fclose (file);
  before = mw_test_file_digest (f->db);

  open_wizard (f, FALSE);
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Try _Repair");
  g_assert_cmpint (exit_status (f), ==, 16);
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);

  /* `status --deep` reads every page as the window does: the same state, the same
   * words, the same exit status. */
  {
    g_autofree char *out = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *obj;

    g_assert_cmpint (mw_test_spawn (&out, NULL, wizard_path, "status", "--deep", "--json",
                                    "--database", f->db, "--migrations", f->migrations, NULL),
                     ==, 16);
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    obj = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "corrupt");
    g_assert_cmpstr (json_object_get_string_member (obj, "message"), ==,
                     mw_window_get_diagnosis (f->window)->message);
  }
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
}

/* Try Repair: progress, then the report (rows recovered and lost, per table), then a
 * person chooses; using the repaired database keeps the damaged one aside as it was. */
static void
test_repair (Fixture *f, gconstpointer data)
{
  g_autofree char *damaged = NULL;
  g_autofree char *kept = NULL;
  gint64 sales_before, leaf, cells;
  FILE *file;
  char garbage[4096];

  make_demo (f, "7");
  sales_before = mw_test_sql_int (f->db, "SELECT count(*) FROM transactions");
  leaf = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'transactions' AND "
                                 "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 2");
  cells = mw_test_sql_int (f->db, "SELECT ncell FROM dbstat WHERE name = 'transactions' AND "
                                  "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 2");
  memset (garbage, 0x5c, sizeof garbage);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (long) ((leaf - 1) * 4096), SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
  fclose (file);
  damaged = mw_test_file_digest (f->db);

  open_wizard (f, FALSE);
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Try _Repair");
  press (f, "Try _Repair");
  assert_page (f, "problem", "repair-report", "Repair Finished",
               "_Keep the Damaged Database | _Use the Repaired Database");
  screenshot (f, "repair-report");
  /* Nothing swapped before a person chooses. */
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, damaged);

  /* Keep the Original goes back to the choices, nothing changed. */
  press (f, "_Keep the Damaged Database");
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Try _Repair");
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, damaged);

  press (f, "Try _Repair");
  press (f, "_Use the Repaired Database");
  assert_page (f, "done", NULL, "The repaired database is in use", "Check _Again | _Close");
  g_assert_cmpint (exit_status (f), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM transactions"), ==,
                   sales_before - cells);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pragma_integrity_check "
                                           "WHERE integrity_check <> 'ok'"), ==, 0);
  {
    g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL)
      if (g_str_has_prefix (name, "pos_system.db.old.") && !g_str_has_suffix (name, "-journal") &&
          !g_str_has_suffix (name, "-wal") && !g_str_has_suffix (name, "-shm"))
        kept = g_build_filename (f->dir, name, NULL);
  }
  g_assert_nonnull (kept);
  g_assert_cmpstr (mw_test_file_digest (kept), ==, damaged);

  /* The migration level is kept: nothing left to do. */
  press (f, "Check _Again");
  assert_page (f, "done", NULL, "The database is up to date", "Check _Again | _Close");
}

/* The visible button labelled @label on the wizard's page. */
static GtkWidget *
button_labelled (Fixture *f, const char *label)
{
  g_autoptr(GPtrArray) buttons = mw_window_list_buttons (f->window);

  for (guint i = 0; i < buttons->len; i++)
    if (g_str_equal (gtk_button_get_label (g_ptr_array_index (buttons, i)), label))
      return g_ptr_array_index (buttons, i);
  g_error ("no button “%s” on page %s", label, mw_window_get_page (f->window));
  return NULL;
}

/* The label of the visible button driving @action (labels change; actions do not). */
static const char *
button_label_for_action (Fixture *f, const char *action)
{
  g_autoptr(GPtrArray) buttons = mw_window_list_buttons (f->window);

  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_actionable_get_action_name (g_ptr_array_index (buttons, i)), action) == 0)
      return gtk_button_get_label (g_ptr_array_index (buttons, i));
  g_error ("no button for %s on page %s", action, mw_window_get_page (f->window));
  return NULL;
}

/* Space on a focused button, as a keyboard user presses it. */
static void
press_with_space (Fixture *f, const char *label)
{
  GtkWidget *button = button_labelled (f, label);

  g_assert_true (gtk_widget_grab_focus (button));
  type_key (GDK_KEY_space);
  g_assert_true (wait_until (settled, f));
}

/* Space on a problem page's button: the page changes under the button while its
 * own action runs; nothing may complain (G_DEBUG=fatal-warnings makes any
 * CRITICAL or WARNING fail the test). English, then German. */
static void
space_walk (Fixture *f, const char *fresh, const char *cancel, const char *repair_title)
{
  make_demo (f, "7");
  corrupt (f);
  open_wizard (f, FALSE);
  focus_window (GTK_WINDOW (f->window));
  press_with_space (f, fresh);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "confirm-fresh");
  press_with_space (f, cancel);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  press_with_space (f, fresh);
  press_with_space (f, cancel);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  settle_events (300);
  (void) repair_title;
}

static void
test_space_on_problem_buttons (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      space_walk (f, "Sichern und _neu beginnen", "_Abbrechen", NULL);
      return;
    }
  space_walk (f, "Backup & Start _Fresh", "_Cancel", NULL);
  gtk_window_destroy (GTK_WINDOW (f->window));
  settle_events (50);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("LANGUAGE", "de", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("LANGUAGE");
  g_unsetenv ("LC_ALL");
  g_test_trap_assert_passed ();
}

/* Whether a person can see @widget: shown, on screen, inside the window. */
static gboolean
visible_on_screen (Fixture *f, GtkWidget *widget)
{
  graphene_rect_t bounds;

  if (!gtk_widget_is_drawable (widget) || !gtk_widget_compute_bounds (widget,
                                                                      GTK_WIDGET (f->window),
                                                                      &bounds))
    return FALSE;
  return bounds.size.width >= 4 && bounds.size.height >= 4 && bounds.origin.x >= 0 &&
         bounds.origin.y >= 0 &&
         bounds.origin.x + bounds.size.width <= gtk_widget_get_width (GTK_WIDGET (f->window)) &&
         bounds.origin.y + bounds.size.height <= gtk_widget_get_height (GTK_WIDGET (f->window));
}

/* The keyboard on the visible page, as a technician over a remote desktop uses it:
 * the blue button is the one Enter takes, and has the focus first; Tab reaches
 * every button of the page within a few presses and each stop is something a
 * person sees (never a collapsed expander's insides, never a check row). */
static void
assert_keyboard (Fixture *f)
{
  g_autoptr(GPtrArray) buttons = mw_window_list_buttons (f->window);
  g_autoptr(GHashTable) reached = g_hash_table_new (NULL, NULL);
  GtkWidget *suggested = NULL;
  GtkWidget *start;
  guint n_suggested = 0;
  guint tabs = 0;

  focus_window (GTK_WINDOW (f->window));
  for (guint i = 0; i < buttons->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (buttons, i), "suggested-action"))
      {
        suggested = g_ptr_array_index (buttons, i);
        n_suggested++;
      }
  g_assert_cmpuint (n_suggested, ==, 1);
  g_assert_true (gtk_window_get_default_widget (GTK_WINDOW (f->window)) == suggested);
  g_assert_true (focused (f) == suggested);

  start = focused (f);
  do
    {
      GtkWidget *now;

      type_key (GDK_KEY_Tab);
      tabs++;
      now = focused (f);
      g_assert_nonnull (now);
      if (g_getenv ("MW_TEST_SHOW_FOCUS"))
        g_printerr ("Tab %u: %s %s\n", tabs, G_OBJECT_TYPE_NAME (now),
                    GTK_IS_BUTTON (now) ? gtk_button_get_label (GTK_BUTTON (now)) : "");
      if (!visible_on_screen (f, now))
        g_error ("Tab %u on %s/%s: focus on %s, which nobody can see", tabs,
                 mw_window_get_page (f->window), mw_window_get_problem (f->window),
                 G_OBJECT_TYPE_NAME (now));
      if (GTK_IS_SCROLLED_WINDOW (now))
        {
          GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (now));

          /* A scrolled area is a stop only when there is something to scroll. */
          if (gtk_adjustment_get_upper (adj) <= gtk_adjustment_get_page_size (adj) + 0.5)
            g_error ("Tab %u on %s/%s: focus on a scrolled area with nothing to scroll "
                     "(%.0f of %.0f)", tabs, mw_window_get_page (f->window),
                     mw_window_get_problem (f->window), gtk_adjustment_get_upper (adj),
                     gtk_adjustment_get_page_size (adj));
        }
      if (is_inside (now, GTK_TYPE_LIST_BOX))
        g_error ("Tab %u on %s: focus on a check row", tabs, mw_window_get_page (f->window));
      if (GTK_IS_BUTTON (now))
        g_hash_table_add (reached, now);
    }
  while (focused (f) != start && tabs < 30);
  g_assert_true (focused (f) == start);
  for (guint i = 0; i < buttons->len; i++)
    g_assert_true (g_hash_table_contains (reached, g_ptr_array_index (buttons, i)) ||
                   g_ptr_array_index (buttons, i) == start);
  /* The page's buttons, the header's Technician Details, the details expander and
   * a text to select at most: no detours. */
  g_assert_cmpuint (tabs, <=, buttons->len + 3);
}

/* A pixel as a 16-bit (RGB565) remote desktop shows it, as grey 0–255. */
static int
grey565 (const guchar *bgra)
{
  int b = (bgra[0] >> 3) << 3, g = (bgra[1] >> 2) << 2, r = (bgra[2] >> 3) << 3;

  return (r * 299 + g * 587 + b * 114) / 1000;
}

/* The focus ring around @button can be seen at 16-bit colour: most pixels of a
 * band just outside the button differ clearly from the window's background. */
static void
assert_focus_ring_visible (Fixture *f, GtkWidget *button)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  graphene_rect_t b;
  int width, height, stride, background, seen = 0, strong = 0;

  g_assert_true (gtk_widget_has_focus (button));
  g_assert_true (gtk_window_get_focus_visible (GTK_WINDOW (f->window)));
  g_assert_true (gtk_widget_compute_bounds (button, GTK_WIDGET (f->window), &b));
  texture = render_widget (GTK_WIDGET (f->window));
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  stride = width * 4;
  pixels = g_malloc ((gsize) stride * height);
  gdk_texture_download (texture, pixels, stride);
  /* The background: left of the buttons row, at the button's height. */
  background = grey565 (pixels + (int) (b.origin.y + b.size.height / 2) * stride + 8 * 4);

  for (int d = 2; d <= 4; d++)
    for (int x = (int) b.origin.x; x < (int) (b.origin.x + b.size.width); x += 3)
      for (int side = 0; side < 2; side++)
        {
          int y = side ? (int) (b.origin.y + b.size.height) + d - 1 : (int) b.origin.y - d;

          if (y < 0 || y >= height)
            continue;
          seen++;
          if (ABS (grey565 (pixels + y * stride + x * 4) - background) >= 90)
            strong++;
        }
  if (strong * 3 < seen)
    g_error ("the focus ring of “%s” cannot be seen at 16-bit colour (%d of %d pixels)",
             gtk_button_get_label (GTK_BUTTON (button)), strong, seen);
}

static void
test_keyboard_pages (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;

  make_demo (f, "3");
  open_wizard (f, FALSE);
  assert_page (f, "ready", NULL, "Updates are ready", "_Cancel | _Update Now");
  assert_keyboard (f);
  assert_focus_ring_visible (f, focused (f));

  /* Enter takes the blue button. */
  type_key (GDK_KEY_Return);
  g_assert_true (wait_until (settled, f));
  assert_page (f, "done", NULL, "The database is up to date", "Check _Again | _Close");
  assert_keyboard (f);
  gtk_window_destroy (GTK_WINDOW (f->window));
  settle_events (50);

  g_unlink (f->db);
  make_demo (f, "7");
  corrupt (f);
  before = mw_test_file_digest (f->db);
  open_wizard (f, FALSE);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  assert_keyboard (f);

  press_with_space (f, "Backup & Start _Fresh");
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "confirm-fresh");
  assert_keyboard (f);
  assert_focus_ring_visible (f, focused (f));
  g_assert_true (gtk_widget_grab_focus (button_labelled (f, "Backup & Start _Fresh")));
  assert_focus_ring_visible (f, focused (f));
  /* Enter never presses the destructive button, even when it has the focus. */
  g_assert_true (gtk_widget_grab_focus (button_labelled (f, "Backup & Start _Fresh")));
  type_key (GDK_KEY_Return);
  type_key (GDK_KEY_KP_Enter);
  g_assert_true (wait_until (settled, f));
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "confirm-fresh");
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
  /* Escape goes back to the choices. */
  type_key (GDK_KEY_Escape);
  g_assert_true (wait_until (settled, f));
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
}

static GtkWindow *
find_technician_window (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (MW_IS_TECHNICIAN_WINDOW (w))
        return w;
    }
  return NULL;
}

static GtkWidget *
find_widget_of_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_widget_of_type (c, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Every page the wizard can show, in the language the process speaks: each
 * problem from every state and every failure the engine's remedies describe, the
 * confirmations, the repair report, the ready and done pages and every tab of the
 * technician view; no two Alt+letters clash on any of them. */
static void
mnemonic_walk (Fixture *f)
{
  g_autofree char *out = NULL;
  g_autofree char *missing = g_build_filename (f->dir, "new_pos_system.db", NULL);
  g_autoptr(GPtrArray) backups = NULL;
  GtkWindow *tech;
  GtkNotebook *notebook = NULL;

  make_demo (f, "3");
  g_assert_cmpint (mw_test_spawn (&out, NULL, wizard_path, "backup", "--database", f->db,
                                  "--backup-dir", f->backups, "--migrations", f->migrations,
                                  NULL), ==, 0);
  backups = mw_backup_list (f->backups, NULL);
  open_wizard (f, FALSE);
  assert_no_mnemonic_clash (GTK_WIDGET (f->window), "ready");

  for (int state = 0; state < MW_N_STATES; state++)
    {
      g_autoptr(GError) error = g_error_new_literal (MW_ENGINE_ERROR,
                                                     MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND, "x");
      g_autoptr(MwDiagnosis) d = mw_diagnosis_new_for_error (f->db, error);
      g_autoptr(MwRemedy) remedy = NULL;
      g_autofree char *where = NULL;

      d->state = state;
      remedy = mw_remedy_for_diagnosis (d, mw_window_get_settings (f->window));
      if (g_str_equal (remedy->id, "ready") || g_str_equal (remedy->id, "up-to-date"))
        continue;
      _mw_window_show_remedy (f->window, remedy);
      settle_events (20);
      where = g_strdup_printf ("state %s", mw_state_to_string (state));
      assert_no_mnemonic_clash (GTK_WIDGET (f->window), where);
    }

  {
    const struct { MwOperation op; GQuark domain; int code; } failures[] = {
      { MW_OPERATION_MIGRATE, G_IO_ERROR, G_IO_ERROR_CANCELLED },
      { MW_OPERATION_MIGRATE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED },
      { MW_OPERATION_MIGRATE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE },
      { MW_OPERATION_MIGRATE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED },
      { MW_OPERATION_MIGRATE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT },
      { MW_OPERATION_MIGRATE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED },
      { MW_OPERATION_MIGRATE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED },
      { MW_OPERATION_RESTORE, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE },
      { MW_OPERATION_FRESH, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE },
      { MW_OPERATION_REPAIR, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT },
      { MW_OPERATION_REPAIR_SWAP, G_IO_ERROR, G_IO_ERROR_CANCELLED },
    };

    for (guint i = 0; i < G_N_ELEMENTS (failures); i++)
      {
        g_autoptr(GError) error = g_error_new_literal (failures[i].domain, failures[i].code,
                                                       "failed");
        g_autoptr(MwRemedy) remedy = mw_remedy_for_error (failures[i].op, error, NULL,
                                                          mw_window_get_diagnosis (f->window),
                                                          mw_window_get_settings (f->window));
        g_autofree char *where = g_strdup_printf ("failure %u (%s)", i, remedy->id);

        _mw_window_show_remedy (f->window, remedy);
        settle_events (20);
        assert_no_mnemonic_clash (GTK_WIDGET (f->window), where);
      }
  }

  /* The confirmations, from the technician's Restore and from Start Fresh. */
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.restore-backup", "s",
                              ((MwBackup *) g_ptr_array_index (backups, 0))->path);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "confirm-restore");
  press (f, button_label_for_action (f, "wizard.cancel"));
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.fresh", NULL);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "confirm-fresh");

  /* Every tab of the technician view. */
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.details", NULL);
  tech = find_technician_window ();
  g_assert_nonnull (tech);
  settle_events (100);
  notebook = GTK_NOTEBOOK (find_widget_of_type (GTK_WIDGET (tech), GTK_TYPE_NOTEBOOK));
  g_assert_nonnull (notebook);
  for (int page = 0; page < gtk_notebook_get_n_pages (notebook); page++)
    {
      g_autofree char *where = g_strdup_printf ("technician tab %d", page);

      gtk_notebook_set_current_page (notebook, page);
      settle_events (30);
      assert_no_mnemonic_clash (GTK_WIDGET (tech), where);
    }
  gtk_window_destroy (tech);

  /* The update, its Done page; then a database to create. */
  _mw_window_start_check (f->window);
  g_assert_true (wait_until (settled, f));
  press (f, button_label_for_action (f, "wizard.update"));
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  assert_no_mnemonic_clash (GTK_WIDGET (f->window), "done");
  gtk_window_destroy (GTK_WINDOW (f->window));
  settle_events (20);

  g_free (f->db);
  f->db = g_steal_pointer (&missing);
  open_wizard (f, FALSE);
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "ready");
  assert_no_mnemonic_clash (GTK_WIDGET (f->window), "ready (create)");
}

static void
test_mnemonics_every_page (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      mnemonic_walk (f);
      return;
    }
  mnemonic_walk (f);
  gtk_window_destroy (GTK_WINDOW (f->window));
  settle_events (50);
  /* Every shipped language. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("LANGUAGE", "de", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("LANGUAGE");
  g_unsetenv ("LC_ALL");
  g_test_trap_assert_passed ();
}

/* Damaged, with a verified backup from earlier today and sales since: Try Repair is
 * recommended (blue, Enter) with why; the backup is offered beside it with what it
 * costs, counted from the databases; the confirmation says it again. */
static void
test_corrupt_with_backup (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *advice = NULL;
  g_autofree char *damaged = NULL;
  GtkWidget *repair;

  make_demo (f, "7");
  g_assert_cmpint (mw_test_spawn (&out, NULL, wizard_path, "backup", "--reason", "pre-migration",
                                  "--database", f->db, "--backup-dir", f->backups,
                                  "--migrations", f->migrations, NULL), ==, 0);
  /* 134 sales after the backup. */
  mw_test_sql_exec (f->db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 134) INSERT INTO transactions (id, business_id, "
                           "receipt_number, subtotal_pence, vat_pence, total_pence, "
                           "payment_method, created_at) SELECT 'after-' || i, (SELECT "
                           "business_id FROM transactions LIMIT 1), 'R-' || i, 100, 20, 120, "
                           "'cash', (CAST(strftime('%s', 'now') AS integer) + 5) * 1000 FROM n");
  damage_sales_page (f);
  damaged = mw_test_file_digest (f->db);

  open_wizard (f, FALSE);
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Restore the _Backup from HH:MM today | "
               "Try _Repair");
  screenshot (f, "corrupt");
  repair = button_labelled (f, "Try _Repair");
  g_assert_true (gtk_widget_has_css_class (repair, "suggested-action"));
  g_assert_true (gtk_window_get_default_widget (GTK_WINDOW (f->window)) == repair);
  advice = g_strdup (mw_problem_page_get_advice (f->window->problem_page));
  mw_test_assert_contains (advice, "Recommended: Try Repair — ");
  mw_test_assert_contains (advice, "Loses the 134 sales made since ");
  mw_test_assert_contains (advice, "• Try Repair: Keeps every sale that can still be read");
  mw_test_assert_contains (advice, "• Backup & Start Fresh: Starts empty");

  press (f, button_label_for_action (f, "wizard.restore"));
  assert_page (f, "problem", "confirm-restore", "Restore from Backup?", "_Cancel | _Restore");
  mw_test_assert_contains (mw_problem_page_get_text (f->window->problem_page),
                           "Restoring loses the 134 sales made since ");
  screenshot (f, "confirm-restore");
  press (f, "_Cancel");
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, damaged);

  /* Try Repair's report in shop words: what is lost, and what of it the backup
   * still has, with the days. */
  press (f, "Try _Repair");
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "repair-report");
  mw_test_assert_contains (mw_problem_page_get_text (f->window->problem_page),
                           " sales could not be recovered.");
  mw_test_assert_contains (mw_problem_page_get_text (f->window->problem_page),
                           " of the lost sales, from ");
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, damaged);
}

static void
test_corrupt_fresh (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) after = NULL;
  g_autofree char *before = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *kept_digest = NULL;

  make_demo (f, "7");
  corrupt (f);
  before = mw_test_file_digest (f->db);
  open_wizard (f, FALSE);

  /* Confirmation first, saying what is kept; Cancel goes back to the choices. */
  press (f, "Backup & Start _Fresh");
  assert_page (f, "problem", "confirm-fresh", "Back Up and Start Fresh?",
               "_Cancel | Backup & Start _Fresh");
  screenshot (f, "confirm-fresh");
  press (f, "_Cancel");
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Try _Repair");
  g_assert_cmpuint (count_entries (f->dir, "pos_system.db.old.", NULL), ==, 0);

  press (f, "Backup & Start _Fresh");
  press (f, "Backup & Start _Fresh");
  assert_page (f, "done", NULL, "A new database was started", "Check _Again | _Close");
  g_assert_cmpint (exit_status (f), ==, 0);

  /* The damaged file is kept aside, byte for byte; the new one is fully migrated. */
  g_assert_cmpuint (count_entries (f->dir, "pos_system.db.old.", NULL), ==, 1);
  {
    g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL)
      if (g_str_has_prefix (name, "pos_system.db.old."))
        kept = g_build_filename (f->dir, name, NULL);
  }
  kept_digest = mw_test_file_digest (kept);
  g_assert_cmpstr (kept_digest, ==, before);
  after = diagnose (f);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM transactions"), ==, 0);

  press (f, "Check _Again");
  assert_page (f, "done", NULL, "The database is up to date", "Check _Again | _Close");
}

static void
test_hash_mismatch_restore (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *sales = NULL;
  g_autofree char *folder = g_build_filename (f->dir, "migrations", NULL);
  g_autofree char *copy_cmd = g_strdup_printf ("cp -r '%s/.' '%s/'", f->migrations, folder);
  g_autofree char *first = NULL;
  g_autoptr(MwDiagnosis) after = NULL;

  make_demo (f, "7");
  sales = mw_test_sql_text (f->db, "SELECT count(*) FROM transactions");
  g_assert_cmpint (mw_test_spawn (&out, NULL, wizard_path, "backup", "--reason", "pre-migration",
                                  "--database", f->db, "--backup-dir", f->backups,
                                  "--migrations", f->migrations, NULL), ==, 0);
  /* Sales after the backup, then the app's files changed under it. */
  mw_test_sql_exec (f->db, "DELETE FROM transaction_items; DELETE FROM transactions");
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "sh", "-c", copy_cmd, NULL), ==, 0);
  first = g_build_filename (folder, "0001_add_product_age_restriction.sql", NULL);
  if (!g_file_test (first, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GDir) d = g_dir_open (folder, 0, NULL);
      const char *name;

      g_clear_pointer (&first, g_free);
      while ((name = g_dir_read_name (d)) != NULL)
        if (g_str_has_prefix (name, "0001_") && g_str_has_suffix (name, ".sql"))
          first = g_build_filename (folder, name, NULL);
    }
  {
    g_autofree char *text = NULL;
    g_autofree char *changed = NULL;

    g_assert_true (g_file_get_contents (first, &text, NULL, NULL));
    changed = g_strconcat (text, "\n-- changed after release\n", NULL);
    g_assert_true (g_file_set_contents (first, changed, -1, NULL));
  }
  g_free (f->migrations);
  f->migrations = g_strdup (folder);

  open_wizard (f, FALSE);
  assert_page (f, "problem", "hash-mismatch", "Database Updates Changed",
               "_Cancel | Backup & Start _Fresh | Restore the _Backup from HH:MM today | "
               "Update and _Keep My Data");
  screenshot (f, "hash-mismatch");
  /* Only a comment changed: the tables prove the history, so keeping the data is
   * recommended, with why; restoring says what it would lose. */
  mw_test_assert_contains (mw_problem_page_get_advice (f->window->problem_page),
                           "Recommended: Update and Keep My Data — ");
  mw_test_assert_contains (mw_problem_page_get_advice (f->window->problem_page),
                           "No sales were made since ");

  press (f, button_label_for_action (f, "wizard.restore"));
  assert_page (f, "problem", "confirm-restore", "Restore from Backup?", "_Cancel | _Restore");
  press (f, "_Restore");
  /* Checked again by itself: the app's changed files still do not match the
   * restored history, and the page says so, with what was done above it. */
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "hash-mismatch");
  mw_test_assert_contains (mw_window_get_notice (f->window), "The backup was restored");
  g_assert_cmpint (exit_status (f), ==, 11);

  /* The backup's sales are back; the database as it was is kept aside. */
  g_assert_cmpstr (mw_test_sql_text (f->db, "SELECT count(*) FROM transactions"), ==, sales);
  g_assert_cmpuint (count_entries (f->dir, "pos_system.db.old.", NULL), ==, 1);
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), ==, 2);
  after = diagnose (f);
  g_assert_cmpint (after->state, ==, MW_STATE_HASH_MISMATCH);
}

static void
test_incompatible (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;

  /* Tables, but no history of updates. */
  mw_test_sql_exec (f->db, "CREATE TABLE products (id text PRIMARY KEY, name text);"
                           "INSERT INTO products VALUES ('p1', 'Tea')");
  before = mw_test_file_digest (f->db);
  open_wizard (f, FALSE);
  assert_page (f, "problem", "incompatible", "Incompatible Database Detected",
               "_Cancel | Backup & Start _Fresh | Update and _Keep My Data");
  screenshot (f, "incompatible");
  g_assert_cmpint (exit_status (f), ==, 13);
  press (f, "_Cancel");
  g_assert_true (wait_until (closed, f));
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
}

/* Keep data (issue 12): a shop whose tables are all there but whose record of the
 * updates is gone, and one whose next release regenerated its migrations. The page
 * offers Update and Keep My Data last (recommended) with its cost; pressing it
 * keeps every row and ends on the done page. */
static void
test_keep_my_data (Fixture *f, gconstpointer data)
{
  g_autofree char *sales = NULL;
  g_autofree char *counts = NULL;
  const char *regenerated = g_getenv ("MW_REGENERATED");
  g_autoptr(MwDiagnosis) after = NULL;

  make_demo (f, "4");
  mw_test_sql_exec (f->db, "DROP TABLE __drizzle_migrations");
  sales = mw_test_sql_text (f->db, "SELECT group_concat(id || ',' || total_pence) FROM "
                                   "(SELECT * FROM transactions ORDER BY id)");
  open_wizard (f, FALSE);
  assert_page (f, "problem", "incompatible", "Incompatible Database Detected",
               "_Cancel | Backup & Start _Fresh | Update and _Keep My Data");
  mw_test_assert_contains (mw_problem_page_get_advice (f->window->problem_page),
                           "Recommended: Update and Keep My Data");
  g_assert_true (gtk_window_get_default_widget (GTK_WINDOW (f->window)) ==
                 button_labelled (f, "Update and _Keep My Data"));
  screenshot (f, "keep-my-data");
  /* The technician sees why: the tables against the app's schema. */
  {
    GtkWindow *tech;
    g_autofree char *diagnostics = NULL;

    gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.details", NULL);
    tech = find_technician_window ();
    g_assert_nonnull (tech);
    diagnostics = mw_technician_window_dup_diagnostics (MW_TECHNICIAN_WINDOW (tech));
    mw_test_assert_contains (diagnostics, "Schema: The database's tables are exactly what the "
                                          "app's updates build up to 0003");
    {
      g_autofree char *schema = mw_technician_window_dup_schema_text (MW_TECHNICIAN_WINDOW (tech));

      mw_test_assert_contains (schema, "The database's tables are exactly what the app's "
                                       "updates build up to 0003");
    }
    gtk_window_destroy (tech);
  }
  press (f, "Update and _Keep My Data");
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  g_assert_cmpint (exit_status (f), ==, 0);
  after = diagnose (f);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpstr (mw_test_sql_text (f->db, "SELECT group_concat(id || ',' || total_pence) FROM "
                                            "(SELECT * FROM transactions ORDER BY id)"), ==, sales);
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), >=, 1);
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_pointer (&after, mw_diagnosis_unref);

  /* The next release regenerated its migrations: unknown history, every row carried. */
  g_assert_nonnull (regenerated);
  g_unlink (f->db);
  make_demo (f, "7");
  sales = (g_free (sales), mw_test_sql_text (f->db, "SELECT count(*) FROM transactions"));
  counts = mw_test_sql_text (f->db, "SELECT count(*) FROM products");
  g_free (f->migrations);
  f->migrations = g_strdup (regenerated);
  open_wizard (f, FALSE);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "incompatible");
  {
    g_autofree char *buttons = buttons_of (f);

    mw_test_assert_contains (buttons, "Update and _Keep My Data");
  }
  press (f, "Update and _Keep My Data");
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  after = diagnose (f);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpuint (count_entries (f->dir, "pos_system.db.", NULL), >=, 1);
  /* Every sale and product carried; the database as it was is kept aside. */
  g_assert_cmpstr (mw_test_sql_text (f->db, "SELECT count(*) FROM transactions"), ==, sales);
  g_assert_cmpstr (mw_test_sql_text (f->db, "SELECT count(*) FROM products"), ==, counts);
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_pointer (&after, mw_diagnosis_unref);

  /* An applied update's file changed by a comment only: Database Updates Changed, and
   * keeping the data re-stamps the record, every sale where it was. */
  {
    g_autofree char *folder = g_build_filename (f->dir, "changed migrations", NULL);
    g_autofree char *copy_cmd = g_strdup_printf ("cp -r '%s/.' '%s/'", g_getenv ("MW_MIGRATIONS"),
                                                 folder);
    g_autofree char *first = g_build_filename (folder, "0001_add_product_age_restriction.sql", NULL);
    g_autofree char *text = NULL;
    g_autofree char *changed = NULL;

    g_unlink (f->db);
    g_free (f->migrations);
    f->migrations = g_strdup (g_getenv ("MW_MIGRATIONS"));
    make_demo (f, "7");
    g_free (sales);
    sales = mw_test_sql_text (f->db, "SELECT count(*) FROM transactions");
    g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
    g_assert_cmpint (mw_test_spawn (NULL, NULL, "sh", "-c", copy_cmd, NULL), ==, 0);
    g_assert_true (g_file_get_contents (first, &text, NULL, NULL));
    changed = g_strconcat (text, "\n-- changed after release\n", NULL);
    g_assert_true (g_file_set_contents (first, changed, -1, NULL));
    g_free (f->migrations);
    f->migrations = g_strdup (folder);
    open_wizard (f, FALSE);
    g_assert_cmpstr (mw_window_get_problem (f->window), ==, "hash-mismatch");
    press (f, "Update and _Keep My Data");
    g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
    after = diagnose (f);
    g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
    g_assert_cmpstr (mw_test_sql_text (f->db, "SELECT count(*) FROM transactions"), ==, sales);
  }
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  mw_test_write_file (f->db, "This is a spreadsheet, not a database.\n");
  open_wizard (f, FALSE);
  assert_page (f, "problem", "incompatible", "Incompatible Database Detected",
               "_Cancel | Backup & Start _Fresh");
  g_assert_cmpint (exit_status (f), ==, 17);
}

static void
test_newer (Fixture *f, gconstpointer data)
{
  make_demo (f, "7");
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                           "VALUES ('feedface', 1900000000000)");
  open_wizard (f, FALSE);
  /* Nothing offered that could harm it: only Quit. */
  assert_page (f, "problem", "newer", "Cannot Open Database", "_Quit");
  screenshot (f, "newer");
  g_assert_cmpint (exit_status (f), ==, 10);
  press (f, "_Quit");
  g_assert_true (wait_until (closed, f));
}

static void
test_locked (Fixture *f, gconstpointer data)
{
  sqlite3 *holder;

  make_demo (f, "3");
  holder = mw_test_hold_write_lock (f->db, "UPDATE products SET name = name");
  open_wizard (f, FALSE);
  assert_page (f, "problem", "locked", "Database Locked", "_Cancel | _Try Again");
  screenshot (f, "locked");
  g_assert_cmpint (exit_status (f), ==, 14);

  /* The POS closes; Try Again finds the database free. */
  mw_test_release_lock (holder);
  press (f, "_Try Again");
  assert_page (f, "ready", NULL, "Updates are ready", "_Cancel | _Update Now");
}

static void
test_no_migrations (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;

  make_demo (f, "7");
  before = mw_test_file_digest (f->db);
  g_free (f->migrations);
  f->migrations = g_build_filename (f->dir, "no such folder", NULL);
  open_wizard (f, FALSE);
  /* A packaging fault: never "start fresh". */
  assert_page (f, "problem", "installation", "The App's Installation Is Incomplete", "_Quit");
  screenshot (f, "installation");
  /* The database's real size, though the check stopped before measuring it. */
  g_assert_null (strstr (mw_window_get_detail_text (f->window), "(0.0 MB)"));
  mw_test_assert_contains (mw_window_get_detail_text (f->window), " MB)");
  g_assert_cmpint (exit_status (f), ==, 19);
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
}

static void
test_migration_failed (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (f->dir, "migrations", NULL);
  g_autofree char *before = NULL;
  const MwTestMigration broken[] = {
    { "0000_init", 1700000000000, "CREATE TABLE items (id text PRIMARY KEY, name text);" },
    { "0001_more", 1700000100000, "ALTER TABLE items ADD COLUMN price integer;" },
    { "0002_bad", 1700000200000,
      "CREATE INDEX items_by_price ON items (price);\n--> statement-breakpoint\n"
      "INSERT INTO items (id, name) VALUES ('a', 'Coffee');" },
    { NULL }
  };

  mw_test_write_migrations (folder, broken);
  g_free (f->migrations);
  f->migrations = g_strdup (folder);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, wizard_path, "migrate", "--to", "0000_init",
                                  "--database", f->db, "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (f->db, "INSERT INTO items VALUES ('a', 'Tea')");
  before = mw_test_dump_database (f->db);

  open_wizard (f, FALSE);
  press (f, "_Update Now");
  assert_page (f, "problem", "migration-failed", "Database Migration Failed",
               "_Cancel | Backup & Start _Fresh | Restore the _Backup from HH:MM today");
  screenshot (f, "migration-failed");
  /* The details name the failing statement as the command line does: the second
   * (the window once said 3). */
  mw_test_assert_contains (mw_window_get_detail_text (f->window),
                           "Migration: 0002_bad, statement 2\n");
  /* Said once each: that nothing changed, and where the backup is (in the words, and
   * for technicians in the details) — not once per layer. */
  {
    const char *text = mw_window_get_problem_text (f->window);
    const char *detail = mw_window_get_detail_text (f->window);
    const char *first = strstr (text, "aurswift-backup-");

    g_assert_nonnull (first);
    g_assert_null (strstr (first + 1, "aurswift-backup-"));
    first = strstr (text, "not changed");
    g_assert_nonnull (first);
    g_assert_null (strstr (first + 1, "not changed"));
    /* The details give the backup's path once (the terminal's restore command
     * below names it by file name). */
    first = strstr (detail, G_DIR_SEPARATOR_S "aurswift-backup-");
    g_assert_nonnull (first);
    g_assert_null (strstr (first + 1, G_DIR_SEPARATOR_S "aurswift-backup-"));
    mw_test_assert_contains (detail, "migration-wizard restore 'aurswift-backup-");
  }

  /* The window's state, as properties a test (or an accessibility tool) reads. */
  {
    g_autofree char *page = NULL;
    g_autofree char *problem = NULL;
    gboolean busy = TRUE;
    MwDiagnosis *d = NULL;

    g_object_get (f->window, "page", &page, "problem", &problem, "busy", &busy,
                  "diagnosis", &d, NULL);
    g_assert_cmpstr (page, ==, "problem");
    g_assert_cmpstr (problem, ==, "migration-failed");
    g_assert_false (busy);
    g_assert_nonnull (d);
    g_assert_cmpint (d->state, ==, MW_STATE_PENDING);
    mw_diagnosis_unref (d);
  }
  g_assert_cmpint (exit_status (f), ==, 21);
  g_assert_cmpstr (mw_test_dump_database (f->db), ==, before);

  /* Cancel always stops and leaves everything as it was. */
  press (f, "_Cancel");
  g_assert_true (wait_until (closed, f));
  g_assert_cmpstr (mw_test_dump_database (f->db), ==, before);
}

static gboolean
working (Fixture *f)
{
  return g_str_equal (mw_window_get_page (f->window), "working") &&
         g_str_has_prefix (mw_window_get_phase_text (f->window), "Applying update 1 of 1: 0001_slow");
}

static void
test_cancel_update (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (f->dir, "migrations", NULL);
  g_autofree char *before = NULL;
  g_autoptr(GPtrArray) buttons = NULL;
  const MwTestMigration slow[] = {
    { "0000_init", 1700000000000, "CREATE TABLE items (id text PRIMARY KEY, name text);" },
    { "0001_slow", 1700000100000,
      "CREATE TABLE tally AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
      "WHERE x < 2000000000) SELECT count(*) AS n FROM c;" },
    { NULL }
  };

  mw_test_write_migrations (folder, slow);
  g_free (f->migrations);
  f->migrations = g_strdup (folder);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, wizard_path, "migrate", "--to", "0000_init",
                                  "--database", f->db, "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (f->db, "INSERT INTO items VALUES ('a', 'keep me')");
  before = mw_test_dump_database (f->db);

  open_wizard (f, FALSE);
  buttons = mw_window_list_buttons (f->window);
  g_signal_emit_by_name (g_ptr_array_index (buttons, 1), "clicked");   /* Update Now */
  g_assert_true (wait_until (working, f));
  assert_page (f, "working", NULL, "Updating the database", "_Cancel");
  /* Backed up, now applying, then checking. */
  g_assert_cmpstr (mw_window_get_step_text (f->window), ==, "Step 2 of 3");
  screenshot (f, "working");

  press (f, "_Cancel");
  assert_page (f, "problem", "cancelled", "Update Cancelled", "_Close | _Try Again");
  g_assert_cmpint (exit_status (f), ==, 23);
  g_assert_cmpstr (mw_test_dump_database (f->db), ==, before);
}

/* A real small disk: an 8 MB tmpfs, mounted in this test's private mount namespace
 * (main() re-runs the test program under unshare -m when it can). */
static void
test_no_space (Fixture *f, gconstpointer data)
{
  g_autofree char *small = g_build_filename (f->dir, "small disk", NULL);
  g_autofree char *source = g_strdup (f->db);
  g_autofree char *before = NULL;

  if (g_getenv ("MW_GUI_PRIVATE_MOUNTS") == NULL)
    {
      g_test_skip ("needs root and unshare(1) to mount a small disk");
      return;
    }
  /* A shop database without its months of sales (the demo's are bigger than the disk). */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MwMigrationSet) set = mw_migration_set_load (f->migrations, &error);
    g_autoptr(MwMigrator) migrator = NULL;

    g_assert_no_error (error);
    migrator = mw_migrator_new (f->db, set);
    mw_migrator_set_target (migrator, mw_migration_set_get_migration (set, 2)->tag);
    mw_migrator_set_backup (migrator, FALSE, NULL);
    g_assert_true (mw_migrator_run (migrator, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (g_mkdir_with_parents (small, 0755), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                                  small, NULL), ==, 0);
  g_free (f->db);
  f->db = g_build_filename (small, "pos_system.db", NULL);
  g_free (f->backups);
  f->backups = g_build_filename (small, "backups", NULL);
  g_assert_true (g_rename (source, f->db) == 0 ||
                 mw_test_spawn (NULL, NULL, "mv", source, f->db, NULL) == 0);
  before = mw_test_file_digest (f->db);

  open_wizard (f, FALSE);
  assert_page (f, "problem", "no-space", "Not Enough Disk Space", "_Quit | _Try Again");
  screenshot (f, "no-space");
  g_assert_cmpint (exit_status (f), ==, 15);
  press (f, "_Try Again");
  assert_page (f, "problem", "no-space", "Not Enough Disk Space", "_Quit | _Try Again");
  press (f, "_Quit");
  g_assert_true (wait_until (closed, f));
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
  mw_test_spawn (NULL, NULL, "umount", small, NULL);
}

static void
test_interrupted_operation_reported (Fixture *f, gconstpointer data)
{
  g_autofree char *tmp = NULL;
  g_autofree char *journal = NULL;
  g_autofree char *text = NULL;
  g_autofree char *before = NULL;

  make_demo (f, "3");
  before = mw_test_file_digest (f->db);
  /* A restore that a power cut interrupted while it was still copying. */
  tmp = g_strconcat (f->db, ".mw-restore", NULL);
  journal = mw_operation_journal_path (f->db);
  mw_test_write_file (tmp, "half a copy");
  text = g_strdup_printf ("{\"operation\":\"restore\",\"step\":\"copying\",\"tmp\":\"%s\","
                          "\"aside\":\"%s.old.20250101-000000\",\"started\":\"x\"}", tmp, f->db);
  mw_test_write_file (journal, text);

  open_wizard (f, FALSE);
  /* Undone before anything else, and said on the page, not only in a log. */
  g_assert_nonnull (mw_window_get_notice (f->window));
  mw_test_assert_contains (mw_window_get_notice (f->window), "undone");
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
  assert_page (f, "ready", NULL, "Updates are ready", "_Cancel | _Update Now");
  screenshot (f, "recovered");
}

/* The German translation in the window: pages, buttons with their mnemonics, and
 * the .ui templates' own strings. In a subprocess, so the language is set before
 * GTK and gettext first look at it. */
static void
test_german (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      make_demo (f, "7");
      corrupt (f);
      open_wizard (f, FALSE);
      assert_page (f, "problem", "corrupt", "Beschädigte Datenbank erkannt",
                   "_Abbrechen | Sichern und _neu beginnen | _Reparatur versuchen");
      g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (f->window)), ==,
                       "Beschädigte Datenbank erkannt");
      screenshot (f, "corrupt-de");
      return;
    }
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("LANGUAGE", "de", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("LANGUAGE");
  g_unsetenv ("LC_ALL");
  g_test_trap_assert_passed ();
}

/* A backups folder that cannot be written (a read-only mount): said before Update
 * Now is offered, naming the folder. A database folder that cannot be written:
 * titled for what it is, Try Again and Quit; nothing changed. */
static void
test_read_only (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *ro_backups = g_build_filename (f->dir, "read-only backups", NULL);

  if (g_getenv ("MW_GUI_PRIVATE_MOUNTS") == NULL)
    {
      g_test_skip ("needs root and unshare(1) to mount a read-only folder");
      return;
    }
  make_demo (f, "3");
  before = mw_test_file_digest (f->db);

  /* The backups folder read-only: Update Now stops at the backup. */
  g_assert_cmpint (g_mkdir_with_parents (ro_backups, 0755), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "mount", "--bind", ro_backups, ro_backups, NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "mount", "-o", "remount,ro,bind", ro_backups,
                                  ro_backups, NULL), ==, 0);
  g_free (f->backups);
  f->backups = g_strdup (ro_backups);
  open_wizard (f, FALSE);
  /* Said before Update Now is offered, naming the folder. */
  assert_page (f, "problem", "backup-folder", "The Backups Folder Cannot Be Written",
               "_Quit | _Try Again");
  mw_test_assert_contains (mw_problem_page_get_text (f->window->problem_page), ro_backups);
  screenshot (f, "backup-folder");
  g_assert_cmpint (exit_status (f), ==, 24);
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
  gtk_window_destroy (GTK_WINDOW (f->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  mw_test_spawn (NULL, NULL, "umount", ro_backups, NULL);

  /* The database's own folder read-only. */
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "mount", "--bind", f->dir, f->dir, NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "mount", "-o", "remount,ro,bind", f->dir, f->dir,
                                  NULL), ==, 0);
  open_wizard (f, FALSE);
  /* The file reads; only its folder cannot be written: titled for what it is. */
  assert_page (f, "problem", "unreadable", "The Database Folder Cannot Be Written",
               "_Quit | _Try Again");
  screenshot (f, "unreadable");
  g_assert_cmpint (exit_status (f), ==, 18);
  press (f, "_Quit");
  g_assert_true (wait_until (closed, f));
  mw_test_spawn (NULL, NULL, "umount", f->dir, NULL);
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
}

static void
collect_labelled (GtkWidget *widget, const char *label, GPtrArray *found)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      if (GTK_IS_BUTTON (c) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (c)), label) == 0)
        g_ptr_array_add (found, c);
      collect_labelled (c, label, found);
    }
}

static void
collect_label_texts (GtkWidget *widget, const char *part, GPtrArray *found)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      if (GTK_IS_LABEL (c) && strstr (gtk_label_get_text (GTK_LABEL (c)), part) != NULL)
        g_ptr_array_add (found, c);
      collect_label_texts (c, part, found);
    }
}

static void
clipboard_read_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
test_technician (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *text = NULL;
  g_autofree char *bundle = g_build_filename (f->dir, "support bundle.json", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) restore_buttons = g_ptr_array_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  GtkWindow *tech;
  JsonObject *root;

  make_demo (f, "3");
  g_assert_cmpint (mw_test_spawn (&out, NULL, wizard_path, "backup", "--database", f->db,
                                  "--backup-dir", f->backups, "--migrations", f->migrations,
                                  NULL), ==, 0);
  open_wizard (f, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.details", NULL);
  tech = find_technician_window ();
  g_assert_nonnull (tech);
  screenshot_window (GTK_WIDGET (tech), "technician");

  /* Diagnostics: state, every migration with its status, the database's facts. */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (10000);
  text = mw_technician_window_dup_diagnostics (MW_TECHNICIAN_WINDOW (tech));
  g_assert_nonnull (strstr (text, "State: pending"));
  g_assert_nonnull (strstr (text, "0000_initial_schema"));
  g_assert_nonnull (strstr (text, " applied"));
  g_assert_nonnull (strstr (text, " pending"));
  g_assert_nonnull (strstr (text, "Journal mode: delete"));

  /* Copy Diagnostics puts that text on the clipboard. */
  gtk_widget_activate_action (GTK_WIDGET (tech), "technician.copy", NULL);
  {
    GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (tech));
    g_autoptr(GAsyncResult) read = NULL;
    g_autofree char *pasted = NULL;

    gdk_clipboard_read_text_async (clipboard, NULL, clipboard_read_cb, &read);
    while (read == NULL)
      g_main_context_iteration (NULL, TRUE);
    pasted = gdk_clipboard_read_text_finish (clipboard, read, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (pasted, ==, text);
  }

  /* The full integrity check, on demand, with its result in words. */
  gtk_widget_activate_action (GTK_WIDGET (tech), "technician.integrity", NULL);
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while (*mw_technician_window_get_integrity_result (MW_TECHNICIAN_WINDOW (tech)) == '\0' &&
           g_get_monotonic_time () < deadline)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5000);
  }
  mw_test_assert_contains (mw_technician_window_get_integrity_result (MW_TECHNICIAN_WINDOW (tech)),
                           "Every page and index is sound");

  /* Save Support Bundle asks where, proposing a dated name in the backups folder;
   * cancelled, it writes nothing. */
  {
    GtkWidget *chooser = NULL;
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    gtk_widget_activate_action (GTK_WIDGET (tech), "technician.save", NULL);
    while (chooser == NULL && g_get_monotonic_time () < deadline)
      {
        GListModel *toplevels = gtk_window_get_toplevels ();

        for (guint i = 0; chooser == NULL && i < g_list_model_get_n_items (toplevels); i++)
          {
            g_autoptr(GtkWidget) w = g_list_model_get_item (toplevels, i);

            if (GTK_IS_FILE_CHOOSER (w) &&
                g_strcmp0 (gtk_window_get_title (GTK_WINDOW (w)), "Save Support Bundle") == 0)
              chooser = w;
          }
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (5000);
      }
    g_assert_nonnull (chooser);
    {
      g_autofree char *name = gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser));

      g_assert_true (g_str_has_prefix (name, "migration-wizard-support-"));
      g_assert_true (g_str_has_suffix (name, ".json"));
    }
    screenshot_window (chooser, "technician-save-bundle");
    gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_CANCEL);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_false (g_file_test (bundle, G_FILE_TEST_EXISTS));
  }

  /* The support bundle: one JSON file, secrets in the log redacted. */
  mw_log_add ("Failed statement: UPDATE users SET password_hash = "
              "'$2b$10$abcdefghijklmnopqrstuuZ8WfQ1mYpQmX0Yd1nE8sQxQy2mZ3a4b' WHERE id = 1; "
              "licence key ABCDE-12345-FGHIJ-67890");
  g_assert_true (mw_technician_window_save_bundle (MW_TECHNICIAN_WINDOW (tech), bundle, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (bundle, &contents, NULL, NULL));
  g_assert_null (strstr (contents, "$2b$10$"));
  g_assert_null (strstr (contents, "ABCDE-12345"));
  g_assert_nonnull (strstr (contents, "[redacted]"));
  g_assert_true (json_parser_load_from_data (parser, contents, -1, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "diagnosis"),
                                                  "state"), ==, "pending");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "backups")), ==, 1);

  /* The toolkit. Back Up Now: a second, verified backup. */
  gtk_widget_activate_action (GTK_WIDGET (tech), "technician.backup-now", NULL);
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while (!g_str_has_prefix (mw_technician_window_get_status (MW_TECHNICIAN_WINDOW (tech)),
                              "Backup made and verified") && g_get_monotonic_time () < deadline)
      settle_events (20);
  }
  mw_test_assert_contains (mw_technician_window_get_status (MW_TECHNICIAN_WINDOW (tech)),
                           "Backup made and verified");
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), ==, 2);
  {
    g_autoptr(GPtrArray) list = mw_backup_list (f->backups, NULL);
    MwBackup *newest = g_ptr_array_index (list, 0);
    MwBackup *older = g_ptr_array_index (list, 1);
    g_autofree char *older_path = g_strdup (older->path);

    /* Verify: size, SHA-256 and quick_check. */
    gtk_widget_activate_action (GTK_WIDGET (tech), "technician.verify-backup", "s", older->path);
    mw_test_assert_contains (mw_technician_window_get_status (MW_TECHNICIAN_WINDOW (tech)),
                             "is sound");
    /* Delete: never the newest verified one; the older one goes, with its sidecar. */
    g_assert_false (mw_technician_window_delete_backup (MW_TECHNICIAN_WINDOW (tech),
                                                        newest->path, NULL));
    g_assert_true (g_file_test (newest->path, G_FILE_TEST_EXISTS));
    g_assert_true (mw_technician_window_delete_backup (MW_TECHNICIAN_WINDOW (tech), older_path,
                                                       &error));
    g_assert_no_error (error);
    g_assert_false (g_file_test (older_path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), ==, 1);
  }
  /* Each backup says its command line; the kept-aside sets are listed. */
  {
    g_autofree char *aside = g_strconcat (f->db, ".old.20250101-000000", NULL);
    g_autoptr(GPtrArray) found = g_ptr_array_new ();
    GtkWidget *sql_window = NULL;

    {
      g_autofree char *bytes = NULL;
      gsize len = 0;

      /* A database kept aside earlier (a copy of the shop's). */
      g_assert_true (g_file_get_contents (f->db, &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (aside, bytes, len, NULL));
    }
    mw_technician_window_refresh (MW_TECHNICIAN_WINDOW (tech));
    collect_label_texts (GTK_WIDGET (tech), "migration-wizard restore ", found);
    g_assert_cmpuint (found->len, >=, 1);
    g_ptr_array_set_size (found, 0);
    collect_label_texts (GTK_WIDGET (tech), "pos_system.db.old.20250101-000000", found);
    g_assert_cmpuint (found->len, ==, 1);
    /* A migration's SQL, with its hash. */
    gtk_widget_activate_action (GTK_WIDGET (tech), "technician.show-sql", "u", 0);
    {
      GListModel *toplevels = gtk_window_get_toplevels ();

      for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
        {
          g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

          if (g_str_has_prefix (gtk_window_get_title (w) ? gtk_window_get_title (w) : "",
                                "0000_initial_schema (SHA-256 "))
            sql_window = GTK_WIDGET (w);
        }
    }
    g_assert_nonnull (sql_window);
    gtk_window_destroy (GTK_WINDOW (sql_window));
    /* A kept set is backed up (verified) so that Restore… can put it back. */
    gtk_widget_activate_action (GTK_WIDGET (tech), "technician.backup-aside", "s", aside);
    {
      gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

      while (!g_str_has_prefix (mw_technician_window_get_status (MW_TECHNICIAN_WINDOW (tech)),
                                "Backup made and verified") && g_get_monotonic_time () < deadline)
        settle_events (20);
    }
    g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), ==, 2);
    {
      g_autoptr(GPtrArray) list = mw_backup_list (f->backups, NULL);

      g_assert_cmpstr (((MwBackup *) g_ptr_array_index (list, 0))->source, ==, aside);
      g_assert_true (((MwBackup *) g_ptr_array_index (list, 0))->verified);
    }
    gtk_notebook_set_current_page (GTK_NOTEBOOK (find_widget_of_type (GTK_WIDGET (tech),
                                                                      GTK_TYPE_NOTEBOOK)), 1);
    screenshot_window (GTK_WIDGET (tech), "technician-backups");
    gtk_notebook_set_current_page (GTK_NOTEBOOK (find_widget_of_type (GTK_WIDGET (tech),
                                                                      GTK_TYPE_NOTEBOOK)), 0);
    g_unlink (aside);
  }

  /* Each backup has a Restore button that goes through the wizard's confirmation. */
  collect_labelled (GTK_WIDGET (tech), "Restore…", restore_buttons);
  g_assert_cmpuint (restore_buttons->len, ==, 2);
  g_signal_emit_by_name (g_ptr_array_index (restore_buttons, 0), "clicked");
  g_assert_true (wait_until (settled, f));
  assert_page (f, "problem", "confirm-restore", "Restore from Backup?", "_Cancel | _Restore");
  press (f, "_Cancel");
  assert_page (f, "ready", NULL, "Updates are ready", "_Cancel | _Update Now");
}

/* The full integrity check names what SQLite found, page and table (not only "disk
 * image is malformed"). */
static void
test_technician_findings (Fixture *f, gconstpointer data)
{
  GtkWindow *tech;
  const char *result;
  gint64 deadline;

  make_demo (f, "7");
  damage_sales_page (f);
  open_wizard (f, FALSE);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.details", NULL);
  tech = find_technician_window ();
  g_assert_nonnull (tech);
  gtk_widget_activate_action (GTK_WIDGET (tech), "technician.integrity", NULL);
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (*mw_technician_window_get_integrity_result (MW_TECHNICIAN_WINDOW (tech)) == '\0' &&
         g_get_monotonic_time () < deadline)
    settle_events (10);
  result = mw_technician_window_get_integrity_result (MW_TECHNICIAN_WINDOW (tech));
  mw_test_assert_contains (result, "Page ");
  mw_test_assert_contains (result, "(table transactions)");
  gtk_window_destroy (tech);
}

static void
waited_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* The real program, as a launcher starts it after an update. Returns its exit
 * status, or -1 when it was still running (a window waiting for a person) after
 * @seconds and had to be stopped. */
static int
run_after_update (Fixture *f, const char *marker, guint seconds)
{
  g_autofree char *then = g_strdup_printf ("touch '%s'", marker);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  gboolean done = FALSE;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, wizard_path, "--after-update",
                           "--then-run", then, "--database", f->db, "--migrations",
                           f->migrations, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (proc, NULL, waited_cb, &done);
  while (!done && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10000);
  if (!done)
    {
      g_subprocess_force_exit (proc);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
      return -1;
    }
  g_assert_true (g_subprocess_get_if_exited (proc));
  return g_subprocess_get_exit_status (proc);
}

static void
test_after_update (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "pos started", NULL);
  g_autoptr(MwDiagnosis) after = NULL;
  g_autofree char *before = NULL;

  /* Up to date: no window, exit 0 at once, then the POS. */
  make_demo (f, "7");
  g_assert_cmpint (run_after_update (f, marker, 60), ==, 0);
  for (int i = 0; i < 100 && !g_file_test (marker, G_FILE_TEST_EXISTS); i++)
    g_usleep (20000);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", NULL), ==, 0);

  /* Updates to apply: applied with a backup, the window closes itself, the POS starts. */
  g_unlink (marker);
  g_unlink (f->db);
  make_demo (f, "3");
  g_assert_cmpint (run_after_update (f, marker, 60), ==, 0);
  for (int i = 0; i < 100 && !g_file_test (marker, G_FILE_TEST_EXISTS); i++)
    g_usleep (20000);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  after = diagnose (f);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpuint (count_entries (f->backups, "aurswift-backup-", ".db"), ==, 1);

  /* A problem: the window stays open for a person; the POS is not started. */
  g_unlink (marker);
  corrupt (f);
  before = mw_test_file_digest (f->db);
  g_assert_cmpint (run_after_update (f, marker, 4), ==, -1);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);
}

static gboolean
marker_exists (const char *marker)
{
  for (int i = 0; i < 200 && !g_file_test (marker, G_FILE_TEST_EXISTS); i++)
    settle_events (10);
  return g_file_test (marker, G_FILE_TEST_EXISTS);
}

/* After an update, a damaged database, a person repairs it: the wizard checks the
 * repaired database by itself and, whichever button then ends it, the POS starts.
 * The same after Backup & Start Fresh. */
static void
test_after_update_repair_starts_pos (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "pos started", NULL);

  f->then_run = g_strdup_printf ("touch '%s'", marker);
  /* Updates to apply, and a damaged sales page the update's backup finds. */
  make_demo (f, "3");
  damage_sales_page (f);
  open_wizard (f, TRUE);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  press (f, button_label_for_action (f, "wizard.repair"));
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "repair-report");
  press (f, button_label_for_action (f, "wizard.use-repaired"));
  /* Checked again by itself, updated by itself (the updates were due), and it says
   * what was done. */
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  g_assert_cmpint (diagnose (f)->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpstr (mw_window_get_title_text (f->window), ==, "The repaired database is in use");
  g_assert_true (gtk_window_get_default_widget (GTK_WINDOW (f->window)) ==
                 button_labelled (f, "_Close"));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpint (exit_status (f), ==, 0);
  /* Check Again, then Close: the POS starts. */
  press (f, "Check _Again");
  assert_page (f, "done", NULL, "The database is up to date", "Check _Again | _Close");
  press (f, "_Close");
  g_assert_true (wait_until (closed, f));
  g_assert_true (marker_exists (marker));

  /* Backup & Start Fresh ends with the database ready too; the window's close button. */
  g_unlink (marker);
  g_unlink (f->db);
  make_demo (f, "7");
  corrupt (f);
  open_wizard (f, TRUE);
  press (f, button_label_for_action (f, "wizard.fresh"));
  press (f, button_label_for_action (f, "wizard.confirm"));
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  g_assert_cmpstr (mw_window_get_title_text (f->window), ==, "A new database was started");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  gtk_window_close (GTK_WINDOW (f->window));
  g_assert_true (wait_until (closed, f));
  g_assert_true (marker_exists (marker));

  /* Cancel on a problem: the POS does not start. */
  g_unlink (marker);
  corrupt (f);
  open_wizard (f, TRUE);
  press (f, "_Cancel");
  g_assert_true (wait_until (closed, f));
  settle_events (200);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

/* Every run leaves its lines in the log beside the backups, after-update runs nobody
 * watched included; the Log page shows that history and exports it. */
static void
test_persistent_log (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "pos started", NULL);
  g_autofree char *log_path = g_build_filename (f->backups, "migration-wizard.log", NULL);
  g_autofree char *exported = g_build_filename (f->dir, "exported log.txt", NULL);
  g_autofree char *log = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *written = NULL;
  g_autoptr(GError) error = NULL;
  GtkWindow *tech;

  make_demo (f, "7");
  g_assert_cmpint (g_mkdir_with_parents (f->backups, 0700), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, wizard_path, "status", "--database", f->db,
                                  "--migrations", f->migrations, NULL), ==, 0);
  g_assert_cmpint (run_after_update (f, marker, 60), ==, 0);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  mw_test_assert_contains (log, ": status, database ");
  mw_test_assert_contains (log, ": window after an update, database ");
  mw_test_assert_contains (log, "Ended with exit status 0");

  open_wizard (f, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "wizard.details", NULL);
  tech = find_technician_window ();
  g_assert_nonnull (tech);
  shown = mw_technician_window_dup_log_text (MW_TECHNICIAN_WINDOW (tech));
  mw_test_assert_contains (shown, ": status, database ");
  mw_test_assert_contains (shown, ": window after an update, database ");
  /* This window's own lines are there too. */
  mw_test_assert_contains (shown, "Diagnosis: up-to-date");
  g_assert_true (mw_technician_window_export_log (MW_TECHNICIAN_WINDOW (tech), exported, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (exported, &written, NULL, NULL));
  mw_test_assert_contains (written, ": window after an update, database ");
  gtk_notebook_set_current_page (GTK_NOTEBOOK (find_widget_of_type (GTK_WIDGET (tech),
                                                                    GTK_TYPE_NOTEBOOK)), 3);
  screenshot_window (GTK_WIDGET (tech), "technician-log");
  gtk_window_destroy (tech);
}

/* The app's real places: with no --database the program finds the database where
 * AurSwift keeps it (here the older versions' nested userData/aurswift/), and the
 * window says which place it was. */
static void
test_database_found_where_the_app_keeps_it (Fixture *f, gconstpointer data)
{
  g_autofree char *config = g_build_filename (f->dir, "config", NULL);
  g_autofree char *nested = g_build_filename (config, "aurswift", "aurswift", NULL);
  g_autofree char *found_db = g_build_filename (nested, "pos_system.db", NULL);
  g_autofree char *out = NULL;
  g_autofree char *checks = NULL;
  g_auto(GStrv) env = g_get_environ ();

  make_demo (f, "3");
  g_assert_cmpint (g_mkdir_with_parents (nested, 0755), ==, 0);
  g_assert_cmpint (g_rename (f->db, found_db), ==, 0);
  env = g_environ_setenv (env, "XDG_CONFIG_HOME", config, TRUE);
  env = g_environ_unsetenv (env, "POS_DB_PATH");
  {
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_autoptr(GError) error = NULL;

    g_subprocess_launcher_set_environ (launcher, env);
    proc = g_subprocess_launcher_spawn (launcher, &error, wizard_path, "status", "--migrations",
                                        f->migrations, NULL);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error));
    /* Found (3: updates to apply), not "no database yet" (4). */
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 3);
  }

  g_free (f->db);
  f->db = g_strdup (found_db);
  g_free (f->backups);
  f->backups = g_build_filename (nested, "backups", NULL);
  f->source = MW_DATABASE_SOURCE_NESTED_USER_DATA;
  open_wizard (f, FALSE);
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "ready");
  checks = mw_check_list_dup_text (f->window->ready_checks);
  mw_test_assert_contains (checks, "found in the older versions' nested data folder");
}

/* Keyboard only, as over a remote desktop: after an update, a damaged database;
 * Enter takes the recommended Try Repair, Alt+U uses the repaired database, the
 * wizard checks and updates by itself, Enter closes, the POS starts. Then after an
 * update the database is in use: Enter tries again once it is free, the update
 * runs, Enter closes, the POS starts. */
static void
test_keyboard_only_recovery (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "pos started", NULL);
  sqlite3 *holder;

  f->then_run = g_strdup_printf ("touch '%s'", marker);
  make_demo (f, "3");
  damage_sales_page (f);
  open_wizard (f, TRUE);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "corrupt");
  focus_window (GTK_WINDOW (f->window));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (focused (f))), ==, "Try _Repair");
  type_key (GDK_KEY_Return);
  g_assert_true (wait_until (settled, f));
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "repair-report");
  type_key_full (GDK_KEY_u, TRUE, FALSE);
  /* A keyboard activation presses the button a moment later (GTK shows it pressed). */
  settle_events (400);
  g_assert_true (wait_until (settled, f));
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  g_assert_cmpint (diagnose (f)->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  focus_window (GTK_WINDOW (f->window));
  type_key (GDK_KEY_Return);
  g_assert_true (wait_until (closed, f));
  g_assert_true (marker_exists (marker));

  g_unlink (marker);
  g_unlink (f->db);
  make_demo (f, "3");
  holder = mw_test_hold_write_lock (f->db, "UPDATE products SET name = name");
  open_wizard (f, TRUE);
  g_assert_cmpstr (mw_window_get_problem (f->window), ==, "locked");
  mw_test_release_lock (holder);
  focus_window (GTK_WINDOW (f->window));
  type_key (GDK_KEY_Return);
  g_assert_true (wait_until (settled, f));
  g_assert_cmpstr (mw_window_get_page (f->window), ==, "done");
  g_assert_cmpint (diagnose (f)->state, ==, MW_STATE_UP_TO_DATE);
  focus_window (GTK_WINDOW (f->window));
  type_key (GDK_KEY_Return);
  g_assert_true (wait_until (closed, f));
  g_assert_true (marker_exists (marker));
}

static void
test_after_update_in_process (Fixture *f, gconstpointer data)
{
  /* In after-update mode a problem is shown, never skipped. */
  make_demo (f, "7");
  corrupt (f);
  open_wizard (f, TRUE);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->window)));
  assert_page (f, "problem", "corrupt", "Database Corruption Detected",
               "_Cancel | Backup & Start _Fresh | Try _Repair");
}

static void
test_second_wizard_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *lock_path = g_strconcat (f->db, ".mw-lock", NULL);
  g_autofree char *script = g_strdup_printf (
    "import fcntl, sys, time\n"
    "f = open(sys.argv[1], 'a')\n"
    "fcntl.lockf(f, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "time.sleep(120)\n");
  g_autoptr(GSubprocess) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *before = NULL;

  make_demo (f, "3");
  before = mw_test_file_digest (f->db);
  /* Another wizard (a process of its own) holds the database's instance lock. */
  other = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "python3", "-c", script,
                            lock_path, NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (other));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_cmpstr (line, ==, "held");

  open_wizard (f, FALSE);
  assert_page (f, "problem", "already-running",
               "Migration Wizard Is Already Working on This Database", "_Quit | _Try Again");
  g_assert_cmpint (exit_status (f), ==, 14);
  /* The other one finishes: Try Again goes on. */
  g_subprocess_force_exit (other);
  g_subprocess_wait (other, NULL, NULL);
  press (f, "_Try Again");
  assert_page (f, "ready", NULL, "Updates are ready", "_Cancel | _Update Now");
  g_assert_cmpstr (mw_test_file_digest (f->db), ==, before);

  /* An idle window does not hold the lock: a technician's terminal can work. */
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "python3", "-c",
                                  "import fcntl, sys\n"
                                  "f = open(sys.argv[1], 'a')\n"
                                  "fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n",
                                  lock_path, NULL), ==, 0);
}

static gboolean
log_mentions (const char *path, const char *text)
{
  g_autofree char *log = NULL;

  return g_file_get_contents (path, &log, NULL, NULL) && strstr (log, text) != NULL;
}

/* A second launch on the same database brings the open window forward (one
 * application per database) instead of a second wizard. */
static void
test_second_launch_brings_window_forward (Fixture *f, gconstpointer data)
{
  g_autofree char *log_path = g_build_filename (f->backups, "migration-wizard.log", NULL);
  g_autoptr(GSubprocess) first = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;
  int status;

  make_demo (f, "3");
  g_assert_cmpint (g_mkdir_with_parents (f->backups, 0700), ==, 0);
  first = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, wizard_path, "--database", f->db,
                            "--migrations", f->migrations, NULL);
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!log_mentions (log_path, "Diagnosis: pending") && g_get_monotonic_time () < deadline)
    settle_events (50);
  g_assert_true (log_mentions (log_path, "Diagnosis: pending"));

  status = mw_test_spawn (NULL, NULL, wizard_path, "--database", f->db, "--migrations",
                          f->migrations, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (log_mentions (log_path, "the open window is brought forward"));
  /* The first is still there, waiting for a person. */
  settle_events (200);
  g_assert_null (g_subprocess_get_identifier (first) == NULL ? "exited" : NULL);
  g_subprocess_force_exit (first);
  g_subprocess_wait (first, NULL, NULL);
}

int
main (int argc, char **argv)
{
  /* As root, run in a private mount namespace, so a test can mount a small disk
   * without touching the machine's mounts. */
  if (g_getenv ("MW_GUI_PRIVATE_MOUNTS") == NULL && geteuid () == 0 &&
      g_find_program_in_path ("unshare") != NULL &&
      mw_test_spawn (NULL, NULL, "unshare", "-m", "true", NULL) == 0)
    {
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) args = NULL;

      g_setenv ("MW_GUI_PRIVATE_MOUNTS", "1", TRUE);
      g_strv_builder_add_many (builder, "unshare", "-m", "--propagation", "private", NULL);
      for (int i = 0; i < argc; i++)
        g_strv_builder_add (builder, argv[i]);
      args = g_strv_builder_end (builder);
      execvp ("unshare", args);
      g_unsetenv ("MW_GUI_PRIVATE_MOUNTS");
    }

  g_test_init (&argc, &argv, NULL);

  demo_db = g_getenv ("MW_DEMO_DB");
  wizard_path = g_getenv ("MW_CLI");
  if (demo_db == NULL || wizard_path == NULL || g_getenv ("MW_MIGRATIONS") == NULL)
    g_error ("MW_DEMO_DB, MW_CLI and MW_MIGRATIONS must be set (meson test sets them)");

  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("MW_LOCALEDIR") ? g_getenv ("MW_LOCALEDIR")
                                                             : MW_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  if (!gtk_init_check ())
    {
      g_printerr ("no display: run under dbus-run-session -- xvfb-run -a\n");
      return 77;
    }
  mw_register_resource ();

#define ADD(name, func) \
  g_test_add ("/mw/gui/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("keyboard/space-on-problem-buttons", test_space_on_problem_buttons);
  ADD ("keyboard/every-stop-visible-enter-is-blue", test_keyboard_pages);
  ADD ("keyboard/mnemonics-every-page-every-language", test_mnemonics_every_page);
  ADD ("update/applies-with-backup", test_update);
  ADD ("up-to-date/no-backup", test_up_to_date);
  ADD ("small-screen/large-text", test_small_screen_large_text);
  ADD ("update/step-n-of-m-with-real-progress", test_update_progress);
  ADD ("corrupt/cancel-leaves-everything", test_corrupt_cancel);
  ADD ("corrupt/backup-and-start-fresh", test_corrupt_fresh);
  ADD ("corrupt/try-repair", test_repair);
  ADD ("corrupt/restore-offered-with-its-cost", test_corrupt_with_backup);
  ADD ("corrupt/damaged-table-page-found-before-updating", test_damaged_table_page);
  ADD ("hash-mismatch/restore-from-backup", test_hash_mismatch_restore);
  ADD ("incompatible/untracked", test_incompatible);
  ADD ("keep-data/untracked-and-regenerated", test_keep_my_data);
  ADD ("incompatible/not-a-database", test_not_a_database);
  ADD ("newer/only-quit", test_newer);
  ADD ("locked/try-again", test_locked);
  ADD ("installation/no-migrations", test_no_migrations);
  ADD ("migration-failed/rolled-back", test_migration_failed);
  ADD ("update/cancel-rolls-back", test_cancel_update);
  ADD ("start/interrupted-operation-reported", test_interrupted_operation_reported);
  ADD ("translation/german", test_german);
  ADD ("read-only/backup-failed-and-unreadable", test_read_only);
  ADD ("no-space/try-again-and-quit", test_no_space);
  ADD ("technician/diagnostics-bundle-restore", test_technician);
  ADD ("technician/integrity-findings-by-page-and-table", test_technician_findings);
  ADD ("after-update/program", test_after_update);
  ADD ("after-update/problem-is-shown", test_after_update_in_process);
  ADD ("keyboard/only-recovery-and-update-then-pos", test_keyboard_only_recovery);
  ADD ("log/every-run-kept-and-shown", test_persistent_log);
  ADD ("start/database-found-where-the-app-keeps-it", test_database_found_where_the_app_keeps_it);
  ADD ("after-update/repair-or-fresh-then-pos-starts", test_after_update_repair_starts_pos);
  ADD ("second-wizard-is-refused", test_second_wizard_refused);
  ADD ("second-launch-brings-the-window-forward", test_second_launch_brings_window_forward);
#undef ADD

  return g_test_run ();
}
