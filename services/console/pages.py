"""The console's pages (Chinese, server-rendered): a mixin of nameko http routes on `ConsoleService`."""


class ConsolePages:
    """The pages of CONTRACTS §7; `ConsoleService` inherits them."""
