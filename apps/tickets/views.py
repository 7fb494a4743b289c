from django.http import HttpResponse
from django.shortcuts import render

from gaby_site.http import ClientRequest


def inbox(request: ClientRequest) -> HttpResponse:
    return render(request, "tickets/inbox.html")
