/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include "mw-accessibility.h"

/*
 * What keyboard and screen-reader users get, in one place:
 *
 *  - a page's scrolled area is a Tab stop only when there is something to scroll
 *    (otherwise it is a stop nobody can see);
 *  - Enter never presses a destructive button, even one that has the focus: such
 *    a button is pressed by Space, its mnemonic or a click, deliberately;
 *  - a button's accessible name is what it says. GTK 4.8 names a button with a
 *    mnemonic from its raw label and its text ("_Cancel Cancel"); the name is set
 *    from the label without its underline.
 */

/* Whether something under @widget takes the focus itself (a button, an expander,
 * a text to select). */
static gboolean
has_focus_stop (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child) || !gtk_widget_get_can_focus (child))
        continue;
      if (gtk_widget_get_focusable (child) && !GTK_IS_VIEWPORT (child))
        return TRUE;
      if (has_focus_stop (child))
        return TRUE;
    }
  return FALSE;
}

/**
 * mw_accessibility_update_scroll_focus:
 *
 * GTK 4.8's scrolled window puts itself in the Tab chain whenever nothing inside
 * it takes the focus, and it ignores #GtkWidget:focusable: it is kept out of the
 * chain (#GtkWidget:can-focus) unless it has something to scroll or something
 * inside takes the focus. Call it when the content changes.
 */
void
mw_accessibility_update_scroll_focus (GtkScrolledWindow *scrolled)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (scrolled);
  gboolean overflows = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_lower (adjustment) >
                       gtk_adjustment_get_page_size (adjustment) + 0.5;
  GtkWidget *child = gtk_scrolled_window_get_child (scrolled);
  gboolean can_focus = overflows || (child != NULL && has_focus_stop (child));

  gtk_widget_set_focusable (GTK_WIDGET (scrolled), overflows);
  if (gtk_widget_get_can_focus (GTK_WIDGET (scrolled)) != can_focus)
    gtk_widget_set_can_focus (GTK_WIDGET (scrolled), can_focus);
}

static void
scroll_changed_cb (GtkAdjustment     *adjustment,
                   GtkScrolledWindow *scrolled)
{
  mw_accessibility_update_scroll_focus (scrolled);
}

static void
page_size_cb (GtkAdjustment     *adjustment,
              GParamSpec        *pspec,
              GtkScrolledWindow *scrolled)
{
  mw_accessibility_update_scroll_focus (scrolled);
}

/**
 * mw_accessibility_scroll_focus_when_needed:
 *
 * Makes @scrolled a Tab stop (to scroll with the arrow keys) only while its
 * content is taller than it, and keeps it from being an empty stop.
 */
void
mw_accessibility_scroll_focus_when_needed (GtkScrolledWindow *scrolled)
{
  GtkAdjustment *adjustment;

  g_return_if_fail (GTK_IS_SCROLLED_WINDOW (scrolled));

  adjustment = gtk_scrolled_window_get_vadjustment (scrolled);
  g_signal_connect_object (adjustment, "changed", G_CALLBACK (scroll_changed_cb), scrolled, 0);
  g_signal_connect_object (adjustment, "notify::page-size", G_CALLBACK (page_size_cb),
                           scrolled, 0);
  gtk_widget_add_css_class (GTK_WIDGET (scrolled), "mw-scroll");
  mw_accessibility_update_scroll_focus (scrolled);
}

/**
 * mw_accessibility_update_scroll_focus_under:
 *
 * mw_accessibility_update_scroll_focus() for every scrolled window under @root.
 */
void
mw_accessibility_update_scroll_focus_under (GtkWidget *root)
{
  if (GTK_IS_SCROLLED_WINDOW (root))
    mw_accessibility_update_scroll_focus (GTK_SCROLLED_WINDOW (root));
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    mw_accessibility_update_scroll_focus_under (child);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                gpointer               user_data)
{
  return keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter || keyval == GDK_KEY_ISO_Enter;
}

/**
 * mw_accessibility_no_enter:
 *
 * Enter does nothing on @button (a destructive one), even when it has the focus.
 */
void
mw_accessibility_no_enter (GtkWidget *button)
{
  GtkEventController *keys = gtk_event_controller_key_new ();

  g_return_if_fail (GTK_IS_WIDGET (button));

  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), NULL);
  gtk_widget_add_controller (button, keys);
}

/**
 * mw_accessibility_strip_mnemonic:
 *
 * Returns: (transfer full): @label as it is shown: the mnemonic underline
 *   removed, a doubled underline kept as one
 */
char *
mw_accessibility_strip_mnemonic (const char *label)
{
  GString *out = g_string_new (NULL);

  for (const char *p = label; p != NULL && *p != '\0'; p++)
    {
      if (*p == '_')
        {
          if (p[1] == '_')
            {
              g_string_append_c (out, '_');
              p++;
            }
          continue;
        }
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/**
 * mw_accessibility_name_button:
 *
 * Gives @button (or an expander) the accessible name it shows.
 */
void
mw_accessibility_name_button (GtkWidget *button)
{
  const char *label = NULL;
  gboolean underline = FALSE;
  g_autofree char *name = NULL;

  if (GTK_IS_BUTTON (button))
    {
      label = gtk_button_get_label (GTK_BUTTON (button));
      underline = gtk_button_get_use_underline (GTK_BUTTON (button));
    }
  else if (GTK_IS_EXPANDER (button))
    {
      label = gtk_expander_get_label (GTK_EXPANDER (button));
      underline = gtk_expander_get_use_underline (GTK_EXPANDER (button));
    }
  if (label == NULL)
    return;
  name = underline ? mw_accessibility_strip_mnemonic (label) : g_strdup (label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                  -1);
  /* GTK 4.8 adds, to the name, that of every widget the button is "labelled by",
   * and a mnemonic label makes the button labelled by it ("Cancel Cancel"): the
   * name alone says it. */
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
}

/**
 * mw_accessibility_name_buttons:
 *
 * Names every button and expander under @root (itself included) after what it
 * shows. Call it again after changing labels.
 */
void
mw_accessibility_name_buttons (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  if (GTK_IS_BUTTON (root) || GTK_IS_EXPANDER (root))
    mw_accessibility_name_button (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    mw_accessibility_name_buttons (child);
}
