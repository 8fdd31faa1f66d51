"""The admin pages under ``/admin``: a FastAPI router the server includes.

Sign in with an API key (or, inside the Shopify admin, an App Bridge session token); see the
dashboard, find members and their history, adjust points with a reason, follow rewards issued,
read the program, retry dead deliveries, and read the audit of all of it.
"""

from loyalty_sdk.admin.views import router

__all__ = ["router"]
