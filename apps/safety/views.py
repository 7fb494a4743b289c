from django.http import HttpResponse
from django.shortcuts import render

from gaby_site.http import ClientRequest


def approvals(request: ClientRequest) -> HttpResponse:
    return render(request, "safety/approvals.html")
