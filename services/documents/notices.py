"""The notices to the parties: 受理通知书, 不予受理通知书 and 调解终止告知书, each with the law
that gives them their rights and the time they have to use them."""

from .pieces import LAW, claims_table, day_written, dispute_category, parties, seal


def acceptance_notice(case_file, issue):
    applicant = case_file.applicant.get("name", "")
    deadline = day_written(case_file.mediation_deadline, issue)
    return [
        {"type": "p", "text": f"{applicant}："},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"你于{day_written(case_file.received_at, issue)}提出的与{case_file.respondent.get('name', '')}之间的"
                f"{dispute_category(case_file)}调解申请，经审查，符合受理条件，本中心决定于"
                f"{day_written(case_file.accepted_at, issue)}予以受理。现将有关事项告知如下："
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": ("一、本中心将指派持证调解员主持调解，调解遵循双方当事人自愿、合法的原则。"),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"二、依据{LAW}第十四条第三款，自本中心收到调解申请之日起十五日内未达成调解协议的，"
                f"当事人可以依法申请仲裁；经双方当事人同意，可以延长调解期限。本案调解期限至{deadline}。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"三、依据{LAW}第二十七条，劳动争议申请仲裁的时效期间为一年；当事人向本中心申请调解的，"
                "仲裁时效中断，从中断时起，仲裁时效期间重新计算。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                "四、当事人应当如实陈述案情，提供与争议有关的证据材料，按时参加调解；"
                "调解过程中，当事人可以随时要求终止调解，依法申请仲裁。"
            ),
        },
        {"type": "h", "text": "当事人"},
        parties(case_file, full=False),
        {"type": "h", "text": "申请调解的请求"},
        claims_table(case_file),
        seal(issue),
    ]


def rejection_notice(case_file, issue):
    applicant = case_file.applicant.get("name", "")
    reason = (case_file.not_accepted or {}).get("reason") or "不符合受理条件"
    return [
        {"type": "p", "text": f"{applicant}："},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"你于{day_written(case_file.received_at, issue)}提出的与{case_file.respondent.get('name', '')}之间的"
                f"{dispute_category(case_file)}调解申请，经审查，因{reason.rstrip('。')}，本中心决定不予受理。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"依据{LAW}第五条，发生劳动争议，当事人不愿调解、调解不成的，可以向劳动争议仲裁委员会申请仲裁。"
                f"你可以自收到本通知书之日起，依法直接向{issue.commission}申请仲裁。"
            ),
        },
        {
            "type": "p",
            "indent": True,
            "text": (
                f"依据{LAW}第二十七条，劳动争议申请仲裁的时效期间为一年，从当事人知道或者应当知道"
                "其权利被侵害之日起计算；请在时效期间内依法申请仲裁。"
            ),
        },
        {"type": "h", "text": "当事人"},
        parties(case_file, full=False),
        seal(issue),
    ]


def termination_notice(case_file, issue):
    names = f"{case_file.applicant.get('name', '')}、{case_file.respondent.get('name', '')}"
    if case_file.failure:
        failure = case_file.failure
        ended = f"本中心于{day_written(failure.get('failed_at'), issue)}终止调解"
        if failure.get("reason_code") == "respondent_refused":  # no mediation took place
            why = f"被申请人不同意调解（{(failure.get('reason') or '拒绝调解').rstrip('。')}），{ended}"
        else:
            why = f"经调解，双方当事人未能达成调解协议（{(failure.get('reason') or '调解不成').rstrip('。')}），{ended}"
        ended_on = failure.get("failed_at")
    else:
        deadline = (case_file.expiry or {}).get("deadline") or case_file.mediation_deadline
        why = f"自本中心收到调解申请之日起至调解期限届满（{day_written(deadline, issue)}），双方当事人未能达成调解协议，调解终止"
        ended_on = deadline
    if case_file.failure:
        basis = (
            f"一、依据{LAW}第五条，发生劳动争议，当事人不愿调解、调解不成的，可以向劳动争议仲裁委员会申请仲裁。"
            f"当事人可以向{issue.commission}申请仲裁。"
        )
    else:
        basis = (
            f"一、依据{LAW}第十四条第三款，自劳动争议调解组织收到调解申请之日起十五日内未达成调解协议的，"
            f"当事人可以依法申请仲裁。当事人可以向{issue.commission}申请仲裁。"
        )
    blocks = [
        {"type": "p", "text": f"{names}："},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"你们之间的{dispute_category(case_file)}，本中心于{day_written(case_file.accepted_at, issue)}受理。{why}。"
                "现将有关事项告知如下："
            ),
        },
        {"type": "p", "indent": True, "text": basis},
        {
            "type": "p",
            "indent": True,
            "text": (
                f"二、依据{LAW}第二十七条，劳动争议申请仲裁的时效期间为一年。因申请调解而中断的仲裁时效，"
                f"自调解终止之日（{day_written(ended_on, issue)}）起重新计算，请在一年内依法申请仲裁。"
            ),
        },
    ]
    docketed = [r for r in case_file.referrals.values() if r.get("arbitration_case_no")]
    if docketed:
        blocks.append(
            {
                "type": "p",
                "indent": True,
                "text": (f"三、本中心已将本案移送{issue.commission}，仲裁案号：{docketed[0]['arbitration_case_no']}。"),
            }
        )
    blocks += [{"type": "h", "text": "当事人"}, parties(case_file, full=False), seal(issue)]
    return blocks
