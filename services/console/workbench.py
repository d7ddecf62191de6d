"""工作台: what a center has to do today, as lists sorted by urgency (pure: no I/O).

The pages fetch the center's cases from intake, mediation and arbitration_link and hand
them here; each list says how much time is left in words ("还剩 2 天", "已超期 3 天").
"""

import dataclasses
from datetime import date, datetime, timedelta

DUE_SOON_DAYS = 3


@dataclasses.dataclass(frozen=True)
class Deadline:
    """A deadline as a person reads it: its last day, and the days left (negative: overdue)."""

    last_day: date
    days_left: int

    @property
    def words(self):
        if self.days_left > 0:
            return f"还剩 {self.days_left} 天"
        if self.days_left == 0:
            return "今天到期"
        return f"已超期 {-self.days_left} 天"

    @property
    def overdue(self):
        return self.days_left < 0

    @property
    def urgent(self):
        return 0 <= self.days_left <= DUE_SOON_DAYS


def last_day(value, zone):
    """The last day of a period given as the instant it ends (or as a date)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        # A period ending at 24:00 is stored as the next day's 00:00: its last day is the day before.
        return (value.astimezone(zone) - timedelta(microseconds=1)).date()
    return value


def deadline(value, zone, today):
    day = last_day(value, zone)
    return None if day is None else Deadline(day, (day - today).days)


def days_since(value, zone, today):
    if not value:
        return None
    return (today - datetime.fromisoformat(value).astimezone(zone).date()).days


@dataclasses.dataclass
class Section:
    key: str
    title: str
    hint: str
    rows: list

    @property
    def count(self):
        return len(self.rows)


def sections(intake_received, mediations, referrals, summaries, zone, today):
    """The lists of CONTRACTS §7, in the order a clerk works them.

    `intake_received`: intake's summaries of cases awaiting acceptance; `mediations`:
    mediation's rows of the center's open mediations; `referrals`: the center's referrals;
    `summaries`: intake's summaries by case id (names for the mediation rows).
    """

    def row(case_id, case_number, **extra):
        summary = summaries.get(case_id, {})
        return {
            "case_id": case_id,
            "case_number": case_number,
            "applicant_name": summary.get("applicant_name"),
            "respondent_name": summary.get("respondent_name"),
            "category": summary.get("category"),
            **extra,
        }

    waiting = sorted(
        (
            row(
                c["case_id"],
                c["case_number"],
                received_at=c["received_at"],
                waited=days_since(c["received_at"], zone, today),
                deadline=deadline(c.get("mediation_deadline"), zone, today),
            )
            for c in intake_received
        ),
        key=lambda r: r["received_at"],
    )
    mediating = [m for m in mediations if m["status"] == "mediating"]

    def by_deadline(rows):
        return sorted(
            (
                row(
                    m["case_id"],
                    m["case_number"],
                    deadline=deadline(m["deadline"], zone, today),
                    mediator_id=m.get("mediator_id"),
                )
                for m in rows
            ),
            key=lambda r: (r["deadline"].days_left if r["deadline"] else 10**6, r["case_number"]),
        )

    unassigned = by_deadline([m for m in mediating if not m.get("mediator_id")])
    open_rows = by_deadline(mediating)
    due_soon = [r for r in open_rows if r["deadline"] and r["deadline"].urgent]
    overdue = [r for r in open_rows if r["deadline"] and r["deadline"].overdue]
    performance = sorted(
        (
            row(m["case_id"], m["case_number"], deadline=deadline(m.get("performance_due"), zone, today))
            for m in mediations
            if m["status"] in ("agreement", "confirmed") and m.get("performance_due")
        ),
        key=lambda r: (r["deadline"].days_left, r["case_number"]),
    )
    performance = [r for r in performance if r["deadline"].days_left <= DUE_SOON_DAYS]
    reviews = sorted(
        (row(m["case_id"], m["case_number"], deadline=None) for m in mediations if m["status"] == "under_review"),
        key=lambda r: r["case_number"],
    )
    unanswered = sorted(
        (
            row(
                r["case_id"],
                r.get("case_number") or summaries.get(r["case_id"], {}).get("case_number", ""),
                referral_type=r.get("type"),
                sent_at=r.get("first_sent_at") or r.get("opened_at") or r.get("sent_at"),
                waited=days_since(r.get("first_sent_at") or r.get("opened_at") or r.get("sent_at"), zone, today),
            )
            for r in referrals
            if r.get("status") == "pending"
        ),
        key=lambda r: r["sent_at"] or "",
    )
    return [
        Section(
            "awaiting_acceptance",
            "待受理",
            "已登记、尚未决定是否受理的申请（3 个工作日内决定），等待最久的在前",
            waiting,
        ),
        Section("awaiting_assignment", "待指派", "已受理、尚未指派调解员的案件，期限最近的在前", unassigned),
        Section("due_soon", "3日内到期", "调解期限在 3 天内届满的案件", due_soon),
        Section(
            "overdue",
            "已超期",
            "调解期限已过、尚未终结的案件：期限内已办理的事项请尽快补录，补录期过后系统按调解期满自动终结",
            overdue,
        ),
        Section("performance_due", "履行到期", "调解协议的履行期限在 3 天内或已过", performance),
        Section("under_review", "审查中", "已申请仲裁审查、等待仲裁院决定的协议", reviews),
        Section("referrals_unanswered", "移送未答复", "已移送仲裁院、尚未答复的案件", unanswered),
    ]
