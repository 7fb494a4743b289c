"""The operator console (§8.3): live conversations, shadow mode, take over / hand back, reply, correct, export."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.chat import export as exports
from apps.chat import services
from apps.chat.accessors import get_conversation_for_client, get_message_for_client
from apps.chat.evidence import evidence_for
from apps.chat.forms import CorrectionForm, ReplyForm
from apps.chat.models import Conversation, ConversationState, ReviewState, Widget
from apps.core.http import ClientRequest, partial_or_redirect, render_page


def console(request: ClientRequest) -> HttpResponse:
    conversations = Conversation.objects.select_related("widget", "install").order_by("-last_message_at")[:100]
    context = {
        "conversations": conversations,
        "has_widgets": Widget.objects.exists(),
        "review_count": Conversation.objects.filter(review_state=ReviewState.QUEUED).count(),
        "is_admin": request.membership.allows(Role.ADMIN),
    }
    return render_page(request, "chat/console.html", context)


def _conversation_page(
    request: ClientRequest,
    conversation: Conversation,
    *,
    partial: str = "",
    status: int = 200,
    reply_form: ReplyForm | None = None,
) -> HttpResponse:
    transcript = list(conversation.messages.order_by("created_at", "id"))
    context = {
        "conversation": conversation,
        "chat_messages": transcript,
        "evidence": evidence_for(conversation, transcript) if not partial else None,
        "can_act": request.membership.allows(Role.AGENT),
        "mine": conversation.state == ConversationState.HUMAN and conversation.operator_id == request.user.pk,
        "reply_form": reply_form or ReplyForm(),
        "correction_form": CorrectionForm(),
    }
    return render_page(request, "chat/conversation.html", context, partial=partial, status=status)


def conversation(request: ClientRequest, conversation_id: UUID) -> HttpResponse:
    found = get_conversation_for_client(request, conversation_id)
    part = request.GET.get("part", "")
    return _conversation_page(request, found, partial=part if part in ("controls", "transcript") else "")


def _act(request: ClientRequest, conversation_id: UUID, action: str) -> HttpResponse:
    found = get_conversation_for_client(request, conversation_id)
    try:
        if action == "take_over":
            services.take_over(conversation=found, user=request.user)
        elif action == "hand_back":
            services.hand_back(conversation=found, user=request.user)
        else:
            services.close(conversation=found, actor=request.user)
    except services.ChatError as exc:
        messages.error(request, str(exc))
        found.refresh_from_db()
        return _conversation_page(request, found, partial="controls", status=409)
    found.refresh_from_db()
    return partial_or_redirect(
        request, lambda: _conversation_page(request, found, partial="controls"), "chat:conversation", found.pk
    )


@require_POST
def take_over(request: ClientRequest, conversation_id: UUID) -> HttpResponse:
    return _act(request, conversation_id, "take_over")


@require_POST
def hand_back(request: ClientRequest, conversation_id: UUID) -> HttpResponse:
    return _act(request, conversation_id, "hand_back")


@require_POST
def close(request: ClientRequest, conversation_id: UUID) -> HttpResponse:
    return _act(request, conversation_id, "close")


@require_POST
def reply(request: ClientRequest, conversation_id: UUID) -> HttpResponse:
    found = get_conversation_for_client(request, conversation_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _conversation_page(request, found, partial="controls", status=400, reply_form=form)
    try:
        services.operator_reply(conversation=found, user=request.user, body=form.cleaned_data["body"])
    except services.ChatError as exc:
        form.add_error("body", str(exc))
        return _conversation_page(request, found, partial="controls", status=409, reply_form=form)
    return partial_or_redirect(
        request, lambda: _conversation_page(request, found, partial="controls"), "chat:conversation", found.pk
    )


@require_POST
def correct(request: ClientRequest, conversation_id: UUID, message_id: UUID) -> HttpResponse:
    found = get_conversation_for_client(request, conversation_id)
    message = get_message_for_client(request, found, message_id)
    form = CorrectionForm(request.POST)
    if form.is_valid():
        try:
            services.propose_correction(
                conversation=found, message=message, user=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Correction sent to the KB candidates for review.")
    else:
        messages.error(request, "Write the right answer first.")
    return redirect("chat:conversation", found.pk)


@require_POST
def reviewed(request: ClientRequest, conversation_id: UUID) -> HttpResponse:
    found = get_conversation_for_client(request, conversation_id)
    services.mark_reviewed(conversation=found, user=request.user)
    return redirect("chat:review")


def review_queue(request: ClientRequest) -> HttpResponse:
    queued = Conversation.objects.select_related("widget", "install").filter(review_state=ReviewState.QUEUED)
    return render_page(request, "chat/review.html", {"conversations": queued.order_by("-last_message_at")})


def export(request: ClientRequest, conversation_id: UUID, fmt: str) -> HttpResponse:
    found = get_conversation_for_client(request, conversation_id)
    if fmt == "md":
        response = HttpResponse(exports.as_markdown(found), content_type="text/markdown; charset=utf-8")
    elif fmt == "json":
        response = HttpResponse(exports.as_json(found), content_type="application/json")
    else:
        return HttpResponse("Export as .md or .json.", status=400, content_type="text/plain")
    response["Content-Disposition"] = f'attachment; filename="chat-{found.pk}.{fmt}"'
    return response
