"""Shared kernel of the four services: event store, relay, inbox, HTTP plumbing, config.

Nothing here knows the domain; each service brings its own aggregates and events.
"""
