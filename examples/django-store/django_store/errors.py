"""Every typed loyalty error becomes a page saying what was wrong, with the error's own status."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from loyalty_sdk.core.errors import LoyaltyError


class LoyaltyErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, LoyaltyError):
            return None
        response = TemplateResponse(request, "django_store/error.html", {"error": exception},
                                    status=exception.status)
        return response.render()
