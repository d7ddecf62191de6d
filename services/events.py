"""The event types each service publishes: the contract between our own services.

docs/EVENTS.md describes the data of each; consumers take their lists from here.
"""

PUBLISHED_EVENTS = {
    "intake": (
        "ConsultationRecorded",
        "ApplicationReceived",
        "CaseAccepted",
        "CaseNotAccepted",
        "ApplicationWithdrawn",
        "PersonalDataErased",
    ),
    "mediation": (
        "MediatorRegistered",
        "MediatorCertificateRenewed",
        "MediatorCertificateExpired",
        "MediationOpened",
        "MediatorAssigned",
        "SessionHeld",
        "MediationExtended",
        "AgreementReached",
        "MediationFailed",
        "MediationExpired",
        "MediationWithdrawn",
        "ReviewRequested",
        "ReviewOutcomeRecorded",
        "AgreementPerformed",
        "AgreementDefaulted",
        "SurveyRecorded",
        "ComplaintFiled",
    ),
    "arbitration_link": (
        "ReferralOpened",
        "ReferralSent",
        "ReferralDocketed",
        "ReferralDeclined",
        "ReviewDecided",
        "RecommendationReceived",
    ),
    "documents": ("DocumentIssued",),
}

# The services whose events make up a case's life (the documents service only records its papers).
CASE_SOURCES = ("intake", "mediation", "arbitration_link")

# Mediation's events about the roster and complaints, not about one case's mediation.
MEDIATION_NON_CASE_EVENTS = frozenset(
    {"MediatorRegistered", "MediatorCertificateRenewed", "MediatorCertificateExpired", "ComplaintFiled"}
)
