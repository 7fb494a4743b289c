from django.urls import path

from apps.knowledge import (
    views_candidates,
    views_documents,
    views_embeddings,
    views_health,
    views_search,
    views_sources,
)

app_name = "knowledge"
urlpatterns = [
    path("", views_sources.index, name="index"),
    path("sources/new/", views_sources.new_source, name="new_source"),
    path("sources/upload/", views_sources.upload, name="upload"),
    path("sources/<uuid:source_id>/sync/", views_sources.sync, name="sync"),
    path("sources/<uuid:source_id>/delete/", views_sources.delete_source, name="delete_source"),
    path("documents/", views_documents.documents, name="documents"),
    path("documents/<uuid:document_id>/", views_documents.document_detail, name="document"),
    path("search/", views_search.search_page, name="search"),
    path("health/", views_health.health, name="health"),
    path("embeddings/", views_embeddings.embeddings, name="embeddings"),
    path("embeddings/choose/", views_embeddings.choose, name="choose_embeddings"),
    path("embeddings/reembed/", views_embeddings.reembed, name="reembed"),
    path("candidates/", views_candidates.candidates, name="candidates"),
    path("candidates/new/", views_candidates.new_candidate, name="new_candidate"),
    path("candidates/<uuid:candidate_id>/save/", views_candidates.decide, {"action": "save"}, name="save_candidate"),
    path(
        "candidates/<uuid:candidate_id>/accept/", views_candidates.decide, {"action": "accept"}, name="accept_candidate"
    ),
    path(
        "candidates/<uuid:candidate_id>/reject/", views_candidates.decide, {"action": "reject"}, name="reject_candidate"
    ),
]
