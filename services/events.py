"""The event types each service publishes: the contract between our own services.

One class per event type; its class name is the type's name, spelled once, here. Code
names a type by its class (`record(CaseAccepted, ...)`, `@inbox_handler(CaseAccepted)`,
`CaseAccepted.name`), so a misspelt type is a NameError, not an event nobody consumes.
docs/EVENTS.md describes the data of each; `PUBLISHED_EVENTS` and the consumers' lists
derive from these classes. Pure: no imports beyond the standard library.
"""

from typing import ClassVar

REGISTRY = {}  # type name -> class, in the order declared below


class EventType:
    """A kind of event; subclasses of a service's base class are its event types."""

    service: ClassVar[str]
    name: ClassVar[str]
    about_a_case: ClassVar[bool] = True  # False: the roster, complaints (no case stream)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "service" in cls.__dict__:  # a service's base class, not an event type
            return
        if cls.__name__ in REGISTRY:
            raise TypeError(f"event type {cls.__name__} is declared twice")
        cls.name = cls.__name__
        REGISTRY[cls.name] = cls


def type_name(event_type):
    """The name of an event type given as its class or as its name."""
    return event_type.name if isinstance(event_type, type) and issubclass(event_type, EventType) else event_type


# --- intake -------------------------------------------------------------------------------
class IntakeEvent(EventType):
    service = "intake"


class ConsultationRecorded(IntakeEvent):
    about_a_case = False


class ApplicationReceived(IntakeEvent):
    pass


class CaseAccepted(IntakeEvent):
    pass


class CaseNotAccepted(IntakeEvent):
    pass


class ApplicationWithdrawn(IntakeEvent):
    pass


class PersonalDataErased(IntakeEvent):
    pass


class MediationOutcomeNoted(IntakeEvent):
    """Intake learnt from mediation's events how the mediation ended (docs/EVENTS.md)."""


class WithdrawalOverruled(IntakeEvent):
    """Intake's withdrawal came after the mediation had ended: the case is back as it was."""


# --- mediation ----------------------------------------------------------------------------
class MediationEvent(EventType):
    service = "mediation"


class MediatorRegistered(MediationEvent):
    about_a_case = False


class MediatorCertificateRenewed(MediationEvent):
    about_a_case = False


class MediatorCertificateExpired(MediationEvent):
    about_a_case = False


class MediationOpened(MediationEvent):
    pass


class MediatorAssigned(MediationEvent):
    pass


class SessionHeld(MediationEvent):
    pass


class MediationExtended(MediationEvent):
    pass


class AgreementReached(MediationEvent):
    pass


class MediationFailed(MediationEvent):
    pass


class MediationExpired(MediationEvent):
    pass


class MediationWithdrawn(MediationEvent):
    pass


class WithdrawalRefused(MediationEvent):
    """intake's withdrawal reached a mediation that had already ended: it changes nothing."""


class ReviewRequested(MediationEvent):
    pass


class ReviewOutcomeRecorded(MediationEvent):
    pass


class AgreementPerformed(MediationEvent):
    pass


class AgreementDefaulted(MediationEvent):
    pass


class SurveyRecorded(MediationEvent):
    pass


class ComplaintFiled(MediationEvent):
    about_a_case = False


class ComplaintAnswered(MediationEvent):
    about_a_case = False


class MediationViewed(MediationEvent):
    """A response of mediation showed a case's mediation or a complaint about it (free text
    that may name the parties): a look at the case. In a stream of its own per look."""

    about_a_case = False


# --- arbitration_link ---------------------------------------------------------------------
class ArbitrationLinkEvent(EventType):
    service = "arbitration_link"


class ReferralOpened(ArbitrationLinkEvent):
    pass


class ReferralSent(ArbitrationLinkEvent):
    pass


class ReferralDocketed(ArbitrationLinkEvent):
    pass


class ReferralDeclined(ArbitrationLinkEvent):
    pass


class ReviewDecided(ArbitrationLinkEvent):
    pass


class RecommendationReceived(ArbitrationLinkEvent):
    about_a_case = False


class ReferralViewed(ArbitrationLinkEvent):
    """A response of the link's referral status API showed the institute's reasons about a case
    (free text that may name the parties): a look at the case. In a stream of its own per look."""

    about_a_case = False


# --- documents ----------------------------------------------------------------------------
class DocumentsEvent(EventType):
    service = "documents"


class DocumentIssued(DocumentsEvent):
    pass


class DocumentDownloaded(DocumentsEvent):
    """A person (or a machine token) downloaded a document: a look at the case's personal data."""


# Looks at a case's personal data that another service reports, for intake, which keeps
# the case's looks (docs/PRIVACY.md); they count in no figure.
LOOK_EVENTS = frozenset({DocumentDownloaded.name, MediationViewed.name, ReferralViewed.name})


def _published():
    published = {}
    for event_type in REGISTRY.values():
        published.setdefault(event_type.service, ())
        published[event_type.service] += (event_type.name,)
    return published


PUBLISHED_EVENTS = _published()

# The services whose events make up a case's life (the documents service only records its papers).
CASE_SOURCES = ("intake", "mediation", "arbitration_link")

# Mediation's events about the roster and complaints, not about one case's mediation.
MEDIATION_NON_CASE_EVENTS = frozenset(
    t.name for t in REGISTRY.values() if t.service == "mediation" and not t.about_a_case
)
