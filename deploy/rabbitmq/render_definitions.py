"""Renders the broker's definitions with the passwords from `.env`, before RabbitMQ boots.

The committed `definitions.json` carries no secret: every user has an empty password
hash (no password login). The `rabbitmq-definitions` one-shot container runs this script
with the passwords in its environment and writes the definitions RabbitMQ loads at boot,
each password as RabbitMQ's salted SHA-256 hash (`rabbit_password_hashing_sha256`).

    python render_definitions.py TEMPLATE OUTPUT
"""

import base64
import hashlib
import json
import os
import sys

# The environment variable holding each user's password. `TIAOJIE_ARBITRATION_PASSWORD`
# is the contract's name (CONTRACTS §4); the others are the deployment's.
PASSWORD_VARIABLES = {
    "tiaojie": "RABBITMQ_TIAOJIE_PASSWORD",
    "arbitration": "TIAOJIE_ARBITRATION_PASSWORD",
    "operator": "RABBITMQ_OPERATOR_PASSWORD",
}


def password_hash(password, salt=None):
    """RabbitMQ's stored form: base64(salt ‖ SHA-256(salt ‖ UTF-8 password)), 4-byte salt."""
    salt = os.urandom(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def render(definitions, env):
    """The definitions with every user's password hash filled in from `env`.

    Raises `ValueError` naming every user whose variable is unknown or unset, so the
    broker never starts with a user nobody can log in as.
    """
    problems = []
    users = []
    for user in definitions.get("users", []):
        variable = PASSWORD_VARIABLES.get(user["name"])
        password = env.get(variable) if variable else None
        if not password:
            problems.append(f"{user['name']}: set {variable}" if variable else f"{user['name']}: no password variable")
            continue
        users.append(
            dict(user, password_hash=password_hash(password), hashing_algorithm="rabbit_password_hashing_sha256")
        )
    if problems:
        raise ValueError("broker users without a password: " + "; ".join(problems))
    return dict(definitions, users=users)


def main(argv):
    template, output = argv
    with open(template, encoding="utf-8") as f:
        definitions = json.load(f)
    try:
        rendered = render(definitions, os.environ)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    partial = f"{output}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(rendered, f, indent=2)
    os.chmod(partial, 0o644)
    os.replace(partial, output)
    print(f"broker definitions rendered: {', '.join(u['name'] for u in rendered['users'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
