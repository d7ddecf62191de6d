"""The mediator roster (调解员名册): a mediator works on cases only with a valid certificate (持证上岗)."""

from services.common.aggregate import Aggregate
from services.events import MediatorCertificateExpired, MediatorCertificateRenewed, MediatorRegistered

from .calendar import certificate_valid_on, day, moment
from .rules import NotAllowed


class Mediator(Aggregate):
    """A mediator of a center's roster; works on cases only with a valid certificate (持证上岗)."""

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.mediator_id = None
        self.center_id = None
        self.name = None
        self.certificate_no = None
        self.certificate_expires = None
        self.certificate_expired = False
        self.full_time = False
        self.registered_at = None

    stream_prefix = "mediator"

    @property
    def exists(self):
        return self.mediator_id is not None

    def register(self, mediator_id, center_id, name, certificate_no, certificate_expires, full_time, now):
        if self.exists:
            raise NotAllowed("this mediator is already registered", "registered")
        self.record(
            MediatorRegistered,
            {
                "mediator_id": mediator_id,
                "center_id": center_id,
                "name": name,
                "certificate_no": certificate_no,
                "certificate_expires": certificate_expires.isoformat() if certificate_expires else None,
                "full_time": full_time,
                "registered_at": now.isoformat(),
            },
            occurred_at=now,
            center_id=center_id,
        )

    def renew_certificate(self, certificate_no, certificate_expires, now):
        self.record(
            MediatorCertificateRenewed,
            {
                "mediator_id": self.mediator_id,
                "center_id": self.center_id,
                "certificate_no": certificate_no,
                "certificate_expires": certificate_expires.isoformat(),
                "renewed_at": now.isoformat(),
            },
            occurred_at=now,
            center_id=self.center_id,
        )

    def certified_on(self, today):
        return certificate_valid_on(self.certificate_no, self.certificate_expires, today)

    def expire_certificate(self, today, now):
        """Records the expiry once the last valid day has passed; False when not (yet) due."""
        if self.certificate_expired or self.certificate_expires is None or today <= self.certificate_expires:
            return False
        self.record(
            MediatorCertificateExpired,
            {
                "mediator_id": self.mediator_id,
                "center_id": self.center_id,
                "certificate_no": self.certificate_no,
                "expired_on": self.certificate_expires.isoformat(),
                "recorded_at": now.isoformat(),
            },
            occurred_at=now,
            center_id=self.center_id,
        )
        return True

    def assignment_problem(self, center_id, today):
        """Why this mediator may not take a case of `center_id` today, or None."""
        if self.center_id != center_id:
            return f"the mediator belongs to center {self.center_id}, not to the case's center {center_id}"
        return self.certificate_problem(today)

    def certificate_problem(self, day):
        """Why this mediator may not act on `day` (持证上岗: the current certificate, renewals included), or None."""
        if not self.certificate_no or self.certificate_expires is None:
            return "the mediator holds no mediator certificate"
        if day > self.certificate_expires:
            return f"the mediator's certificate {self.certificate_no} expired on {self.certificate_expires.isoformat()}"
        return None

    def _on_MediatorRegistered(self, data):
        self.mediator_id = data["mediator_id"]
        self.center_id = data["center_id"]
        self.name = data["name"]
        self.full_time = data["full_time"]
        self.registered_at = moment(data.get("registered_at"))
        self._certificate(data)

    def _on_MediatorCertificateRenewed(self, data):
        self._certificate(data)

    def _on_MediatorCertificateExpired(self, data):
        self.certificate_expired = True

    def _certificate(self, data):
        self.certificate_no = data["certificate_no"]
        self.certificate_expires = day(data["certificate_expires"])
        self.certificate_expired = False
