"""`tiaojie court`: a reference arbitration-side client of the link, in plain kombu (not nameko).

It is the demo's arbitration institute and the example the institute's developers can
copy. What a client of CONTRACTS §4 has to do, in the order this module does it:

1. Log in as the broker user `arbitration`. It may only read `arbitration.referrals`
   and publish to `arbitration.replies`; it cannot declare anything, so every queue and
   exchange here is used with `no_declare` (tiaojie's `setup` created them).
2. Consume `arbitration.referrals` with manual acknowledgements. Each message has
   `message_id` (the referral id, the same on every resend), `type` (`referral` or
   `review_request`) and a JSON body; validate it against the published schema and
   reject (without requeue: it goes to `arbitration.referrals.dead`) what does not match.
3. Deduplicate by `message_id`: a message seen before gets the answer given before, sent
   again (tiaojie resends until it hears back, so answering again is what stops it), and
   never a second docket.
4. Answer on `arbitration.replies` with publisher confirms, and only then acknowledge the
   referral: a crash in between means the referral comes back and the same answer goes
   out again, which tiaojie ignores as a duplicate.

Referrals are docketed (or declined, `--decline-ratio`); review requests are decided by
`--policy`. `--issue-recommendations N` sends mediation recommendation letters first.
"""

import collections
import json
import random
import sqlite3
import sys
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import amqp
import kombu

from services.common.centers import load_centers
from services.common.config import amqp_uri, environment
from services.simulate import identities

from . import contract
from .contract import REFERRALS_QUEUE, REPLIES_EXCHANGE
from .topology import institute_user

CATEGORIES_AND_CLAIMS = (
    ("wages", "拖欠工资"),
    ("compensation", "经济补偿金"),
    ("social_insurance", "社会保险补缴"),
    ("work_injury", "工伤医疗费"),
)


def add_arguments(parser):
    parser.add_argument(
        "--amqp-uri",
        default=environment().get("TIAOJIE_COURT_AMQP_URI"),
        help="broker address of the arbitration user (env TIAOJIE_COURT_AMQP_URI; default: the"
        " `arbitration` user on the host and vhost of AMQP_URI)",
    )
    parser.add_argument(
        "--policy",
        choices=("confirm", "refuse", "random"),
        default="confirm",
        help="how review requests are decided (default: confirm)",
    )
    parser.add_argument(
        "--confirm-ratio",
        type=float,
        default=0.8,
        help="with --policy random: the share of reviews confirmed (default 0.8)",
    )
    parser.add_argument(
        "--decline-ratio",
        type=float,
        default=0.0,
        help="the share of referrals declined instead of docketed (default 0)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice, to repeat a run")
    parser.add_argument(
        "--issue-recommendations",
        type=int,
        default=0,
        metavar="N",
        help="first send N mediation recommendation letters",
    )
    parser.add_argument("--center", default=None, help="the center the letters go to (default: a random one)")
    parser.add_argument(
        "--state",
        default=None,
        metavar="FILE",
        help="SQLite file remembering answered message ids across runs (default: in memory,"
        " forgotten when the court stops)",
    )
    parser.add_argument("--once", action="store_true", help="stop when no message came for --idle-seconds")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--max-messages", type=int, default=None, help="stop after handling this many messages")


def default_uri(env=None):
    """The institute's user (`arbitration`, or `TIAOJIE_ARBITRATION_USER`) on the host and vhost the services use."""
    env = environment(env)
    parts = urlsplit(amqp_uri(env))
    vhost = parts.path[1:] if len(parts.path) > 1 else quote("/", safe="")
    password = quote(env.get("TIAOJIE_ARBITRATION_PASSWORD", "arbitration"), safe="")
    user = quote(institute_user(env), safe="")
    return f"amqp://{user}:{password}@{parts.hostname or '127.0.0.1'}:{parts.port or 5672}/{vhost}"


# --- what the institute remembers -----------------------------------------------------


class AnsweredMessages:
    """Answers given, by the `message_id` they answered: the court's deduplication."""

    def __init__(self, path=None):
        self.db = sqlite3.connect(path or ":memory:")
        self.db.execute("CREATE TABLE IF NOT EXISTS answers (message_id TEXT PRIMARY KEY, routing_key TEXT, body TEXT)")

    def answer_for(self, message_id):
        row = self.db.execute("SELECT routing_key, body FROM answers WHERE message_id = ?", (message_id,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def remember(self, message_id, routing_key, body):
        with self.db:
            self.db.execute("INSERT INTO answers VALUES (?, ?, ?)", (message_id, routing_key, json.dumps(body)))

    def count(self, routing_key):
        return self.db.execute("SELECT COUNT(*) FROM answers WHERE routing_key = ?", (routing_key,)).fetchone()[0]


# --- what the institute decides -------------------------------------------------------


class Court:
    """Decides answers. Randomness and time are injected, so a seed repeats a run."""

    def __init__(self, rng, now, answered, policy="confirm", confirm_ratio=0.8, decline_ratio=0.0):
        self.rng = rng
        self.now = now
        self.answered = answered
        self.policy = policy
        self.confirm_ratio = confirm_ratio
        self.decline_ratio = decline_ratio

    def answer(self, message_type, body):
        """The reply to one referral or review request: `(routing_key, body)`."""
        at = self.now().isoformat()
        if message_type == "referral":
            if self.rng.random() < self.decline_ratio:
                return "referral.declined", {
                    "referral_id": body["referral_id"],
                    "reason": "该争议不属于本仲裁院管辖范围，请向有管辖权的仲裁院申请",
                    "declined_at": at,
                }
            number = self.answered.count("referral.docketed") + 1
            return "referral.docketed", {
                "referral_id": body["referral_id"],
                "arbitration_case_no": f"ARB-{self.now().year}-{number:05d}",
                "docketed_at": at,
            }
        if self._confirms():
            number = self.answered.count("review.decided") + 1
            return "review.decided", {
                "referral_id": body["referral_id"],
                "decision": "confirmed",
                "document_no": f"ARB-MED-{self.now().year}-{number:05d}",
                "decided_at": at,
            }
        return "review.decided", {
            "referral_id": body["referral_id"],
            "decision": "refused",
            "reason": "调解协议部分条款内容不明确，无法按现有约定予以确认",
            "decided_at": at,
        }

    def _confirms(self):
        if self.policy == "random":
            return self.rng.random() < self.confirm_ratio
        return self.policy == "confirm"

    def recommendation(self, center_id):
        """A mediation recommendation letter (调解建议书) for a made-up dispute."""
        category, item = self.rng.choice(CATEGORIES_AND_CLAIMS)
        now = self.now()
        return {
            "recommendation_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "center_id": center_id,
            "applicant": identities.worker(self.rng, now.date()),
            "respondent": identities.employer(self.rng),
            "category": category,
            "claims": [{"item": item, "amount": f"{self.rng.randrange(1000, 60000)}.00"}],
            "issued_at": now.isoformat(),
        }


# --- the AMQP side --------------------------------------------------------------------


class InstituteClient:
    """The institute's end of the link: consumes referrals, publishes replies with confirms."""

    def __init__(self, uri, court, answered, report=print):
        self.connection = kombu.Connection(uri, transport_options={"confirm_publish": True})
        self._replies = None
        self._unroutable = []
        self.court = court
        self.answered = answered
        self.report = report
        self.handled = 0

    def publish(self, routing_key, body):
        """Publishes one reply and returns once the broker confirmed it."""
        contract.validate(routing_key, body)
        if self._replies is None:
            # Replies on a channel of their own: the consuming one carries deliveries and acks.
            self._replies = kombu.Producer(
                self.connection.channel(),
                auto_declare=False,
                on_return=lambda exc, exchange, routing_key, message: self._unroutable.append(routing_key),
            )
        self._unroutable.clear()
        self._replies.publish(
            body,
            exchange=REPLIES_EXCHANGE,
            routing_key=routing_key,
            serializer="json",  # application/json
            delivery_mode=2,
            message_id=str(uuid.uuid4()),
            mandatory=True,
            retry=True,
            retry_policy={"max_retries": 3},
        )
        if self._unroutable:
            # `mandatory`: the broker hands back a message no queue is bound for.
            raise RuntimeError(f"reply {routing_key} reached no queue: is tiaojie's topology declared?")

    def on_referral(self, message):
        message_id = message.properties.get("message_id")
        message_type = message.properties.get("type")
        try:
            body = json.loads(message.body)
            contract.validate(message_type, body)
        except (ValueError, contract.ContractViolation) as exc:
            self.report({"action": "rejected", "message_id": message_id, "why": str(exc)[:300]})
            message.reject(requeue=False)
            self.handled += 1
            return
        answer = self.answered.answer_for(message_id)
        repeated = answer is not None
        if not repeated:
            answer = self.court.answer(message_type, body)
            self.answered.remember(message_id, *answer)
        self.publish(*answer)
        message.ack()
        self.handled += 1
        routing_key, reply = answer
        self.report(
            {
                "action": routing_key,
                "message_id": message_id,
                "repeated": repeated,
                **{k: v for k, v in reply.items() if k != "referral_id"},
            }
        )

    def serve(self, once=False, idle_seconds=2.0, max_messages=None):
        """Consumes referrals until stopped, idle (`once`) or `max_messages` are handled.

        Deliveries are queued by the callback and handled here, one at a time: waiting for
        a publisher confirm reads the connection, which may deliver the next referral, and
        handling that one inside the first would answer them out of order.
        """
        if max_messages == 0:
            return
        arrived = collections.deque()
        queue = kombu.Queue(REFERRALS_QUEUE, no_declare=True)
        with kombu.Consumer(
            self.connection.default_channel,
            queues=[queue],
            on_message=arrived.append,
            prefetch_count=min(10, max_messages or 10),
            auto_declare=False,
        ):
            idle = 0.0
            while max_messages is None or self.handled < max_messages:
                while arrived and (max_messages is None or self.handled < max_messages):
                    self.on_referral(arrived.popleft())
                    idle = 0.0
                try:
                    self.connection.drain_events(timeout=0.5)
                except TimeoutError:
                    idle += 0.5
                    if once and idle >= idle_seconds and not arrived:
                        return

    def close(self):
        self.connection.release()


def run(args):
    rng = random.Random(args.seed)
    answered = AnsweredMessages(args.state)
    court = Court(
        rng,
        lambda: datetime.now(UTC),
        answered,
        policy=args.policy,
        confirm_ratio=args.confirm_ratio,
        decline_ratio=args.decline_ratio,
    )
    client = InstituteClient(args.amqp_uri or default_uri(), court, answered, report=_print_json)
    try:
        for _ in range(args.issue_recommendations):
            center_id = args.center or rng.choice([c.center_id for c in load_centers()])
            letter = court.recommendation(center_id)
            client.publish("recommendation.issued", letter)
            _print_json(
                {
                    "action": "recommendation.issued",
                    "recommendation_id": letter["recommendation_id"],
                    "center_id": center_id,
                }
            )
        client.serve(once=args.once, idle_seconds=args.idle_seconds, max_messages=args.max_messages)
    except KeyboardInterrupt:
        pass
    except (kombu.exceptions.OperationalError, amqp.exceptions.AMQPError, OSError) as exc:
        print(f"tiaojie court: the broker refused or is unreachable: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


def _print_json(entry):
    """One line per action; parties never appear (they are personal data)."""
    print(json.dumps(entry, ensure_ascii=False), flush=True)
