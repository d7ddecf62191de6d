"""The outbound relay's route: each `ReferralSent` event becomes the AMQP message of CONTRACTS §4.

A pure function of the stored event (its data carries the whole body), run by a second
relay beside the one that publishes every event to `arbitration_link.events`. It
publishes with confirms and `mandatory`, and does not move past a message the broker
could not route to `arbitration.referrals`: nothing is lost, a resend is just a new event.
"""

from services.common.keystore import opened
from services.common.relay import Publication

from .contract import OUTBOUND_EXCHANGE
from .domain import MESSAGE_SCHEMA_VERSION

RELAY_NAME = "arbitration.outbound"
EXCHANGES = [(OUTBOUND_EXCHANGE, "topic")]


def outbound_route(event, opened=opened):
    """The institute's message, its personal fields opened: the link is the boundary where
    they leave in clear (CONTRACTS §4, §9); inside, `ReferralSent` keeps them sealed."""
    if event.event_type != "ReferralSent":
        return []
    data = event.data
    return [
        Publication(
            exchange=OUTBOUND_EXCHANGE,
            routing_key=data["type"],
            body=opened(data["message"]),
            message_id=data["referral_id"],
            type=data["type"],
            headers={"schema_version": data["message"].get("schema_version", MESSAGE_SCHEMA_VERSION)},
            mandatory=True,
        )
    ]
