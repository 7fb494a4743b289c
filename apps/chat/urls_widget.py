"""Public routes on a client's domain: the widget's script (no membership; sites embed it)."""

from django.urls import path

from apps.chat import views_widgets

urlpatterns = [path("widget.js", views_widgets.widget_js, name="chat_widget_js")]
