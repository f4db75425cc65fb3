"""Webhooks over HTTP: addresses we may call, signed messages, and the deliverer that sends
what schema/webhooks.py fans out and schema/deliveries.py keeps (Standard Webhooks,
standardwebhooks.com)."""
