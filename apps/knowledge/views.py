from django.http import HttpResponse
from django.shortcuts import render

from gaby_site.http import ClientRequest


def index(request: ClientRequest) -> HttpResponse:
    return render(request, "knowledge/index.html")
