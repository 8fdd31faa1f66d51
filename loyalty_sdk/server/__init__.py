"""The loyalty server: platform webhooks into a durable inbox, workers into the ledger, and
the REST API. ``loyalty serve`` runs it; :func:`loyalty_sdk.server.app.create_app` builds it."""
