"""The simulator's driver on fake staff APIs: back-filling lives each day on the services'
clock, a case's steps go in order, and refusals are counted, not fatal."""

from datetime import UTC, datetime, timedelta

from services.common.centers import load_centers
from services.common.clock import FileOffsetClock, FixedClock
from services.simulate.client import ApiRefused
from services.simulate.driver import CaseRun, District, Tokens, backfill
from services.simulate.workload import CasePlan, DistrictWorkload, Step

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
CENTERS = [c for c in load_centers() if c.center_id in ("huaguangjie", "qidaowan")]


class FakeApi:
    """Answers like a service would; records each call with the clock offset it saw."""

    def __init__(self, name, journal, clock_file, refuse=()):
        self.name, self.journal, self.clock_file, self.refuse = name, journal, clock_file, refuse
        self.cases = 0

    def _offset(self):
        with open(self.clock_file) as f:
            return float(f.read())

    def post(self, path, token, body, idempotency_key=None):
        self.journal.append((self.name, path, body, self._offset()))
        if any(word in path for word in self.refuse):
            raise ApiRefused(409, {"status": "performed"})
        if path == "/api/v1/cases":
            self.cases += 1
            return {"case_id": f"case-{self.cases}"}
        if path == "/api/v1/complaints":
            return {"complaint_id": f"k-{len(self.journal)}"}
        if path == "/api/v1/mediators":
            return {"mediator_id": f"m-{len(self.journal)}", "certificate_expires": body["certificate_expires"]}
        return {}

    def get(self, path, token):
        return [] if path.startswith("/api/v1/mediators") else {"status": "mediating"}


def _run(tmp_path, refuse=()):
    clock_file = str(tmp_path / "clock")
    FileOffsetClock.move(clock_file, 0)
    journal = []
    intake, mediation = FakeApi("intake", journal, clock_file), FakeApi("mediation", journal, clock_file, refuse)
    district = District(intake, mediation, Tokens({c.center_id: "t" for c in CENTERS}, "d"), FixedClock(NOW))
    workload = DistrictWorkload(CENTERS, seed=3)
    start = NOW - timedelta(days=40)
    district.register_roster(workload.mediators(start.date()))
    cases, consultations = workload.backfill(start, NOW)
    pending = backfill(district, cases, consultations, start, NOW, clock_file=clock_file, concurrency=4)
    return district, journal, cases, pending, clock_file


def test_backfill_lives_each_day_on_the_services_clock_and_gives_it_back(tmp_path):
    district, journal, cases, _, clock_file = _run(tmp_path)
    created = [(body, offset) for service, path, body, offset in journal if path == "/api/v1/cases"]
    assert len(created) == len(cases)
    for body, offset in created:
        services_now = NOW + timedelta(seconds=offset)
        received = datetime.fromisoformat(body["received_at"])
        # the services' clock stands at the end of the day the case was received
        assert timedelta(0) <= services_now - received < timedelta(days=1)
    offsets = [offset for *_, offset in journal if offset]
    assert offsets == sorted(offsets)
    with open(clock_file) as f:
        assert float(f.read()) == 0


def test_each_case_goes_through_its_steps_in_order(tmp_path):
    _, journal, _, _, _ = _run(tmp_path)
    seen = {}
    for _service, path, _body, _offset in journal:
        if path.startswith("/api/v1/cases/"):
            case_id, action = path.split("/")[4], path.split("/")[5]
            seen.setdefault(case_id, []).append(action)
    assert seen
    for actions in seen.values():
        if "acceptance" in actions and "assignment" in actions:
            assert actions.index("acceptance") < actions.index("assignment")
        for closing in ("agreement", "failure"):
            if closing in actions:
                assert actions.index("assignment") < actions.index(closing)


def test_refusals_are_counted_and_the_rest_goes_on(tmp_path):
    district, journal, _, pending, _ = _run(tmp_path, refuse=("/performance",))
    summary = district.tally.summary()
    assert summary["performance"].get("refused_409", 0) > 0
    assert summary["application"] == {"done": summary["application"]["done"]}
    assert all(steps for _, steps in pending)


def test_backfilled_steps_say_when_they_happened_in_order_within_the_services_bounds(tmp_path):
    _, journal, _, _, _ = _run(tmp_path)
    steps = {}
    for service, path, body, offset in journal:
        if not path.startswith("/api/v1/cases/"):
            continue
        happened = datetime.fromisoformat(body.get("occurred_at") or body["held_at"])
        services_now = NOW + timedelta(seconds=offset)
        # the day's steps are keyed in at its end: in the past, within TIAOJIE_BACKDATE_DAYS
        assert timedelta(0) <= services_now - happened < timedelta(days=1), (service, path)
        steps.setdefault(path.split("/")[4], []).append(happened)
    assert steps and any(len(at) > 3 for at in steps.values())
    for at in steps.values():
        assert at == sorted(at)  # never before the step before it


def test_a_filed_complaint_is_answered_by_the_centers_token_and_one_never_filed_is_not(tmp_path):
    clock_file = str(tmp_path / "clock")
    FileOffsetClock.move(clock_file, 0)
    steps = (
        Step(1.0, "complaint", {"text": "等待时间过长"}),
        Step(3.0, "answer_complaint", {"answer": "已调整接待安排"}),
    )
    plan = CasePlan("p", "qidaowan", NOW, {}, "agreement", steps, 0)

    def worked(refuse=()):
        journal = []
        mediation = FakeApi("mediation", journal, clock_file, refuse)
        tokens = Tokens({"qidaowan": "t"}, "d")
        district = District(FakeApi("intake", journal, clock_file), mediation, tokens, FixedClock(NOW))
        run = CaseRun(plan, case_id="case-9", in_mediation=True)
        for index, step in enumerate(steps):
            district.perform(run, index, step)
        return district.tally.summary(), [(path, body) for _, path, body, _ in journal]

    summary, calls = worked()
    assert summary["answer_complaint"] == {"done": 1}
    [(filed, body), (answered, answer)] = calls
    assert (filed, body["case_id"]) == ("/api/v1/complaints", "case-9")
    assert (answered, answer) == ("/api/v1/complaints/k-1/answer", {"answer": "已调整接待安排"})

    summary, calls = worked(refuse=("/api/v1/complaints",))
    assert summary["complaint"] == {"refused_409": 1} and summary["answer_complaint"] == {"no_complaint": 1}
    assert [path for path, _ in calls] == ["/api/v1/complaints"]


def test_a_session_is_keyed_in_only_once_a_mediator_is_assigned(tmp_path):
    # Mediation refuses a session without an assigned mediator: a case whose center had no
    # mediator with a valid certificate that day holds none (counted), one with a mediator does.
    clock_file = str(tmp_path / "clock")
    FileOffsetClock.move(clock_file, 0)
    steps = (Step(1.0, "assign", {}), Step(2.0, "session", {"summary": "第1次调解"}))
    plan = CasePlan("p", "qidaowan", NOW, {}, "agreement", steps, 0)

    def worked(roster):
        journal = []
        tokens = Tokens({"qidaowan": "t"}, "d")
        district = District(
            FakeApi("intake", journal, clock_file), FakeApi("mediation", journal, clock_file), tokens, FixedClock(NOW)
        )
        district.roster["qidaowan"] = roster
        run = CaseRun(plan, case_id="case-9", in_mediation=True)
        for index, step in enumerate(steps):
            district.perform(run, index, step)
        return district.tally.summary(), [path.rsplit("/", 1)[1] for _, path, _, _ in journal]

    summary, calls = worked([])
    assert summary["assign"] == {"no_mediator": 1} and summary["session"] == {"no_mediator": 1}
    assert calls == []

    summary, calls = worked([("m-1", NOW.date() + timedelta(days=365))])
    assert summary["session"] == {"done": 1} and calls == ["assignment", "sessions"]
