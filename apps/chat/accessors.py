"""Scoped accessors: rows of the request's client only (its schema), 404 for anything else."""

from __future__ import annotations

from uuid import UUID

from django.shortcuts import get_object_or_404

from apps.chat.models import ChatMessage, Conversation, Widget
from apps.core.http import ClientRequest


def get_conversation_for_client(request: ClientRequest, conversation_id: UUID) -> Conversation:
    return get_object_or_404(Conversation.objects.select_related("widget", "install"), pk=conversation_id)


def get_message_for_client(request: ClientRequest, conversation: Conversation, message_id: UUID) -> ChatMessage:
    return get_object_or_404(ChatMessage, pk=message_id, conversation=conversation)


def get_widget_for_client(request: ClientRequest, widget_id: UUID) -> Widget:
    return get_object_or_404(Widget, pk=widget_id)
