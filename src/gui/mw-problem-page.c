/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "mw-accessibility.h"
#include "mw-problem-page.h"

/*
 * The page for a problem, a confirmation or a report: an icon that only repeats
 * the words, the title, the plain words, the technical details (collapsed), and
 * one button per choice. Every button drives a named action of the window, so
 * which choices are possible right now is decided there (actions_update), not here.
 */

struct _MwProblemPage
{
  GtkWidget    parent_instance;

  /* Template widgets */
  GtkScrolledWindow *scrolled;
  GtkImage    *icon;
  GtkLabel    *title;
  GtkLabel    *text;
  GtkLabel    *advice;
  GtkGrid     *report;
  GtkExpander *expander;
  GtkLabel    *detail;
  GtkBox      *buttons;

  /* Owned */
  char        *id;
  char        *recommended_prefix;
  GPtrArray   *retired;     /* (element-type GtkWidget) buttons of the page before */
  guint        retire_id;
};

G_DEFINE_FINAL_TYPE (MwProblemPage, mw_problem_page, GTK_TYPE_WIDGET)

/* The buttons of the page shown before go once the event that replaced the page is
 * over: the click on one of them runs its action (which shows the next page) from
 * inside the button's own handler, and a keyboard activation (Space) still touches
 * the button after its action returns. */
static gboolean
remove_retired_cb (gpointer user_data)
{
  MwProblemPage *self = user_data;

  self->retire_id = 0;
  for (guint i = 0; i < self->retired->len; i++)
    {
      GtkWidget *button = g_ptr_array_index (self->retired, i);

      if (gtk_widget_get_parent (button) == GTK_WIDGET (self->buttons))
        gtk_box_remove (self->buttons, button);
    }
  g_ptr_array_set_size (self->retired, 0);
  return G_SOURCE_REMOVE;
}

/* GTK 4.8's expander lets Tab into its collapsed child and keeps the focus there:
 * the details text takes the focus (to be selected and copied) only while shown. */
static void
expanded_cb (MwProblemPage *self)
{
  gboolean expanded = gtk_expander_get_expanded (self->expander);

  gtk_label_set_selectable (self->detail, expanded);
  gtk_widget_set_focusable (GTK_WIDGET (self->detail), expanded);
}

static void
mw_problem_page_dispose (GObject *object)
{
  MwProblemPage *self = MW_PROBLEM_PAGE (object);
  GtkWidget *child;

  g_clear_handle_id (&self->retire_id, g_source_remove);
  g_clear_pointer (&self->retired, g_ptr_array_unref);

  gtk_widget_dispose_template (GTK_WIDGET (object), MW_TYPE_PROBLEM_PAGE);
  /* The template's outer box is not a bound child: unparent what is left. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (mw_problem_page_parent_class)->dispose (object);
}

static void
mw_problem_page_finalize (GObject *object)
{
  MwProblemPage *self = MW_PROBLEM_PAGE (object);

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->recommended_prefix, g_free);

  G_OBJECT_CLASS (mw_problem_page_parent_class)->finalize (object);
}

static void
mw_problem_page_class_init (MwProblemPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mw_problem_page_dispose;
  object_class->finalize = mw_problem_page_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/com/aurswift/MigrationWizard/mw-problem-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, scrolled);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, icon);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, title);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, text);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, advice);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, report);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, expander);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, detail);
  gtk_widget_class_bind_template_child (widget_class, MwProblemPage, buttons);
}

static void
mw_problem_page_init (MwProblemPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  mw_accessibility_scroll_focus_when_needed (self->scrolled);
  mw_accessibility_name_buttons (GTK_WIDGET (self->expander));
  self->retired = g_ptr_array_new_with_free_func (g_object_unref);
  self->recommended_prefix = g_strdup (mw_problem_page_recommended_prefix ());
  g_signal_connect_swapped (self->expander, "notify::expanded", G_CALLBACK (expanded_cb), self);
  expanded_cb (self);
}

/**
 * mw_problem_page_show:
 * @id: which problem or confirmation this is (`corrupt`, `confirm-fresh`, …)
 * @detail: (nullable): for technicians; the expander is hidden without it
 *
 * Shows a new problem: its words, no buttons yet (add them in order with
 * mw_problem_page_add_button()).
 */
void
mw_problem_page_show (MwProblemPage *self,
                      const char    *id,
                      const char    *icon_name,
                      const char    *title,
                      const char    *text,
                      const char    *detail)
{
  GtkWidget *child;

  g_return_if_fail (MW_IS_PROBLEM_PAGE (self));

  g_free (self->id);
  self->id = g_strdup (id);
  gtk_image_set_from_icon_name (self->icon, icon_name);
  gtk_label_set_text (self->title, title);
  gtk_label_set_text (self->text, text);
  gtk_label_set_text (self->detail, detail ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->expander), detail != NULL && *detail != '\0');
  gtk_label_set_text (self->advice, "");
  gtk_widget_set_visible (GTK_WIDGET (self->advice), FALSE);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->report))) != NULL)
    gtk_grid_remove (self->report, child);
  gtk_widget_set_visible (GTK_WIDGET (self->report), FALSE);
  gtk_expander_set_expanded (self->expander, FALSE);

  for (child = gtk_widget_get_first_child (GTK_WIDGET (self->buttons));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (gtk_widget_get_visible (child))
      {
        gtk_widget_set_visible (child, FALSE);
        gtk_actionable_set_action_name (GTK_ACTIONABLE (child), NULL);
        g_ptr_array_add (self->retired, g_object_ref (child));
      }
  if (self->retire_id == 0)
    self->retire_id = g_idle_add (remove_retired_cb, self);
}

/**
 * mw_problem_page_add_button:
 * @target: (nullable) (transfer floating): the action's parameter
 * @tooltip: (nullable): e.g. why the choice is not possible now
 *
 * Adds the next choice's button, driving @action_name.
 *
 * Returns: (transfer none): the button
 */
GtkWidget *
mw_problem_page_add_button (MwProblemPage *self,
                            const char    *label,
                            const char    *action_name,
                            GVariant      *target,
                            MwButtonStyle  style,
                            const char    *tooltip)
{
  GtkWidget *button;

  g_return_val_if_fail (MW_IS_PROBLEM_PAGE (self), NULL);

  button = gtk_button_new_with_mnemonic (label);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action_name);
  if (target != NULL)
    gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), target);
  if (style == MW_BUTTON_SUGGESTED)
    gtk_widget_add_css_class (button, "suggested-action");
  else if (style == MW_BUTTON_DESTRUCTIVE)
    {
      gtk_widget_add_css_class (button, "destructive-action");
      mw_accessibility_no_enter (button);
    }
  mw_accessibility_name_button (button);
  if (tooltip != NULL)
    gtk_widget_set_tooltip_text (button, tooltip);
  gtk_box_append (self->buttons, button);
  return button;
}

/**
 * mw_problem_page_recommended_prefix:
 *
 * Returns: how the recommendation's line begins ("Recommended: ")
 */
const char *
mw_problem_page_recommended_prefix (void)
{
  /* TRANSLATORS: must be how "Recommended: %s — %s" begins */
  return _("Recommended: ");
}

/**
 * mw_problem_page_set_advice:
 * @advice: (nullable): the recommendation and its why, and what each choice costs
 */
void
mw_problem_page_set_advice (MwProblemPage *self,
                            const char    *advice)
{
  g_autofree char *markup = NULL;
  const char *newline;

  g_return_if_fail (MW_IS_PROBLEM_PAGE (self));

  /* The first line (the recommendation) stands out; the costs follow. */
  newline = advice ? strchr (advice, '\n') : NULL;
  if (advice != NULL && g_str_has_prefix (advice, self->recommended_prefix))
    {
      g_autofree char *first = g_markup_escape_text (advice, newline ? newline - advice : -1);
      g_autofree char *rest = newline ? g_markup_escape_text (newline, -1) : g_strdup ("");

      markup = g_strconcat ("<b>", first, "</b>", rest, NULL);
    }
  else
    markup = g_markup_escape_text (advice ? advice : "", -1);
  gtk_label_set_markup (self->advice, markup);
  gtk_widget_set_visible (GTK_WIDGET (self->advice), advice != NULL && *advice != '\0');
}

const char *
mw_problem_page_get_advice (MwProblemPage *self)
{
  g_return_val_if_fail (MW_IS_PROBLEM_PAGE (self), NULL);
  return gtk_label_get_text (self->advice);
}

/**
 * mw_problem_page_add_report_row:
 * @cells: (array zero-terminated=1): the row's cells, left to right
 * @heading: the row of column headings
 *
 * Adds a row to the page's table (a repair's report, table by table): real
 * cells, so that it stays readable whatever the text size.
 */
void
mw_problem_page_add_report_row (MwProblemPage      *self,
                                const char * const *cells,
                                gboolean            heading)
{
  int row = 0;

  g_return_if_fail (MW_IS_PROBLEM_PAGE (self));

  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->report)); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      int r;

      gtk_grid_query_child (self->report, c, NULL, &r, NULL, NULL);
      row = MAX (row, r + 1);
    }
  for (int col = 0; cells[col] != NULL; col++)
    {
      GtkWidget *label = gtk_label_new (cells[col]);

      gtk_label_set_xalign (GTK_LABEL (label), col == 0 ? 0.0 : 1.0);
      gtk_label_set_wrap (GTK_LABEL (label), col == 0);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
      if (heading)
        gtk_widget_add_css_class (label, "heading");
      if (col > 0)
        gtk_widget_add_css_class (label, "numeric");
      gtk_grid_attach (self->report, label, col, row, 1, 1);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->report), TRUE);
}

void
mw_problem_page_set_expanded (MwProblemPage *self,
                              gboolean       expanded)
{
  g_return_if_fail (MW_IS_PROBLEM_PAGE (self));
  gtk_expander_set_expanded (self->expander, expanded);
}

const char *
mw_problem_page_get_id (MwProblemPage *self)
{
  g_return_val_if_fail (MW_IS_PROBLEM_PAGE (self), NULL);
  return self->id;
}

const char *
mw_problem_page_get_title (MwProblemPage *self)
{
  g_return_val_if_fail (MW_IS_PROBLEM_PAGE (self), NULL);
  return gtk_label_get_text (self->title);
}

const char *
mw_problem_page_get_text (MwProblemPage *self)
{
  g_return_val_if_fail (MW_IS_PROBLEM_PAGE (self), NULL);
  return gtk_label_get_text (self->text);
}

const char *
mw_problem_page_get_detail (MwProblemPage *self)
{
  g_return_val_if_fail (MW_IS_PROBLEM_PAGE (self), NULL);
  return gtk_label_get_text (self->detail);
}
