"""The console service (nameko): the staff console's pages, and the accounts behind them.

Accounts, sessions and personal tokens are events in this service's own store; its relay
publishes them on `console.events` without the password hashes, and every service keeps
the credentials it needs from them (services/common/credentials.py).
"""

import dataclasses

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.common.relay import envelope_route
from services.common.service import BaseService, EventRelay, ServiceStore

from . import accounts
from .pages import ConsolePages
from .settings import account_settings

# Event data that stays in the console's store and never goes on the bus.
PRIVATE_FIELDS = frozenset({"password_hash"})


def published_route(service="console"):
    """The default route, minus the fields of `PRIVATE_FIELDS`."""
    route = envelope_route(service)

    def without_private_fields(event):
        if PRIVATE_FIELDS & event.data.keys():
            event = dataclasses.replace(event, data={k: v for k, v in event.data.items() if k not in PRIVATE_FIELDS})
        return route(event)

    return without_private_fields


class Accounts(DependencyProvider):
    """The account store (`accounts.PostgresAccountStore`) on the service's own database."""

    def setup(self):
        self.settings = account_settings()
        self.passwords = accounts.Passwords()

    def get_dependency(self, worker_ctx):
        store = next(d for d in self.container.dependencies if isinstance(d, ServiceStore))
        return accounts.PostgresAccountStore(store.database, store.clock, self.settings, self.passwords)


class ConsoleService(BaseService, ConsolePages):
    name = "console"
    relay = EventRelay(route=published_route())
    accounts = Accounts()

    @timer(interval=60)
    def end_idle_sessions(self):
        """Ends idle sessions, so every service refuses them without waiting for their next use,
        and forgets the failed-login counters whose time is over."""
        accounts.end_idle_sessions(self.accounts, self.accounts.clock.now())
        accounts.forget_login_failures(self.accounts, self.accounts.clock.now())
