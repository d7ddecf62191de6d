"""A mediation recommendation letter from the institute becomes one new case in intake.

Runs arbitration_link and intake; the letter is sent by `tiaojie court` as the institute would.
"""

import json

from tests import support

CENTER = "zhenanjie"


def recommended_cases(intake, token, recommendation_id):
    """Intake's cases of the center opened for this letter."""
    found, page = [], 1
    while True:
        status, listed, _ = support.http("GET", f"{intake}/api/v1/cases?center_id={CENTER}&page={page}", token=token)
        assert status == 200, listed
        if not listed["cases"]:
            return found
        for case in listed["cases"]:
            if case["source"] == "arbitration_recommendation":
                _, detail, _ = support.http("GET", f"{intake}/api/v1/cases/{case['case_id']}", token=token)
                if detail.get("recommendation_id") == recommendation_id:
                    found.append(detail)
        page += 1


def send_letter(seed):
    result = support.cli(
        "court", "--issue-recommendations", "1", "--center", CENTER, "--seed", str(seed), "--max-messages", "0"
    )
    return [line for line in result.stdout.splitlines() if "recommendation.issued" in line][0]


def test_a_recommendation_letter_opens_one_case_in_intake_however_often_it_is_sent(infrastructure, tokens):
    with support.ServiceProcess("arbitration_link", "intake") as services:
        first = json.loads(send_letter(seed=4242))
        again = json.loads(send_letter(seed=4242))  # the same letter, sent twice
        assert first["recommendation_id"] == again["recommendation_id"]
        recommendation_id = first["recommendation_id"]
        intake = services.url("intake")
        [case] = support.wait_for(
            lambda: recommended_cases(intake, tokens["admin"], recommendation_id),
            timeout=20,
            message="the recommended case in intake",
        )
        assert case["source"] == "arbitration_recommendation"
        assert case["center_id"] == CENTER
        assert case["status"] == "received"
        assert len(recommended_cases(intake, tokens["admin"], recommendation_id)) == 1
