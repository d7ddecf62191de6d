"""The link's bootstrap: its units of work seal the personal fields of what it records (the
institute's recommendation letters) and hand out what they load as stored: the link reads
personal data in clear only at its boundary, when it publishes to the institute."""

import os

from services.common.bootstrap import wire
from services.common.keystore import Vault


def bootstrap(config, env=None):
    env = os.environ if env is None else env
    vault = Vault.from_env(env, max_connections=int(config.get("DB_POOL_SIZE", 20)))
    return wire(config, vault=vault, open_loaded=False)
