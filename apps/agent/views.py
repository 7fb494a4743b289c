from django.http import HttpResponse
from django.shortcuts import render

from gaby_site.http import ClientRequest


def investigations(request: ClientRequest) -> HttpResponse:
    return render(request, "agent/investigations.html")
